//! `WalletService`: keyed, exactly-once transfers over the ledger.

use crate::audit::{self, AuditReport, LastAudit};
use crate::error::PaymentError;
use crate::ledger::{self, EntryRow, LedgerAudit};
use async_trait::async_trait;
use contracts::wallet::{CancelOutcome, TransferReceipt, TransferRequest, WalletError, WalletRef, WalletService};
use platform::clock::SharedClock;
use platform::db::{Db, DbConn, DbError, write_tx};
use platform::hotcache::HotDb;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Longest internal idempotency key or reference (the ledger derives entry keys from them).
const MAX_KEY_LEN: usize = 180;

#[derive(Clone)]
pub struct Wallets {
    db: HotDb,
    clock: SharedClock,
    /// Ledger entries younger than this are checked by the audit but not folded yet.
    audit_grace: chrono::Duration,
    ids: Arc<WalletIds>,
}

/// The ids of account and system wallets, which are never deleted (retention deletes only
/// empty escrows), so a transfer looks each up once per process, not once per transfer.
/// Escrows are always looked up. Bounded: forgotten all at once when full.
#[derive(Default)]
pub(crate) struct WalletIds(Mutex<HashMap<String, i64>>);

const MAX_KNOWN_WALLETS: usize = 10_000;

impl WalletIds {
    /// The wallet's id, `None` if it does not exist yet; `fresh` skips what is known.
    fn find(&self, conn: &mut DbConn, wallet: &WalletRef, fresh: bool) -> Result<Option<i64>, DbError> {
        let kept = !matches!(wallet, WalletRef::Escrow(_));
        let key = wallet.key();
        if kept && !fresh {
            let known = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&key).copied();
            if known.is_some() {
                return Ok(known);
            }
        }
        let found = ledger::find_wallet(conn, wallet)?.map(|(id, _)| id);
        if let (true, Some(id)) = (kept, found) {
            let mut ids = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if ids.len() >= MAX_KNOWN_WALLETS {
                ids.clear();
            }
            ids.insert(key, id);
        }
        Ok(found)
    }
}

impl Wallets {
    pub fn new(db: HotDb, clock: SharedClock) -> Self {
        Wallets {
            db,
            clock,
            audit_grace: chrono::Duration::seconds(crate::settings::DEFAULT_AUDIT_GRACE_SECS),
            ids: Default::default(),
        }
    }

    /// See `payment.audit_grace_secs`.
    pub fn with_audit_grace(mut self, grace: chrono::Duration) -> Self {
        self.audit_grace = grace;
        self
    }

    pub fn db(&self) -> &Db {
        self.db.db()
    }

    /// One retention sweep (see [`crate::retention`]).
    pub async fn sweep(&self, retention: crate::retention::Retention) -> Result<crate::retention::Swept, PaymentError> {
        let now = self.clock.now();
        let swept = self.db.run(move |conn| crate::retention::sweep(conn, retention, now)).await?;
        if swept.fences + swept.empty_escrows > 0 {
            metrics::counter!("payment_swept_total", "kind" => "fence").increment(swept.fences as u64);
            metrics::counter!("payment_swept_total", "kind" => "empty_escrow").increment(swept.empty_escrows as u64);
            tracing::info!(fences = swept.fences, empty_escrows = swept.empty_escrows, "payment retention sweep");
        }
        Ok(swept)
    }

    /// Newest first; `limit + 1` rows are fetched so the caller can tell whether more exist.
    pub async fn entries(
        &self,
        account_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<EntryRow>, PaymentError> {
        let wallet = WalletRef::Account(account_id);
        self.db
            .run(move |conn| match ledger::find_wallet(conn, &wallet)? {
                None => Ok(Vec::new()),
                Some((id, _)) => ledger::entries(conn, id, before, limit),
            })
            .await
            .map_err(PaymentError::from)
    }

    /// Checks that every balance equals the sum of its entries, that no account or escrow
    /// is negative, and that all balances (system wallets included) sum to zero.
    pub async fn audit(&self) -> Result<LedgerAudit, DbError> {
        self.db.run(ledger::audit).await
    }

    /// One incremental audit pass (see [`crate::audit`]); its outcome is recorded for the
    /// gauges. Unbounded: the first pass over a large ledger reads all of it.
    pub async fn audit_pass(&self) -> Result<AuditReport, PaymentError> {
        let now = self.clock.now();
        let grace = self.audit_grace;
        let report = self.db.db().unbounded().run(move |conn| audit::pass(conn, now, grace)).await?;
        if !report.mismatches.is_empty() || report.sum_of_balances != 0 {
            tracing::error!(
                mismatches = report.mismatches.len(),
                sum_of_balances = report.sum_of_balances,
                "ledger audit found an inconsistency"
            );
        }
        Ok(report)
    }

    /// The last recorded pass of any instance, `None` before the first.
    pub async fn last_audit(&self) -> Result<Option<LastAudit>, PaymentError> {
        Ok(self.db.run(audit::last).await?)
    }
}

fn validate(request: &TransferRequest) -> Result<(), PaymentError> {
    if request.amount <= 0 {
        return Err(PaymentError::InvalidAmount);
    }
    if request.from == request.to {
        return Err(PaymentError::SameWallet);
    }
    if request.idempotency_key.is_empty()
        || request.idempotency_key.len() > MAX_KEY_LEN
        || request.reference.len() > MAX_KEY_LEN
    {
        return Err(PaymentError::Internal(anyhow::anyhow!("transfer key or reference too long")));
    }
    Ok(())
}

/// Applies `request` exactly once on `conn` (not inside a transaction: it opens its own).
/// The key is not looked up first: the transfer's insert claims it, and a duplicate is
/// answered by replaying the stored transfer.
pub(crate) fn transfer_blocking(
    conn: &mut DbConn,
    request: &TransferRequest,
    now: chrono::DateTime<chrono::Utc>,
    ids: &WalletIds,
) -> Result<TransferReceipt, PaymentError> {
    let mut attempt = |fresh: bool| {
        let from = ids.find(conn, &request.from, fresh)?;
        let to = ids.find(conn, &request.to, fresh)?;
        write_tx(conn, |c| {
            let from_id = ledger::wallet_in_tx(c, &request.from, from, now)?;
            let to_id = ledger::wallet_in_tx(c, &request.to, to, now)?;
            ledger::apply_transfer(c, request, from_id, to_id, now)
        })
    };
    // A concurrent transfer may create the same new wallet, or the retention sweep delete an
    // old empty escrow, between the look-up and the transaction: once more, looked up anew.
    let applied = match attempt(false) {
        Err(PaymentError::WalletChanged) => attempt(true),
        other => other,
    };
    match applied {
        Err(PaymentError::DuplicateKey) => {
            let row = ledger::find_transfer(conn, &request.idempotency_key)?
                .ok_or_else(|| PaymentError::Internal(anyhow::anyhow!("duplicate key without a transfer")))?;
            ledger::replay(conn, &row, request)
        }
        other => other,
    }
}

#[async_trait]
impl WalletService for Wallets {
    async fn balance(&self, wallet: &WalletRef) -> Result<i64, WalletError> {
        let read = |wallet: WalletRef| async move {
            let found =
                self.db.run(move |conn| ledger::find_wallet(conn, &wallet)).await.map_err(PaymentError::from)?;
            Ok::<_, WalletError>(found.map(|(_, balance)| balance).unwrap_or(0))
        };
        match wallet {
            // Every change notes the key (`ledger::apply_transfer`).
            WalletRef::Account(id) => {
                self.db.read_through(ledger::balance_key(*id), |_| Vec::new(), || read(wallet.clone())).await
            }
            _ => read(wallet.clone()).await,
        }
    }

    #[tracing::instrument(skip(self), fields(key = %request.idempotency_key, amount = request.amount))]
    async fn transfer(&self, request: TransferRequest) -> Result<TransferReceipt, WalletError> {
        validate(&request)?;
        let now = self.clock.now();
        let ids = self.ids.clone();
        let receipt = self.db.run(move |conn| transfer_blocking(conn, &request, now, &ids)).await?;
        if !receipt.replayed {
            metrics::counter!("ledger_transfers_total", "kind" => receipt.kind.as_str()).increment(1);
        }
        Ok(receipt)
    }

    async fn find_transfer(&self, idempotency_key: &str) -> Result<Option<TransferReceipt>, WalletError> {
        let key = idempotency_key.to_string();
        Ok(self
            .db
            .run(move |conn| match ledger::find_transfer(conn, &key)? {
                Some(row) if !row.cancelled => ledger::receipt_of(conn, &row).map(Some),
                _ => Ok(None),
            })
            .await?)
    }

    #[tracing::instrument(skip(self))]
    async fn cancel(&self, idempotency_key: &str) -> Result<CancelOutcome, WalletError> {
        let key = idempotency_key.to_string();
        let now = self.clock.now();
        Ok(self
            .db
            .run(move |conn| {
                // Two rounds at most: if our insert loses a race, the winner's row is there.
                for _ in 0..2 {
                    if let Some(row) = ledger::find_transfer(conn, &key)? {
                        return if row.cancelled {
                            Ok(CancelOutcome::Cancelled)
                        } else {
                            ledger::receipt_of(conn, &row).map(CancelOutcome::AlreadyApplied)
                        };
                    }
                    if ledger::insert_cancellation(conn, &key, now)? {
                        return Ok(CancelOutcome::Cancelled);
                    }
                }
                Err(PaymentError::Internal(anyhow::anyhow!("transfer key {key} neither applied nor cancelled")))
            })
            .await?)
    }
}
