use contracts::ServiceError;
use contracts::wallet::WalletError;
use platform::ApiError;
use platform::db::DbError;
use platform::error::ErrorCode;
use platform::idempotency::{IdempotencyError, WrapsIdempotency};

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
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
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

impl WrapsIdempotency for MissionError {
    fn idempotency(&self) -> Option<IdempotencyError> {
        match self {
            MissionError::Idempotency(e) => Some(*e),
            _ => None,
        }
    }
}

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
            MissionError::Closed => {
                ApiError::new(ErrorCode::MissionClosed, "The mission is closed or past its deadline.")
            }
            MissionError::LimitExceeded(what) => ApiError::new(ErrorCode::LimitExceeded, what),
            MissionError::InsufficientBalance => {
                ApiError::new(ErrorCode::InsufficientBalance, "Your balance is too low for this.")
            }
            MissionError::Idempotency(e) => e.into(),
            MissionError::Wallet(WalletError::Service(e)) => e.into(),
            // The wallet's refusals a client can cause (a low balance) became this module's own
            // errors in `From<WalletError>`; the rest are transfers this module keys and sizes
            // itself, so a refusal is a bug here. Each module maps the wallet itself: platform
            // holds no business rules, and contracts (where `WalletError` lives) no HTTP.
            MissionError::Wallet(e) => ApiError::internal(e),
            MissionError::Accounts(e) => e.into(),
            MissionError::Db(e) => e.into(),
            MissionError::Internal(e) => ApiError::internal(e),
        }
    }
}
