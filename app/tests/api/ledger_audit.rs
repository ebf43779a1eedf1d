//! `GET /admin/ledger/audit`, the incremental audit behind it and its gauges.

use crate::helpers::*;
use contracts::Role;
use contracts::wallet::{EntryKind, TransferRequest, WalletRef, WalletService};
use diesel::RunQueryDsl;
use platform::db::DbError;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn fund(to: i64, amount: i64, key: &str) -> TransferRequest {
    TransferRequest {
        from: WalletRef::System("gateway".into()),
        to: WalletRef::Account(to),
        amount,
        kind: EntryKind::Charge,
        reference: "test".into(),
        idempotency_key: key.into(),
    }
}

async fn execute(app: &TestApp, sql: String) {
    app.assembled.wallets.db().run(move |c| diesel::sql_query(&sql).execute(c).map_err(DbError::from)).await.unwrap();
}

async fn top_entry_id(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Top {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        top: i64,
    }
    let int = app.assembled.wallets.db().backend().integer_cast();
    let sql = format!("SELECT CAST(COALESCE(MAX(id), 0) AS {int}) AS top FROM ledger_entries");
    app.assembled
        .wallets
        .db()
        .run(move |c| diesel::sql_query(&sql).get_result::<Top>(c).map(|t| t.top).map_err(DbError::from))
        .await
        .unwrap()
}

/// The value of an unlabelled gauge on `/metrics`, once it equals `expected` (the recorder
/// is shared by every app in this process: another test's scrape may set it in between).
async fn gauge_becomes(app: &TestApp, name: &str, expected: f64) -> Option<f64> {
    platform::testkit::eventually(Duration::from_secs(10), || async {
        let text = app.get_root("/metrics").await.text().await;
        let value = text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok());
        (value == Some(expected)).then_some(expected)
    })
    .await
}

#[tokio::test]
async fn a_corrupted_balance_is_reported_by_the_endpoint_and_the_gauges() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    wallets.transfer(fund(1, 500, "a")).await.unwrap();
    wallets.transfer(fund(2, 300, "b")).await.unwrap();
    app.assert_ledger_balanced().await;

    let admin = app.client_for(1_000_000, Role::Admin);
    app.user(Role::Customer).await.get("/admin/ledger/audit").fails(403, "forbidden").await;
    app.get("/admin/ledger/audit").fails(401, "unauthenticated").await;

    // A balance changed behind the ledger's back (no entry): wallet 1 gains 7 points.
    execute(&app, "UPDATE wallets SET balance = balance + 7 WHERE wallet_key = 'account:1'".into()).await;
    let report: Value = admin.get("/admin/ledger/audit").returns(200).await;
    assert_eq!(
        report["mismatches"],
        json!([{"wallet": "account:1", "balance": 507, "sum_of_entries": 500}]),
        "{report}"
    );
    assert_eq!(report["sum_of_balances"], 7, "{report}");
    assert_eq!(report["wallets"], 3, "{report}");
    assert!(report["checked_at"].is_string() && report["open_escrows"] == json!([]), "{report}");
    assert_eq!(gauge_becomes(&app, "ledger_audit_mismatches", 1.0).await, Some(1.0));
    assert_eq!(gauge_becomes(&app, "ledger_sum_of_balances", 7.0).await, Some(7.0));

    // Repaired: the next pass is clean again, and so are the gauges.
    execute(&app, "UPDATE wallets SET balance = balance - 7 WHERE wallet_key = 'account:1'".into()).await;
    app.assert_ledger_balanced().await;
    assert_eq!(gauge_becomes(&app, "ledger_audit_mismatches", 0.0).await, Some(0.0));
    assert_eq!(gauge_becomes(&app, "ledger_sum_of_balances", 0.0).await, Some(0.0));
}

#[tokio::test]
async fn open_escrows_are_listed() {
    let app = spawn_app().await;
    let wallets = app.assembled.wallets.clone();
    wallets.transfer(fund(1, 500, "a")).await.unwrap();
    let hold = TransferRequest {
        from: WalletRef::Account(1),
        to: WalletRef::Escrow("order:9".into()),
        amount: 200,
        kind: EntryKind::Purchase,
        reference: "order:9".into(),
        idempotency_key: "hold".into(),
    };
    wallets.transfer(hold).await.unwrap();
    let report: Value = app.client_for(1_000_000, Role::Admin).get("/admin/ledger/audit").returns(200).await;
    assert_eq!(report["open_escrows"], json!([{"wallet": "escrow:order:9", "balance": 200}]), "{report}");
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn passes_read_only_new_entries_and_fold_them_after_the_grace_period() {
    let app = spawn_app_with(TestOptions::default().with("payment.audit_grace_secs", 60)).await;
    let wallets = app.assembled.wallets.clone();
    for i in 0..5 {
        wallets.transfer(fund(i, 100, &format!("k{i}"))).await.unwrap();
    }
    // Younger than the grace period: checked, not folded.
    let first = wallets.audit_pass().await.unwrap();
    assert_eq!((first.entries_read, first.high_water, first.mismatches.len()), (10, 0, 0));
    app.clock.advance(chrono::Duration::seconds(61));
    let folded = wallets.audit_pass().await.unwrap();
    assert_eq!((folded.entries_read, folded.mismatches.len(), folded.sum_of_balances), (10, 0, 0));
    assert!(folded.high_water >= 10, "{folded:?}");
    // Nothing new: nothing read; a new transfer: only its two entries.
    assert_eq!(wallets.audit_pass().await.unwrap().entries_read, 0);
    wallets.transfer(fund(1, 50, "later")).await.unwrap();
    let next = wallets.audit_pass().await.unwrap();
    assert_eq!((next.entries_read, next.high_water, next.mismatches.len()), (2, folded.high_water, 0));
    // A folded wallet is still compared with its audited sum every pass.
    execute(&app, "UPDATE wallets SET balance = balance - 1 WHERE wallet_key = 'account:3'".into()).await;
    let broken = wallets.audit_pass().await.unwrap();
    assert_eq!(broken.mismatches.len(), 1, "{broken:?}");
    assert_eq!((broken.mismatches[0].balance, broken.mismatches[0].sum_of_entries), (99, 100));
    execute(&app, "UPDATE wallets SET balance = balance + 1 WHERE wallet_key = 'account:3'".into()).await;
    app.assert_ledger_balanced().await;
}

/// Transfers back and forth between account 1 and 2 + `t`, on `wallets`.
fn storm(wallets: &std::sync::Arc<payment::Wallets>, t: i64, round: &str) -> tokio::task::JoinHandle<()> {
    let w = wallets.clone();
    let round = round.to_string();
    tokio::spawn(async move {
        for i in 0..30 {
            let (from, to) = if i % 2 == 0 { (1, 2 + t) } else { (2 + t, 1) };
            let request = TransferRequest {
                from: WalletRef::Account(from),
                to: WalletRef::Account(to),
                amount: 10,
                kind: EntryKind::Purchase,
                reference: "storm".into(),
                idempotency_key: format!("storm-{round}-{t}-{i}"),
            };
            w.transfer(request).await.unwrap();
        }
    })
}

fn auditor(wallets: &std::sync::Arc<payment::Wallets>) -> tokio::task::JoinHandle<Vec<payment::AuditReport>> {
    let w = wallets.clone();
    tokio::spawn(async move {
        let mut reports = Vec::new();
        for _ in 0..10 {
            reports.push(w.audit_pass().await.unwrap());
        }
        reports
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_auditing_during_transfer_storms_fold_every_entry_once() {
    let app = spawn_app_with(TestOptions::default().with("payment.audit_grace_secs", 60)).await;
    let peer = spawn_peer(&app).await;
    let (a, b) = (app.assembled.wallets.clone(), peer.assembled.wallets.clone());
    a.transfer(fund(1, 1_000_000, "fund")).await.unwrap();
    // Round 1 is checked while in flight; in round 2 (a grace period later) both instances
    // race to fold round 1 while round 2 is in flight.
    for round in ["one", "two"] {
        let movers: Vec<_> = (0..4).map(|t| storm(if t % 2 == 0 { &a } else { &b }, t, round)).collect();
        let auditors = [auditor(&a), auditor(&b)];
        futures::future::join_all(movers).await.into_iter().for_each(|r| r.unwrap());
        for reports in futures::future::join_all(auditors).await {
            for report in reports.unwrap() {
                // Every snapshot is consistent, whatever was in flight.
                assert!(report.mismatches.is_empty() && report.sum_of_balances == 0, "{report:?}");
            }
        }
        app.clock.advance(chrono::Duration::seconds(61));
        peer.clock.advance(chrono::Duration::seconds(61));
    }
    // Everything folded now; a double fold or a skipped entry would show as a mismatch.
    let last = b.audit_pass().await.unwrap();
    assert!(last.mismatches.is_empty() && last.sum_of_balances == 0, "{last:?}");
    assert_eq!(last.high_water, top_entry_id(&app).await, "{last:?}");
    assert_eq!(a.audit_pass().await.unwrap().entries_read, 0);
    app.assert_ledger_balanced().await;
}

/// Measures a first audit pass over 1,000,000 ledger entries against the next, incremental
/// one (after 1,000 more transfers), and the full scan, on the backend under test:
/// `TEST_BACKEND=mysql cargo test --features app/mysql -p app --test api --release -- --ignored --nocapture audit_of_a_million`.
#[tokio::test]
#[ignore = "a benchmark: inserts 1,000,000 ledger entries"]
#[allow(clippy::print_stdout)] // a benchmark prints its numbers
async fn audit_of_a_million_entries_first_and_incremental_pass() {
    const WALLETS: i64 = 10_000;
    const TRANSFERS: i64 = 500_000;
    let app = spawn_app_with(TestOptions::default().with("payment.audit_grace_secs", 0)).await;
    let wallets = app.assembled.wallets.clone();
    let started = Instant::now();
    // The wallets first (ids 1..=WALLETS are accounts, WALLETS+1 the source), then the
    // entries in multi-row inserts, then the balances they add up to.
    let now = "'2026-01-01 00:00:00'";
    for chunk in (1..=WALLETS + 1).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                let (key, negative) =
                    if *i > WALLETS { ("system:bench".to_string(), 1) } else { (format!("account:{i}"), 0) };
                format!("({i}, '{key}', 0, {negative}, {now}, {now})")
            })
            .collect();
        execute(
            &app,
            format!(
                "INSERT INTO wallets (id, wallet_key, balance, allow_negative, created_at, updated_at) VALUES {}",
                rows.join(", ")
            ),
        )
        .await;
    }
    let source = WALLETS + 1;
    for chunk in (0..TRANSFERS).collect::<Vec<_>>().chunks(2000) {
        let rows: Vec<String> = chunk
            .iter()
            .flat_map(|t| {
                let to = t % WALLETS + 1;
                [
                    format!("({source}, {t}, -1, 0, 'charge', 'bench', 'bench:{t}:debit', {now})"),
                    format!("({to}, {t}, 1, 0, 'charge', 'bench', 'bench:{t}:credit', {now})"),
                ]
            })
            .collect();
        execute(&app, format!("INSERT INTO ledger_entries (wallet_id, transfer_id, amount, balance_after, kind, reference, entry_key, created_at) VALUES {}", rows.join(", "))).await;
    }
    execute(&app, format!("UPDATE wallets SET balance = {} WHERE id <= {WALLETS}", TRANSFERS / WALLETS)).await;
    execute(&app, format!("UPDATE wallets SET balance = -{TRANSFERS} WHERE id = {source}")).await;
    let loaded = started.elapsed();

    let timed = Instant::now();
    let first = wallets.audit_pass().await.unwrap();
    let first_time = timed.elapsed();
    assert!(first.mismatches.is_empty() && first.sum_of_balances == 0 && first.entries_read == 2 * TRANSFERS);
    for i in 0..1000 {
        wallets.transfer(fund(i % WALLETS + 1, 1, &format!("more-{i}"))).await.unwrap();
    }
    let timed = Instant::now();
    let next = wallets.audit_pass().await.unwrap();
    let next_time = timed.elapsed();
    assert!(next.mismatches.is_empty() && next.sum_of_balances == 0 && next.entries_read == 2000, "{next:?}");
    let timed = Instant::now();
    let full = wallets.audit().await.unwrap();
    let full_time = timed.elapsed();
    assert!(full.mismatched_wallets.is_empty());
    println!(
        "ledger audit, {} entries over {} wallets ({}; loaded in {loaded:.1?}): first pass {first_time:.2?}, \
         incremental pass (2,000 new entries) {next_time:.2?} = {:.4} of the first, full scan {full_time:.2?}",
        first.entries_read + next.entries_read,
        first.wallets,
        std::env::var("TEST_BACKEND").unwrap_or_else(|_| "sqlite".into()),
        next_time.as_secs_f64() / first_time.as_secs_f64(),
    );
}
