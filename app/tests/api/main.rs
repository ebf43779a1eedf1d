//! Integration tests over HTTP. Every test starts its own app on a random port against a
//! fresh database; the same tests run on SQLite (default) and on MariaDB + Redis
//! (`TEST_BACKEND=mysql TEST_REDIS_URL=redis://…`), optionally with the account module on a
//! database of its own (`TEST_SPLIT_ACCOUNT_DB=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod auth;
mod authz;
mod cart;
mod catalog;
mod chat;
mod checkout;
mod deploy_files;
mod errors;
mod fcm;
mod feed;
mod feed_preview;
mod hot_reads;
mod ledger;
mod ledger_audit;
mod mission;
mod moderation;
mod notifications;
mod openapi_snapshot;
mod operations;
mod orders;
mod outbox;
mod payouts;
mod refunds;
mod retention;
mod seed;
mod toss;
mod wallet;
mod webapp;
