use contracts::ServiceError;
use platform::ApiError;
use platform::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum ModerationError {
    /// No such report, or a target the reporter cannot see.
    #[error("not found")]
    NotFound,
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("too many reports")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Db(#[from] DbError),
}

platform::impl_db_error!(ModerationError);

impl ModerationError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ModerationError::Invalid { field, message: message.into() }
    }
}

impl From<ModerationError> for ApiError {
    fn from(err: ModerationError) -> Self {
        match err {
            ModerationError::NotFound => ApiError::not_found(),
            ModerationError::Invalid { field, message } => ApiError::invalid_field(field, message),
            ModerationError::RateLimited { retry_after_secs } => ApiError::rate_limited(retry_after_secs),
            ModerationError::Service(e) => e.into(),
            ModerationError::Db(e) => e.into(),
        }
    }
}
