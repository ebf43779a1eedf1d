use crate::ServiceError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// Whose money. Account wallets and escrows never go below zero; system wallets stand for
/// money outside the platform (the payment gateway) and may.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WalletRef {
    Account(i64),
    /// Money held for a flow, e.g. `Escrow("mission:42")` or `Escrow("order:7")`.
    Escrow(String),
    /// e.g. `System("gateway")`: where charged money comes from.
    System(String),
}

impl WalletRef {
    pub fn escrow(name: impl Into<String>) -> Self {
        WalletRef::Escrow(name.into())
    }

    /// The storage key: `account:42`, `escrow:mission:42`, `system:gateway`.
    pub fn key(&self) -> String {
        self.to_string()
    }

    pub fn may_go_negative(&self) -> bool {
        matches!(self, WalletRef::System(_))
    }
}

impl fmt::Display for WalletRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalletRef::Account(id) => write!(f, "account:{id}"),
            WalletRef::Escrow(name) => write!(f, "escrow:{name}"),
            WalletRef::System(name) => write!(f, "system:{name}"),
        }
    }
}

/// Why money moved; shown to users on their ledger entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Charge,
    Purchase,
    Sale,
    /// The platform's commission on a confirmed order line (escrow → `system:fees`).
    PlatformFee,
    PurchaseRefund,
    SaleReversal,
    MissionStake,
    MissionContribution,
    MissionPayout,
    MissionRefund,
    /// Points of a charge going back to the card (or taken back after a cancellation at the gateway).
    ChargeRefund,
    /// Points leaving for a bank account (into the payout's escrow, then out).
    Payout,
    /// A failed payout's points coming back.
    PayoutReversal,
}

impl EntryKind {
    pub const ALL: [EntryKind; 13] = [
        EntryKind::Charge,
        EntryKind::Purchase,
        EntryKind::Sale,
        EntryKind::PlatformFee,
        EntryKind::PurchaseRefund,
        EntryKind::SaleReversal,
        EntryKind::MissionStake,
        EntryKind::MissionContribution,
        EntryKind::MissionPayout,
        EntryKind::MissionRefund,
        EntryKind::ChargeRefund,
        EntryKind::Payout,
        EntryKind::PayoutReversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Charge => "charge",
            EntryKind::Purchase => "purchase",
            EntryKind::Sale => "sale",
            EntryKind::PlatformFee => "platform_fee",
            EntryKind::PurchaseRefund => "purchase_refund",
            EntryKind::SaleReversal => "sale_reversal",
            EntryKind::MissionStake => "mission_stake",
            EntryKind::MissionContribution => "mission_contribution",
            EntryKind::MissionPayout => "mission_payout",
            EntryKind::MissionRefund => "mission_refund",
            EntryKind::ChargeRefund => "charge_refund",
            EntryKind::Payout => "payout",
            EntryKind::PayoutReversal => "payout_reversal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One keyed movement of points. Applying the same `idempotency_key` twice moves money once;
/// the key is the caller's (`order:7:debit`, `mission:3:payout`…), never a client's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub from: WalletRef,
    pub to: WalletRef,
    pub amount: i64,
    pub kind: EntryKind,
    /// Shown on both ledger entries, e.g. `order:7`.
    pub reference: String,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReceipt {
    pub transfer_id: i64,
    pub from: WalletRef,
    pub to: WalletRef,
    pub amount: i64,
    pub kind: EntryKind,
    pub from_balance_after: i64,
    pub to_balance_after: i64,
    pub created_at: DateTime<Utc>,
    /// True when this key had already been applied and nothing moved now.
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("amount must be positive")]
    InvalidAmount,
    #[error("cannot transfer from a wallet to itself")]
    SameWallet,
    /// The key was already used for a transfer with other parameters.
    #[error("idempotency key already used for a different transfer")]
    IdempotencyConflict,
    /// The key was cancelled with [`WalletService::cancel`]: it can never move money.
    #[error("transfer key was cancelled")]
    Cancelled,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What [`WalletService::cancel`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The key is now (or was already) cancelled: no transfer under it will ever apply.
    Cancelled,
    /// Too late: the transfer had been applied.
    AlreadyApplied(TransferReceipt),
}

/// The ledger as other modules see it.
#[async_trait]
pub trait WalletService: Send + Sync {
    /// Current balance; 0 for a wallet that has never been used.
    async fn balance(&self, wallet: &WalletRef) -> Result<i64, WalletError>;
    /// Moves `amount` exactly once per `idempotency_key`. Returns the original receipt
    /// (`replayed: true`) when the key was already applied with the same parameters.
    async fn transfer(&self, request: TransferRequest) -> Result<TransferReceipt, WalletError>;
    /// The transfer applied under this key, if any: lets a saga learn whether a step it
    /// lost track of (crash, timeout) actually happened.
    async fn find_transfer(&self, idempotency_key: &str) -> Result<Option<TransferReceipt>, WalletError>;
    /// Fences a key: after `Cancelled`, `transfer` with this key fails with
    /// `WalletError::Cancelled` forever. A saga that gave up on a step calls this before
    /// compensating, so a late retry of the step (a stalled request) cannot move money.
    async fn cancel(&self, idempotency_key: &str) -> Result<CancelOutcome, WalletError>;
}
