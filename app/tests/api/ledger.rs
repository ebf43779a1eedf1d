//! `WalletService` directly: exactly-once keyed transfers under concurrency.

use crate::helpers::*;
use contracts::wallet::{WalletError, WalletRef, WalletService};
use std::sync::Arc;

#[tokio::test]
async fn a_key_moves_money_once_and_replays_return_the_original_receipt() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    let first = wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(1), 500, "k")).await.unwrap();
    assert!(!first.replayed);
    let again = wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(1), 500, "k")).await.unwrap();
    assert!(again.replayed);
    assert_eq!((again.transfer_id, again.to_balance_after), (first.transfer_id, 500));
    assert_eq!(wallets.balance(&WalletRef::Account(1)).await.unwrap(), 500);
    let conflict = wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(1), 501, "k")).await;
    assert_eq!(conflict.unwrap_err(), WalletError::IdempotencyConflict);
    assert_eq!(wallets.find_transfer("k").await.unwrap().unwrap().transfer_id, first.transfer_id);
    assert!(wallets.find_transfer("nope").await.unwrap().is_none());
}

#[tokio::test]
async fn accounts_and_escrows_cannot_be_overdrawn() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(7), 100, "fund")).await.unwrap();
    let err =
        wallets.transfer(wallet_transfer(WalletRef::Account(7), WalletRef::escrow("mission:1"), 101, "too-much")).await;
    assert_eq!(err.unwrap_err(), WalletError::InsufficientBalance);
    assert_eq!(wallets.balance(&WalletRef::Account(7)).await.unwrap(), 100);
    // The refused key was not consumed.
    wallets
        .transfer(wallet_transfer(WalletRef::Account(7), WalletRef::escrow("mission:1"), 100, "too-much"))
        .await
        .unwrap();
    let err =
        wallets.transfer(wallet_transfer(WalletRef::escrow("mission:1"), WalletRef::Account(8), 101, "drain")).await;
    assert_eq!(err.unwrap_err(), WalletError::InsufficientBalance);
    assert_eq!(
        wallets.transfer(wallet_transfer(WalletRef::Account(7), WalletRef::Account(7), 1, "self")).await.unwrap_err(),
        WalletError::SameWallet
    );
    assert_eq!(
        wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(7), 0, "zero")).await.unwrap_err(),
        WalletError::InvalidAmount
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_key_applied_concurrently_moves_money_once() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(1), 1000, "fund")).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let wallets = wallets.clone();
            tokio::spawn(async move {
                wallets.transfer(wallet_transfer(WalletRef::Account(1), WalletRef::Account(2), 300, "once")).await
            })
        })
        .collect();
    let receipts: Vec<_> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
    assert_eq!(receipts.iter().filter(|r| !r.replayed).count(), 1);
    assert!(receipts.iter().all(|r| r.transfer_id == receipts[0].transfer_id));
    assert_eq!(wallets.balance(&WalletRef::Account(1)).await.unwrap(), 700);
    assert_eq!(wallets.balance(&WalletRef::Account(2)).await.unwrap(), 300);
}

/// A new wallet is created inside the transfer's own transaction; concurrent first
/// transfers into it race on its creation, and the losers look it up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_transfers_into_a_new_wallet_all_land() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    let tasks: Vec<_> = (1..=20)
        .map(|i| {
            let wallets = wallets.clone();
            tokio::spawn(async move {
                let key = format!("into-new-{i}");
                wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::escrow("pool"), i, &key)).await
            })
        })
        .collect();
    for result in futures::future::join_all(tasks).await {
        assert!(!result.unwrap().unwrap().replayed);
    }
    assert_eq!(wallets.balance(&WalletRef::escrow("pool")).await.unwrap(), (1..=20).sum::<i64>());
    let audit = wallets.audit().await.unwrap();
    assert!(audit.mismatched_wallets.is_empty() && audit.total_balance == 0, "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transfer_storm_conserves_money_and_never_goes_negative() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    let accounts = 12i64;
    for id in 1..=accounts {
        wallets
            .transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(id), 1_000, &format!("fund-{id}")))
            .await
            .unwrap();
    }
    let outcomes = Arc::new(std::sync::Mutex::new((0u32, 0u32)));
    let workers: Vec<_> = (0..8u64)
        .map(|worker| {
            let wallets = wallets.clone();
            let outcomes = outcomes.clone();
            tokio::spawn(async move {
                // A small deterministic generator per worker: random pairs, varied amounts.
                let mut state = worker.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let mut next = move || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state
                };
                for i in 0..60 {
                    let from = (next() % accounts as u64) as i64 + 1;
                    let mut to = (next() % accounts as u64) as i64 + 1;
                    if to == from {
                        to = to % accounts + 1;
                    }
                    let amount = (next() % 400) as i64 + 1;
                    let key = format!("storm-{worker}-{i}");
                    let result = wallets
                        .transfer(wallet_transfer(WalletRef::Account(from), WalletRef::Account(to), amount, &key))
                        .await;
                    let mut o = outcomes.lock().unwrap();
                    match result {
                        Ok(_) => o.0 += 1,
                        Err(WalletError::InsufficientBalance) => o.1 += 1,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let (ok, refused) = *outcomes.lock().unwrap();
    assert_eq!(ok + refused, 480);
    assert!(ok > 100, "most transfers should succeed ({ok} ok, {refused} refused)");
    let mut total = 0;
    for id in 1..=accounts {
        let balance = wallets.balance(&WalletRef::Account(id)).await.unwrap();
        assert!(balance >= 0);
        total += balance;
    }
    assert_eq!(total, accounts * 1_000);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_cancelled_key_can_never_move_money() {
    use contracts::wallet::CancelOutcome;
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(1), 100, "fund")).await.unwrap();
    assert_eq!(wallets.cancel("order:1:debit").await.unwrap(), CancelOutcome::Cancelled);
    assert_eq!(wallets.cancel("order:1:debit").await.unwrap(), CancelOutcome::Cancelled);
    let late = wallets
        .transfer(wallet_transfer(WalletRef::Account(1), WalletRef::escrow("order:1"), 50, "order:1:debit"))
        .await;
    assert_eq!(late.unwrap_err(), WalletError::Cancelled);
    assert!(wallets.find_transfer("order:1:debit").await.unwrap().is_none());
    assert_eq!(wallets.balance(&WalletRef::Account(1)).await.unwrap(), 100);
    // Cancelling an applied key reports it instead.
    match wallets.cancel("fund").await.unwrap() {
        CancelOutcome::AlreadyApplied(receipt) => assert_eq!(receipt.amount, 100),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transfer_racing_a_cancel_either_applies_or_is_fenced_never_both() {
    use contracts::wallet::CancelOutcome;
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    wallets.transfer(wallet_transfer(gateway_wallet(), WalletRef::Account(1), 10_000, "fund")).await.unwrap();
    for i in 0..15 {
        let key = format!("race-{i}");
        let (w1, w2, k1, k2) = (wallets.clone(), wallets.clone(), key.clone(), key.clone());
        let t = tokio::spawn(async move {
            w1.transfer(wallet_transfer(WalletRef::Account(1), WalletRef::Account(2), 10, &k1)).await
        });
        let c = tokio::spawn(async move { w2.cancel(&k2).await });
        let (t, c) = (t.await.unwrap(), c.await.unwrap().unwrap());
        match (t, c) {
            (Ok(_), CancelOutcome::AlreadyApplied(_)) | (Err(WalletError::Cancelled), CancelOutcome::Cancelled) => {}
            other => panic!("inconsistent outcome for {key}: {other:?}"),
        }
    }
    let audit = wallets.audit().await.unwrap();
    assert!(audit.mismatched_wallets.is_empty() && audit.total_balance == 0, "{audit:?}");
}
