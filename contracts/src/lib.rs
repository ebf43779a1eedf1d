//! The service traits and DTOs through which modules call each other.
//!
//! Nothing here knows about diesel, actix or any storage: a module that implements a trait
//! can move behind a network boundary without its callers changing.

pub mod account;
pub mod catalog;
pub mod chat;
pub mod common;
pub mod events;
pub mod mission;
pub mod wallet;

pub use common::{Page, PageRequest, Role, ServiceError};
