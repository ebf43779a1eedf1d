use contracts::ServiceError;
use contracts::wallet::WalletError;
use platform::ApiError;
use platform::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("amount must be positive")]
    InvalidAmount,
    #[error("source and destination are the same wallet")]
    SameWallet,
    #[error("idempotency key reused with different parameters")]
    IdempotencyConflict,
    #[error("transfer key cancelled")]
    Cancelled,
    /// Another transaction applied this key first; the caller reads its result.
    #[error("duplicate idempotency key")]
    DuplicateKey,
    #[error("charge not found")]
    ChargeNotFound,
    /// The gateway refused the payment; nothing was credited.
    #[error("payment refused: {code}")]
    Refused { code: String, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

platform::impl_db_error!(PaymentError);

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
            PaymentError::ChargeNotFound => ApiError::not_found(),
            PaymentError::Refused { code, message } => ApiError::new(
                actix_web::http::StatusCode::PAYMENT_REQUIRED,
                "payment_refused",
                "The payment was refused.",
            )
            .with_details(serde_json::json!({ "gateway_code": code, "gateway_message": message })),
            PaymentError::Db(e) => e.into(),
            PaymentError::Internal(e) => ApiError::internal(e),
            PaymentError::DuplicateKey => ApiError::internal(anyhow::anyhow!("unresolved duplicate key")),
            other => WalletError::from(other).into(),
        }
    }
}
