//! Payouts: points leave a seller's or streamer's wallet for their bank account.
//!
//! - Create: one transaction inserts the payout (`requested`, unique per account and
//!   Idempotency-Key) and moves the points into its escrow `escrow:payout:<id>` (`payout`,
//!   key `payout:<id>`). Concurrent identical requests create one payout.
//! - Send: a conditional `requested → processing` claims it (one sender wins), then the
//!   gateway is called with `refPayoutId = payout-<id>`. `paid`: escrow → `system:payouts`
//!   (`payout:<id>:sent`); `failed`: escrow → the account (`payout_reversal`,
//!   `payout:<id>:reversal`). An unknown outcome stays `processing`.
//! - [`Payouts::reconcile`] picks up payouts left `requested` (a crash before the claim)
//!   and `processing` ones whose outcome we do not know: it looks them up and applies what
//!   the gateway says; only a payout the gateway has never seen is sent again, under the
//!   same reference, so a payout is paid at most once.
//! - Account numbers are AES-256-GCM encrypted at rest and masked in every response; they
//!   are never logged (`PayoutOrder`'s Debug leaves them out).

pub mod crypto;
pub mod gateway;
pub mod http;
mod repo;

use crate::error::PaymentError;
use crate::ledger;
use chrono::{DateTime, Duration, Utc};
use contracts::common::{Page, PageRequest};
use contracts::events::payment::{PayoutFailed, PayoutPaid};
use contracts::wallet::{EntryKind, TransferRequest, WalletRef};
use contracts::{AccountId, PayoutId};
use crypto::AtRestKey;
use gateway::{PayoutGateway, PayoutOrder, PayoutOutcome};
use platform::clock::{SharedClock, from_db};
use platform::db::write_tx;
use platform::hotcache::HotDb;
use platform::idempotency::{self, Keyed, Stored};
use platform::outbox::Outbox;
use repo::PayoutRow;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

contracts::stored_enum! {
    pub enum PayoutStatus {
        Requested = "requested",
        Processing = "processing",
        Paid = "paid",
        Failed = "failed",
    }
}

/// A payout as its owner (and operators) see it: never the full account number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Payout {
    pub id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub status: PayoutStatus,
    pub bank_code: String,
    /// Only the last four digits.
    pub account_number_masked: String,
    pub account_holder: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
}

fn view(row: PayoutRow) -> Payout {
    Payout {
        id: row.id,
        account_id: row.account_id,
        amount: row.amount,
        status: row.status,
        bank_code: row.bank_code,
        account_number_masked: row.account_number_masked,
        account_holder: row.account_holder,
        created_at: from_db(row.created_at),
        completed_at: row.completed_at.map(from_db),
        failure_reason: row.failure_reason,
    }
}

/// A validated payout request (see the handler for the rules).
#[derive(Debug, Clone)]
pub struct PayoutRequest {
    pub amount: i64,
    pub bank_code: String,
    pub account_number: String,
    pub account_holder: String,
}

pub fn escrow(payout_id: i64) -> WalletRef {
    WalletRef::Escrow(format!("payout:{payout_id}"))
}

/// Where paid-out money goes: outside the platform.
pub fn payouts_wallet() -> WalletRef {
    WalletRef::System("payouts".into())
}

pub struct Payouts {
    db: HotDb,
    clock: SharedClock,
    outbox: Outbox,
    gateway: Arc<dyn PayoutGateway>,
    key: AtRestKey,
    min_payout: i64,
    /// How long a `processing` payout is left alone before it is looked up.
    quiet: Duration,
}

impl Payouts {
    pub fn new(
        db: HotDb,
        clock: SharedClock,
        outbox: Outbox,
        gateway: Arc<dyn PayoutGateway>,
        settings: &crate::PaymentSettings,
    ) -> anyhow::Result<Self> {
        let key = AtRestKey::from_setting(settings.payout_encryption_key.expose())
            .map_err(|e| anyhow::anyhow!("payment.payout_encryption_key: {e}"))?;
        Ok(Payouts {
            db,
            clock,
            outbox,
            gateway,
            key,
            min_payout: settings.min_payout,
            quiet: Duration::milliseconds(settings.toss.payout_timeout_ms as i64 + 5_000),
        })
    }

    pub fn min_payout(&self) -> i64 {
        self.min_payout
    }

    /// Creates the payout and moves its points into escrow (or returns the payout of a
    /// replayed key), then tries to send it once.
    #[tracing::instrument(skip_all, fields(account_id, amount = request.amount))]
    pub async fn create(
        &self,
        account_id: AccountId,
        client_key: &str,
        request: PayoutRequest,
    ) -> Result<Payout, PaymentError> {
        let account_id = account_id.get();
        let now = self.clock.now();
        let request_hash = self.key.keyed_digest(
            serde_json::json!([request.amount, request.bank_code, request.account_number, request.account_holder])
                .to_string()
                .as_bytes(),
        );
        let encrypted = self.key.encrypt(&request.account_number).map_err(anyhow::Error::from)?;
        let masked = crypto::mask_account_number(&request.account_number);
        let client_key = client_key.to_string();
        let gateway = self.gateway.name();
        // A stored payout is the answer whatever its status: the payout saga moves it on.
        let lookup = || {
            let (db, key) = (self.db.clone(), client_key.clone());
            async move {
                let row = db.run(move |conn| repo::find_by_client_key(conn, account_id, &key)).await?;
                Ok(row.map(|row| Stored::finished(row.request_hash.clone(), row)))
            }
        };
        let run = || {
            let (db, client_key, request_hash) = (self.db.clone(), client_key.clone(), request_hash.clone());
            async move {
                db.run(move |conn| {
                    let from_id = ledger::ensure_wallet(conn, &WalletRef::Account(account_id), now)?;
                    let id = write_tx(conn, |c| {
                        let new = repo::NewPayout {
                            account_id,
                            client_key: &client_key,
                            request_hash: &request_hash,
                            amount: request.amount,
                            gateway,
                            bank_code: &request.bank_code,
                            account_number_enc: &encrypted,
                            account_number_masked: &masked,
                            account_holder: &request.account_holder,
                            now,
                        };
                        let id = idempotency::claim::<_, PaymentError>(repo::insert(c, &new))?;
                        // The escrow is new and unique to this payout: create it inside.
                        let to_id = ledger::ensure_wallet(c, &escrow(id), now)?;
                        ledger::apply_transfer(c, &into_escrow(id, account_id, request.amount), from_id, to_id, now)?;
                        Ok::<_, PaymentError>(id)
                    })?;
                    repo::find(conn, id)?.ok_or(PaymentError::PayoutNotFound)
                })
                .await
            }
        };
        let Keyed { value: row, replayed } = idempotency::execute(&request_hash, lookup, run).await?;
        let created = !replayed;
        if !created {
            return Ok(view(row));
        }
        metrics::counter!("payouts_created_total", "gateway" => gateway).increment(1);
        tracing::info!(payout_id = row.id, "payout requested");
        let id = row.id;
        self.send(row, PayoutStatus::Requested).await?;
        self.get(account_id.into(), id.into()).await
    }

    pub async fn get(&self, account_id: AccountId, payout_id: PayoutId) -> Result<Payout, PaymentError> {
        let account_id = account_id.get();
        let payout_id = payout_id.get();
        self.db
            .run(move |conn| {
                repo::find(conn, payout_id)?
                    .filter(|r| r.account_id == account_id)
                    .map(view)
                    .ok_or(PaymentError::PayoutNotFound)
            })
            .await
    }

    /// A page of payouts, newest first; `account_id: None` is every account (operators).
    pub async fn page(
        &self,
        account_id: Option<AccountId>,
        status: Option<PayoutStatus>,
        request: PageRequest,
    ) -> Result<Page<Payout>, PaymentError> {
        let account_id = account_id.map(AccountId::get);

        let (rows, total) = self
            .db
            .run(move |conn| repo::page(conn, account_id, status, request.offset(), i64::from(request.size)))
            .await?;
        Ok(Page::new(rows.into_iter().map(view).collect(), request, total))
    }

    /// Claims the payout (`from` → `processing`) and sends it; nobody else sends it meanwhile.
    async fn send(&self, row: PayoutRow, from: PayoutStatus) -> Result<(), PaymentError> {
        let now = self.clock.now();
        let id = row.id;
        let claimed = self.db.run(move |conn| repo::claim(conn, id, from, now).map_err(PaymentError::from)).await?;
        if !claimed {
            return Ok(());
        }
        let account_number = self.key.decrypt(&row.account_number_enc).map_err(anyhow::Error::from)?;
        let order = PayoutOrder {
            ref_payout_id: reference(id),
            account_id: row.account_id,
            amount: row.amount,
            bank_code: row.bank_code.clone(),
            account_number,
            account_holder: row.account_holder.clone(),
        };
        let outcome = self.gateway.send(&order).await;
        self.apply(&row, outcome).await
    }

    /// Applies what the gateway said about a `processing` payout.
    async fn apply(&self, row: &PayoutRow, outcome: PayoutOutcome) -> Result<(), PaymentError> {
        let now = self.clock.now();
        let (id, account_id, amount) = (row.id, row.account_id, row.amount);
        let outbox = self.outbox.clone();
        match outcome {
            PayoutOutcome::Paid => {
                let done = self
                    .db
                    .run(move |conn| {
                        let from_id = ledger::ensure_wallet(conn, &escrow(id), now)?;
                        let to_id = ledger::ensure_wallet(conn, &payouts_wallet(), now)?;
                        write_tx(conn, |c| {
                            if !repo::transition(c, id, PayoutStatus::Processing, PayoutStatus::Paid, None, now)? {
                                return Ok::<_, PaymentError>(false);
                            }
                            ledger::apply_transfer(c, &out_of_escrow(id, amount), from_id, to_id, now)?;
                            outbox.publish(c, now, &PayoutPaid { payout_id: id, account_id, amount })?;
                            Ok(true)
                        })
                    })
                    .await?;
                if done {
                    metrics::counter!("payouts_paid_total", "gateway" => self.gateway.name()).increment(1);
                    tracing::info!(payout_id = id, "payout paid");
                }
            }
            PayoutOutcome::Failed(reason) => {
                let reason: String = reason.chars().take(500).collect();
                let done = self
                    .db
                    .run(move |conn| {
                        let from_id = ledger::ensure_wallet(conn, &escrow(id), now)?;
                        let to_id = ledger::ensure_wallet(conn, &WalletRef::Account(account_id), now)?;
                        write_tx(conn, |c| {
                            if !repo::transition(
                                c,
                                id,
                                PayoutStatus::Processing,
                                PayoutStatus::Failed,
                                Some(&reason),
                                now,
                            )? {
                                return Ok::<_, PaymentError>(false);
                            }
                            ledger::apply_transfer(c, &reversal(id, account_id, amount), from_id, to_id, now)?;
                            let event = PayoutFailed { payout_id: id, account_id, amount, reason: reason.clone() };
                            outbox.publish(c, now, &event)?;
                            Ok(true)
                        })
                    })
                    .await?;
                if done {
                    metrics::counter!("payouts_failed_total", "gateway" => self.gateway.name()).increment(1);
                    tracing::info!(payout_id = id, "payout failed; points returned");
                }
            }
            PayoutOutcome::InProgress | PayoutOutcome::NotFound => {
                self.db
                    .run(move |conn| repo::touch(conn, id, PayoutStatus::Processing, now).map_err(PaymentError::from))
                    .await?;
            }
            PayoutOutcome::Unknown(reason) => {
                tracing::warn!(payout_id = id, %reason, "payout outcome unknown; will look it up");
                self.db
                    .run(move |conn| repo::touch(conn, id, PayoutStatus::Processing, now).map_err(PaymentError::from))
                    .await?;
            }
        }
        Ok(())
    }

    /// Looks up one payout at the gateway and applies the answer (webhook and reconcile).
    /// A payout the gateway has never seen is sent again under the same reference.
    pub async fn settle_one(&self, payout_id: i64) -> Result<(), PaymentError> {
        let Some(row) = self.db.run(move |conn| repo::find(conn, payout_id).map_err(PaymentError::from)).await? else {
            tracing::info!(payout_id, "payout event for an unknown payout");
            return Ok(());
        };
        match row.status {
            PayoutStatus::Requested => self.send(row, PayoutStatus::Requested).await,
            PayoutStatus::Processing => match self.gateway.lookup(&reference(row.id)).await {
                PayoutOutcome::NotFound => {
                    // Never arrived: send it again (the same refPayoutId cannot pay twice).
                    let id = row.id;
                    let now = self.clock.now();
                    self.db
                        .run(move |conn| {
                            repo::transition(conn, id, PayoutStatus::Processing, PayoutStatus::Requested, None, now)
                                .map_err(PaymentError::from)
                        })
                        .await?;
                    self.send(row, PayoutStatus::Requested).await
                }
                outcome => self.apply(&row, outcome).await,
            },
            _ => Ok(()),
        }
    }

    /// Settles payouts left `requested` or `processing` for longer than the gateway's
    /// timeout, oldest first. Returns how many it looked at.
    pub async fn reconcile(&self) -> Result<usize, PaymentError> {
        let now = self.clock.now();
        let before = now - self.quiet;
        let rows =
            self.db.run(move |conn| repo::unsettled_before(conn, before, 100).map_err(PaymentError::from)).await?;
        let count = rows.len();
        for row in rows {
            if let Err(e) = self.settle_one(row.id).await {
                tracing::warn!(payout_id = row.id, error = %e, "payout reconciliation failed");
            }
        }
        Ok(count)
    }

    /// The payout id in a gateway reference (`payout-<id>`).
    pub fn parse_reference(reference: &str) -> Option<i64> {
        reference.strip_prefix("payout-")?.parse().ok()
    }
}

fn reference(payout_id: i64) -> String {
    format!("payout-{payout_id}")
}

fn into_escrow(id: i64, account_id: i64, amount: i64) -> TransferRequest {
    TransferRequest {
        from: WalletRef::Account(account_id),
        to: escrow(id),
        amount,
        kind: EntryKind::Payout,
        reference: format!("payout:{id}"),
        idempotency_key: format!("payout:{id}"),
    }
}

fn out_of_escrow(id: i64, amount: i64) -> TransferRequest {
    TransferRequest {
        from: escrow(id),
        to: payouts_wallet(),
        amount,
        kind: EntryKind::Payout,
        reference: format!("payout:{id}"),
        idempotency_key: format!("payout:{id}:sent"),
    }
}

fn reversal(id: i64, account_id: i64, amount: i64) -> TransferRequest {
    TransferRequest {
        from: escrow(id),
        to: WalletRef::Account(account_id),
        amount,
        kind: EntryKind::PayoutReversal,
        reference: format!("payout:{id}"),
        idempotency_key: format!("payout:{id}:reversal"),
    }
}
