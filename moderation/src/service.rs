//! Filing reports and resolving them. Targets are looked up and hidden through the owning
//! modules' `ModerationTarget`s; suspension goes through the account module's `Suspender`.

use crate::error::ModerationError;
use crate::model::{Action, AdminReport, Reason, Report, TargetType};
use crate::repo::{self, NewReport};
use crate::settings::ModerationSettings;
use chrono::Duration;
use contracts::events::ReportResolved;
use contracts::moderation::{HideOutcome, ModerationTarget, Suspender};
use contracts::{Page, PageRequest};
use platform::clock::{SharedClock, from_db};
use platform::db::{Db, DbError};
use platform::outbox::Outbox;
use std::collections::HashMap;
use std::sync::Arc;

/// The owning module of each kind of target.
pub type Targets = HashMap<TargetType, Arc<dyn ModerationTarget>>;

platform::service_struct! {
    pub struct Moderation {
        db: Db,
        outbox: Outbox,
        clock: SharedClock,
        targets: Targets,
        suspender: Arc<dyn Suspender>,
        settings: ModerationSettings,
    }
}

impl Moderation {
    pub fn db(&self) -> &Db {
        &self.db
    }

    fn target(&self, kind: TargetType) -> Result<&Arc<dyn ModerationTarget>, ModerationError> {
        self.targets.get(&kind).ok_or_else(|| {
            ModerationError::invalid("target_type", format!("{} cannot be reported here", kind.as_str()))
        })
    }

    /// Files a report, or returns the reporter's open report on the same target (`false`).
    #[tracing::instrument(skip(self, details))]
    pub async fn report(
        &self,
        reporter: i64,
        kind: TargetType,
        target_id: i64,
        reason: Reason,
        details: Option<String>,
    ) -> Result<(Report, bool), ModerationError> {
        let key = repo::open_key(reporter, kind, target_id);
        let existing_key = key.clone();
        if let Some(existing) = self.db.run(move |conn| repo::find_open(conn, &existing_key)).await? {
            return Ok((existing.view(), false));
        }
        let snapshot = self.target(kind)?.snapshot(reporter, target_id).await?.ok_or(ModerationError::NotFound)?;
        if snapshot.owner_id == reporter {
            return Err(ModerationError::invalid("target_id", "you cannot report yourself or your own content"));
        }
        let preview = serde_json::to_string(&snapshot.preview).map_err(|e| DbError::Task(e.to_string()))?;
        let now = self.clock.now();
        let limit = self.settings.reports_per_hour.max(1);
        let outcome = self
            .db
            .tx(move |conn| {
                if let Some(existing) = repo::find_open(conn, &key)? {
                    return Ok((existing, false));
                }
                let (filed, oldest) = repo::filed_since(conn, reporter, now - Duration::hours(1))?;
                if filed >= limit {
                    let frees_at = oldest.map(from_db).unwrap_or(now) + Duration::hours(1);
                    let retry_after_secs = (frees_at - now).num_seconds().max(1) as u64;
                    return Err(ModerationError::RateLimited { retry_after_secs });
                }
                let new = NewReport {
                    reporter_id: reporter,
                    target: kind,
                    target_id,
                    owner_id: snapshot.owner_id,
                    preview: &preview,
                    reason,
                    details: details.as_deref(),
                    now,
                };
                match repo::insert(conn, &new)? {
                    Some(id) => Ok((repo::find(conn, id)?.ok_or(ModerationError::NotFound)?, true)),
                    // A concurrent duplicate won; theirs is the report.
                    None => Ok((repo::find_open(conn, &key)?.ok_or(ModerationError::NotFound)?, false)),
                }
            })
            .await?;
        if outcome.1 {
            metrics::counter!("moderation_reports_total", "target_type" => kind.as_str()).increment(1);
        }
        Ok((outcome.0.view(), outcome.1))
    }

    pub async fn my_reports(&self, reporter: i64, page: PageRequest) -> Result<Page<Report>, ModerationError> {
        let (rows, total) = self.db.run(move |conn| repo::of_reporter(conn, reporter, page)).await?;
        Ok(Page::new(rows.iter().map(repo::ReportRow::view).collect(), page, total))
    }

    /// `open`: one entry per target (its newest open report), most reported first.
    /// `resolved`: every resolved report, most recently resolved first.
    pub async fn queue(
        &self,
        open: bool,
        kind: Option<TargetType>,
        page: PageRequest,
    ) -> Result<Page<AdminReport>, ModerationError> {
        let (rows, total, counts) = self
            .db
            .run(move |conn| {
                let (rows, total) =
                    if open { repo::open_queue(conn, kind, page)? } else { repo::resolved(conn, kind, page)? };
                let targets: Vec<(String, i64)> = rows.iter().map(|r| (r.target_type.clone(), r.target_id)).collect();
                let counts = repo::open_counts(conn, &targets)?;
                Ok::<_, DbError>((rows, total, counts))
            })
            .await?;
        let items = rows
            .iter()
            .map(|r| r.admin_view(counts.get(&(r.target_type.clone(), r.target_id)).copied().unwrap_or(0)))
            .collect();
        Ok(Page::new(items, page, total))
    }

    /// Acts on the report's target, then resolves every open report on it at once. The
    /// action runs first: if it fails, nothing is resolved and the operator may retry (every
    /// action is idempotent). A report already resolved is answered as it is.
    #[tracing::instrument(skip(self, note))]
    pub async fn resolve(
        &self,
        admin: i64,
        report_id: i64,
        action: Action,
        note: String,
    ) -> Result<AdminReport, ModerationError> {
        let row = self.db.run(move |conn| repo::find(conn, report_id)).await?.ok_or(ModerationError::NotFound)?;
        if row.status != "open" {
            return self.admin_report(report_id).await;
        }
        let kind = row.target().ok_or_else(|| ModerationError::invalid("target_type", "unknown target type"))?;
        match action {
            Action::Dismiss => {}
            Action::Hide => match self.target(kind)?.hide(row.target_id).await? {
                HideOutcome::Hidden | HideOutcome::AlreadyHidden | HideOutcome::Gone => {}
                HideOutcome::NotSupported => {
                    return Err(ModerationError::invalid(
                        "action",
                        format!("a {} cannot be hidden; suspend the account instead", kind.as_str()),
                    ));
                }
            },
            Action::Suspend => {
                let reason = if note.trim().is_empty() {
                    format!("report #{report_id}: {}", row.reason)
                } else {
                    note.trim().to_string()
                };
                if self.suspender.suspend(row.target_owner_id, &reason, None).await?.is_none() {
                    tracing::warn!(account_id = row.target_owner_id, "reported account no longer exists");
                }
            }
        }
        let now = self.clock.now();
        let outbox = self.outbox.clone();
        let target_type = row.target_type.clone();
        let target_id = row.target_id;
        let resolved = self
            .db
            .tx(move |conn| {
                let resolved = repo::resolve_target(conn, &target_type, target_id, action, &note, admin, now)?;
                for r in &resolved {
                    outbox.publish(
                        conn,
                        now,
                        &ReportResolved {
                            report_id: r.id,
                            reporter_id: r.reporter_id,
                            target_type: r.target_type.clone(),
                            target_id: r.target_id,
                            action: action.as_str().to_string(),
                            resolved_at: now,
                        },
                    )?;
                }
                Ok::<_, DbError>(resolved.len())
            })
            .await?;
        self.outbox.wake();
        metrics::counter!("moderation_resolutions_total", "action" => action.as_str()).increment(1);
        metrics::counter!("moderation_reports_resolved_total").increment(resolved as u64);
        tracing::info!(report_id, action = action.as_str(), resolved, "reports resolved");
        self.admin_report(report_id).await
    }

    async fn admin_report(&self, id: i64) -> Result<AdminReport, ModerationError> {
        let (row, counts) = self
            .db
            .run(move |conn| {
                let Some(row) = repo::find(conn, id)? else { return Ok::<_, DbError>(None) };
                let counts = repo::open_counts(conn, &[(row.target_type.clone(), row.target_id)])?;
                Ok(Some((row, counts)))
            })
            .await?
            .ok_or(ModerationError::NotFound)?;
        let open = counts.get(&(row.target_type.clone(), row.target_id)).copied().unwrap_or(0);
        Ok(row.admin_view(open))
    }

    /// Open reports in all, for `/metrics`.
    pub async fn open_reports(&self) -> Result<i64, DbError> {
        self.db.run(repo::count_open).await
    }
}
