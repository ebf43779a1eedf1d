//! Mission queries. Every state change is a conditional UPDATE whose affected-row count
//! says whether this caller won. Changes to what an account's open missions show (the
//! feed's row, kept in memory) [`note`] the mission, or the accounts a mission joined the
//! list of, where they are written.

use crate::error::MissionError;
use crate::schema::{mission_contributions, mission_hidden, missions};
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::PageRequest;
use diesel::prelude::*;
use platform::clock::to_db;
use platform::db::OnDuplicate;
use platform::db::{DbConn, DbError, last_insert_id};
use platform::hotcache::note;
use platform::idempotency;
use std::collections::BTreeMap;

/// The hot-cache tag of every cached list showing mission `id`.
pub fn mission_tag(id: i64) -> String {
    format!("mission:{id}")
}

/// The hot-cache tag of `account_id`'s cached lists of open missions.
pub fn account_tag(account_id: i64) -> String {
    format!("mission:account:{account_id}")
}

contracts::stored_enum! {
    /// A mission's status (`missions.status`).
    pub enum MissionStatus {
        Funding = "funding",
        Open = "open",
        Succeeded = "succeeded",
        Failed = "failed",
        Rejected = "rejected",
        Expired = "expired",
        Void = "void",
    }

    /// A contribution's status (`mission_contributions.status`).
    pub enum ContributionStatus {
        Pending = "pending",
        Done = "done",
        Failed = "failed",
    }
}

/// Statuses anyone may see (`funding` and `void` are internal).
pub const PUBLIC_STATUSES: [MissionStatus; 5] = [
    MissionStatus::Open,
    MissionStatus::Succeeded,
    MissionStatus::Failed,
    MissionStatus::Rejected,
    MissionStatus::Expired,
];
pub const TERMINAL_STATUSES: [MissionStatus; 4] =
    [MissionStatus::Succeeded, MissionStatus::Failed, MissionStatus::Rejected, MissionStatus::Expired];

fn strs(statuses: &[MissionStatus]) -> Vec<&'static str> {
    statuses.iter().map(|s| s.as_str()).collect()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = missions)]
pub struct MissionRow {
    pub id: i64,
    pub creator_id: i64,
    pub streamer_id: i64,
    pub title: String,
    pub description: String,
    #[diesel(deserialize_as = String)]
    pub status: MissionStatus,
    pub stake: i64,
    pub pool: i64,
    pub contributors: i32,
    pub deadline: NaiveDateTime,
    pub request_hash: String,
    pub created_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub settled: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mission_contributions)]
pub struct ContributionRow {
    pub id: i64,
    pub mission_id: i64,
    pub account_id: i64,
    pub amount: i64,
    #[diesel(deserialize_as = String)]
    pub status: ContributionStatus,
    pub request_hash: String,
    pub created_at: NaiveDateTime,
}

pub struct NewMission<'a> {
    pub creator_id: i64,
    pub streamer_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub stake: i64,
    pub deadline: DateTime<Utc>,
    pub client_key: &'a str,
    pub request_hash: &'a str,
    pub recover_after: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub fn insert_funding(conn: &mut DbConn, new: &NewMission<'_>) -> Result<i64, MissionError> {
    let inserted = diesel::insert_into(missions::table)
        .values((
            missions::creator_id.eq(new.creator_id),
            missions::streamer_id.eq(new.streamer_id),
            missions::title.eq(new.title),
            missions::description.eq(new.description),
            missions::status.eq(MissionStatus::Funding.as_str()),
            missions::stake.eq(new.stake),
            missions::deadline.eq(to_db(new.deadline)),
            missions::client_key.eq(Some(new.client_key)),
            missions::request_hash.eq(new.request_hash),
            missions::recover_after.eq(to_db(new.recover_after)),
            missions::created_at.eq(to_db(new.now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    idempotency::claim::<_, MissionError>(inserted)?;
    Ok(last_insert_id(conn)?)
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<MissionRow>, DbError> {
    Ok(missions::table.find(id).select(MissionRow::as_select()).first(conn).optional()?)
}

pub fn find_visible(conn: &mut DbConn, id: i64) -> Result<Option<MissionRow>, DbError> {
    Ok(find(conn, id)?.filter(|m| PUBLIC_STATUSES.contains(&m.status)))
}

pub fn find_by_client_key(conn: &mut DbConn, creator_id: i64, key: &str) -> Result<Option<MissionRow>, DbError> {
    Ok(missions::table
        .filter(missions::creator_id.eq(creator_id))
        .filter(missions::client_key.eq(key))
        .select(MissionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn count_active_of(conn: &mut DbConn, creator_id: i64) -> Result<i64, DbError> {
    Ok(missions::table
        .filter(missions::creator_id.eq(creator_id))
        .filter(missions::status.eq_any([MissionStatus::Funding.as_str(), MissionStatus::Open.as_str()]))
        .count()
        .get_result(conn)?)
}

/// `funding → open` with the stake as first contribution; `false` if no longer funding.
pub fn activate(conn: &mut DbConn, mission: &MissionRow, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n =
        diesel::update(missions::table.find(mission.id).filter(missions::status.eq(MissionStatus::Funding.as_str())))
            .set((
                missions::status.eq(MissionStatus::Open.as_str()),
                missions::pool.eq(mission.stake),
                missions::contributors.eq(1),
            ))
            .execute(conn)?;
    if n == 1 {
        diesel::insert_into(mission_contributions::table)
            .values((
                mission_contributions::mission_id.eq(mission.id),
                mission_contributions::account_id.eq(mission.creator_id),
                mission_contributions::amount.eq(mission.stake),
                mission_contributions::status.eq(ContributionStatus::Done.as_str()),
                mission_contributions::request_hash.eq(&mission.request_hash),
                mission_contributions::recover_after.eq(to_db(now)),
                mission_contributions::created_at.eq(to_db(now)),
            ))
            .execute(conn)?;
        note(account_tag(mission.creator_id));
        note(account_tag(mission.streamer_id));
    }
    Ok(n == 1)
}

/// `funding → void`, freeing the client's key; `false` if no longer funding.
pub fn void(conn: &mut DbConn, id: i64) -> Result<bool, DbError> {
    let n = diesel::update(missions::table.find(id).filter(missions::status.eq(MissionStatus::Funding.as_str())))
        .set((missions::status.eq(MissionStatus::Void.as_str()), missions::client_key.eq(None::<String>)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Reserves `amount` of the pool while the mission is open and before its deadline;
/// `false` when closed, late or over the pool limit.
pub fn reserve_pool(
    conn: &mut DbConn,
    id: i64,
    amount: i64,
    max_pool: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = diesel::update(
        missions::table
            .find(id)
            .filter(missions::status.eq(MissionStatus::Open.as_str()))
            .filter(missions::deadline.gt(to_db(now)))
            .filter(missions::pool.le(max_pool - amount)),
    )
    .set(missions::pool.eq(missions::pool + amount))
    .execute(conn)?;
    if n == 1 {
        note(mission_tag(id));
    }
    Ok(n == 1)
}

pub struct NewContribution<'a> {
    pub mission_id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub client_key: &'a str,
    pub request_hash: &'a str,
    pub recover_after: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub fn insert_pending_contribution(conn: &mut DbConn, new: &NewContribution<'_>) -> Result<i64, MissionError> {
    let inserted = diesel::insert_into(mission_contributions::table)
        .values((
            mission_contributions::mission_id.eq(new.mission_id),
            mission_contributions::account_id.eq(new.account_id),
            mission_contributions::amount.eq(new.amount),
            mission_contributions::status.eq(ContributionStatus::Pending.as_str()),
            mission_contributions::client_key.eq(Some(new.client_key)),
            mission_contributions::request_hash.eq(new.request_hash),
            mission_contributions::recover_after.eq(to_db(new.recover_after)),
            mission_contributions::created_at.eq(to_db(new.now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    idempotency::claim::<_, MissionError>(inserted)?;
    Ok(last_insert_id(conn)?)
}

pub fn find_contribution(conn: &mut DbConn, id: i64) -> Result<Option<ContributionRow>, DbError> {
    Ok(mission_contributions::table.find(id).select(ContributionRow::as_select()).first(conn).optional()?)
}

pub fn find_contribution_by_key(
    conn: &mut DbConn,
    account_id: i64,
    key: &str,
) -> Result<Option<ContributionRow>, DbError> {
    Ok(mission_contributions::table
        .filter(mission_contributions::account_id.eq(account_id))
        .filter(mission_contributions::client_key.eq(key))
        .select(ContributionRow::as_select())
        .first(conn)
        .optional()?)
}

/// `pending → done`, counting a new contributor; `false` if no longer pending.
pub fn complete_contribution(conn: &mut DbConn, c: &ContributionRow) -> Result<bool, DbError> {
    let n = diesel::update(
        mission_contributions::table
            .find(c.id)
            .filter(mission_contributions::status.eq(ContributionStatus::Pending.as_str())),
    )
    .set(mission_contributions::status.eq(ContributionStatus::Done.as_str()))
    .execute(conn)?;
    if n == 1 {
        let earlier: i64 = mission_contributions::table
            .filter(mission_contributions::mission_id.eq(c.mission_id))
            .filter(mission_contributions::account_id.eq(c.account_id))
            .filter(mission_contributions::status.eq(ContributionStatus::Done.as_str()))
            .filter(mission_contributions::id.ne(c.id))
            .count()
            .get_result(conn)?;
        if earlier == 0 {
            diesel::update(missions::table.find(c.mission_id))
                .set(missions::contributors.eq(missions::contributors + 1))
                .execute(conn)?;
            note(mission_tag(c.mission_id));
        }
        note(account_tag(c.account_id));
    }
    Ok(n == 1)
}

/// `pending → failed`: frees the key and the reserved pool; `false` if no longer pending.
pub fn fail_contribution(conn: &mut DbConn, c: &ContributionRow) -> Result<bool, DbError> {
    let n = diesel::update(
        mission_contributions::table
            .find(c.id)
            .filter(mission_contributions::status.eq(ContributionStatus::Pending.as_str())),
    )
    .set((
        mission_contributions::status.eq(ContributionStatus::Failed.as_str()),
        mission_contributions::client_key.eq(None::<String>),
    ))
    .execute(conn)?;
    if n == 1 {
        diesel::update(missions::table.find(c.mission_id))
            .set(missions::pool.eq(missions::pool - c.amount))
            .execute(conn)?;
        note(mission_tag(c.mission_id));
    }
    Ok(n == 1)
}

/// `open → status` while before the deadline; `false` when someone else decided first or
/// the deadline passed.
pub fn decide(conn: &mut DbConn, id: i64, status: MissionStatus, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        missions::table
            .find(id)
            .filter(missions::status.eq(MissionStatus::Open.as_str()))
            .filter(missions::deadline.gt(to_db(now))),
    )
    .set((missions::status.eq(status.as_str()), missions::decided_at.eq(Some(to_db(now)))))
    .execute(conn)?;
    if n == 1 {
        note(mission_tag(id));
    }
    Ok(n == 1)
}

/// `open → expired` once the deadline has passed; `false` when another sweeper or a
/// decision won.
pub fn expire(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        missions::table
            .find(id)
            .filter(missions::status.eq(MissionStatus::Open.as_str()))
            .filter(missions::deadline.le(to_db(now))),
    )
    .set((missions::status.eq(MissionStatus::Expired.as_str()), missions::decided_at.eq(Some(to_db(now)))))
    .execute(conn)?;
    if n == 1 {
        note(mission_tag(id));
    }
    Ok(n == 1)
}

pub fn past_deadline(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(missions::table
        .filter(missions::status.eq(MissionStatus::Open.as_str()))
        .filter(missions::deadline.le(to_db(now)))
        .order(missions::deadline.asc())
        .limit(limit)
        .select(missions::id)
        .load(conn)?)
}

/// Decided or expired missions not settled yet, oldest decision first.
pub fn unsettled(conn: &mut DbConn, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(missions::table
        .filter(missions::status.eq_any(strs(&TERMINAL_STATUSES)))
        .filter(missions::settled.eq(false))
        .order(missions::id.asc())
        .limit(limit)
        .select(missions::id)
        .load(conn)?)
}

pub fn mark_settled(conn: &mut DbConn, id: i64) -> Result<bool, DbError> {
    let n = diesel::update(missions::table.find(id).filter(missions::settled.eq(false)))
        .set(missions::settled.eq(true))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn stale_funding(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>, DbError> {
    Ok(missions::table
        .filter(missions::status.eq(MissionStatus::Funding.as_str()))
        .filter(missions::recover_after.lt(to_db(now)))
        .limit(limit)
        .select(missions::id)
        .load(conn)?)
}

/// Takes a stale funding mission for recovery until `until`; `false` if another has it.
pub fn claim_funding(conn: &mut DbConn, id: i64, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        missions::table
            .find(id)
            .filter(missions::status.eq(MissionStatus::Funding.as_str()))
            .filter(missions::recover_after.lt(to_db(now))),
    )
    .set(missions::recover_after.eq(to_db(until)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn stale_pending_contributions(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ContributionRow>, DbError> {
    Ok(mission_contributions::table
        .filter(mission_contributions::status.eq(ContributionStatus::Pending.as_str()))
        .filter(mission_contributions::recover_after.lt(to_db(now)))
        .limit(limit)
        .select(ContributionRow::as_select())
        .load(conn)?)
}

pub fn claim_contribution(
    conn: &mut DbConn,
    id: i64,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = diesel::update(
        mission_contributions::table
            .find(id)
            .filter(mission_contributions::status.eq(ContributionStatus::Pending.as_str()))
            .filter(mission_contributions::recover_after.lt(to_db(now))),
    )
    .set(mission_contributions::recover_after.eq(to_db(until)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn pending_contributions_of(conn: &mut DbConn, mission_id: i64) -> Result<Vec<ContributionRow>, DbError> {
    Ok(mission_contributions::table
        .filter(mission_contributions::mission_id.eq(mission_id))
        .filter(mission_contributions::status.eq(ContributionStatus::Pending.as_str()))
        .select(ContributionRow::as_select())
        .load(conn)?)
}

/// What each account put in (done contributions only).
pub fn totals_by_account(conn: &mut DbConn, mission_id: i64) -> Result<BTreeMap<i64, i64>, DbError> {
    let rows: Vec<(i64, i64)> = mission_contributions::table
        .filter(mission_contributions::mission_id.eq(mission_id))
        .filter(mission_contributions::status.eq(ContributionStatus::Done.as_str()))
        .select((mission_contributions::account_id, mission_contributions::amount))
        .load(conn)?;
    let mut totals = BTreeMap::new();
    for (account, amount) in rows {
        *totals.entry(account).or_insert(0) += amount;
    }
    Ok(totals)
}

pub fn contributions(
    conn: &mut DbConn,
    mission_id: i64,
    page: PageRequest,
) -> Result<(Vec<ContributionRow>, i64), DbError> {
    let done = || {
        mission_contributions::table
            .filter(mission_contributions::mission_id.eq(mission_id))
            .filter(mission_contributions::status.eq(ContributionStatus::Done.as_str()))
    };
    let total = done().count().get_result(conn)?;
    let rows = done()
        .order(mission_contributions::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(ContributionRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<MissionStatus>,
    pub streamer_id: Option<i64>,
    pub creator_id: Option<i64>,
}

pub fn list(conn: &mut DbConn, filter: &ListFilter, page: PageRequest) -> Result<(Vec<MissionRow>, i64), DbError> {
    let query = || {
        // Hidden by moderation: out of every list (the mission itself goes on).
        let mut q = missions::table
            .filter(missions::status.eq_any(strs(&PUBLIC_STATUSES)))
            .filter(diesel::dsl::not(missions::id.eq_any(mission_hidden::table.select(mission_hidden::mission_id))))
            .into_boxed();
        if let Some(status) = &filter.status {
            q = q.filter(missions::status.eq(status.as_str()));
        }
        if let Some(streamer) = filter.streamer_id {
            q = q.filter(missions::streamer_id.eq(streamer));
        }
        if let Some(creator) = filter.creator_id {
            q = q.filter(missions::creator_id.eq(creator));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order(missions::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(MissionRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Open missions the account created, backs or streams, soonest deadline first.
pub fn open_for(conn: &mut DbConn, account_id: i64, limit: i64) -> Result<Vec<MissionRow>, DbError> {
    let backed = mission_contributions::table
        .filter(mission_contributions::account_id.eq(account_id))
        .filter(mission_contributions::status.eq(ContributionStatus::Done.as_str()))
        .select(mission_contributions::mission_id);
    Ok(missions::table
        .filter(missions::status.eq(MissionStatus::Open.as_str()))
        .filter(diesel::dsl::not(missions::id.eq_any(mission_hidden::table.select(mission_hidden::mission_id))))
        .filter(
            missions::creator_id
                .eq(account_id)
                .or(missions::streamer_id.eq(account_id))
                .or(missions::id.eq_any(backed)),
        )
        .order(missions::deadline.asc())
        .limit(limit)
        .select(MissionRow::as_select())
        .load(conn)?)
}

/// `true` when this call hid it.
pub fn hide(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    let already: i64 = mission_hidden::table.find(id).count().get_result(conn)?;
    if already > 0 {
        return Ok(false);
    }
    let inserted = diesel::insert_into(mission_hidden::table)
        .values((mission_hidden::mission_id.eq(id), mission_hidden::hidden_at.eq(to_db(now))))
        .execute(conn)
        .map_err(DbError::from);
    note(mission_tag(id));
    Ok(inserted.unless_duplicate()? == Some(1))
}
