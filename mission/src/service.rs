//! Mission rules and the money sagas around them. Money moves only through keyed
//! `WalletService` transfers into and out of the mission's escrow (`escrow:mission:{id}`):
//!
//! - creating: a `funding` mission claims the client's key, the stake moves to escrow
//!   (`mission:{id}:stake`), then the mission opens with the stake as first contribution;
//! - contributing: the pool is reserved with a conditional update (open, before the deadline,
//!   under the pool limit) next to a `pending` contribution, the points move
//!   (`mission:{id}:contribution:{cid}`), then the contribution is `done`;
//! - a crash leaves `funding`/`pending` rows that recovery resolves by cancelling the
//!   transfer key (a fence no late retry can cross): applied → completed, else undone.

use crate::error::MissionError;
use crate::repo::{
    self, ContributionRow, ContributionStatus, ListFilter, MissionRow, MissionStatus, NewContribution, NewMission,
};
use crate::settings::MissionSettings;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use contracts::account::AccountService;
use contracts::events::{MissionContributed, MissionCreated};
use contracts::mission::{MissionBrief, MissionService};
use contracts::moderation::{HideOutcome, ModerationTarget, TargetSnapshot};
use contracts::wallet::{CancelOutcome, EntryKind, TransferRequest, WalletError, WalletRef, WalletService};
use contracts::{AccountId, MissionId};
use contracts::{Page, PageRequest, Role, ServiceError};
use futures::future::BoxFuture;
use platform::clock::{SharedClock, from_db};
use platform::crypto::fingerprint;
use platform::db::{DbConn, DbError};
use platform::hotcache::HotDb;
use platform::idempotency::{self, Stored};
use platform::outbox::Outbox;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// The outbox topic whose handler settles a decided or expired mission.
pub const SETTLE_TOPIC: &str = "mission.settle";
/// The events the mission module publishes (`contracts::events`).
pub const EVENT_TOPICS: [&str; 3] =
    ["mission.mission_created", "mission.mission_contribution", "mission.mission_settled"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Mission {
    pub id: i64,
    pub creator_id: i64,
    pub streamer_id: i64,
    pub title: String,
    pub description: String,
    /// `open`, `succeeded`, `failed`, `rejected` or `expired`.
    pub status: MissionStatus,
    pub pool: i64,
    pub contributors: i64,
    pub deadline: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub settled: bool,
}

impl From<MissionRow> for Mission {
    fn from(m: MissionRow) -> Self {
        Mission {
            id: m.id,
            creator_id: m.creator_id,
            streamer_id: m.streamer_id,
            title: m.title,
            description: m.description,
            status: m.status,
            pool: m.pool,
            contributors: i64::from(m.contributors),
            deadline: from_db(m.deadline),
            created_at: from_db(m.created_at),
            decided_at: m.decided_at.map(from_db),
            settled: m.settled,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contribution {
    pub id: i64,
    pub mission_id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
}

impl From<ContributionRow> for Contribution {
    fn from(c: ContributionRow) -> Self {
        Contribution {
            id: c.id,
            mission_id: c.mission_id,
            account_id: c.account_id,
            amount: c.amount,
            created_at: from_db(c.created_at),
        }
    }
}

/// What a creator asks for, validated.
#[derive(Debug, Clone, Serialize)]
pub struct NewMissionRequest {
    pub streamer_id: i64,
    pub title: String,
    pub description: String,
    pub stake: i64,
    pub deadline: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Success,
    Failure,
    Rejected,
}

impl Decision {
    pub fn status(self) -> MissionStatus {
        match self {
            Decision::Success => MissionStatus::Succeeded,
            Decision::Failure => MissionStatus::Failed,
            Decision::Rejected => MissionStatus::Rejected,
        }
    }
}

pub fn escrow(mission_id: i64) -> WalletRef {
    WalletRef::escrow(format!("mission:{mission_id}"))
}

fn stake_key(mission_id: i64) -> String {
    format!("mission:{mission_id}:stake")
}

fn contribution_key(mission_id: i64, contribution_id: i64) -> String {
    format!("mission:{mission_id}:contribution:{contribution_id}")
}

pub struct Missions {
    /// Open missions are kept in memory for the feed: its writes note what they change.
    db: HotDb,
    /// The same pool without the request deadline, for settlement: nobody waits on it, and a
    /// slow database must not burn its outbox attempts.
    settle_db: HotDb,
    outbox: Outbox,
    wallets: Arc<dyn WalletService>,
    accounts: Arc<dyn AccountService>,
    clock: SharedClock,
    settings: MissionSettings,
    /// The web app's address (`server.public_url`, no trailing slash), for links in emails.
    public_url: String,
}

impl Missions {
    pub fn new(
        db: HotDb,
        outbox: Outbox,
        wallets: Arc<dyn WalletService>,
        accounts: Arc<dyn AccountService>,
        clock: SharedClock,
        settings: MissionSettings,
        public_url: &str,
    ) -> Self {
        let settle_db = db.unbounded();
        let public_url = public_url.trim_end_matches('/').to_string();
        Missions { db, settle_db, outbox, wallets, accounts, clock, settings, public_url }
    }

    /// The web app's page of a mission, as emails link it.
    pub(crate) fn mission_url(&self, id: i64) -> String {
        format!("{}/missions/{id}", self.public_url)
    }

    pub fn settings(&self) -> &MissionSettings {
        &self.settings
    }

    pub(crate) fn db(&self) -> &HotDb {
        &self.db
    }

    pub(crate) fn settle_db(&self) -> &HotDb {
        &self.settle_db
    }

    pub(crate) fn wallets(&self) -> &Arc<dyn WalletService> {
        &self.wallets
    }

    pub(crate) fn accounts(&self) -> &Arc<dyn AccountService> {
        &self.accounts
    }

    pub(crate) fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        &self.clock
    }

    async fn load(&self, id: i64) -> Result<MissionRow, MissionError> {
        self.db.run(move |conn| repo::find(conn, id)).await?.ok_or(MissionError::NotFound)
    }

    pub async fn get(&self, id: MissionId) -> Result<Mission, MissionError> {
        let id = id.get();
        let row = self.db.run(move |conn| repo::find_visible(conn, id)).await?.ok_or(MissionError::NotFound)?;
        Ok(row.into())
    }

    /// What `creator`'s key holds: a `funding` mission is still running.
    fn creation_lookup(
        &self,
        creator: i64,
        key: &str,
    ) -> impl FnMut() -> BoxFuture<'static, Result<Option<Stored<Mission>>, MissionError>> + use<> {
        let (db, key) = (self.db.clone(), key.to_string());
        move || {
            let (db, key) = (db.clone(), key.clone());
            Box::pin(async move {
                let row = db.run(move |conn| repo::find_by_client_key(conn, creator, &key)).await?;
                Ok(row.map(|row| Stored {
                    request_hash: row.request_hash.clone(),
                    finished: (row.status != MissionStatus::Funding).then(|| row.into()),
                }))
            })
        }
    }

    #[tracing::instrument(skip(self, key, request), fields(streamer = request.streamer_id, stake = request.stake))]
    pub async fn create(
        &self,
        creator: AccountId,
        key: &str,
        request: NewMissionRequest,
    ) -> Result<Mission, MissionError> {
        let creator = creator.get();
        let hash = fingerprint(&request);
        let run = || self.start_creation(creator, key, &hash, request);
        Ok(idempotency::execute(&hash, self.creation_lookup(creator, key), run).await?.value)
    }

    /// Claims the key with a `funding` mission, moves the stake, opens it.
    async fn start_creation(
        &self,
        creator: i64,
        key: &str,
        hash: &str,
        request: NewMissionRequest,
    ) -> Result<Mission, MissionError> {
        let now = self.clock.now();
        if request.deadline <= now {
            return Err(MissionError::invalid("deadline", "must be in the future"));
        }
        if request.deadline > now + Duration::days(self.settings.max_deadline_days) {
            return Err(MissionError::invalid(
                "deadline",
                format!("must be at most {} days away", self.settings.max_deadline_days),
            ));
        }
        if request.streamer_id == creator {
            return Err(MissionError::Forbidden);
        }
        match self.accounts.profile(request.streamer_id).await? {
            Some(p) if p.role == Role::Streamer => {}
            _ => return Err(MissionError::invalid("streamer_id", "must be a streamer's account id")),
        }
        if request.stake < self.settings.min_contribution {
            return Err(MissionError::invalid(
                "stake",
                format!("must be at least {} points", self.settings.min_contribution),
            ));
        }
        if request.stake > self.settings.max_pool {
            return Err(MissionError::LimitExceeded(format!(
                "a mission's pool is at most {} points",
                self.settings.max_pool
            )));
        }
        let max_open = self.settings.max_open_per_creator;
        let recover_after = now + Duration::seconds(self.settings.recovery_after_secs);
        let (k, h, r) = (key.to_string(), hash.to_string(), request.clone());
        let created = self
            .db
            .tx(move |conn| {
                if repo::count_active_of(conn, creator)? >= max_open {
                    return Err(MissionError::LimitExceeded(format!("at most {max_open} open missions per creator")));
                }
                repo::insert_funding(
                    conn,
                    &NewMission {
                        creator_id: creator,
                        streamer_id: r.streamer_id,
                        title: &r.title,
                        description: &r.description,
                        stake: r.stake,
                        deadline: r.deadline,
                        client_key: &k,
                        request_hash: &h,
                        recover_after,
                        now,
                    },
                )
            })
            .await;
        let id = created?;
        let stake = TransferRequest {
            from: WalletRef::Account(creator),
            to: escrow(id),
            amount: request.stake,
            kind: EntryKind::MissionStake,
            reference: format!("mission:{id}"),
            idempotency_key: stake_key(id),
        };
        match self.wallets.transfer(stake).await {
            Ok(_) => {}
            Err(WalletError::InsufficientBalance) => {
                self.resolve_funding(id).await?;
                return Err(MissionError::InsufficientBalance);
            }
            Err(e) => return Err(e.into()),
        }
        let row = self.load(id).await?;
        let outbox = self.outbox.clone();
        self.db.tx(move |conn| activate(&outbox, conn, &row, now)).await?;
        self.outbox.wake();
        self.get(id.into()).await
    }

    /// Ends a `funding` mission: open if the stake moved, void (key freed) if it never will.
    async fn resolve_funding(&self, id: i64) -> Result<(), MissionError> {
        match self.wallets.cancel(&stake_key(id)).await? {
            CancelOutcome::AlreadyApplied(_) => {
                let row = self.load(id).await?;
                let now = self.clock.now();
                let outbox = self.outbox.clone();
                self.db.tx(move |conn| activate(&outbox, conn, &row, now)).await?;
                self.outbox.wake();
            }
            CancelOutcome::Cancelled => {
                self.db.tx(move |conn| repo::void(conn, id)).await?;
            }
        }
        Ok(())
    }

    /// What `account`'s key holds: a `pending` contribution is still running.
    fn contribution_lookup(
        &self,
        account: i64,
        key: &str,
    ) -> impl FnMut() -> BoxFuture<'static, Result<Option<Stored<Contribution>>, MissionError>> + use<> {
        let (db, key) = (self.db.clone(), key.to_string());
        move || {
            let (db, key) = (db.clone(), key.clone());
            Box::pin(async move {
                let row = db.run(move |conn| repo::find_contribution_by_key(conn, account, &key)).await?;
                Ok(row.map(|row| Stored {
                    request_hash: row.request_hash.clone(),
                    finished: (row.status != ContributionStatus::Pending).then(|| row.into()),
                }))
            })
        }
    }

    #[tracing::instrument(skip(self, key))]
    pub async fn contribute(
        &self,
        account: AccountId,
        mission_id: MissionId,
        key: &str,
        amount: i64,
    ) -> Result<Contribution, MissionError> {
        let account = account.get();
        let mission_id = mission_id.get();
        let hash = fingerprint(&serde_json::json!({ "mission_id": mission_id, "amount": amount }));
        let run = || self.start_contribution(account, mission_id, key, &hash, amount);
        Ok(idempotency::execute(&hash, self.contribution_lookup(account, key), run).await?.value)
    }

    /// Claims the key with a `pending` contribution holding pool room, then moves the points.
    async fn start_contribution(
        &self,
        account: i64,
        mission_id: i64,
        key: &str,
        hash: &str,
        amount: i64,
    ) -> Result<Contribution, MissionError> {
        let mission = self.get(mission_id.into()).await?;
        if mission.streamer_id == account {
            return Err(MissionError::Forbidden);
        }
        if amount < self.settings.min_contribution {
            return Err(MissionError::invalid(
                "amount",
                format!("must be at least {} points", self.settings.min_contribution),
            ));
        }
        let now = self.clock.now();
        let max_pool = self.settings.max_pool;
        let recover_after = now + Duration::seconds(self.settings.recovery_after_secs);
        let (k, h) = (key.to_string(), hash.to_string());
        let reserved = self
            .db
            .tx(move |conn| {
                if !repo::reserve_pool(conn, mission_id, amount, max_pool, now)? {
                    let m = repo::find(conn, mission_id)?.ok_or(MissionError::NotFound)?;
                    return Err(if m.status != MissionStatus::Open || from_db(m.deadline) <= now {
                        MissionError::Closed
                    } else {
                        MissionError::LimitExceeded(format!("a mission's pool is at most {max_pool} points"))
                    });
                }
                repo::insert_pending_contribution(
                    conn,
                    &NewContribution {
                        mission_id,
                        account_id: account,
                        amount,
                        client_key: &k,
                        request_hash: &h,
                        recover_after,
                        now,
                    },
                )
            })
            .await;
        let id = reserved?;
        let transfer = TransferRequest {
            from: WalletRef::Account(account),
            to: escrow(mission_id),
            amount,
            kind: EntryKind::MissionContribution,
            reference: format!("mission:{mission_id}"),
            idempotency_key: contribution_key(mission_id, id),
        };
        match self.wallets.transfer(transfer).await {
            Ok(_) => {}
            Err(WalletError::InsufficientBalance) => {
                self.resolve_contribution(id).await?;
                return Err(MissionError::InsufficientBalance);
            }
            // Settlement or recovery fenced this contribution: the mission closed meanwhile.
            Err(WalletError::Cancelled) => {
                self.resolve_contribution(id).await?;
                return Err(MissionError::Closed);
            }
            Err(e) => return Err(e.into()),
        }
        let row = self.db.run(move |conn| repo::find_contribution(conn, id)).await?.ok_or(MissionError::NotFound)?;
        let (outbox, now) = (self.outbox.clone(), self.clock.now());
        self.db.tx(move |conn| complete_contribution(&outbox, conn, &row, now)).await?;
        self.outbox.wake();
        metrics::counter!("mission_contributions_total").increment(1);
        let row = self.db.run(move |conn| repo::find_contribution(conn, id)).await?.ok_or(MissionError::NotFound)?;
        Ok(row.into())
    }

    /// Ends a `pending` contribution: done if its points moved, failed (pool and key freed)
    /// if they never will.
    pub(crate) async fn resolve_contribution(&self, id: i64) -> Result<(), MissionError> {
        let row = self.db.run(move |conn| repo::find_contribution(conn, id)).await?.ok_or(MissionError::NotFound)?;
        if row.status != ContributionStatus::Pending {
            return Ok(());
        }
        let outcome = self.wallets.cancel(&contribution_key(row.mission_id, row.id)).await?;
        let (outbox, now) = (self.outbox.clone(), self.clock.now());
        self.db
            .tx(move |conn| match &outcome {
                CancelOutcome::AlreadyApplied(_) => complete_contribution(&outbox, conn, &row, now),
                CancelOutcome::Cancelled => repo::fail_contribution(conn, &row),
            })
            .await?;
        self.outbox.wake();
        Ok(())
    }

    /// The streamer's verdict, once, before the deadline; settlement follows via the outbox.
    pub async fn decide(
        &self,
        account: AccountId,
        mission_id: MissionId,
        decision: Decision,
    ) -> Result<Mission, MissionError> {
        let account = account.get();
        let mission_id = mission_id.get();
        let mission = self.get(mission_id.into()).await?;
        if mission.streamer_id != account {
            return Err(MissionError::Forbidden);
        }
        let now = self.clock.now();
        let outbox = self.outbox.clone();
        let decided = self
            .db
            .tx(move |conn| {
                if !repo::decide(conn, mission_id, decision.status(), now)? {
                    return Ok(false);
                }
                enqueue_settlement(&outbox, conn, mission_id, now)?;
                Ok::<_, MissionError>(true)
            })
            .await?;
        if !decided {
            return Err(MissionError::Closed);
        }
        self.outbox.wake();
        metrics::counter!("mission_decisions_total", "result" => decision.status().as_str()).increment(1);
        self.get(mission_id.into()).await
    }

    /// Expires open missions past their deadline; returns how many this call expired.
    /// Several instances may sweep at once: each mission is expired by exactly one.
    pub async fn sweep(&self) -> Result<usize, MissionError> {
        let now = self.clock.now();
        let due = self.db.run(move |conn| repo::past_deadline(conn, now, 200)).await?;
        let mut expired = 0;
        for id in due {
            let outbox = self.outbox.clone();
            let won = self
                .db
                .tx(move |conn| {
                    if !repo::expire(conn, id, now)? {
                        return Ok(false);
                    }
                    enqueue_settlement(&outbox, conn, id, now)?;
                    Ok::<_, MissionError>(true)
                })
                .await?;
            if won {
                expired += 1;
            }
        }
        // A decided mission whose settlement was parked (or lost) is queued again once the
        // parked row's backoff has passed; settlement is keyed, so this repeats nothing.
        let unsettled = self.db.run(move |conn| repo::unsettled(conn, 200)).await?;
        let outbox = self.outbox.clone();
        let requeued = self
            .db
            .tx(move |conn| {
                let mut n = 0;
                for id in &unsettled {
                    n += usize::from(requeue_settlement(&outbox, conn, *id, now)?);
                }
                Ok::<_, MissionError>(n)
            })
            .await?;
        if requeued > 0 {
            tracing::warn!(requeued, "unsettled missions queued for settlement again");
        }
        if expired > 0 || requeued > 0 {
            self.outbox.wake();
        }
        if expired > 0 {
            tracing::info!(expired, "missions expired");
        }
        Ok(expired)
    }

    /// Resolves stakes and contributions whose request died mid-way.
    pub async fn recover(&self) -> Result<usize, MissionError> {
        let now = self.clock.now();
        let until = now + Duration::seconds(self.settings.recovery_after_secs);
        let mut resolved = 0;
        for id in self.db.run(move |conn| repo::stale_funding(conn, now, 50)).await? {
            if self.db.tx(move |conn| repo::claim_funding(conn, id, now, until)).await? {
                self.resolve_funding(id).await?;
                resolved += 1;
            }
        }
        for c in self.db.run(move |conn| repo::stale_pending_contributions(conn, now, 100)).await? {
            let id = c.id;
            if self.db.tx(move |conn| repo::claim_contribution(conn, id, now, until)).await? {
                self.resolve_contribution(id).await?;
                resolved += 1;
            }
        }
        Ok(resolved)
    }

    pub async fn list(&self, filter: ListFilter, page: PageRequest) -> Result<Page<Mission>, MissionError> {
        let (rows, total) = self.db.run(move |conn| repo::list(conn, &filter, page)).await?;
        Ok(Page::new(rows.into_iter().map(Mission::from).collect(), page, total))
    }

    pub async fn contributions(
        &self,
        mission_id: MissionId,
        page: PageRequest,
    ) -> Result<Page<Contribution>, MissionError> {
        let mission_id = mission_id.get();
        self.get(mission_id.into()).await?;
        let (rows, total) = self.db.run(move |conn| repo::contributions(conn, mission_id, page)).await?;
        Ok(Page::new(rows.into_iter().map(Contribution::from).collect(), page, total))
    }
}

/// `funding → open`, announcing `mission.mission_created` in the same transaction.
fn activate(outbox: &Outbox, conn: &mut DbConn, row: &MissionRow, now: DateTime<Utc>) -> Result<bool, DbError> {
    let activated = repo::activate(conn, row, now)?;
    if activated {
        let event = MissionCreated {
            mission_id: row.id,
            creator_id: row.creator_id,
            streamer_id: row.streamer_id,
            title: row.title.clone(),
            stake: row.stake,
        };
        outbox.publish(conn, now, &event)?;
    }
    Ok(activated)
}

/// `pending → done`, announcing `mission.mission_contribution` in the same transaction.
/// The creator's stake is announced as the mission's creation, not as a contribution.
fn complete_contribution(
    outbox: &Outbox,
    conn: &mut DbConn,
    row: &ContributionRow,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let completed = repo::complete_contribution(conn, row)?;
    if completed && let Some(mission) = repo::find(conn, row.mission_id)? {
        let event = MissionContributed {
            mission_id: row.mission_id,
            contribution_id: row.id,
            account_id: row.account_id,
            streamer_id: mission.streamer_id,
            title: mission.title,
            amount: row.amount,
        };
        outbox.publish(conn, now, &event)?;
    }
    Ok(completed)
}

fn settle_key(mission_id: i64) -> String {
    format!("mission:{mission_id}:settle")
}

fn enqueue_settlement(
    outbox: &Outbox,
    conn: &mut platform::db::DbConn,
    mission_id: i64,
    now: DateTime<Utc>,
) -> Result<(), MissionError> {
    let payload = serde_json::json!({ "mission_id": mission_id });
    outbox.enqueue(conn, now, SETTLE_TOPIC, &payload, Some(&settle_key(mission_id)))?;
    Ok(())
}

/// The sweep's re-drive: the settlement row again if it was parked or is missing.
fn requeue_settlement(
    outbox: &Outbox,
    conn: &mut platform::db::DbConn,
    mission_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, MissionError> {
    let payload = serde_json::json!({ "mission_id": mission_id });
    Ok(outbox.requeue(conn, now, SETTLE_TOPIC, &payload, &settle_key(mission_id))?)
}

/// Missions as moderation sees them: any authenticated account can report one it can see.
#[async_trait]
impl ModerationTarget for Missions {
    async fn snapshot(&self, _viewer: i64, id: i64) -> Result<Option<TargetSnapshot>, ServiceError> {
        let row = self.db.run(move |conn| repo::find_visible(conn, id)).await.map_err(ServiceError::from)?;
        Ok(row.map(|m| TargetSnapshot {
            owner_id: m.creator_id,
            preview: serde_json::json!({
                "title": m.title, "description": m.description, "creator_id": m.creator_id,
                "streamer_id": m.streamer_id, "status": m.status,
            }),
        }))
    }

    async fn hide(&self, id: i64) -> Result<HideOutcome, ServiceError> {
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                if repo::find_visible(conn, id)?.is_none() {
                    return Ok(HideOutcome::Gone);
                }
                Ok(if repo::hide(conn, id, now)? { HideOutcome::Hidden } else { HideOutcome::AlreadyHidden })
            })
            .await
            .map_err(|e: DbError| ServiceError::from(e))
    }
}

#[async_trait]
impl MissionService for Missions {
    async fn open_missions_for(&self, account_id: i64, limit: u32) -> Result<Vec<MissionBrief>, ServiceError> {
        let limit = i64::from(limit.clamp(1, 50));
        let read = || async move {
            let rows =
                self.db.run(move |conn| repo::open_for(conn, account_id, limit)).await.map_err(ServiceError::from)?;
            Ok(rows
                .into_iter()
                .map(|m| MissionBrief {
                    id: m.id,
                    title: m.title,
                    streamer_id: m.streamer_id,
                    pool: m.pool,
                    contributors: i64::from(m.contributors),
                    deadline: from_db(m.deadline),
                })
                .collect())
        };
        // Tagged with the account (missions joining its list) and each mission listed.
        let tags = |missions: &Vec<MissionBrief>| {
            missions.iter().map(|m| repo::mission_tag(m.id)).chain([repo::account_tag(account_id)]).collect()
        };
        self.db.read_through(format!("missions:open:{account_id}:{limit}"), tags, read).await
    }
}
