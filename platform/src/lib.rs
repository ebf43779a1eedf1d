//! Infrastructure every module uses: configuration, database pools and migrations, cache,
//! pub/sub, mail, the outbox, the clock, the API error type and the auth extractors.
//! No business rules live here.

pub mod auth;
pub mod cache;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod mailer;
pub mod outbox;
pub mod pubsub;
pub mod ratelimit;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{ApiError, ApiResult};
