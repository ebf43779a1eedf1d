//! The list of suspended accounts every instance keeps in memory, so that a suspended
//! account's access tokens are refused on every protected route without a database read
//! per request. The account module owns the data (`account_suspensions`); it loads the
//! whole list into [`Suspensions`] at start, reloads it periodically, and applies every
//! change announced on [`SUSPENSIONS_CHANNEL`] at once, so every instance refuses a newly
//! suspended account within a second (and, should a pub/sub message be lost, within one
//! reload period).

use crate::clock::SharedClock;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The pub/sub channel on which suspension changes are announced.
pub const SUSPENSIONS_CHANNEL: &str = "account:suspensions";

/// One change, as published on [`SUSPENSIONS_CHANNEL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionChange {
    pub account_id: i64,
    pub suspended: bool,
    /// Unix seconds; `None` while suspended means until reinstated.
    pub until: Option<i64>,
}

/// Suspended account ids with their end (unix seconds, `None` = until reinstated). Cheap to
/// clone; every clone sees the same list.
#[derive(Clone)]
pub struct Suspensions {
    entries: Arc<RwLock<HashMap<i64, Option<i64>>>>,
    clock: SharedClock,
}

impl Suspensions {
    pub fn new(clock: SharedClock) -> Self {
        Suspensions { entries: Arc::default(), clock }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i64, Option<i64>>> {
        self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<i64, Option<i64>>> {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the account is suspended now (a suspension whose end has passed is over).
    pub fn is_suspended(&self, account_id: i64) -> bool {
        let now = self.clock.now().timestamp();
        match self.read().get(&account_id) {
            Some(None) => true,
            Some(Some(until)) => *until > now,
            None => false,
        }
    }

    /// Every account suspended now, ascending.
    pub fn suspended_ids(&self) -> Vec<i64> {
        let now = self.clock.now().timestamp();
        let mut ids: Vec<i64> =
            self.read().iter().filter(|(_, until)| until.is_none_or(|u| u > now)).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids
    }

    pub fn apply(&self, change: SuspensionChange) {
        let mut entries = self.write();
        if change.suspended {
            entries.insert(change.account_id, change.until);
        } else {
            entries.remove(&change.account_id);
        }
    }

    /// Replaces the whole list (a reload from the owning module's table).
    pub fn replace(&self, all: HashMap<i64, Option<i64>>) {
        *self.write() = all;
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, OffsetClock};

    #[test]
    fn a_suspension_with_an_end_is_over_when_the_end_passes() {
        let clock = OffsetClock::new();
        let list = Suspensions::new(clock.clone());
        let now = clock.now().timestamp();
        list.apply(SuspensionChange { account_id: 1, suspended: true, until: Some(now + 60) });
        list.apply(SuspensionChange { account_id: 2, suspended: true, until: None });
        assert!(list.is_suspended(1) && list.is_suspended(2) && !list.is_suspended(3));
        assert_eq!(list.suspended_ids(), vec![1, 2]);
        clock.advance(chrono::Duration::seconds(61));
        assert!(!list.is_suspended(1));
        assert_eq!(list.suspended_ids(), vec![2]);
        list.apply(SuspensionChange { account_id: 2, suspended: false, until: None });
        assert!(!list.is_suspended(2));
    }
}
