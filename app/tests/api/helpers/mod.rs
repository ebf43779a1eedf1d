//! The harness the tests are written in. Where to look:
//!
//! | file | what it holds |
//! | --- | --- |
//! | `spawn.rs` | `spawn_app`, `spawn_app_with(TestOptions)`, `spawn_peer`: an app on a random port with fresh databases, its own Redis prefix, mail directory and clock; `TestApp` |
//! | `client.rs` | `Client` (address + token), the `Api` verbs (`get`, `post`, … on docs/api.md's paths), `Call` (headers, `idempotency_key`, then `.await`, `returns`, `fails`) and `Reply` |
//! | `users.rs` | `User`, a logged-in account whose calls carry its token; sign-up, login, admins, bare tokens |
//! | `dto.rs` | the API's answers as a client reads them (`Account`, `Product`, `Cart`, `Order`, `ErrorBody`, …) |
//! | `fixtures.rs` | charged users, products, cart lines, checkouts; balances, entries and stock to check |
//! | `mock_server.rs` | `mock_server`: an external API (Toss, FCM) mocked on loopback with a shared state |
//! | `mail.rs` | the emails the app wrote, and the tokens in them |
//! | `faults.rs` | a wallet service that crashes around chosen transfers; a Redis of the test's own |
//! | `assertions.rs` | the error-body check behind `fails`; the ledger audit |

mod assertions;
mod client;
mod dto;
mod faults;
mod fixtures;
pub mod logs;
mod mail;
pub mod mock_server;
mod spawn;
pub mod toss_mock;
mod users;

pub use client::*;
pub use dto::*;
pub use faults::*;
pub use fixtures::*;
pub use mail::*;
pub use mock_server::*;
pub use spawn::*;
pub use users::*;
