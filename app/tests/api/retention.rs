//! Retention sweeps: old bookkeeping goes, history and anything still needed stays.

use crate::helpers::*;
use chrono::Duration;
use contracts::wallet::{CancelOutcome, WalletError, WalletRef, WalletService};
use diesel::prelude::*;
use payment::retention::{Retention, Swept};
use platform::db::DbError;

const RETENTION: Retention = Retention { fence_days: 30, escrow_days: 30 };

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    let db = app.assembled.database("payment").unwrap().clone();
    db.run(move |c| diesel::sql_query(sql).get_result::<Count>(c).map(|r| r.n).map_err(DbError::from)).await.unwrap()
}

/// An escrow that never received an entry, created now: what a refused transfer left before
/// transfers created new wallets inside their own transaction (older ledgers hold such rows).
async fn leave_empty_escrow(app: &TestApp, key: &'static str) {
    let db = app.assembled.database("payment").unwrap().clone();
    let now = platform::clock::to_db(platform::clock::Clock::now(&*app.clock));
    db.run(move |c| {
        diesel::sql_query(
            "INSERT INTO wallets (wallet_key, balance, allow_negative, created_at, updated_at) VALUES (?, 0, 0, ?, ?)",
        )
        .bind::<diesel::sql_types::Text, _>(key)
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .execute(c)
        .map_err(DbError::from)
    })
    .await
    .unwrap();
}

async fn assert_balanced(app: &TestApp) {
    let audit = app.assembled.wallets.audit().await.unwrap();
    assert!(audit.mismatched_wallets.is_empty() && audit.total_balance == 0, "{audit:?}");
    let pass = app.assembled.wallets.audit_pass().await.unwrap();
    assert!(pass.mismatches.is_empty() && pass.sum_of_balances == 0, "{pass:?}");
}

#[tokio::test]
async fn fences_past_their_retention_are_swept_and_recent_ones_still_fence() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(1), 1_000, "fund")).await.unwrap();
    assert_eq!(wallets.cancel("old-debit").await.unwrap(), CancelOutcome::Cancelled);
    app.clock.advance(Duration::days(31));
    assert_eq!(wallets.cancel("new-debit").await.unwrap(), CancelOutcome::Cancelled);
    assert_eq!(wallets.sweep(RETENTION).await.unwrap(), Swept { fences: 1, empty_escrows: 0 });
    // The recent fence still stops its late debit; the applied transfer is history, kept.
    let late = wallets.transfer(wallet_transfer(WalletRef::Account(1), WalletRef::Account(2), 10, "new-debit")).await;
    assert_eq!(late.unwrap_err(), WalletError::Cancelled);
    assert!(wallets.find_transfer("fund").await.unwrap().is_some());
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM transfers WHERE cancelled = 1").await, 1);
    assert_eq!(wallets.sweep(RETENTION).await.unwrap(), Swept::default());
    assert_balanced(&app).await;
}

#[tokio::test]
async fn only_old_escrows_that_never_held_an_entry_are_swept() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(1), 100, "fund")).await.unwrap();
    let escrows = "SELECT COUNT(*) AS n FROM wallets WHERE wallet_key LIKE 'escrow:%'";
    // Refused for a low balance: the escrow it would have created is rolled back with it.
    let refused =
        wallets.transfer(wallet_transfer(WalletRef::Account(1), WalletRef::escrow("order:9"), 500, "o9")).await;
    assert_eq!(refused.unwrap_err(), WalletError::InsufficientBalance);
    assert_eq!(count(&app, escrows).await, 0);
    leave_empty_escrow(&app, "escrow:order:1").await;
    // In and out again: balance 0, two entries of history.
    wallets.transfer(wallet_transfer(WalletRef::Account(1), WalletRef::escrow("order:2"), 60, "o2-in")).await.unwrap();
    wallets.transfer(wallet_transfer(WalletRef::escrow("order:2"), WalletRef::Account(3), 60, "o2-out")).await.unwrap();
    assert_balanced(&app).await;
    assert_eq!(count(&app, escrows).await, 2);
    // Too recent.
    app.clock.advance(Duration::days(29));
    assert_eq!(wallets.sweep(RETENTION).await.unwrap(), Swept::default());
    app.clock.advance(Duration::days(2));
    // A recently created empty escrow stays too.
    leave_empty_escrow(&app, "escrow:order:3").await;
    assert_eq!(wallets.sweep(RETENTION).await.unwrap(), Swept { fences: 0, empty_escrows: 1 });
    assert_eq!(count(&app, escrows).await, 2);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM wallets WHERE wallet_key = 'escrow:order:1'").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM ledger_entries").await, 6);
    assert_balanced(&app).await;
    // The swept escrow is created anew when its key is used again.
    wallets
        .transfer(wallet_transfer(WalletRef::Account(1), WalletRef::escrow("order:1"), 40, "o1-again"))
        .await
        .unwrap();
    assert_eq!(wallets.balance(&WalletRef::escrow("order:1")).await.unwrap(), 40);
    assert_balanced(&app).await;
}
