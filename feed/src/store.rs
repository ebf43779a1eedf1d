//! Row settings in three tiers, so a feed request never waits for storage: a background
//! refresher loads them from the database into an in-memory snapshot (and a cache copy);
//! when the database is unreachable it takes the cache copy (Redis, or in-process), and when
//! both are, the backup compiled into the binary. Requests only read the snapshot.

use crate::model::{AdSlot, RowSetting};
use crate::repo;
use platform::cache::SharedCache;
use platform::db::{Db, DbError};
use platform::pubsub::SharedPubSub;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

const CACHE_KEY: &str = "feed:settings";
/// Long enough to outlive a database outage.
const CACHE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Admin changes are announced here so every instance refreshes at once.
pub const CHANGED_CHANNEL: &str = "feed:changed";
const BACKUP_JSON: &str = include_str!("../backup.json");

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedSettings {
    pub rows: Vec<RowSetting>,
    pub ad_slots: Vec<AdSlot>,
}

/// Where the settings in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Database,
    Cache,
    Backup,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Database => "database",
            Source::Cache => "cache",
            Source::Backup => "backup",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub settings: Arc<FeedSettings>,
    pub source: Source,
}

pub fn backup_settings() -> anyhow::Result<FeedSettings> {
    Ok(serde_json::from_str(BACKUP_JSON)?)
}

pub struct SettingsStore {
    db: Db,
    cache: SharedCache,
    backup: Arc<FeedSettings>,
    current: RwLock<Arc<Snapshot>>,
}

impl SettingsStore {
    pub fn new(db: Db, cache: SharedCache) -> anyhow::Result<Self> {
        let backup = Arc::new(backup_settings()?);
        let current = RwLock::new(Arc::new(Snapshot { settings: backup.clone(), source: Source::Backup }));
        Ok(SettingsStore { db, cache, backup, current })
    }

    /// The settings in use; never blocks on storage.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current.read().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn set(&self, snapshot: Snapshot) {
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = Arc::new(snapshot);
    }

    async fn load_from_database(&self) -> Result<FeedSettings, DbError> {
        let load = self
            .db
            .run(|conn| Ok::<_, DbError>(FeedSettings { rows: repo::rows(conn)?, ad_slots: repo::ad_slots(conn)? }));
        tokio::time::timeout(Duration::from_secs(3), load)
            .await
            .map_err(|_| DbError::Unavailable("feed settings load timed out".into()))?
    }

    /// Reloads the snapshot from the best tier that answers; returns that tier.
    pub async fn refresh(&self) -> Source {
        match self.load_from_database().await {
            Ok(settings) => {
                if let Ok(json) = serde_json::to_string(&settings)
                    && let Err(e) = self.cache.set(CACHE_KEY, &json, CACHE_TTL).await
                {
                    tracing::debug!(error = %e, "feed settings not cached");
                }
                self.set(Snapshot { settings: Arc::new(settings), source: Source::Database });
                Source::Database
            }
            Err(db_error) => {
                let cached = self.cache.get(CACHE_KEY).await;
                match cached.ok().flatten().and_then(|json| serde_json::from_str::<FeedSettings>(&json).ok()) {
                    Some(settings) => {
                        tracing::warn!(error = %db_error, "feed settings database unreachable; serving the cached copy");
                        self.set(Snapshot { settings: Arc::new(settings), source: Source::Cache });
                        Source::Cache
                    }
                    None => {
                        tracing::warn!(error = %db_error, "feed settings database and cache unreachable; serving the backup");
                        self.set(Snapshot { settings: self.backup.clone(), source: Source::Backup });
                        Source::Backup
                    }
                }
            }
        }
    }

    /// Refreshes every `interval` and whenever an instance announces an admin change.
    pub async fn run(self: Arc<Self>, interval: Duration, pubsub: SharedPubSub, shutdown: CancellationToken) {
        let mut changes = pubsub.subscribe(CHANGED_CHANNEL);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = changes.recv() => {
                    if matches!(changed, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        break;
                    }
                }
                _ = shutdown.cancelled() => break,
            }
            let source = self.refresh().await;
            metrics::gauge!("feed_settings_source", "source" => source.as_str()).set(1.0);
            for other in [Source::Database, Source::Cache, Source::Backup].into_iter().filter(|s| *s != source) {
                metrics::gauge!("feed_settings_source", "source" => other.as_str()).set(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate_row;

    #[test]
    fn the_compiled_in_backup_is_valid() {
        let backup = backup_settings().unwrap();
        assert!(!backup.rows.is_empty());
        for row in &backup.rows {
            assert!(validate_row(row).is_empty(), "{row:?}");
        }
    }
}
