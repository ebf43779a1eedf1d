use super::ChargeStatus;
use crate::schema::{charge_attention, charge_lookups, charges};
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::common::PageRequest;
use diesel::prelude::*;
use platform::clock::to_db;
use platform::db::OnDuplicate;
use platform::db::{DbConn, DbError, last_insert_id, lock_rows};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = charges)]
pub struct ChargeRow {
    pub id: i64,
    pub account_id: i64,
    pub request_hash: String,
    pub amount: i64,
    #[diesel(deserialize_as = String)]
    pub status: ChargeStatus,
    pub gateway: String,
    pub gateway_order_id: String,
    pub payment_key: Option<String>,
    pub balance_after: Option<i64>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub refunded_amount: i64,
}

pub struct NewCharge<'a> {
    pub account_id: i64,
    pub client_key: &'a str,
    pub request_hash: &'a str,
    pub amount: i64,
    pub status: ChargeStatus,
    pub gateway: &'a str,
    pub order_id: &'a str,
    pub now: DateTime<Utc>,
}

pub fn insert(conn: &mut DbConn, new: &NewCharge<'_>) -> Result<i64, DbError> {
    diesel::insert_into(charges::table)
        .values((
            charges::account_id.eq(new.account_id),
            charges::client_key.eq(new.client_key),
            charges::request_hash.eq(new.request_hash),
            charges::amount.eq(new.amount),
            charges::status.eq(new.status.as_str()),
            charges::gateway.eq(new.gateway),
            charges::gateway_order_id.eq(new.order_id),
            charges::created_at.eq(to_db(new.now)),
            charges::updated_at.eq(to_db(new.now)),
        ))
        .execute(conn)?;
    Ok(last_insert_id(conn)?)
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<ChargeRow>, DbError> {
    Ok(charges::table.find(id).select(ChargeRow::as_select()).first(conn).optional()?)
}

pub fn find_by_client_key(conn: &mut DbConn, account_id: i64, key: &str) -> Result<Option<ChargeRow>, DbError> {
    Ok(charges::table
        .filter(charges::account_id.eq(account_id))
        .filter(charges::client_key.eq(key))
        .select(ChargeRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_balance_after(conn: &mut DbConn, id: i64, balance: i64) -> Result<(), DbError> {
    diesel::update(charges::table.find(id)).set(charges::balance_after.eq(balance)).execute(conn)?;
    Ok(())
}

pub fn mark_confirmed_at(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(charges::table.find(id)).set(charges::confirmed_at.eq(to_db(now))).execute(conn)?;
    Ok(())
}

/// Stores the payment key of a pending charge; `false` if another key is already attached.
pub fn attach_payment_key(conn: &mut DbConn, id: i64, key: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        charges::table
            .find(id)
            .filter(charges::status.eq(ChargeStatus::Pending.as_str()))
            .filter(charges::payment_key.is_null().or(charges::payment_key.eq(key))),
    )
    .set((charges::payment_key.eq(key), charges::updated_at.eq(to_db(now))))
    .execute(conn)?;
    if n == 1 {
        // Only the gateway can decide it now: queue it for reconcile.
        enqueue_lookup(conn, id, now)?;
        return Ok(true);
    }
    // Not pending any more (decided meanwhile) is fine; a different key is not.
    let current: Option<(String, Option<String>)> =
        charges::table.find(id).select((charges::status, charges::payment_key)).first(conn).optional()?;
    let pending = ChargeStatus::Pending.as_str();
    Ok(current.is_some_and(|(status, attached)| status != pending || attached.as_deref() == Some(key)))
}

/// Locks a charge's row for the rest of the transaction (MySQL), so the reads after it see
/// the latest committed state rather than the transaction's snapshot.
pub fn lock(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    lock_rows(conn, "charges", "id", &[id])
}

/// Puts a charge in the reconcile lookup queue (a no-op if it is queued already).
fn enqueue_lookup(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    let queued = diesel::insert_into(charge_lookups::table)
        .values((charge_lookups::charge_id.eq(id), charge_lookups::checked_at.eq(to_db(now))))
        .execute(conn)
        .map_err(DbError::from);
    queued.unless_duplicate().map(|_| ())
}

/// Decided for good (credited, or a failure the gateway confirmed): out of the queue.
pub fn dequeue_lookup(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    diesel::delete(charge_lookups::table.find(id)).execute(conn)?;
    Ok(())
}

/// `pending → confirmed`, or `failed → confirmed` for a charge failed locally with this
/// payment key whose failure the gateway never confirmed (still queued for lookup): the
/// gateway says it was paid after all. `true` if this call did it.
pub fn confirm(conn: &mut DbConn, id: i64, payment_key: Option<&str>, now: DateTime<Utc>) -> Result<bool, DbError> {
    let pending = charges::status.eq(ChargeStatus::Pending.as_str());
    let confirmed = (
        charges::status.eq(ChargeStatus::Confirmed.as_str()),
        charges::confirmed_at.eq(Some(to_db(now))),
        charges::failure_code.eq(None::<String>),
        charges::failure_message.eq(None::<String>),
        charges::updated_at.eq(to_db(now)),
    );
    let n = match payment_key {
        Some(key) => {
            let queued = charge_lookups::table.select(charge_lookups::charge_id);
            let unverified = charges::status
                .eq(ChargeStatus::Failed.as_str())
                .and(charges::payment_key.eq(key))
                .and(charges::id.eq_any(queued));
            diesel::update(charges::table.find(id).filter(pending.or(unverified))).set(confirmed).execute(conn)?
        }
        None => diesel::update(charges::table.find(id).filter(pending)).set(confirmed).execute(conn)?,
    };
    if n == 1 {
        if let Some(key) = payment_key {
            diesel::update(charges::table.find(id).filter(charges::payment_key.is_null()))
                .set(charges::payment_key.eq(key))
                .execute(conn)?;
        }
        dequeue_lookup(conn, id)?;
    }
    Ok(n == 1)
}

/// Fails a pending charge, only if it still carries the payment key the decision was made
/// from (`None`: still none), so a confirm that attached a key meanwhile is not overruled
/// by a stale snapshot. `verified`: the gateway itself refused; otherwise the charge stays
/// queued and reconcile keeps looking its key up. `true` if this call did it.
pub fn fail(
    conn: &mut DbConn,
    id: i64,
    payment_key: Option<&str>,
    failure: (&str, &str),
    verified: bool,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let pending = charges::table.find(id).filter(charges::status.eq(ChargeStatus::Pending.as_str()));
    let changes = (
        charges::status.eq(ChargeStatus::Failed.as_str()),
        charges::failure_code.eq(failure.0),
        charges::failure_message.eq(failure.1),
        charges::updated_at.eq(to_db(now)),
    );
    let n = match payment_key {
        Some(key) => diesel::update(pending.filter(charges::payment_key.eq(key))).set(changes).execute(conn)?,
        None => diesel::update(pending.filter(charges::payment_key.is_null())).set(changes).execute(conn)?,
    };
    if n == 1 && verified {
        dequeue_lookup(conn, id)?;
    }
    Ok(n == 1)
}

/// Charges only the gateway can decide (queued: pending with a key, or failed locally but
/// unverified), least recently checked first. Those touched since `quiet_since` (a confirm
/// may be in flight) are left alone.
pub fn due_for_lookup(conn: &mut DbConn, quiet_since: DateTime<Utc>, limit: i64) -> Result<Vec<ChargeRow>, DbError> {
    Ok(charges::table
        .inner_join(charge_lookups::table)
        .filter(charges::status.eq_any([ChargeStatus::Pending.as_str(), ChargeStatus::Failed.as_str()]))
        .filter(charges::payment_key.is_not_null())
        .filter(charges::updated_at.lt(to_db(quiet_since)))
        .order((charge_lookups::checked_at.asc(), charges::id.asc()))
        .limit(limit)
        .select(ChargeRow::as_select())
        .load(conn)?)
}

/// Pending charges never given a payment key and created before `before` (abandoned
/// payment widgets), oldest first.
pub fn expired_keyless(conn: &mut DbConn, before: DateTime<Utc>, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(charges::table
        .filter(charges::status.eq(ChargeStatus::Pending.as_str()))
        .filter(charges::payment_key.is_null())
        .filter(charges::created_at.lt(to_db(before)))
        .order(charges::id.asc())
        .limit(limit)
        .select(charges::id)
        .load(conn)?)
}

/// Looked up now: to the back of the lookup queue.
pub fn touch(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<usize, DbError> {
    Ok(diesel::update(charge_lookups::table.find(id)).set(charge_lookups::checked_at.eq(to_db(now))).execute(conn)?)
}

pub fn find_by_order_id(conn: &mut DbConn, order_id: &str) -> Result<Option<ChargeRow>, DbError> {
    Ok(charges::table
        .filter(charges::gateway_order_id.eq(order_id))
        .select(ChargeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a charge for the operators (`GET /admin/charges?attention=true`).
pub fn flag_attention(conn: &mut DbConn, id: i64, reason: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    let inserted = diesel::insert_into(charge_attention::table)
        .values((
            charge_attention::charge_id.eq(id),
            charge_attention::reason.eq(reason),
            charge_attention::created_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    // Flagged already (a duplicate delivery): nothing to add.
    inserted.unless_duplicate().map(|_| ())
}

/// The attention reasons of these charges.
pub fn attention_of(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<(i64, String)>, DbError> {
    Ok(charge_attention::table
        .filter(charge_attention::charge_id.eq_any(ids))
        .select((charge_attention::charge_id, charge_attention::reason))
        .load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct AdminChargeFilter {
    pub status: Option<ChargeStatus>,
    /// `Some(true)`: only flagged charges; `Some(false)`: only unflagged ones.
    pub attention: Option<bool>,
}

/// A charge and the reason operators must look at it, if any.
pub type FlaggedCharge = (ChargeRow, Option<String>);

pub fn admin_page(
    conn: &mut DbConn,
    filter: &AdminChargeFilter,
    request: PageRequest,
) -> Result<(Vec<FlaggedCharge>, i64), DbError> {
    let filtered = || {
        let mut q = charges::table.into_boxed();
        if let Some(status) = &filter.status {
            q = q.filter(charges::status.eq(status.as_str()));
        }
        let flagged = charge_attention::table.select(charge_attention::charge_id);
        match filter.attention {
            Some(true) => q = q.filter(charges::id.eq_any(flagged)),
            Some(false) => q = q.filter(charges::id.ne_all(flagged)),
            None => {}
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(charges::id.desc())
        .offset(request.offset())
        .limit(i64::from(request.size))
        .select(ChargeRow::as_select())
        .load::<ChargeRow>(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let reasons: std::collections::HashMap<i64, String> = attention_of(conn, &ids)?.into_iter().collect();
    let rows = rows
        .into_iter()
        .map(|r| {
            let reason = reasons.get(&r.id).cloned();
            (r, reason)
        })
        .collect();
    Ok((rows, total))
}
