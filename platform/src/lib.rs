//! Infrastructure every module uses, and no business rules: layered configuration
//! ([`config`]); one diesel pool per module on SQLite or MySQL/MariaDB, with migrations,
//! write transactions, retries and timeouts ([`db`]); a cache ([`cache`]) and pub/sub
//! ([`pubsub`]) over Redis or in-process; an in-process cache of rendered answers kept true
//! across instances over pub/sub ([`hotcache`]); the transactional outbox ([`outbox`]) and mail
//! ([`mailer`]); the injectable clock ([`clock`]); the API error type and error bodies
//! ([`error`]); access-token verification and the `AuthUser` extractors ([`auth`]); request
//! helpers (JSON bodies, `Idempotency-Key`, paging, client IP: [`http`]); the one flow for
//! client idempotency keys ([`idempotency`]); per-IP rate limits
//! ([`ratelimit`]); the in-memory list of suspended accounts ([`suspension`]); logging and request ids ([`telemetry`]); and, behind the `testkit`
//! feature, a fresh test database per test.
//!
//! - Tables: none of its own. The outbox it writes is the calling module's table
//!   (`<module>_outbox`, named in [`outbox::Outbox::new`]); migrations are the modules'.
//! - Endpoints and workers: none. `app` mounts the modules' routes and runs the
//!   [`outbox::Dispatcher`]s and periodic tasks built from these pieces.
//! - Never: depend on a domain crate (only on `contracts`), decide a business rule, or read a
//!   module's tables other than through the table name that module hands it.

pub mod auth;
pub mod cache;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod hotcache;
pub mod http;
pub mod idempotency;
pub mod mailer;
pub mod outbox;
pub mod pubsub;
pub mod ratelimit;
pub mod suspension;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{ApiError, ApiResult};

/// A service struct and its `new`, which takes every field in order: the services'
/// constructors only store their dependencies, so the list is written once.
#[macro_export]
macro_rules! service_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:ident: $ty:ty,)+ }) => {
        $(#[$meta])*
        pub struct $name {
            $($field: $ty,)+
        }

        impl $name {
            #[allow(clippy::too_many_arguments)]
            pub fn new($($field: $ty),+) -> Self {
                $name { $($field),+ }
            }
        }
    };
}
