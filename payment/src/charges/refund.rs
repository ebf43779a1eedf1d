//! Refunds of charged points to the card, and cancellations learnt from the gateway.
//!
//! A client refund takes the points first (one transaction: `charges.refunded_amount`
//! raised with a conditional update that checks what is left, the refund row, and the
//! `charge_refund` transfer, which fails on spent points), then calls the gateway's cancel
//! with `refund-<id>` as its idempotency key and `refund:<id>` as the cancel reason. A
//! refusal gives the points back (kind `charge`, key `charge_refund:<id>:reversal`) and
//! frees the client's key; an unknown outcome stays `pending` until [`Charges::reconcile_refunds`]
//! finds the cancel at the gateway (by its reason) or resends the same keyed cancel.

use super::{Charge, ChargeStatus, Charges, gateway_wallet, repo, view};
use crate::error::PaymentError;
use crate::ledger;
use crate::schema::{charge_refunds, charges};
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::events::payment::ChargeRefunded;
use contracts::wallet::{EntryKind, TransferRequest, WalletRef};
use contracts::{AccountId, ChargeId};
use diesel::prelude::*;
use gateway::{CancelOutcome, CancelRequest, SnapshotOutcome};
use platform::clock::{from_db, to_db};
use platform::crypto::fingerprint;
use platform::db::{DbConn, DbError, last_insert_id, write_tx};
use platform::idempotency::{self, IdempotencyError, Keyed, Stored};
use platform::outbox::Outbox;
use serde::Serialize;
use utoipa::ToSchema;

use super::gateway;

contracts::stored_enum! {
    /// `pending` (points out, the gateway's answer not known yet), `done` or `refused`
    /// (points given back).
    pub enum RefundStatus {
        Pending = "pending",
        Done = "done",
        Refused = "refused",
    }

    /// `client` (asked for by the owner) or `gateway` (cancelled at the gateway).
    pub enum RefundSource {
        Client = "client",
        Gateway = "gateway",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = charge_refunds)]
pub(crate) struct RefundRow {
    pub id: i64,
    pub charge_id: i64,
    pub account_id: i64,
    pub request_hash: String,
    pub amount: i64,
    #[diesel(deserialize_as = String)]
    pub status: RefundStatus,
    #[diesel(deserialize_as = String)]
    pub source: RefundSource,
    pub updated_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// One refund of a charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Refund {
    pub id: i64,
    pub amount: i64,
    /// `pending` (points out, the gateway's answer not known yet), `done` or `refused`
    /// (points given back).
    pub status: RefundStatus,
    /// `client` (asked for by the owner) or `gateway` (cancelled at the gateway).
    pub source: RefundSource,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn refunds_of(conn: &mut DbConn, charge_id: i64) -> Result<Vec<Refund>, DbError> {
    let rows: Vec<RefundRow> = charge_refunds::table
        .filter(charge_refunds::charge_id.eq(charge_id))
        .order(charge_refunds::id.asc())
        .select(RefundRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Refund {
            id: r.id,
            amount: r.amount,
            status: r.status,
            source: r.source,
            created_at: from_db(r.created_at),
        })
        .collect())
}

fn find_refund(conn: &mut DbConn, id: i64) -> Result<Option<RefundRow>, DbError> {
    Ok(charge_refunds::table.find(id).select(RefundRow::as_select()).first(conn).optional()?)
}

fn find_by_client_key(conn: &mut DbConn, account_id: i64, key: &str) -> Result<Option<RefundRow>, DbError> {
    Ok(charge_refunds::table
        .filter(charge_refunds::account_id.eq(account_id))
        .filter(charge_refunds::client_key.eq(key))
        .select(RefundRow::as_select())
        .first(conn)
        .optional()?)
}

struct NewRefund<'a> {
    charge_id: i64,
    account_id: i64,
    client_key: Option<&'a str>,
    request_hash: &'a str,
    amount: i64,
    status: RefundStatus,
    source: RefundSource,
}

fn insert_refund(conn: &mut DbConn, new: &NewRefund<'_>, now: DateTime<Utc>) -> Result<i64, DbError> {
    diesel::insert_into(charge_refunds::table)
        .values((
            charge_refunds::charge_id.eq(new.charge_id),
            charge_refunds::account_id.eq(new.account_id),
            charge_refunds::client_key.eq(new.client_key),
            charge_refunds::request_hash.eq(new.request_hash),
            charge_refunds::amount.eq(new.amount),
            charge_refunds::status.eq(new.status.as_str()),
            charge_refunds::source.eq(new.source.as_str()),
            charge_refunds::created_at.eq(to_db(now)),
            charge_refunds::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(last_insert_id(conn)?)
}

/// Raises what was refunded of a confirmed charge if that much is left; `false` otherwise.
fn reserve_refund(conn: &mut DbConn, charge_id: i64, amount: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(
        charges::table
            .find(charge_id)
            .filter(charges::status.eq(ChargeStatus::Confirmed.as_str()))
            .filter((charges::amount - charges::refunded_amount).ge(amount)),
    )
    .set((charges::refunded_amount.eq(charges::refunded_amount + amount), charges::updated_at.eq(to_db(now))))
    .execute(conn)?;
    Ok(n == 1)
}

fn refund_transfer(refund_id: i64, charge_id: i64, account_id: i64, amount: i64) -> TransferRequest {
    TransferRequest {
        from: WalletRef::Account(account_id),
        to: gateway_wallet(),
        amount,
        kind: EntryKind::ChargeRefund,
        reference: format!("charge:{charge_id}"),
        idempotency_key: format!("charge_refund:{refund_id}"),
    }
}

/// Takes a stored refund's points off the owner's wallet (`from_id`) to the gateway (`to_id`).
fn take_refund_points(
    conn: &mut DbConn,
    refund_id: i64,
    new: &NewRefund<'_>,
    (from_id, to_id): (i64, i64),
    now: DateTime<Utc>,
) -> Result<(), PaymentError> {
    let transfer = refund_transfer(refund_id, new.charge_id, new.account_id, new.amount);
    ledger::apply_transfer(conn, &transfer, from_id, to_id, now)?;
    Ok(())
}

fn reversal_transfer(refund_id: i64, charge_id: i64, account_id: i64, amount: i64) -> TransferRequest {
    TransferRequest {
        from: gateway_wallet(),
        to: WalletRef::Account(account_id),
        amount,
        kind: EntryKind::Charge,
        reference: format!("charge:{charge_id}"),
        idempotency_key: format!("charge_refund:{refund_id}:reversal"),
    }
}

/// What the gateway calls the cancel of one refund (the lookup matches on it).
fn cancel_reason(refund_id: i64) -> String {
    format!("refund:{refund_id}")
}

/// The gateway cancel that carries out one refund (the same for every retry of it).
fn cancel_request(payment_key: Option<String>, row: &RefundRow) -> CancelRequest {
    CancelRequest {
        payment_key,
        amount: row.amount,
        reason: cancel_reason(row.id),
        idempotency_key: format!("refund-{}", row.id),
    }
}

/// `pending → done`, announcing the refund; `false` if it was already decided.
fn mark_done(conn: &mut DbConn, outbox: &Outbox, row: &RefundRow, now: DateTime<Utc>) -> Result<bool, PaymentError> {
    write_tx(conn, |c| {
        let n = diesel::update(
            charge_refunds::table.find(row.id).filter(charge_refunds::status.eq(RefundStatus::Pending.as_str())),
        )
        .set((charge_refunds::status.eq(RefundStatus::Done.as_str()), charge_refunds::updated_at.eq(to_db(now))))
        .execute(c)
        .map_err(DbError::from)?;
        if n == 1 {
            outbox.publish(
                c,
                now,
                &ChargeRefunded {
                    charge_id: row.charge_id,
                    refund_id: row.id,
                    account_id: row.account_id,
                    amount: row.amount,
                    source: row.source.as_str().into(),
                },
            )?;
        }
        Ok(n == 1)
    })
}

/// `pending → refused`: the points go back, the refunded amount comes down and the client's
/// key is freed (a refused request stores nothing).
fn mark_refused(conn: &mut DbConn, row: &RefundRow, code: &str, now: DateTime<Utc>) -> Result<bool, PaymentError> {
    let transfer = reversal_transfer(row.id, row.charge_id, row.account_id, row.amount);
    let from_id = ledger::ensure_wallet(conn, &transfer.from, now)?;
    let to_id = ledger::ensure_wallet(conn, &transfer.to, now)?;
    let code: String = code.chars().take(100).collect();
    write_tx(conn, |c| {
        let n = diesel::update(
            charge_refunds::table.find(row.id).filter(charge_refunds::status.eq(RefundStatus::Pending.as_str())),
        )
        .set((
            charge_refunds::status.eq(RefundStatus::Refused.as_str()),
            charge_refunds::client_key.eq(None::<String>),
            charge_refunds::failure_code.eq(&code),
            charge_refunds::updated_at.eq(to_db(now)),
        ))
        .execute(c)
        .map_err(DbError::from)?;
        if n != 1 {
            return Ok(false);
        }
        diesel::update(charges::table.find(row.charge_id))
            .set(charges::refunded_amount.eq(charges::refunded_amount - row.amount))
            .execute(c)
            .map_err(DbError::from)?;
        ledger::apply_transfer(c, &transfer, from_id, to_id, now)?;
        Ok(true)
    })
}

impl Charges {
    /// Refunds `amount` (default: what is left) of a confirmed charge to the card.
    /// `Ok((charge, true))` when the gateway confirmed; `Ok((charge, false))` when its
    /// answer is unknown yet (the refund stays `pending`); a refusal is `Refused` with the
    /// points back.
    #[tracing::instrument(skip(self, client_key))]
    pub async fn refund(
        &self,
        account_id: AccountId,
        charge_id: ChargeId,
        client_key: &str,
        amount: Option<i64>,
    ) -> Result<(Charge, bool), PaymentError> {
        let account_id = account_id.get();
        let charge_id = charge_id.get();
        let now = self.clock.now();
        let request_hash = fingerprint(&serde_json::json!({ "charge_id": charge_id, "amount": amount }));
        let client_key = client_key.to_string();
        // A stored refund is "finished" for the flow whatever its status: a pending one is
        // answered below (in progress while the gateway may still answer, else resolved).
        let lookup = || {
            let (db, key) = (self.db.clone(), client_key.clone());
            async move {
                let row = db.run(move |conn| find_by_client_key(conn, account_id, &key)).await?;
                Ok(row.map(|row| Stored::finished(row.request_hash.clone(), row)))
            }
        };
        let run = || {
            let (db, client_key, request_hash) = (self.db.clone(), client_key.clone(), request_hash.clone());
            async move {
                db.run(move |conn| {
                    let charge = repo::find(conn, charge_id)?
                        .filter(|r| r.account_id == account_id)
                        .ok_or(PaymentError::ChargeNotFound)?;
                    if charge.status != ChargeStatus::Confirmed {
                        return Err(PaymentError::ChargeNotRefundable);
                    }
                    let amount = amount.unwrap_or(charge.amount - charge.refunded_amount);
                    if amount <= 0 {
                        return Err(PaymentError::RefundExceedsCharge);
                    }
                    let from_id = ledger::ensure_wallet(conn, &WalletRef::Account(account_id), now)?;
                    let to_id = ledger::ensure_wallet(conn, &gateway_wallet(), now)?;
                    let id = write_tx(conn, |c| {
                        if !reserve_refund(c, charge_id, amount, now)? {
                            return Err(PaymentError::RefundExceedsCharge);
                        }
                        let new = NewRefund {
                            charge_id,
                            account_id,
                            client_key: Some(&client_key),
                            request_hash: &request_hash,
                            amount,
                            status: RefundStatus::Pending,
                            source: RefundSource::Client,
                        };
                        let id = idempotency::claim::<_, PaymentError>(insert_refund(c, &new, now))?;
                        take_refund_points(c, id, &new, (from_id, to_id), now)?;
                        Ok::<_, PaymentError>(id)
                    })?;
                    find_refund(conn, id)?.ok_or_else(|| PaymentError::Internal(anyhow::anyhow!("refund vanished")))
                })
                .await
            }
        };
        let started = idempotency::execute(&request_hash, lookup, run).await?;
        let row = match started {
            Keyed { value: row, replayed: true } => {
                if row.status == RefundStatus::Pending {
                    if from_db(row.updated_at) > now - self.quiet_period() {
                        return Err(IdempotencyError::InProgress.into());
                    }
                    self.resolve_refund(row.clone()).await?;
                }
                row
            }
            Keyed { value: row, replayed: false } => {
                let key = self.payment_key_of(row.charge_id).await?;
                let outcome = self.gateway.cancel(cancel_request(key, &row)).await;
                self.apply_cancel(&row, outcome).await?;
                row
            }
        };
        let (charge, status) = self.refund_state(account_id, row.charge_id, row.id).await?;
        match status {
            Some(RefundStatus::Refused) => {
                let code = self.refund_failure(row.id).await?;
                Err(PaymentError::Refused { code, message: "the gateway refused the refund".into() })
            }
            Some(RefundStatus::Done) => Ok((charge, true)),
            _ => Ok((charge, false)),
        }
    }

    fn quiet_period(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.settings.toss.timeout_ms as i64 + 5_000)
    }

    async fn payment_key_of(&self, charge_id: i64) -> Result<Option<String>, PaymentError> {
        self.db.run(move |conn| Ok(repo::find(conn, charge_id)?.and_then(|r| r.payment_key))).await
    }

    async fn refund_state(
        &self,
        account_id: i64,
        charge_id: i64,
        refund_id: i64,
    ) -> Result<(Charge, Option<RefundStatus>), PaymentError> {
        self.db
            .run(move |conn| {
                let row = repo::find(conn, charge_id)?
                    .filter(|r| r.account_id == account_id)
                    .ok_or(PaymentError::ChargeNotFound)?;
                let status = find_refund(conn, refund_id)?.map(|r| r.status);
                Ok((view(conn, row)?, status))
            })
            .await
    }

    async fn refund_failure(&self, refund_id: i64) -> Result<String, PaymentError> {
        self.db
            .run(move |conn| {
                Ok(charge_refunds::table
                    .find(refund_id)
                    .select(charge_refunds::failure_code)
                    .first::<Option<String>>(conn)
                    .optional()?
                    .flatten()
                    .unwrap_or_else(|| "REFUSED".into()))
            })
            .await
    }

    async fn apply_cancel(&self, row: &RefundRow, outcome: CancelOutcome) -> Result<(), PaymentError> {
        let now = self.clock.now();
        let row2 = row.clone();
        let outbox = self.outbox.clone();
        match outcome {
            CancelOutcome::Cancelled => {
                if self.db.run(move |conn| mark_done(conn, &outbox, &row2, now)).await? {
                    metrics::counter!("charge_refunds_total", "outcome" => "done").increment(1);
                    tracing::info!(refund_id = row.id, charge_id = row.charge_id, "charge refunded");
                }
            }
            CancelOutcome::Refused { code, message: _ } => {
                tracing::info!(refund_id = row.id, %code, "refund refused by the gateway; points given back");
                if self.db.run(move |conn| mark_refused(conn, &row2, &code, now)).await? {
                    metrics::counter!("charge_refunds_total", "outcome" => "refused").increment(1);
                }
            }
            CancelOutcome::Unknown(reason) => {
                tracing::warn!(refund_id = row.id, %reason, "refund outcome unknown; will look it up");
                let id = row.id;
                self.db
                    .run(move |conn| {
                        diesel::update(
                            charge_refunds::table
                                .find(id)
                                .filter(charge_refunds::status.eq(RefundStatus::Pending.as_str())),
                        )
                        .set(charge_refunds::updated_at.eq(to_db(now)))
                        .execute(conn)
                        .map_err(DbError::from)?;
                        Ok::<_, PaymentError>(())
                    })
                    .await?;
            }
        }
        Ok(())
    }

    /// Learns the outcome of a pending refund: the cancel found at the gateway is done;
    /// otherwise the same keyed cancel is sent again (the gateway applies a key once).
    async fn resolve_refund(&self, row: RefundRow) -> Result<(), PaymentError> {
        let charge_id = row.charge_id;
        let Some(charge) = self.db.run(move |conn| repo::find(conn, charge_id).map_err(PaymentError::from)).await?
        else {
            return Ok(());
        };
        let outcome = match self.gateway.payment(&charge.gateway_order_id).await {
            SnapshotOutcome::Found(s) if s.cancel_reasons.iter().any(|r| *r == cancel_reason(row.id)) => {
                CancelOutcome::Cancelled
            }
            SnapshotOutcome::Found(_) => self.gateway.cancel(cancel_request(charge.payment_key.clone(), &row)).await,
            SnapshotOutcome::NotFound => CancelOutcome::Unknown("the gateway knows no such payment".into()),
            SnapshotOutcome::Unknown(reason) => CancelOutcome::Unknown(reason),
        };
        self.apply_cancel(&row, outcome).await
    }

    /// Settles refunds whose gateway outcome is unknown, oldest first; returns how many it
    /// looked at.
    pub async fn reconcile_refunds(&self) -> Result<usize, PaymentError> {
        let before = to_db(self.clock.now() - self.quiet_period());
        let rows: Vec<RefundRow> = self
            .db
            .run(move |conn| {
                Ok::<_, PaymentError>(
                    charge_refunds::table
                        .filter(charge_refunds::status.eq(RefundStatus::Pending.as_str()))
                        .filter(charge_refunds::updated_at.lt(before))
                        .order(charge_refunds::updated_at.asc())
                        .limit(100)
                        .select(RefundRow::as_select())
                        .load(conn)
                        .map_err(DbError::from)?,
                )
            })
            .await?;
        let count = rows.len();
        for row in rows {
            let id = row.id;
            if let Err(e) = self.resolve_refund(row).await {
                tracing::warn!(refund_id = id, error = %e, "refund reconciliation failed");
            }
        }
        Ok(count)
    }

    /// Applies what the gateway says about the payment of `order_id` (a webhook's hint):
    /// a pending charge is credited or failed; a confirmed one cancelled at the gateway
    /// beyond our own refunds gives those points back, or is flagged for operators when
    /// they were spent. Duplicates change nothing twice.
    #[tracing::instrument(skip(self))]
    pub async fn apply_gateway_state(&self, order_id: &str) -> Result<(), PaymentError> {
        let order = order_id.to_string();
        let Some(charge) =
            self.db.run(move |conn| repo::find_by_order_id(conn, &order).map_err(PaymentError::from)).await?
        else {
            tracing::info!(order_id, "gateway event for an unknown order");
            return Ok(());
        };
        let snapshot = match self.gateway.payment(order_id).await {
            SnapshotOutcome::Found(s) => s,
            SnapshotOutcome::NotFound => {
                tracing::info!(charge_id = charge.id, "gateway event for a payment the gateway does not know");
                return Ok(());
            }
            SnapshotOutcome::Unknown(reason) => {
                tracing::warn!(charge_id = charge.id, %reason, "gateway lookup failed; reconcile will retry");
                return Ok(());
            }
        };
        match charge.status {
            ChargeStatus::Pending => {
                let outcome = snapshot.outcome(charge.amount);
                if matches!(outcome, gateway::GatewayOutcome::Paid | gateway::GatewayOutcome::Refused { .. }) {
                    let key = snapshot.payment_key.clone().or(charge.payment_key.clone());
                    if charge.payment_key.is_some() && key != charge.payment_key {
                        tracing::warn!(charge_id = charge.id, "gateway reports another payment key; ignored");
                        return Ok(());
                    }
                    self.apply_outcome(charge.id, key.as_deref(), outcome, super::Failure::Verified).await?;
                }
            }
            ChargeStatus::Confirmed => {
                let external = snapshot.cancelled_amount() - charge.refunded_amount;
                if external > 0 {
                    self.take_back(charge.id, charge.account_id, charge.refunded_amount, external).await?;
                }
            }
            ChargeStatus::Failed => {
                let outcome = snapshot.outcome(charge.amount);
                if outcome == gateway::GatewayOutcome::Paid {
                    // Credited if its failure was ours alone (unverified, same key); else
                    // an operator must look.
                    tracing::warn!(charge_id = charge.id, "gateway reports a locally failed charge as paid");
                    self.apply_outcome(charge.id, charge.payment_key.as_deref(), outcome, super::Failure::Verified)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Takes back points of a charge cancelled at the gateway; flags the charge for
    /// operators when they were spent. `seen_refunded` fences concurrent deliveries.
    async fn take_back(
        &self,
        charge_id: i64,
        account_id: i64,
        seen_refunded: i64,
        amount: i64,
    ) -> Result<(), PaymentError> {
        let now = self.clock.now();
        let outbox = self.outbox.clone();
        let result = self
            .db
            .run(move |conn| {
                let from_id = ledger::ensure_wallet(conn, &WalletRef::Account(account_id), now)?;
                let to_id = ledger::ensure_wallet(conn, &gateway_wallet(), now)?;
                let taken = write_tx(conn, |c| {
                    let n = diesel::update(
                        charges::table.find(charge_id).filter(charges::refunded_amount.eq(seen_refunded)),
                    )
                    .set((charges::refunded_amount.eq(seen_refunded + amount), charges::updated_at.eq(to_db(now))))
                    .execute(c)
                    .map_err(DbError::from)?;
                    if n != 1 {
                        return Ok(false);
                    }
                    let new = NewRefund {
                        charge_id,
                        account_id,
                        client_key: None,
                        request_hash: "",
                        amount,
                        status: RefundStatus::Done,
                        source: RefundSource::Gateway,
                    };
                    let id = insert_refund(c, &new, now)?;
                    take_refund_points(c, id, &new, (from_id, to_id), now)?;
                    outbox.publish(
                        c,
                        now,
                        &ChargeRefunded {
                            charge_id,
                            refund_id: id,
                            account_id,
                            amount,
                            source: RefundSource::Gateway.as_str().into(),
                        },
                    )?;
                    Ok(true)
                });
                match taken {
                    Err(PaymentError::InsufficientBalance) => {
                        repo::flag_attention(conn, charge_id, "cancelled_at_gateway_after_spending", now)?;
                        Ok(None)
                    }
                    other => other.map(Some),
                }
            })
            .await?;
        match result {
            Some(true) => tracing::info!(charge_id, amount, "charge cancelled at the gateway; points taken back"),
            Some(false) => {}
            None => {
                metrics::counter!("charges_attention_total").increment(1);
                tracing::warn!(
                    charge_id,
                    amount,
                    "charge cancelled at the gateway after its points were spent; flagged"
                );
            }
        }
        Ok(())
    }
}
