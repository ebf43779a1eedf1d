//! Events modules announce about themselves, for other modules to react to (notifications,
//! caches, moderation) without reading each other's tables.
//!
//! A module publishes an event by writing it to its own outbox in the transaction that made
//! it true (`platform::outbox::Outbox::publish`); `app` subscribes other modules' handlers
//! to its topics. The payload types live here, so that a subscriber decodes them without
//! depending on the publishing crate.
//!
//! Conventions:
//! - the topic is `"{module}.{event}"`, e.g. `order.order_shipped`;
//! - the dedupe key names the event uniquely (`order_shipped:7:3` for order 7, line item 3):
//!   a second publish of the same key is ignored, and subscribers key their own effects on
//!   it (one notification per event and recipient), so a redelivered event changes nothing;
//! - payloads carry what subscribers need to act without calling back (ids, the parties,
//!   amounts, names as they were), and only grow: fields are added, never renamed.

use serde::Serialize;

/// A fact one module announces.
pub trait Event: Serialize {
    /// `"{module}.{event}"`.
    fn topic(&self) -> &'static str;
    /// Unique per occurrence; publishing twice under one key stores the event once.
    fn dedupe_key(&self) -> String;
}
