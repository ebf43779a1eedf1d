//! Payment's retention sweep (`payment.retention_interval_secs`): what of the ledger's
//! bookkeeping may go, and nothing of its history.
//!
//! - **Cancel fences** (`transfers` rows with `cancelled`, no amount, no entries): a fence
//!   stops a saga's late debit, which can only arrive while that saga's request or recovery
//!   pass is still running (seconds to minutes). After `payment.fence_retention_days` no
//!   caller of the key is left, so the row goes.
//! - **Empty escrows**: escrow wallets that never received an entry (the transfer that
//!   created them was refused, e.g. for a low balance) and have not changed for
//!   `payment.escrow_retention_days`. A transfer that looked one up just before it went fails
//!   its credit with [`PaymentError::WalletChanged`] and creates it anew. Escrows with entries are
//!   ledger history (their entries sum to their balance, 0) and are kept, like every entry.

use crate::error::PaymentError;
use crate::schema::{ledger_audit_sums, transfers};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use platform::clock::to_db;
use platform::db::{DbConn, DbError, IdRow, write_tx};
use serde::Serialize;

/// Rows deleted per transaction.
const BATCH: i64 = 500;

/// How long each kind of row is kept (the `[payment]` keys of the same names).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub fence_days: i64,
    pub escrow_days: i64,
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub fences: usize,
    pub empty_escrows: usize,
}

/// Deletes fences and empty escrows past their retention, in batches.
pub(crate) fn sweep(conn: &mut DbConn, retention: Retention, now: DateTime<Utc>) -> Result<Swept, PaymentError> {
    let fence_cutoff = to_db(now - Duration::days(retention.fence_days.max(1)));
    let escrow_cutoff = to_db(now - Duration::days(retention.escrow_days.max(1)));
    let mut swept = Swept::default();
    loop {
        let n = write_tx(conn, |c| {
            let ids: Vec<i64> = transfers::table
                .filter(transfers::cancelled.eq(true))
                .filter(transfers::created_at.lt(fence_cutoff))
                .select(transfers::id)
                .limit(BATCH)
                .load(c)?;
            Ok::<_, DbError>(
                diesel::delete(
                    transfers::table.filter(transfers::id.eq_any(&ids)).filter(transfers::cancelled.eq(true)),
                )
                .execute(c)?,
            )
        })?;
        swept.fences += n;
        if (n as i64) < BATCH {
            break;
        }
    }
    loop {
        let n = write_tx(conn, |c| {
            let ids: Vec<IdRow> = diesel::sql_query(
                "SELECT w.id AS id FROM wallets w WHERE w.wallet_key LIKE 'escrow:%' AND w.balance = 0 \
                 AND w.updated_at < ? AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.wallet_id = w.id) \
                 ORDER BY w.id LIMIT ?",
            )
            .bind::<Timestamp, _>(escrow_cutoff)
            .bind::<BigInt, _>(BATCH)
            .load(c)?;
            let mut deleted = 0;
            for IdRow { id } in ids {
                // Checked again: an entry committed since the select keeps the wallet.
                let gone = diesel::sql_query(
                    "DELETE FROM wallets WHERE id = ? AND balance = 0 \
                     AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.wallet_id = wallets.id)",
                )
                .bind::<BigInt, _>(id)
                .execute(c)?;
                if gone == 1 {
                    // Its audited sum (0), if a pass recorded one.
                    diesel::delete(ledger_audit_sums::table.find(id)).execute(c)?;
                    deleted += 1;
                }
            }
            Ok::<_, DbError>(deleted)
        })?;
        swept.empty_escrows += n;
        if (n as i64) < BATCH {
            break;
        }
    }
    Ok(swept)
}
