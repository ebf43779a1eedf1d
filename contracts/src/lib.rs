//! The service traits and DTOs through which modules call each other: `AccountService`,
//! `WalletService` (keyed transfers, fences), `CatalogService`, `CartService`, `ChatService`,
//! `MissionService`, the order module's events ([`order`]), the moderation hooks (`ModerationTarget`,
//! `Suspender`), plus the shared `Role`, `Page`/`PageRequest` and `ServiceError`.
//!
//! - Tables, endpoints, workers: none.
//! - Never: know about diesel, actix or any storage, or depend on any other crate of the
//!   workspace. A module that implements a trait can move behind a network boundary without
//!   its callers changing, so DTOs carry plain data and errors are domain errors.

pub mod account;
pub mod catalog;
pub mod chat;
pub mod common;
pub mod events;
pub mod mission;
pub mod moderation;
pub mod order;
pub mod values;
pub mod wallet;

pub use common::{Page, PageRequest, Role, ServiceError};
pub use values::{AccountId, ChargeId, ItemId, MissionId, OrderId, PayoutId, ProductId, UnknownValue};
