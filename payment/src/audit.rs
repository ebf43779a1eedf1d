//! The incremental ledger audit behind `GET /admin/ledger/audit` and the periodic audit.
//!
//! `ledger_audit_sums` keeps, per wallet, the sum of its entries up to a high-water mark of
//! entry ids (`ledger_audit_state.high_water`). A pass reads, in one consistent snapshot,
//! the entries above the mark (grouped by wallet), the audited sums and every wallet's
//! balance: a wallet is sound when `balance = audited sum + entries above the mark`, and all
//! balances sum to 0. Reading the wallets table each pass is cheap (one row per wallet);
//! the ledger, which grows with every transfer, is read only above the mark.
//!
//! Gaps: on MySQL an entry's id is taken at insert, but the entry becomes visible at
//! commit, so a snapshot may hold id 101 and not yet id 100. The mark therefore only moves
//! over the leading entries above it that are older than `payment.audit_grace_secs`
//! (a transaction that old has committed or rolled back); younger ones are still checked,
//! just not folded. Should one ever commit later than that, its wallet shows up as a
//! mismatch (a false alarm, never a hidden error).
//!
//! Several instances: a pass folds its entries with a compare-and-set on the mark, so
//! concurrent passes are idempotent (the loser's report is still true of its snapshot).

use crate::schema::{ledger_audit_state, ledger_audit_sums, ledger_entries};
use chrono::{DateTime, Duration, Utc};
use diesel::dsl::{max, min};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use platform::clock::{from_db, to_db};
use platform::db::{DbConn, DbError, snapshot_tx, write_tx};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// Wallets whose balance differs from the sum of their entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Mismatch {
    pub wallet: String,
    pub balance: i64,
    pub sum_of_entries: i64,
}

/// An escrow wallet still holding points (an order or mission not yet settled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OpenEscrow {
    pub wallet: String,
    pub balance: i64,
}

/// One audit pass: `sum_of_balances` is 0 and `mismatches` empty in a sound ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditReport {
    pub checked_at: DateTime<Utc>,
    pub wallets: i64,
    /// Over every wallet, system wallets included.
    pub sum_of_balances: i64,
    pub mismatches: Vec<Mismatch>,
    pub open_escrows: Vec<OpenEscrow>,
    /// Ledger entries this pass read (those above the mark).
    #[serde(skip)]
    pub entries_read: i64,
    /// The mark after this pass.
    #[serde(skip)]
    pub high_water: i64,
}

/// The outcome of the last recorded pass (any instance's), for the gauges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastAudit {
    pub checked_at: DateTime<Utc>,
    pub mismatches: i64,
    pub sum_of_balances: i64,
}

#[derive(QueryableByName)]
struct TailRow {
    #[diesel(sql_type = BigInt)]
    wallet_id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    folded: i64,
    /// Entries folded by this pass.
    #[diesel(sql_type = BigInt)]
    folded_entries: i64,
    /// Entries read (those above the mark).
    #[diesel(sql_type = BigInt)]
    entries: i64,
}

#[derive(QueryableByName)]
struct WalletRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    wallet_key: String,
    #[diesel(sql_type = BigInt)]
    balance: i64,
    #[diesel(sql_type = BigInt)]
    audited: i64,
}

/// What a pass read from its snapshot.
struct Snapshot {
    mark: i64,
    fold_to: i64,
    tail: HashMap<i64, TailRow>,
    wallets: Vec<WalletRow>,
}

fn read_snapshot(conn: &mut DbConn, cutoff: DateTime<Utc>) -> Result<Snapshot, DbError> {
    snapshot_tx(conn, |conn| {
        let mark: i64 = ledger_audit_state::table.find(1i64).select(ledger_audit_state::high_water).first(conn)?;
        let above = || ledger_entries::table.filter(ledger_entries::id.gt(mark));
        let youngest_first: Option<i64> =
            above().filter(ledger_entries::created_at.ge(to_db(cutoff))).select(min(ledger_entries::id)).first(conn)?;
        let top: Option<i64> = above().select(max(ledger_entries::id)).first(conn)?;
        // Fold only the leading run of entries older than the grace period.
        let fold_to = youngest_first.map(|id| id - 1).or(top).unwrap_or(mark).max(mark);
        let int = conn.backend().integer_cast();
        let tail: Vec<TailRow> = diesel::sql_query(format!(
            "SELECT wallet_id, CAST(SUM(amount) AS {int}) AS total, \
             CAST(SUM(CASE WHEN id <= ? THEN amount ELSE 0 END) AS {int}) AS folded, \
             CAST(SUM(CASE WHEN id <= ? THEN 1 ELSE 0 END) AS {int}) AS folded_entries, \
             CAST(COUNT(*) AS {int}) AS entries \
             FROM ledger_entries WHERE id > ? GROUP BY wallet_id"
        ))
        .bind::<BigInt, _>(fold_to)
        .bind::<BigInt, _>(fold_to)
        .bind::<BigInt, _>(mark)
        .load(conn)?;
        let wallets: Vec<WalletRow> = diesel::sql_query(format!(
            "SELECT w.id AS id, w.wallet_key AS wallet_key, w.balance AS balance, \
             CAST(COALESCE(s.entries_sum, 0) AS {int}) AS audited \
             FROM wallets w LEFT JOIN ledger_audit_sums s ON s.wallet_id = w.id ORDER BY w.id"
        ))
        .load(conn)?;
        Ok(Snapshot { mark, fold_to, tail: tail.into_iter().map(|t| (t.wallet_id, t)).collect(), wallets })
    })
}

impl Snapshot {
    fn report(&self, now: DateTime<Utc>) -> AuditReport {
        let mut report = AuditReport {
            checked_at: now,
            wallets: self.wallets.len() as i64,
            sum_of_balances: 0,
            mismatches: Vec::new(),
            open_escrows: Vec::new(),
            entries_read: self.tail.values().map(|t| t.entries).sum(),
            high_water: self.fold_to,
        };
        for w in &self.wallets {
            report.sum_of_balances += w.balance;
            let sum_of_entries = w.audited + self.tail.get(&w.id).map_or(0, |t| t.total);
            if w.balance != sum_of_entries {
                report.mismatches.push(Mismatch { wallet: w.wallet_key.clone(), balance: w.balance, sum_of_entries });
            }
            if w.wallet_key.starts_with("escrow:") && w.balance != 0 {
                report.open_escrows.push(OpenEscrow { wallet: w.wallet_key.clone(), balance: w.balance });
            }
        }
        report
    }
}

/// Stores the pass's outcome and, if nobody moved the mark since the snapshot, folds its
/// entries into the audited sums and advances the mark (one transaction).
fn record(conn: &mut DbConn, snapshot: &Snapshot, report: &AuditReport) -> Result<(), DbError> {
    let audited: HashMap<i64, i64> = snapshot.wallets.iter().map(|w| (w.id, w.audited)).collect();
    // Absolute values from the snapshot: valid because the mark (checked below) has not moved.
    let folded: Vec<(i64, i64)> = snapshot
        .tail
        .values()
        .filter(|t| t.folded_entries > 0)
        .map(|t| (t.wallet_id, audited.get(&t.wallet_id).copied().unwrap_or(0) + t.folded))
        .collect();
    let now = to_db(report.checked_at);
    write_tx(conn, |conn| {
        use ledger_audit_state::dsl as s;
        // `passes + 1` makes the row change even when nothing moved (MySQL counts changed rows).
        let won = diesel::update(
            s::ledger_audit_state
                .filter(s::id.eq(1i64))
                .filter(s::high_water.eq(snapshot.mark))
                .filter(s::checked_at.is_null().or(s::checked_at.le(now))),
        )
        .set((
            s::high_water.eq(snapshot.fold_to),
            s::passes.eq(s::passes + 1),
            s::checked_at.eq(Some(now)),
            s::wallets.eq(report.wallets),
            s::mismatches.eq(report.mismatches.len() as i64),
            s::sum_of_balances.eq(report.sum_of_balances),
        ))
        .execute(conn)?;
        if won != 1 {
            return Ok(());
        }
        for chunk in folded.chunks(500) {
            let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
            diesel::delete(ledger_audit_sums::table.filter(ledger_audit_sums::wallet_id.eq_any(&ids))).execute(conn)?;
            // One multi-row insert (diesel's batch insert does not build for the multi-backend
            // connection); the values are integers.
            let rows: Vec<String> = chunk.iter().map(|(id, sum)| format!("({id}, {sum})")).collect();
            diesel::sql_query(format!(
                "INSERT INTO ledger_audit_sums (wallet_id, entries_sum) VALUES {}",
                rows.join(", ")
            ))
            .execute(conn)?;
        }
        Ok(())
    })
}

/// One pass at `now`: entries younger than `grace` are checked but not folded yet.
pub fn pass(conn: &mut DbConn, now: DateTime<Utc>, grace: Duration) -> Result<AuditReport, DbError> {
    let snapshot = read_snapshot(conn, now - grace)?;
    let report = snapshot.report(now);
    record(conn, &snapshot, &report)?;
    Ok(report)
}

/// The last recorded pass, `None` before the first.
pub fn last(conn: &mut DbConn) -> Result<Option<LastAudit>, DbError> {
    use ledger_audit_state::dsl as s;
    let row: Option<(Option<chrono::NaiveDateTime>, i64, i64)> = s::ledger_audit_state
        .find(1i64)
        .select((s::checked_at, s::mismatches, s::sum_of_balances))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(at, mismatches, sum_of_balances)| {
        at.map(|at| LastAudit { checked_at: from_db(at), mismatches, sum_of_balances })
    }))
}
