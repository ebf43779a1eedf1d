use contracts::ServiceError;
use platform::ApiError;
use platform::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Unknown, or someone else's (never revealed).
    #[error("not found")]
    NotFound,
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

platform::impl_db_error!(NotifyError);

impl NotifyError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        NotifyError::Invalid { field, message: message.into() }
    }
}

impl From<NotifyError> for ApiError {
    fn from(err: NotifyError) -> Self {
        match err {
            NotifyError::NotFound => ApiError::not_found(),
            NotifyError::Invalid { field, message } => ApiError::invalid_field(field, message),
            NotifyError::Service(e) => e.into(),
            NotifyError::Db(e) => e.into(),
            NotifyError::Internal(e) => ApiError::internal(e),
        }
    }
}
