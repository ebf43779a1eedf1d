//! Diesel queries of the account module; synchronous, run on the blocking pool.

use crate::model::Account;
use crate::schema::{account_tokens, accounts, refresh_tokens};
use chrono::{DateTime, Utc};
use contracts::{PageRequest, Role};
use diesel::prelude::*;
use platform::clock::{from_db, to_db};
use platform::db::{DbConn, DbError, LIKE_ESCAPE, last_insert_id, like_escape};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub role: String,
    pub phone: Option<String>,
    pub email_verified: bool,
    pub created_at: chrono::NaiveDateTime,
}

impl AccountRow {
    pub fn role(&self) -> Role {
        // Only valid roles are ever written; an unknown one would be a corrupted row.
        self.role.parse().unwrap_or(Role::Customer)
    }

    pub fn into_account(self) -> Account {
        Account {
            id: self.id,
            role: self.role(),
            email: self.email,
            name: self.name,
            phone: self.phone,
            email_verified: self.email_verified,
            created_at: from_db(self.created_at),
        }
    }
}

pub struct NewAccountRow<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub name: &'a str,
    pub name_lower: &'a str,
    pub role: Role,
    pub phone: Option<&'a str>,
    pub email_verified: bool,
    pub now: DateTime<Utc>,
}

pub fn insert_account(conn: &mut DbConn, new: &NewAccountRow<'_>) -> Result<i64, DbError> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::email.eq(new.email),
            accounts::password_hash.eq(new.password_hash),
            accounts::name.eq(new.name),
            accounts::name_lower.eq(new.name_lower),
            accounts::role.eq(new.role.as_str()),
            accounts::phone.eq(new.phone),
            accounts::email_verified.eq(new.email_verified),
            accounts::created_at.eq(to_db(new.now)),
            accounts::updated_at.eq(to_db(new.now)),
        ))
        .execute(conn)?;
    Ok(last_insert_id(conn)?)
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> Result<Option<AccountRow>, DbError> {
    Ok(accounts::table.filter(accounts::email.eq(email)).select(AccountRow::as_select()).first(conn).optional()?)
}

pub fn find_by_id(conn: &mut DbConn, id: i64) -> Result<Option<AccountRow>, DbError> {
    Ok(accounts::table.find(id).select(AccountRow::as_select()).first(conn).optional()?)
}

pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<AccountRow>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(accounts::table.filter(accounts::id.eq_any(ids)).select(AccountRow::as_select()).load(conn)?)
}

pub fn search(
    conn: &mut DbConn,
    name_contains: Option<&str>,
    role: Option<Role>,
    exclude: &[Role],
    page: PageRequest,
) -> Result<(Vec<AccountRow>, i64), DbError> {
    let pattern = name_contains.map(|q| format!("%{}%", like_escape(&q.to_lowercase())));
    let excluded: Vec<&str> = exclude.iter().map(|r| r.as_str()).collect();
    let filtered = || {
        let mut query = accounts::table.into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(accounts::name_lower.like(p.clone()).escape(LIKE_ESCAPE));
        }
        if let Some(role) = role {
            query = query.filter(accounts::role.eq(role.as_str()));
        }
        if !excluded.is_empty() {
            query = query.filter(accounts::role.ne_all(excluded.clone()));
        }
        query
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(accounts::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(AccountRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

pub fn set_verified(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(accounts::table.find(id))
        .set((accounts::email_verified.eq(true), accounts::updated_at.eq(to_db(now))))
        .execute(conn)?;
    Ok(())
}

pub fn update_profile(
    conn: &mut DbConn,
    id: i64,
    name: Option<(&str, &str)>,
    phone: Option<Option<&str>>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if let Some((name, lower)) = name {
        diesel::update(accounts::table.find(id))
            .set((accounts::name.eq(name), accounts::name_lower.eq(lower), accounts::updated_at.eq(to_db(now))))
            .execute(conn)?;
    }
    if let Some(phone) = phone {
        diesel::update(accounts::table.find(id))
            .set((accounts::phone.eq(phone), accounts::updated_at.eq(to_db(now))))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_password(conn: &mut DbConn, id: i64, hash: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(accounts::table.find(id))
        .set((accounts::password_hash.eq(hash), accounts::updated_at.eq(to_db(now))))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }
}

pub fn insert_email_token(
    conn: &mut DbConn,
    account_id: i64,
    purpose: TokenPurpose,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::account_id.eq(account_id),
            account_tokens::purpose.eq(purpose.as_str()),
            account_tokens::token_hash.eq(token_hash),
            account_tokens::expires_at.eq(to_db(expires_at)),
            account_tokens::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks a valid (known, unused, unexpired) token used and returns its account; the
/// conditional update makes two concurrent uses end with exactly one success.
pub fn consume_email_token(
    conn: &mut DbConn,
    purpose: TokenPurpose,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbError> {
    let found: Option<(i64, i64)> = account_tokens::table
        .filter(account_tokens::token_hash.eq(token_hash))
        .filter(account_tokens::purpose.eq(purpose.as_str()))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(to_db(now)))
        .select((account_tokens::id, account_tokens::account_id))
        .first(conn)
        .optional()?;
    let Some((id, account_id)) = found else { return Ok(None) };
    let used = diesel::update(account_tokens::table.find(id).filter(account_tokens::used_at.is_null()))
        .set(account_tokens::used_at.eq(to_db(now)))
        .execute(conn)?;
    Ok((used == 1).then_some(account_id))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub id: i64,
    pub account_id: i64,
    pub family: String,
    pub expires_at: chrono::NaiveDateTime,
    pub rotated_at: Option<chrono::NaiveDateTime>,
    pub revoked_at: Option<chrono::NaiveDateTime>,
}

pub fn insert_refresh_token(
    conn: &mut DbConn,
    account_id: i64,
    family: &str,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::account_id.eq(account_id),
            refresh_tokens::family.eq(family),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(to_db(expires_at)),
            refresh_tokens::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh_token(conn: &mut DbConn, token_hash: &str) -> Result<Option<RefreshRow>, DbError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?)
}

/// `false` when someone else rotated or revoked it first.
pub fn mark_rotated(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::rotated_at.eq(to_db(now)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn revoke_family(conn: &mut DbConn, family: &str, now: DateTime<Utc>) -> Result<usize, DbError> {
    Ok(diesel::update(
        refresh_tokens::table.filter(refresh_tokens::family.eq(family)).filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(to_db(now)))
    .execute(conn)?)
}

pub fn revoke_all_sessions(conn: &mut DbConn, account_id: i64, now: DateTime<Utc>) -> Result<usize, DbError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::account_id.eq(account_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(to_db(now)))
    .execute(conn)?)
}
