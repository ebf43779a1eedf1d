use platform::ApiError;
use platform::db::DbError;
use platform::error::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("email already registered")]
    EmailTaken,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("email not verified")]
    EmailNotVerified,
    /// A verification or reset token that is unknown, used or expired.
    #[error("invalid or expired token")]
    InvalidEmailToken,
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("refresh token expired")]
    RefreshTokenExpired,
    #[error("too many failed attempts")]
    LockedOut { retry_after_secs: u64 },
    #[error("current password is wrong")]
    WrongCurrentPassword,
    #[error("account not found")]
    NotFound,
    #[error("account suspended")]
    Suspended,
    #[error("admins cannot be suspended")]
    CannotSuspendAdmin,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

platform::impl_db_error!(AccountError);

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::EmailTaken => {
                ApiError::new(ErrorCode::EmailTaken, "An account with this email already exists.")
            }
            AccountError::InvalidCredentials => {
                ApiError::new(ErrorCode::InvalidCredentials, "The email or password is wrong.")
            }
            AccountError::EmailNotVerified => ApiError::new(
                ErrorCode::EmailNotVerified,
                "Verify your email address first; we can send the link again.",
            ),
            AccountError::InvalidEmailToken => {
                ApiError::new(ErrorCode::InvalidToken, "This link is invalid, already used or expired.")
            }
            AccountError::InvalidRefreshToken => {
                ApiError::new(ErrorCode::InvalidRefreshToken, "The refresh token is not valid; log in again.")
            }
            AccountError::RefreshTokenExpired => {
                ApiError::new(ErrorCode::TokenExpired, "The refresh token has expired; log in again.")
            }
            AccountError::LockedOut { retry_after_secs } => ApiError::rate_limited(retry_after_secs),
            AccountError::WrongCurrentPassword => ApiError::invalid_field("current_password", "is not correct"),
            AccountError::NotFound => ApiError::not_found(),
            AccountError::Suspended => platform::auth::suspended_error(),
            AccountError::CannotSuspendAdmin => ApiError::forbidden(),
            AccountError::Db(e) => e.into(),
            AccountError::Internal(e) => ApiError::internal(e),
        }
    }
}
