//! Point charges: money enters the platform from the gateway's system wallet.
//!
//! - `sandbox`: the charge row and its ledger credit are written in one transaction.
//! - `toss`: the charge is created `pending` with an order id for the client's payment
//!   widget; `confirm` asks Toss, and credits in one transaction with a conditional
//!   `pending → confirmed` update, so a charge is credited at most once however many
//!   confirms and reconciliations race. Outcomes we could not learn (timeout, 5xx) stay
//!   `pending` and [`Charges::reconcile`] looks them up later.

pub mod gateway;
pub mod http;
mod refund;
mod repo;

pub use refund::{Refund, RefundSource, RefundStatus};
pub use repo::AdminChargeFilter;

use crate::error::PaymentError;
use crate::ledger;
use crate::settings::PaymentSettings;
use chrono::{DateTime, Duration, Utc};
use contracts::common::{Page, PageRequest};
use contracts::events::payment::ChargeConfirmed;
use contracts::wallet::{EntryKind, TransferRequest, WalletRef};
use contracts::{AccountId, ChargeId};
use gateway::{GatewayOutcome, PaymentGateway};
use platform::clock::{SharedClock, from_db};
use platform::crypto::fingerprint;
use platform::db::{DbConn, write_tx};
use platform::hotcache::HotDb;
use platform::idempotency::{self, Keyed, Stored};
use platform::outbox::Outbox;
use repo::ChargeRow;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

contracts::stored_enum! {
    pub enum ChargeStatus {
        Pending = "pending",
        Confirmed = "confirmed",
        Failed = "failed",
    }
}

/// A charge as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Charge {
    pub id: i64,
    pub amount: i64,
    pub status: ChargeStatus,
    /// The wallet balance right after the credit for confirmed charges, else the current one.
    pub balance: i64,
    /// `sandbox` or `toss`.
    pub gateway: String,
    /// The order id to hand to the payment widget (Toss `orderId`).
    pub order_id: String,
    /// A name for the payment widget.
    pub order_name: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Points of this charge refunded to the card so far (refunds still waiting for the
    /// gateway included; a refused refund is taken off again).
    pub refunded_amount: i64,
    /// Every refund of this charge, oldest first.
    pub refunds: Vec<Refund>,
}

/// A charge as operators see it (`GET /admin/charges`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AdminCharge {
    pub id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub refunded_amount: i64,
    pub status: ChargeStatus,
    pub gateway: String,
    pub order_id: String,
    /// Why operators should look at it (e.g. `cancelled_at_gateway_after_spending`), or null.
    pub attention: Option<String>,
    pub failure_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// Where charged money comes from: the one wallet allowed below zero.
pub fn gateway_wallet() -> WalletRef {
    WalletRef::System("gateway".into())
}

fn charge_transfer(row: &ChargeRow) -> TransferRequest {
    TransferRequest {
        from: gateway_wallet(),
        to: WalletRef::Account(row.account_id),
        amount: row.amount,
        kind: EntryKind::Charge,
        reference: format!("charge:{}", row.id),
        idempotency_key: format!("charge:{}", row.id),
    }
}

fn view(conn: &mut DbConn, row: ChargeRow) -> Result<Charge, PaymentError> {
    let status = row.status;
    let balance = match (status, row.balance_after) {
        (ChargeStatus::Confirmed, Some(b)) => b,
        _ => ledger::find_wallet(conn, &WalletRef::Account(row.account_id))?.map(|(_, b)| b).unwrap_or(0),
    };
    let refunds = refund::refunds_of(conn, row.id)?;
    Ok(Charge {
        refunded_amount: row.refunded_amount,
        refunds,
        id: row.id,
        amount: row.amount,
        status,
        balance,
        gateway: row.gateway,
        order_name: format!("{} points", row.amount),
        order_id: row.gateway_order_id,
        failure_code: row.failure_code,
        failure_message: row.failure_message,
        created_at: from_db(row.created_at),
        confirmed_at: row.confirmed_at.map(from_db),
    })
}

/// Credits a charge exactly once: a pending one, or one failed locally with this payment
/// key that the gateway reports paid after all. `Ok(false)` if it was not creditable.
fn credit(
    conn: &mut DbConn,
    outbox: &Outbox,
    charge_id: i64,
    payment_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, PaymentError> {
    let row = repo::find(conn, charge_id)?.ok_or(PaymentError::ChargeNotFound)?;
    let transfer = charge_transfer(&row);
    let from_id = ledger::ensure_wallet(conn, &transfer.from, now)?;
    let to_id = ledger::ensure_wallet(conn, &transfer.to, now)?;
    write_tx(conn, |c| {
        if !repo::confirm(c, charge_id, payment_key, now)? {
            return Ok(false);
        }
        let receipt = ledger::apply_transfer(c, &transfer, from_id, to_id, now)?;
        repo::set_balance_after(c, charge_id, receipt.to_balance_after)?;
        outbox.publish(c, now, &ChargeConfirmed { charge_id, account_id: row.account_id, amount: row.amount })?;
        Ok(true)
    })
}

/// How sure a failure is: the gateway said so, or we gave up on a payment key the gateway
/// did not know (yet), which reconcile keeps looking up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Verified,
    Unverified,
}

pub struct Charges {
    db: HotDb,
    clock: SharedClock,
    gateway: Arc<dyn PaymentGateway>,
    settings: PaymentSettings,
    outbox: Outbox,
}

impl Charges {
    pub fn new(
        db: HotDb,
        clock: SharedClock,
        gateway: Arc<dyn PaymentGateway>,
        settings: PaymentSettings,
        outbox: Outbox,
    ) -> Self {
        Charges { db, clock, gateway, settings, outbox }
    }

    /// Charges for operators, newest first: by status, and only those needing attention.
    pub async fn admin_page(
        &self,
        filter: AdminChargeFilter,
        request: PageRequest,
    ) -> Result<Page<AdminCharge>, PaymentError> {
        let (rows, total) = self.db.run(move |conn| repo::admin_page(conn, &filter, request)).await?;
        let items = rows
            .into_iter()
            .map(|(row, attention)| AdminCharge {
                id: row.id,
                account_id: row.account_id,
                amount: row.amount,
                refunded_amount: row.refunded_amount,
                status: row.status,
                gateway: row.gateway,
                order_id: row.gateway_order_id,
                attention,
                failure_code: row.failure_code,
                created_at: from_db(row.created_at),
                confirmed_at: row.confirmed_at.map(from_db),
            })
            .collect();
        Ok(Page::new(items, request, total))
    }

    pub fn max_charge(&self) -> i64 {
        self.settings.max_charge
    }

    /// Creates (or, for a replayed key with the same amount, returns) a charge.
    #[tracing::instrument(skip(self, client_key))]
    pub async fn create(&self, account_id: AccountId, client_key: &str, amount: i64) -> Result<Charge, PaymentError> {
        let account_id = account_id.get();
        let now = self.clock.now();
        let request_hash = fingerprint(&serde_json::json!({ "amount": amount }));
        let client_key = client_key.to_string();
        let gateway = self.gateway.name();
        let instant = self.gateway.confirms_instantly();
        let order_id = format!("chg_{}", uuid::Uuid::new_v4().simple());
        let outbox = self.outbox.clone();
        let lookup = || {
            let (db, key) = (self.db.clone(), client_key.clone());
            async move {
                db.run(move |conn| {
                    repo::find_by_client_key(conn, account_id, &key)?
                        .map(|row| Ok(Stored::finished(row.request_hash.clone(), view(conn, row)?)))
                        .transpose()
                })
                .await
            }
        };
        // The row is the claim and the result at once (one transaction): never "running".
        let run = || {
            let (db, client_key, request_hash) = (self.db.clone(), client_key.clone(), request_hash.clone());
            async move {
                db.run(move |conn| {
                    let from_id = ledger::ensure_wallet(conn, &gateway_wallet(), now)?;
                    let to_id = ledger::ensure_wallet(conn, &WalletRef::Account(account_id), now)?;
                    let id = write_tx(conn, |c| {
                        let status = if instant { ChargeStatus::Confirmed } else { ChargeStatus::Pending };
                        let new = repo::NewCharge {
                            account_id,
                            client_key: &client_key,
                            request_hash: &request_hash,
                            amount,
                            status,
                            gateway,
                            order_id: &order_id,
                            now,
                        };
                        let id = idempotency::claim::<_, PaymentError>(repo::insert(c, &new))?;
                        let row = repo::find(c, id)?.ok_or(PaymentError::ChargeNotFound)?;
                        if instant {
                            let receipt = ledger::apply_transfer(c, &charge_transfer(&row), from_id, to_id, now)?;
                            repo::set_balance_after(c, id, receipt.to_balance_after)?;
                            repo::mark_confirmed_at(c, id, now)?;
                            outbox.publish(c, now, &ChargeConfirmed { charge_id: id, account_id, amount })?;
                        }
                        Ok::<_, PaymentError>(id)
                    })?;
                    let row = repo::find(conn, id)?.ok_or(PaymentError::ChargeNotFound)?;
                    view(conn, row)
                })
                .await
            }
        };
        let Keyed { value: charge, replayed } = idempotency::execute(&request_hash, lookup, run).await?;
        let created = !replayed;
        if created {
            metrics::counter!("charges_created_total", "gateway" => gateway).increment(1);
        }
        Ok(charge)
    }

    pub async fn get(&self, account_id: AccountId, charge_id: ChargeId) -> Result<Charge, PaymentError> {
        let account_id = account_id.get();
        let charge_id = charge_id.get();
        self.db
            .run(move |conn| {
                let row = repo::find(conn, charge_id)?
                    .filter(|r| r.account_id == account_id)
                    .ok_or(PaymentError::ChargeNotFound)?;
                view(conn, row)
            })
            .await
    }

    /// Confirms a pending charge with the gateway. Confirmed: credited once. Refused:
    /// `failed`, nothing credited. Unknown: stays `pending` for [`Charges::reconcile`].
    #[tracing::instrument(skip(self, payment_key))]
    pub async fn confirm(
        &self,
        account_id: AccountId,
        charge_id: ChargeId,
        payment_key: &str,
    ) -> Result<Charge, PaymentError> {
        let account_id = account_id.get();
        let charge_id = charge_id.get();
        let now = self.clock.now();
        let key = payment_key.to_string();
        // A write transaction, so a deadlock with a concurrent confirm's credit is retried
        // (a plain statement here answered 500 under concurrent confirms on MariaDB).
        let row = self
            .db
            .tx(move |conn| {
                // Decide from the latest committed state, not a snapshot: a charge another
                // request has just decided is answered from the database, never sent again.
                repo::lock(conn, charge_id)?;
                let row = repo::find(conn, charge_id)?
                    .filter(|r| r.account_id == account_id)
                    .ok_or(PaymentError::ChargeNotFound)?;
                if row.status != ChargeStatus::Pending {
                    return Ok(row);
                }
                // Remember the key before calling out, so a crash leaves enough to reconcile.
                if !repo::attach_payment_key(conn, charge_id, &key, now)? {
                    return Err(PaymentError::Refused {
                        code: "PAYMENT_KEY_MISMATCH".into(),
                        message: "this charge is being paid with another payment".into(),
                    });
                }
                repo::find(conn, charge_id)?.ok_or(PaymentError::ChargeNotFound)
            })
            .await?;
        match row.status {
            ChargeStatus::Confirmed => return self.get(account_id.into(), charge_id.into()).await,
            ChargeStatus::Failed => {
                return Err(PaymentError::Refused {
                    code: row.failure_code.unwrap_or_else(|| "FAILED".into()),
                    message: row.failure_message.unwrap_or_default(),
                });
            }
            ChargeStatus::Pending => {}
        }
        let outcome = self.gateway.confirm(payment_key, &row.gateway_order_id, row.amount).await;
        self.apply_outcome(charge_id, Some(payment_key), outcome, Failure::Verified).await?;
        let charge = self.get(account_id.into(), charge_id.into()).await?;
        match charge.status {
            ChargeStatus::Failed => Err(PaymentError::Refused {
                code: charge.failure_code.unwrap_or_default(),
                message: charge.failure_message.unwrap_or_default(),
            }),
            _ => Ok(charge),
        }
    }

    /// Applies a gateway outcome for the payment `payment_key` (the key the decision was
    /// made from; `None`: the charge had none). `failure` says how sure a refusal is.
    async fn apply_outcome(
        &self,
        charge_id: i64,
        payment_key: Option<&str>,
        outcome: GatewayOutcome,
        failure: Failure,
    ) -> Result<(), PaymentError> {
        let now = self.clock.now();
        let key = payment_key.map(str::to_string);
        match outcome {
            GatewayOutcome::Paid => {
                let outbox = self.outbox.clone();
                let credited = self.db.run(move |conn| credit(conn, &outbox, charge_id, key.as_deref(), now)).await?;
                if credited {
                    metrics::counter!("charges_confirmed_total", "gateway" => self.gateway.name()).increment(1);
                    tracing::info!(charge_id, "charge confirmed and credited");
                }
            }
            GatewayOutcome::Refused { code, message } => {
                tracing::info!(charge_id, %code, "charge refused by the gateway");
                self.fail(charge_id, payment_key, &code, &message, failure).await?;
            }
            GatewayOutcome::Pending | GatewayOutcome::NotFound => {}
            GatewayOutcome::Unknown(reason) => {
                tracing::warn!(charge_id, %reason, "charge outcome unknown; will reconcile");
            }
        }
        Ok(())
    }

    async fn fail(
        &self,
        charge_id: i64,
        payment_key: Option<&str>,
        code: &str,
        message: &str,
        failure: Failure,
    ) -> Result<(), PaymentError> {
        let now = self.clock.now();
        let reason = (code.chars().take(100).collect::<String>(), message.chars().take(500).collect::<String>());
        let key = payment_key.map(str::to_string);
        let verified = failure == Failure::Verified;
        let failed = self
            .db
            .run(move |conn| {
                repo::fail(conn, charge_id, key.as_deref(), (&reason.0, &reason.1), verified, now)
                    .map_err(PaymentError::from)
            })
            .await?;
        if failed {
            metrics::counter!("charges_failed_total", "gateway" => self.gateway.name()).increment(1);
        }
        Ok(())
    }

    /// One reconcile pass. Abandoned widget sessions (no payment key, past the pending
    /// expiry) are failed in bulk; then up to 100 charges only the gateway can decide
    /// (pending with a key, or failed locally but unverified) are looked up, least recently
    /// checked first, and each goes to the back of the queue. So every unknown outcome is
    /// looked up within a few passes however many charges are older. Credits those the
    /// gateway says were paid (exactly once), fails the refused or long-unknown ones.
    /// Returns how many charges it settled.
    pub async fn reconcile(&self) -> Result<usize, PaymentError> {
        let now = self.clock.now();
        // Leave alone charges whose confirm may still be in flight.
        let quiet_since = now - Duration::milliseconds(self.settings.toss.timeout_ms as i64 + 5_000);
        let expired_before = now - Duration::seconds(self.settings.pending_expiry_secs);
        let mut settled = 0;
        let abandoned = self.db.run(move |conn| repo::expired_keyless(conn, expired_before, 500)).await?;
        for id in abandoned {
            let (code, message) = ("EXPIRED", "never confirmed by the client");
            // Only while it still has no key: a confirm may have attached one since.
            let failed = self
                .db
                .run(move |conn| repo::fail(conn, id, None, (code, message), true, now).map_err(PaymentError::from))
                .await?;
            if failed {
                metrics::counter!("charges_failed_total", "gateway" => self.gateway.name()).increment(1);
                settled += 1;
            }
        }
        let rows = self.db.run(move |conn| repo::due_for_lookup(conn, quiet_since, 100)).await?;
        for row in rows {
            let id = row.id;
            let outcome = self.gateway.lookup(&row.gateway_order_id, row.amount).await;
            let expired = from_db(row.created_at) < expired_before;
            if row.status == ChargeStatus::Failed {
                // Failed locally, unverified: credit it if the gateway took the money after
                // all; stop looking once the gateway confirms there is no payment.
                match outcome {
                    GatewayOutcome::Paid => {
                        self.apply_outcome(id, row.payment_key.as_deref(), outcome, Failure::Verified).await?;
                        settled += 1;
                    }
                    GatewayOutcome::NotFound | GatewayOutcome::Refused { .. } => {
                        self.db.run(move |conn| repo::dequeue_lookup(conn, id)).await?;
                    }
                    GatewayOutcome::Pending | GatewayOutcome::Unknown(_) => {
                        self.db.run(move |conn| repo::touch(conn, id, now)).await?;
                    }
                }
                continue;
            }
            let (outcome, failure) = match outcome {
                // The gateway has no payment for a key we were given: give up on it, but keep
                // looking it up, since a confirm may yet be answered (money taken late).
                GatewayOutcome::NotFound if expired => (
                    GatewayOutcome::Refused { code: "EXPIRED".into(), message: "no payment at the gateway".into() },
                    Failure::Unverified,
                ),
                other => (other, Failure::Verified),
            };
            let decided = matches!(outcome, GatewayOutcome::Paid | GatewayOutcome::Refused { .. });
            self.apply_outcome(id, row.payment_key.as_deref(), outcome, failure).await?;
            if decided {
                settled += 1;
            }
            self.db.run(move |conn| repo::touch(conn, id, now)).await?;
        }
        Ok(settled)
    }

    pub fn gateway_name(&self) -> &'static str {
        self.gateway.name()
    }
}
