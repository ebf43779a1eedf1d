use super::PayoutStatus;
use crate::schema::payouts;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use platform::clock::to_db;
use platform::db::{DbConn, DbError, last_insert_id};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payouts)]
pub struct PayoutRow {
    pub id: i64,
    pub account_id: i64,
    pub request_hash: String,
    pub amount: i64,
    #[diesel(deserialize_as = String)]
    pub status: PayoutStatus,
    pub bank_code: String,
    pub account_number_enc: String,
    pub account_number_masked: String,
    pub account_holder: String,
    pub failure_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
}

pub struct NewPayout<'a> {
    pub account_id: i64,
    pub client_key: &'a str,
    pub request_hash: &'a str,
    pub amount: i64,
    pub gateway: &'a str,
    pub bank_code: &'a str,
    pub account_number_enc: &'a str,
    pub account_number_masked: &'a str,
    pub account_holder: &'a str,
    pub now: DateTime<Utc>,
}

pub fn insert(conn: &mut DbConn, new: &NewPayout<'_>) -> Result<i64, DbError> {
    diesel::insert_into(payouts::table)
        .values((
            payouts::account_id.eq(new.account_id),
            payouts::client_key.eq(new.client_key),
            payouts::request_hash.eq(new.request_hash),
            payouts::amount.eq(new.amount),
            payouts::status.eq(PayoutStatus::Requested.as_str()),
            payouts::gateway.eq(new.gateway),
            payouts::bank_code.eq(new.bank_code),
            payouts::account_number_enc.eq(new.account_number_enc),
            payouts::account_number_masked.eq(new.account_number_masked),
            payouts::account_holder.eq(new.account_holder),
            payouts::created_at.eq(to_db(new.now)),
            payouts::updated_at.eq(to_db(new.now)),
        ))
        .execute(conn)?;
    Ok(last_insert_id(conn)?)
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<PayoutRow>, DbError> {
    Ok(payouts::table.find(id).select(PayoutRow::as_select()).first(conn).optional()?)
}

pub fn find_by_client_key(conn: &mut DbConn, account_id: i64, key: &str) -> Result<Option<PayoutRow>, DbError> {
    Ok(payouts::table
        .filter(payouts::account_id.eq(account_id))
        .filter(payouts::client_key.eq(key))
        .select(PayoutRow::as_select())
        .first(conn)
        .optional()?)
}

/// Moves a payout from `from` to `to` if it is still in `from`; `true` if this call did it.
pub fn transition(
    conn: &mut DbConn,
    id: i64,
    from: PayoutStatus,
    to: PayoutStatus,
    failure: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let target = payouts::table.find(id).filter(payouts::status.eq(from.as_str()));
    let completed = matches!(to, PayoutStatus::Paid | PayoutStatus::Failed).then(|| to_db(now));
    let n = diesel::update(target)
        .set((
            payouts::status.eq(to.as_str()),
            payouts::failure_reason.eq(failure),
            payouts::completed_at.eq(completed),
            payouts::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// `requested → processing`, counting the attempt; `true` if this call claimed it.
pub fn claim(conn: &mut DbConn, id: i64, from: PayoutStatus, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(payouts::table.find(id).filter(payouts::status.eq(from.as_str())))
        .set((
            payouts::status.eq(PayoutStatus::Processing.as_str()),
            payouts::attempts.eq(payouts::attempts + 1),
            payouts::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Pushes the next look at a payout past `now` (only if nobody moved it meanwhile).
pub fn touch(conn: &mut DbConn, id: i64, status: PayoutStatus, now: DateTime<Utc>) -> Result<usize, DbError> {
    Ok(diesel::update(payouts::table.find(id).filter(payouts::status.eq(status.as_str())))
        .set(payouts::updated_at.eq(to_db(now)))
        .execute(conn)?)
}

/// `requested` or `processing` payouts untouched since `before`, oldest first.
pub fn unsettled_before(conn: &mut DbConn, before: DateTime<Utc>, limit: i64) -> Result<Vec<PayoutRow>, DbError> {
    Ok(payouts::table
        .filter(payouts::status.eq_any([PayoutStatus::Requested.as_str(), PayoutStatus::Processing.as_str()]))
        .filter(payouts::updated_at.lt(to_db(before)))
        .order(payouts::updated_at.asc())
        .limit(limit)
        .select(PayoutRow::as_select())
        .load(conn)?)
}

pub fn page(
    conn: &mut DbConn,
    account_id: Option<i64>,
    status: Option<PayoutStatus>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<PayoutRow>, i64), DbError> {
    let filtered = || {
        let mut q = payouts::table.into_boxed();
        if let Some(account) = account_id {
            q = q.filter(payouts::account_id.eq(account));
        }
        if let Some(status) = status {
            q = q.filter(payouts::status.eq(status.as_str()));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows =
        filtered().order(payouts::id.desc()).offset(offset).limit(limit).select(PayoutRow::as_select()).load(conn)?;
    Ok((rows, total))
}
