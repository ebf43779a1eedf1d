//! The aggregator and the admin operations.

use crate::breaker::{Breaker, Permit};
use crate::consumers::{self, Failure, FeedRow, Results};
use crate::model::{AdSlot, ProviderType, RowSetting, validate_row};
use crate::providers::{Context, Dependencies, Provider, ProviderWrapper, standard};
use crate::repo;
use crate::settings::FeedConfig;
use crate::store::{CHANGED_CHANNEL, FeedSettings, SettingsStore, Source};
use chrono::{DateTime, Utc};
use platform::clock::SharedClock;
use platform::db::{Db, DbError};
use platform::pubsub::SharedPubSub;
use platform::{ApiError, ApiResult};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedResponse {
    pub rows: Vec<FeedRow>,
    pub source: Source,
    pub generated_at: DateTime<Utc>,
}

pub struct Feed {
    db: Db,
    store: Arc<SettingsStore>,
    providers: HashMap<ProviderType, (Arc<dyn Provider>, Arc<Breaker>)>,
    pubsub: SharedPubSub,
    clock: SharedClock,
    config: FeedConfig,
}

impl Feed {
    pub fn new(
        db: Db,
        store: Arc<SettingsStore>,
        deps: &Dependencies,
        wrapper: Option<ProviderWrapper>,
        pubsub: SharedPubSub,
        clock: SharedClock,
        config: FeedConfig,
    ) -> Self {
        let providers = ProviderType::ALL
            .into_iter()
            .map(|kind| {
                let provider = standard(kind, deps);
                let provider = match &wrapper {
                    Some(wrap) => wrap(kind, provider),
                    None => provider,
                };
                let breaker = Breaker::new(config.breaker_failures, Duration::from_millis(config.breaker_open_ms));
                (kind, (provider, Arc::new(breaker)))
            })
            .collect();
        Feed { db, store, providers, pubsub, clock, config }
    }

    pub fn store(&self) -> &Arc<SettingsStore> {
        &self.store
    }

    pub fn config(&self) -> &FeedConfig {
        &self.config
    }

    /// Assembles the feed: the rows this caller may see, each needed provider called once,
    /// all at once, each cut off at `feed.provider_timeout_ms`.
    pub async fn generate(&self, account_id: Option<i64>, country: Option<String>) -> FeedResponse {
        let response = self.assemble(account_id, country, None).await;
        metrics::counter!("feed_requests_total", "source" => response.source.as_str()).increment(1);
        response
    }

    /// The feed `account_id` in `country` would get now, with `rows` (validated like saved
    /// rows; errors name `rows[i].field`) in place of the stored row settings when given.
    pub async fn preview(
        &self,
        account_id: Option<i64>,
        country: Option<String>,
        rows: Option<Vec<RowSetting>>,
    ) -> ApiResult<FeedResponse> {
        if let Some(rows) = &rows {
            refuse_problems(rows.iter().enumerate().flat_map(|(i, row)| problems(row, format!("rows[{i}]."))))?;
        }
        Ok(self.assemble(account_id, country, rows).await)
    }

    async fn assemble(
        &self,
        account_id: Option<i64>,
        country: Option<String>,
        drafts: Option<Vec<RowSetting>>,
    ) -> FeedResponse {
        let snapshot = self.store.current();
        let settings = match drafts {
            None => snapshot.settings.clone(),
            Some(rows) => Arc::new(FeedSettings { rows, ad_slots: snapshot.settings.ad_slots.clone() }),
        };
        let now = self.clock.now();
        let mut rows: Vec<&RowSetting> = settings
            .rows
            .iter()
            .filter(|r| r.live_at(now))
            .filter(|r| account_id.is_some() || !r.row_provider_type.needs_account())
            .filter(|r| r.selector.admits(account_id, country.as_deref()))
            .collect();
        rows.sort_by_key(|r| (r.position, r.id));
        let needed: BTreeSet<ProviderType> =
            rows.iter().flat_map(|r| r.row_provider_type.providers().iter().copied()).collect();
        let ctx = Context { account_id, country, settings: settings.clone() };
        let timeout = Duration::from_millis(self.config.provider_timeout_ms.max(1));
        let calls = needed.into_iter().filter_map(|kind| self.providers.get(&kind).map(|p| (kind, p.clone()))).map(|(kind, (provider, breaker))| {
            let ctx = &ctx;
            async move {
                let started = Instant::now();
                let permit = breaker.permit(started);
                if permit == Permit::Skip {
                    metrics::counter!("feed_provider_calls_total", "provider" => kind.as_str(), "outcome" => "skipped").increment(1);
                    return (kind, Err(Failure::Skipped));
                }
                let outcome = match tokio::time::timeout(timeout, provider.fetch(ctx)).await {
                    Ok(Ok(data)) => Ok(data),
                    Ok(Err(e)) => {
                        tracing::warn!(provider = %kind, error = %format!("{e:#}"), "feed provider failed");
                        Err(Failure::Error)
                    }
                    Err(_) => {
                        tracing::warn!(provider = %kind, timeout_ms = timeout.as_millis() as u64, "feed provider timed out");
                        Err(Failure::Timeout)
                    }
                };
                breaker.record(&permit, outcome.is_ok(), Instant::now());
                if outcome.is_err() && breaker.is_open() && permit == Permit::Probe {
                    tracing::warn!(provider = %kind, "feed provider still failing; skipped again for a while");
                }
                let label = match &outcome {
                    Ok(_) => "ok",
                    Err(Failure::Error) => "error",
                    Err(Failure::Timeout) => "timeout",
                    Err(Failure::Skipped) => "skipped",
                };
                metrics::counter!("feed_provider_calls_total", "provider" => kind.as_str(), "outcome" => label).increment(1);
                metrics::histogram!("feed_provider_duration_seconds", "provider" => kind.as_str())
                    .record(started.elapsed().as_secs_f64());
                (kind, outcome)
            }
        });
        let results: Results = futures::future::join_all(calls).await.into_iter().collect();
        let rows = rows.into_iter().filter_map(|r| consumers::build(r, &results, now)).collect();
        FeedResponse { rows, source: snapshot.source, generated_at: now }
    }

    /// After an admin change: refresh here at once, and tell the other instances.
    async fn changed(&self) {
        self.store.refresh().await;
        if let Err(e) = self.pubsub.publish(CHANGED_CHANNEL, "1").await {
            tracing::warn!(error = %e, "feed change not announced; other instances pick it up on their next refresh");
        }
    }

    pub async fn rows(&self) -> ApiResult<Vec<RowSetting>> {
        Ok(self.db.run(repo::rows).await?)
    }

    fn check(row: &RowSetting) -> ApiResult<()> {
        refuse_problems(problems(row, String::new()))
    }

    pub async fn create_row(&self, row: RowSetting) -> ApiResult<RowSetting> {
        Self::check(&row)?;
        let now = self.clock.now();
        let id = self.db.tx(move |conn| repo::insert_row(conn, &row, now)).await?;
        self.changed().await;
        self.find_row(id).await
    }

    pub async fn replace_row(&self, row: RowSetting) -> ApiResult<RowSetting> {
        Self::check(&row)?;
        let now = self.clock.now();
        let id = row.id;
        if !self.db.tx(move |conn| repo::update_row(conn, &row, now)).await? {
            return Err(ApiError::not_found());
        }
        self.changed().await;
        self.find_row(id).await
    }

    async fn find_row(&self, id: i64) -> ApiResult<RowSetting> {
        self.rows().await?.into_iter().find(|r| r.id == id).ok_or_else(ApiError::not_found)
    }

    pub async fn delete_row(&self, id: i64) -> ApiResult<()> {
        if !self.db.tx(move |conn| repo::delete_row(conn, id)).await? {
            return Err(ApiError::not_found());
        }
        self.changed().await;
        Ok(())
    }

    pub async fn ad_slots(&self) -> ApiResult<Vec<AdSlot>> {
        Ok(self.db.run(repo::ad_slots).await?)
    }

    pub async fn create_ad_slot(&self, slot: AdSlot) -> ApiResult<AdSlot> {
        let now = self.clock.now();
        let id = self.db.tx(move |conn| repo::insert_ad_slot(conn, &slot, now)).await?;
        self.changed().await;
        let slots: Vec<AdSlot> = self.db.run(repo::ad_slots).await.map_err(|e: DbError| ApiError::from(e))?;
        slots.into_iter().find(|s| s.id == id).ok_or_else(ApiError::not_found)
    }

    pub async fn delete_ad_slot(&self, id: i64) -> ApiResult<()> {
        if !self.db.tx(move |conn| repo::delete_ad_slot(conn, id)).await? {
            return Err(ApiError::not_found());
        }
        self.changed().await;
        Ok(())
    }
}

/// A row setting's problems, by field name under `prefix`.
fn problems(row: &RowSetting, prefix: String) -> impl Iterator<Item = (String, String)> {
    validate_row(row).into_iter().map(move |(field, message)| (format!("{prefix}{field}"), message))
}

/// 400 `validation_failed` naming every problem, if there is one.
fn refuse_problems(problems: impl Iterator<Item = (String, String)>) -> ApiResult<()> {
    let fields: BTreeMap<String, String> = problems.collect();
    if fields.is_empty() { Ok(()) } else { Err(ApiError::validation(fields)) }
}
