//! Ledger queries. Every movement is one transfer row (UNIQUE idempotency key) and two
//! signed entries (UNIQUE entry keys), applied with conditional balance updates in wallet-id
//! order so that concurrent transfers neither overdraw nor deadlock.

use crate::error::PaymentError;
use crate::schema::{ledger_entries, transfers, wallets};
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::wallet::{EntryKind, TransferReceipt, TransferRequest, WalletRef};
use diesel::prelude::*;
use platform::clock::{from_db, to_db};
use platform::db::OnDuplicate;
use platform::db::{CachedExt, DbConn, DbError, last_insert_id};

pub fn parse_wallet_key(key: &str) -> Option<WalletRef> {
    let (kind, rest) = key.split_once(':')?;
    match kind {
        "account" => rest.parse().ok().map(WalletRef::Account),
        "escrow" => Some(WalletRef::Escrow(rest.to_string())),
        "system" => Some(WalletRef::System(rest.to_string())),
        _ => None,
    }
}

pub fn find_wallet(conn: &mut DbConn, wallet: &WalletRef) -> Result<Option<(i64, i64)>, DbError> {
    Ok(wallets::table
        .filter(wallets::wallet_key.eq(wallet.key()))
        .select((wallets::id, wallets::balance))
        .first(conn)
        .optional()?)
}

/// The wallet's id, creating it on first use. Call outside a transaction: a wallet created
/// by a concurrent caller must be visible to the re-read after our insert loses the race.
pub fn ensure_wallet(conn: &mut DbConn, wallet: &WalletRef, now: DateTime<Utc>) -> Result<i64, DbError> {
    if let Some((id, _)) = find_wallet(conn, wallet)? {
        return Ok(id);
    }
    match insert_wallet(conn, wallet, now) {
        Err(e) if e.is_unique_violation() => find_wallet(conn, wallet)?.map(|(id, _)| id).ok_or(e),
        other => other,
    }
}

/// A wallet's id inside a transfer's transaction: the one the caller looked up before it
/// began (`known`), or a wallet created in this transaction, so that the first transfer to a
/// new escrow commits once instead of twice (and a refused one leaves no empty escrow). If a
/// concurrent caller created it first, our insert is a duplicate and this transaction's
/// snapshot may not show their row: [`PaymentError::WalletChanged`], look up again.
pub fn wallet_in_tx(
    conn: &mut DbConn,
    wallet: &WalletRef,
    known: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, PaymentError> {
    match known {
        Some(id) => Ok(id),
        None => match insert_wallet(conn, wallet, now) {
            Err(e) if e.is_unique_violation() => Err(PaymentError::WalletChanged),
            other => Ok(other?),
        },
    }
}

fn insert_wallet(conn: &mut DbConn, wallet: &WalletRef, now: DateTime<Utc>) -> Result<i64, DbError> {
    diesel::insert_into(wallets::table)
        .values((
            wallets::wallet_key.eq(wallet.key()),
            wallets::balance.eq(0i64),
            wallets::allow_negative.eq(wallet.may_go_negative()),
            wallets::created_at.eq(to_db(now)),
            wallets::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(last_insert_id(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = transfers)]
pub struct TransferRow {
    pub id: i64,
    pub cancelled: bool,
    pub from_wallet_id: i64,
    pub to_wallet_id: i64,
    pub amount: i64,
    pub kind: String,
    pub created_at: NaiveDateTime,
}

pub fn find_transfer(conn: &mut DbConn, key: &str) -> Result<Option<TransferRow>, DbError> {
    Ok(transfers::table
        .filter(transfers::idempotency_key.eq(key))
        .select(TransferRow::as_select())
        .first(conn)
        .optional()?)
}

fn wallet_key_of(conn: &mut DbConn, id: i64) -> Result<String, DbError> {
    Ok(wallets::table.find(id).select(wallets::wallet_key).first(conn)?)
}

/// The receipt of an already applied transfer (`replayed: true`).
pub fn receipt_of(conn: &mut DbConn, row: &TransferRow) -> Result<TransferReceipt, PaymentError> {
    let entries: Vec<(i64, i64, i64)> = ledger_entries::table
        .filter(ledger_entries::transfer_id.eq(row.id))
        .select((ledger_entries::wallet_id, ledger_entries::amount, ledger_entries::balance_after))
        .load(conn)?;
    let balance_of = |wallet: i64, debit: bool| {
        entries.iter().find(|(w, a, _)| *w == wallet && (*a < 0) == debit).map(|(_, _, b)| *b).unwrap_or(0)
    };
    let from_key = wallet_key_of(conn, row.from_wallet_id)?;
    let to_key = wallet_key_of(conn, row.to_wallet_id)?;
    let bad_key = || PaymentError::Internal(anyhow::anyhow!("unparseable wallet key"));
    Ok(TransferReceipt {
        transfer_id: row.id,
        from: parse_wallet_key(&from_key).ok_or_else(bad_key)?,
        to: parse_wallet_key(&to_key).ok_or_else(bad_key)?,
        amount: row.amount,
        kind: EntryKind::parse(&row.kind).ok_or_else(bad_key)?,
        from_balance_after: balance_of(row.from_wallet_id, true),
        to_balance_after: balance_of(row.to_wallet_id, false),
        created_at: from_db(row.created_at),
        replayed: true,
    })
}

/// The original receipt if `row` is the same transfer as `request`, else a conflict.
pub fn replay(
    conn: &mut DbConn,
    row: &TransferRow,
    request: &TransferRequest,
) -> Result<TransferReceipt, PaymentError> {
    if row.cancelled {
        return Err(PaymentError::Cancelled);
    }
    let receipt = receipt_of(conn, row)?;
    let same = receipt.from == request.from
        && receipt.to == request.to
        && receipt.amount == request.amount
        && receipt.kind == request.kind;
    if same { Ok(receipt) } else { Err(PaymentError::IdempotencyConflict) }
}

/// The hot-cache key of an account's balance.
pub(crate) fn balance_key(account_id: i64) -> String {
    format!("balance:{account_id}")
}

/// Applies `request` between two existing wallets. Must run inside a write transaction;
/// fails with `DuplicateKey` when the key was applied concurrently (roll back, then replay)
/// and with `InsufficientBalance` when the source cannot pay (roll back: nothing moved).
pub fn apply_transfer(
    conn: &mut DbConn,
    request: &TransferRequest,
    from_id: i64,
    to_id: i64,
    now: DateTime<Utc>,
) -> Result<TransferReceipt, PaymentError> {
    let amount = request.amount;
    // Claim the key first: a concurrent duplicate waits here, then fails, before touching balances.
    let claimed = diesel::insert_into(transfers::table)
        .values((
            transfers::idempotency_key.eq(&request.idempotency_key),
            transfers::from_wallet_id.eq(from_id),
            transfers::to_wallet_id.eq(to_id),
            transfers::amount.eq(amount),
            transfers::kind.eq(request.kind.as_str()),
            transfers::reference.eq(&request.reference),
            transfers::created_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    claimed.on_duplicate(|| PaymentError::DuplicateKey)?;
    // Balances are kept in memory (`GET /wallet`, the feed): dropped once this commits.
    for wallet in [&request.from, &request.to] {
        if let WalletRef::Account(id) = wallet {
            platform::hotcache::note(balance_key(*id));
        }
    }
    let transfer_id = last_insert_id(conn)?;
    // Lock rows in id order: opposite transfers between two wallets cannot deadlock.
    let mut order = [(from_id, true), (to_id, false)];
    order.sort_by_key(|(id, _)| *id);
    for (wallet_id, is_debit) in order {
        let ts = wallets::updated_at.eq(to_db(now));
        if is_debit {
            let target = wallets::table.filter(wallets::id.eq(wallet_id));
            let changed = if request.from.may_go_negative() {
                diesel::update(target)
                    .set((wallets::balance.eq(wallets::balance - amount), ts))
                    .cached()
                    .execute(conn)?
            } else {
                diesel::update(target.filter(wallets::balance.ge(amount)))
                    .set((wallets::balance.eq(wallets::balance - amount), ts))
                    .cached()
                    .execute(conn)?
            };
            if changed != 1 {
                return Err(PaymentError::InsufficientBalance);
            }
        } else {
            let changed = diesel::update(wallets::table.filter(wallets::id.eq(wallet_id)))
                .set((wallets::balance.eq(wallets::balance + amount), ts))
                .cached()
                .execute(conn)?;
            if changed != 1 {
                return Err(PaymentError::WalletChanged);
            }
        }
    }
    let balance = |conn: &mut DbConn, id: i64| -> Result<i64, DbError> {
        Ok(wallets::table.find(id).select(wallets::balance).first(conn)?)
    };
    let from_after = balance(conn, from_id)?;
    let to_after = balance(conn, to_id)?;
    for (wallet_id, signed, after, side) in
        [(from_id, -amount, from_after, "debit"), (to_id, amount, to_after, "credit")]
    {
        diesel::insert_into(ledger_entries::table)
            .values((
                ledger_entries::wallet_id.eq(wallet_id),
                ledger_entries::transfer_id.eq(transfer_id),
                ledger_entries::amount.eq(signed),
                ledger_entries::balance_after.eq(after),
                ledger_entries::kind.eq(request.kind.as_str()),
                ledger_entries::reference.eq(&request.reference),
                ledger_entries::entry_key.eq(format!("{}:{side}", request.idempotency_key)),
                ledger_entries::created_at.eq(to_db(now)),
            ))
            .execute(conn)?;
    }
    Ok(TransferReceipt {
        transfer_id,
        from: request.from.clone(),
        to: request.to.clone(),
        amount,
        kind: request.kind,
        from_balance_after: from_after,
        to_balance_after: to_after,
        created_at: now,
        replayed: false,
    })
}

/// Records `key` as cancelled; `Ok(false)` when the key is already taken (by a transfer or
/// a cancellation that won a race): read it again.
pub fn insert_cancellation(conn: &mut DbConn, key: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let inserted = diesel::insert_into(transfers::table)
        .values((
            transfers::idempotency_key.eq(key),
            transfers::cancelled.eq(true),
            transfers::from_wallet_id.eq(0i64),
            transfers::to_wallet_id.eq(0i64),
            transfers::amount.eq(0i64),
            transfers::kind.eq("cancelled"),
            transfers::reference.eq("cancelled"),
            transfers::created_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    Ok(inserted.unless_duplicate()?.is_some())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ledger_entries)]
pub struct EntryRow {
    pub id: i64,
    pub amount: i64,
    pub balance_after: i64,
    pub kind: String,
    pub reference: String,
    pub created_at: NaiveDateTime,
}

/// Newest first, `limit + 1` rows so the caller knows whether more exist.
pub fn entries(conn: &mut DbConn, wallet_id: i64, before: Option<i64>, limit: i64) -> Result<Vec<EntryRow>, DbError> {
    let mut query = ledger_entries::table.filter(ledger_entries::wallet_id.eq(wallet_id)).into_boxed();
    if let Some(before) = before {
        query = query.filter(ledger_entries::id.lt(before));
    }
    Ok(query.order(ledger_entries::id.desc()).limit(limit + 1).select(EntryRow::as_select()).load(conn)?)
}

/// What an audit of the whole ledger found; every number is zero in a healthy ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerAudit {
    pub wallets: i64,
    /// Sum of all balances (system wallets included): money is only ever moved, so 0.
    pub total_balance: i64,
    /// Wallets whose balance differs from the sum of their entries.
    pub mismatched_wallets: Vec<String>,
    /// Non-system wallets below zero.
    pub negative_wallets: Vec<String>,
}

pub fn audit(conn: &mut DbConn) -> Result<LedgerAudit, DbError> {
    use diesel::sql_types::{BigInt, Bool, Text};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        wallet_key: String,
        #[diesel(sql_type = BigInt)]
        balance: i64,
        #[diesel(sql_type = Bool)]
        allow_negative: bool,
        #[diesel(sql_type = BigInt)]
        entries_sum: i64,
    }
    let int = conn.backend().integer_cast();
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT w.wallet_key AS wallet_key, w.balance AS balance, w.allow_negative AS allow_negative, \
         CAST(COALESCE((SELECT SUM(e.amount) FROM ledger_entries e WHERE e.wallet_id = w.id), 0) AS {int}) AS entries_sum \
         FROM wallets w ORDER BY w.id"
    ))
    .load(conn)?;
    let mut audit = LedgerAudit { wallets: rows.len() as i64, ..Default::default() };
    for row in rows {
        audit.total_balance += row.balance;
        if row.balance != row.entries_sum {
            audit.mismatched_wallets.push(row.wallet_key.clone());
        }
        if row.balance < 0 && !row.allow_negative {
            audit.negative_wallets.push(row.wallet_key);
        }
    }
    Ok(audit)
}
