use contracts::ServiceError;
use platform::ApiError;
use platform::db::DbError;
use platform::error::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Unknown room, or a room the caller is not in (never revealed).
    #[error("not found")]
    NotFound,
    /// The other account blocked the caller.
    #[error("blocked")]
    Blocked,
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error(transparent)]
    Accounts(#[from] ServiceError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

platform::impl_db_error!(ChatError);

impl ChatError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ChatError::Invalid { field, message: message.into() }
    }
}

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::NotFound => ApiError::not_found(),
            ChatError::Blocked => ApiError::new(ErrorCode::Blocked, "This account does not accept your messages."),
            ChatError::Invalid { field, message } => ApiError::invalid_field(field, message),
            ChatError::Accounts(e) => e.into(),
            ChatError::Db(e) => e.into(),
            ChatError::Internal(e) => ApiError::internal(e),
        }
    }
}
