use contracts::ServiceError;
use contracts::wallet::WalletError;
use platform::ApiError;
use platform::db::DbError;
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
                ApiError::conflict("refund_exceeds_charge", "The refund is more than what is left of the charge.")
            }
            PaymentError::ChargeNotRefundable => {
                ApiError::conflict("invalid_charge_state", "Only a confirmed charge can be refunded.")
            }
            PaymentError::Refused { code, message } => ApiError::new(
                actix_web::http::StatusCode::PAYMENT_REQUIRED,
                "payment_refused",
                "The payment was refused.",
            )
            .with_details(serde_json::json!({ "gateway_code": code, "gateway_message": message })),
            PaymentError::Idempotency(e) => e.into(),
            PaymentError::Db(e) => e.into(),
            PaymentError::Internal(e) => ApiError::internal(e),
            PaymentError::DuplicateKey => ApiError::internal(anyhow::anyhow!("unresolved duplicate key")),
            other => WalletError::from(other).into(),
        }
    }
}
