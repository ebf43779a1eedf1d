use contracts::ServiceError;
use contracts::wallet::WalletError;
use platform::ApiError;
use platform::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum MissionError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// Not open any more, or past its deadline.
    #[error("mission closed")]
    Closed,
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("idempotency key reused with a different request")]
    IdempotencyConflict,
    #[error("the same request is still running")]
    InProgress,
    #[error("duplicate key")]
    DuplicateKey,
    #[error(transparent)]
    Wallet(WalletError),
    #[error(transparent)]
    Accounts(#[from] ServiceError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

platform::impl_db_error!(MissionError);

impl MissionError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        MissionError::Invalid { field, message: message.into() }
    }
}

impl From<WalletError> for MissionError {
    fn from(err: WalletError) -> Self {
        match err {
            WalletError::InsufficientBalance => MissionError::InsufficientBalance,
            other => MissionError::Wallet(other),
        }
    }
}

impl From<MissionError> for ApiError {
    fn from(err: MissionError) -> Self {
        match err {
            MissionError::NotFound => ApiError::not_found(),
            MissionError::Forbidden => ApiError::forbidden(),
            MissionError::Invalid { field, message } => ApiError::invalid_field(field, message),
            MissionError::Closed => ApiError::conflict("mission_closed", "The mission is closed or past its deadline."),
            MissionError::LimitExceeded(what) => ApiError::conflict("limit_exceeded", what),
            MissionError::InsufficientBalance => {
                ApiError::conflict("insufficient_balance", "Your balance is too low for this.")
            }
            MissionError::IdempotencyConflict => ApiError::conflict(
                "idempotency_conflict",
                "This Idempotency-Key was already used with a different request.",
            ),
            MissionError::InProgress => {
                ApiError::conflict("request_in_progress", "The same request is still running; retry shortly.")
                    .with_retry_after(1)
            }
            MissionError::Wallet(e) => e.into(),
            MissionError::Accounts(e) => e.into(),
            MissionError::Db(e) => e.into(),
            MissionError::DuplicateKey => ApiError::internal(anyhow::anyhow!("unresolved duplicate key")),
            MissionError::Internal(e) => ApiError::internal(e),
        }
    }
}
