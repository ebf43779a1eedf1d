//! Report queries; synchronous, run on the blocking pool.

use crate::model::{Action, AdminReport, Reason, Report, TargetType};
use crate::schema::moderation_reports;
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::PageRequest;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use platform::clock::{from_db, to_db};
use platform::db::OnDuplicate;
use platform::db::{CountRow, DbConn, DbError, last_insert_id, load_ids};
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = moderation_reports)]
pub struct ReportRow {
    pub id: i64,
    pub reporter_id: i64,
    pub target_type: String,
    pub target_id: i64,
    pub target_owner_id: i64,
    pub target_preview: String,
    pub reason: String,
    pub details: Option<String>,
    pub status: String,
    pub resolution: Option<String>,
    pub resolution_note: Option<String>,
    pub resolved_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
}

impl ReportRow {
    pub fn target(&self) -> Option<TargetType> {
        self.target_type.parse().ok()
    }

    pub fn view(&self) -> Report {
        Report {
            id: self.id,
            // Only valid values are written; an unknown one would be a corrupted row.
            target_type: self.target().unwrap_or(TargetType::Product),
            target_id: self.target_id,
            reason: self.reason.parse().unwrap_or(Reason::Other),
            details: self.details.clone(),
            status: self.status.clone(),
            created_at: from_db(self.created_at),
            resolved_at: self.resolved_at.map(from_db),
            resolution: self.resolution.as_deref().and_then(|r| r.parse().ok()),
        }
    }

    pub fn admin_view(&self, open_on_target: i64) -> AdminReport {
        AdminReport {
            report: self.view(),
            reporter_id: self.reporter_id,
            target_owner_id: self.target_owner_id,
            target_preview: serde_json::from_str(&self.target_preview).unwrap_or(serde_json::Value::Null),
            open_reports_on_target: open_on_target,
            resolution_note: self.resolution_note.clone(),
            resolved_by: self.resolved_by,
        }
    }
}

/// One reporter's one open report per target.
pub fn open_key(reporter_id: i64, target: TargetType, target_id: i64) -> String {
    format!("{reporter_id}:{}:{target_id}", target.as_str())
}

pub struct NewReport<'a> {
    pub reporter_id: i64,
    pub target: TargetType,
    pub target_id: i64,
    pub owner_id: i64,
    pub preview: &'a str,
    pub reason: Reason,
    pub details: Option<&'a str>,
    pub now: DateTime<Utc>,
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<ReportRow>, DbError> {
    Ok(moderation_reports::table.find(id).select(ReportRow::as_select()).first(conn).optional()?)
}

pub fn find_open(conn: &mut DbConn, key: &str) -> Result<Option<ReportRow>, DbError> {
    Ok(moderation_reports::table
        .filter(moderation_reports::open_key.eq(key))
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?)
}

/// Reports filed by `reporter_id` since `since`, and the oldest of them.
pub fn filed_since(
    conn: &mut DbConn,
    reporter_id: i64,
    since: DateTime<Utc>,
) -> Result<(i64, Option<NaiveDateTime>), DbError> {
    let recent = || {
        moderation_reports::table
            .filter(moderation_reports::reporter_id.eq(reporter_id))
            .filter(moderation_reports::created_at.gt(to_db(since)))
    };
    let n: i64 = recent().count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> =
        recent().select(diesel::dsl::min(moderation_reports::created_at)).first(conn)?;
    Ok((n, oldest))
}

/// `Ok(None)` when an open report with the same key exists (a concurrent duplicate).
pub fn insert(conn: &mut DbConn, new: &NewReport<'_>) -> Result<Option<i64>, DbError> {
    let inserted = diesel::insert_into(moderation_reports::table)
        .values((
            moderation_reports::reporter_id.eq(new.reporter_id),
            moderation_reports::target_type.eq(new.target.as_str()),
            moderation_reports::target_id.eq(new.target_id),
            moderation_reports::target_owner_id.eq(new.owner_id),
            moderation_reports::target_preview.eq(new.preview),
            moderation_reports::reason.eq(new.reason.as_str()),
            moderation_reports::details.eq(new.details),
            moderation_reports::status.eq("open"),
            moderation_reports::open_key.eq(Some(open_key(new.reporter_id, new.target, new.target_id))),
            moderation_reports::created_at.eq(to_db(new.now)),
        ))
        .execute(conn)
        .map_err(DbError::from);
    match inserted.unless_duplicate()? {
        None => Ok(None),
        Some(_) => Ok(Some(last_insert_id(conn)?)),
    }
}

pub fn of_reporter(conn: &mut DbConn, reporter_id: i64, page: PageRequest) -> Result<(Vec<ReportRow>, i64), DbError> {
    let mine = || moderation_reports::table.filter(moderation_reports::reporter_id.eq(reporter_id));
    let total: i64 = mine().count().get_result(conn)?;
    let rows = mine()
        .order(moderation_reports::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(ReportRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Open reports per `(target_type, target_id)` among these targets.
pub fn open_counts(conn: &mut DbConn, targets: &[(String, i64)]) -> Result<HashMap<(String, i64), i64>, DbError> {
    let ids: Vec<i64> = targets.iter().map(|(_, id)| *id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64, i64)> = moderation_reports::table
        .filter(moderation_reports::status.eq("open"))
        .filter(moderation_reports::target_id.eq_any(ids))
        .group_by((moderation_reports::target_type, moderation_reports::target_id))
        .select((moderation_reports::target_type, moderation_reports::target_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().map(|(t, id, n)| ((t, id), n)).collect())
}

/// The open queue, one entry per target (its newest open report): most reported targets
/// first, then the most recently reported.
pub fn open_queue(
    conn: &mut DbConn,
    target: Option<TargetType>,
    page: PageRequest,
) -> Result<(Vec<ReportRow>, i64), DbError> {
    type Backend = <DbConn as diesel::Connection>::Backend;
    let filter = if target.is_some() { " AND target_type = ?" } else { "" };
    let bind = |sql: String| {
        let mut q = diesel::sql_query(sql).into_boxed::<Backend>();
        if let Some(t) = target {
            q = q.bind::<Text, _>(t.as_str());
        }
        q
    };
    let total = bind(format!(
        "SELECT COUNT(*) AS n FROM (SELECT target_id FROM moderation_reports WHERE status = 'open'{filter} \
         GROUP BY target_type, target_id) g"
    ))
    .get_result::<CountRow>(conn)?
    .n;
    let ids = load_ids(
        conn,
        bind(format!(
            "SELECT MAX(id) AS id FROM moderation_reports WHERE status = 'open'{filter} \
             GROUP BY target_type, target_id ORDER BY COUNT(*) DESC, MAX(id) DESC LIMIT ? OFFSET ?"
        ))
        .bind::<BigInt, _>(page.limit())
        .bind::<BigInt, _>(page.offset()),
    )?;
    let mut rows: Vec<ReportRow> = moderation_reports::table
        .filter(moderation_reports::id.eq_any(&ids))
        .select(ReportRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    Ok((rows, total))
}

/// Resolved reports, newest resolution first.
pub fn resolved(
    conn: &mut DbConn,
    target: Option<TargetType>,
    page: PageRequest,
) -> Result<(Vec<ReportRow>, i64), DbError> {
    let query = || {
        let mut q = moderation_reports::table.filter(moderation_reports::status.eq("resolved")).into_boxed();
        if let Some(t) = target {
            q = q.filter(moderation_reports::target_type.eq(t.as_str()));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order((moderation_reports::resolved_at.desc(), moderation_reports::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(ReportRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Resolves every open report on the target; returns those it resolved.
pub fn resolve_target(
    conn: &mut DbConn,
    target_type: &str,
    target_id: i64,
    action: Action,
    note: &str,
    by: i64,
    now: DateTime<Utc>,
) -> Result<Vec<ReportRow>, DbError> {
    let open = || {
        moderation_reports::table
            .filter(moderation_reports::target_type.eq(target_type.to_string()))
            .filter(moderation_reports::target_id.eq(target_id))
            .filter(moderation_reports::status.eq("open"))
    };
    let ids: Vec<i64> = open().select(moderation_reports::id).load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        moderation_reports::table
            .filter(moderation_reports::id.eq_any(&ids))
            .filter(moderation_reports::status.eq("open")),
    )
    .set((
        moderation_reports::status.eq("resolved"),
        moderation_reports::open_key.eq(None::<String>),
        moderation_reports::resolution.eq(Some(action.as_str())),
        moderation_reports::resolution_note.eq(Some(note)),
        moderation_reports::resolved_by.eq(Some(by)),
        moderation_reports::resolved_at.eq(Some(to_db(now))),
    ))
    .execute(conn)?;
    Ok(moderation_reports::table
        .filter(moderation_reports::id.eq_any(&ids))
        .select(ReportRow::as_select())
        .load(conn)?)
}

pub fn count_open(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(moderation_reports::table.filter(moderation_reports::status.eq("open")).count().get_result(conn)?)
}
