use contracts::ServiceError;
use contracts::wallet::WalletError;
use platform::ApiError;
use platform::db::DbError;
use platform::error::ErrorCode;
use platform::idempotency::{IdempotencyError, WrapsIdempotency};

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("amount must be positive")]
    InvalidAmount,
    #[error("source and destination are the same wallet")]
    SameWallet,
    /// An internal transfer key reused with different parameters (the ledger's own keys).
    #[error("idempotency key reused with different parameters")]
    IdempotencyConflict,
    /// A client's `Idempotency-Key` (the platform's one flow).
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error("transfer key cancelled")]
    Cancelled,
    /// A wallet of the transfer appeared or went after the caller looked it up (a concurrent
    /// transfer created it, or the retention sweep deleted an old, never-used escrow):
    /// nothing moved; look the wallets up again.
    #[error("a wallet was created or deleted concurrently")]
    WalletChanged,
    /// Another transaction applied this key first; the caller reads its result.
    #[error("duplicate idempotency key")]
    DuplicateKey,
    #[error("charge not found")]
    ChargeNotFound,
    #[error("payout not found")]
    PayoutNotFound,
    /// More than what is left of the charge after earlier refunds.
    #[error("refund exceeds what is left of the charge")]
    RefundExceedsCharge,
    /// Only a confirmed charge can be refunded.
    #[error("charge is not confirmed")]
    ChargeNotRefundable,
    /// The gateway refused the payment; nothing was credited.
    #[error("payment refused: {code}")]
    Refused { code: String, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

platform::impl_db_error!(PaymentError);

impl WrapsIdempotency for PaymentError {
    fn idempotency(&self) -> Option<IdempotencyError> {
        match self {
            PaymentError::Idempotency(e) => Some(*e),
            _ => None,
        }
    }
}

impl From<PaymentError> for WalletError {
    fn from(err: PaymentError) -> Self {
        match err {
            PaymentError::InsufficientBalance => WalletError::InsufficientBalance,
            PaymentError::InvalidAmount => WalletError::InvalidAmount,
            PaymentError::SameWallet => WalletError::SameWallet,
            PaymentError::IdempotencyConflict => WalletError::IdempotencyConflict,
            PaymentError::Cancelled => WalletError::Cancelled,
            PaymentError::Db(e) => WalletError::Service(e.into()),
            other => WalletError::Service(ServiceError::Internal(other.to_string())),
        }
    }
}

impl From<PaymentError> for ApiError {
    fn from(err: PaymentError) -> Self {
        match err {
            PaymentError::ChargeNotFound | PaymentError::PayoutNotFound => ApiError::not_found(),
            PaymentError::RefundExceedsCharge => {
                ApiError::new(ErrorCode::RefundExceedsCharge, "The refund is more than what is left of the charge.")
            }
            PaymentError::ChargeNotRefundable => {
                ApiError::new(ErrorCode::InvalidChargeState, "Only a confirmed charge can be refunded.")
            }
            PaymentError::Refused { code, message } => {
                ApiError::new(ErrorCode::PaymentRefused, "The payment was refused.")
                    .with_details(serde_json::json!({ "gateway_code": code, "gateway_message": message }))
            }
            PaymentError::Idempotency(e) => e.into(),
            PaymentError::Db(e) => e.into(),
            PaymentError::Internal(e) => ApiError::internal(e),
            PaymentError::DuplicateKey => ApiError::internal(anyhow::anyhow!("unresolved duplicate key")),
            other => wallet_refusal(WalletError::from(other)),
        }
    }
}

/// The wallet's refusals this module does not turn into its own errors first, as HTTP
/// answers. Each module that moves money maps them itself: platform holds no business rules,
/// and `contracts` (where `WalletError` lives) knows nothing of HTTP.
pub(crate) fn wallet_refusal(err: WalletError) -> ApiError {
    match err {
        WalletError::InsufficientBalance => {
            ApiError::new(ErrorCode::InsufficientBalance, "Your balance is too low for this.")
        }
        WalletError::IdempotencyConflict => ApiError::new(
            ErrorCode::IdempotencyConflict,
            "This Idempotency-Key was already used with a different request.",
        ),
        WalletError::InvalidAmount => ApiError::invalid_field("amount", "must be a positive number of points"),
        WalletError::SameWallet | WalletError::Cancelled => ApiError::internal(err),
        WalletError::Service(e) => e.into(),
    }
}
