use crate::error::ApiError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had (pool timeout, server down, connection lost).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] DieselError),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)))
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, DbError::Query(DieselError::NotFound))
    }

    /// Deadlock (MySQL 1213), lock-wait timeout (1205), SQLite busy: the transaction did
    /// nothing and may simply be run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => true,
            DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)) => {
                let m = info.message();
                m.contains("database is locked")
                    || m.contains("database table is locked")
                    || m.contains("Deadlock found")
                    || m.contains("Lock wait timeout")
            }
            _ => false,
        }
    }

    /// Errors after which the connection itself should be checked.
    pub fn may_mean_connection_lost(&self) -> bool {
        match self {
            DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => true,
            DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::Unknown, _)) => !self.is_retryable(),
            _ => self.is_commit_outcome_unknown(),
        }
    }

    /// The commit failed and so did the rollback after it (typically the server went away
    /// mid-commit), or diesel gave up on the connection's transaction state: whether the
    /// transaction was applied is unknown. Never retried in place; the client retries with
    /// its idempotency key once the database is back.
    pub fn is_commit_outcome_unknown(&self) -> bool {
        matches!(
            self,
            DbError::Query(DieselError::RollbackErrorOnCommit { .. } | DieselError::BrokenTransactionManager)
        )
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            DbError::Unavailable(_)
                | DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _))
        ) || self.is_commit_outcome_unknown()
    }
}

/// The one way to say what a unique-constraint violation means for a write: a domain error
/// (`on_duplicate`) or "someone wrote it first" (`unless_duplicate`).
pub trait OnDuplicate<T> {
    /// A unique-constraint violation becomes `duplicate()`; any other error converts as usual.
    fn on_duplicate<E: From<DbError>>(self, duplicate: impl FnOnce() -> E) -> Result<T, E>;
    /// `None` when a unique constraint refused the write.
    fn unless_duplicate(self) -> Result<Option<T>, DbError>;
}

impl<T, D: Into<DbError>> OnDuplicate<T> for Result<T, D> {
    fn on_duplicate<E: From<DbError>>(self, duplicate: impl FnOnce() -> E) -> Result<T, E> {
        match self.unless_duplicate() {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(duplicate()),
            Err(e) => Err(e.into()),
        }
    }

    fn unless_duplicate(self) -> Result<Option<T>, DbError> {
        match self.map_err(Into::into) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        if err.is_not_found() {
            ApiError::not_found()
        } else if err.is_unavailable() || err.is_retryable() {
            // A deadlock or lock-wait timeout that outlasted the transaction's retries did
            // nothing: the client may retry (503 with Retry-After), it is no server fault.
            ApiError::unavailable(err)
        } else {
            ApiError::internal(err)
        }
    }
}

impl From<DbError> for contracts::ServiceError {
    fn from(err: DbError) -> Self {
        if err.is_unavailable() || err.is_retryable() {
            contracts::ServiceError::Unavailable(err.to_string())
        } else {
            contracts::ServiceError::Internal(err.to_string())
        }
    }
}

/// What a transaction body may fail with: anything that can carry a [`DbError`], so that
/// retries and connection checks can look inside a module's own error type.
pub trait TxError: From<DbError> + Send + 'static {
    fn db_error(&self) -> Option<&DbError>;
}

impl TxError for DbError {
    fn db_error(&self) -> Option<&DbError> {
        Some(self)
    }
}

/// Implements `From<diesel::result::Error>` and [`TxError`] for a module error enum with a
/// `Db(DbError)` variant, so repo code can use `?` on diesel calls.
#[macro_export]
macro_rules! impl_db_error {
    ($ty:ident) => {
        impl From<::diesel::result::Error> for $ty {
            fn from(err: ::diesel::result::Error) -> Self {
                $ty::Db($crate::db::DbError::from(err))
            }
        }
        impl $crate::db::TxError for $ty {
            fn db_error(&self) -> Option<&$crate::db::DbError> {
                match self {
                    $ty::Db(e) => Some(e),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;

    fn gone_away() -> DieselError {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new("MySQL server has gone away".to_string()))
    }

    #[test]
    fn a_commit_lost_with_the_server_is_unavailable_not_internal() {
        let err = DbError::Query(DieselError::RollbackErrorOnCommit {
            rollback_error: Box::new(gone_away()),
            commit_error: Box::new(gone_away()),
        });
        assert!(err.is_commit_outcome_unknown());
        assert!(err.may_mean_connection_lost());
        assert!(!err.is_retryable());
        assert_eq!(ApiError::from(err).status(), StatusCode::SERVICE_UNAVAILABLE);

        let broken = DbError::Query(DieselError::BrokenTransactionManager);
        assert_eq!(ApiError::from(broken).status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn a_deadlock_or_lock_wait_timeout_left_after_the_retries_is_unavailable_with_retry_after() {
        for message in
            ["Deadlock found when trying to get lock; try restarting transaction", "Lock wait timeout exceeded"]
        {
            let err =
                DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_string())));
            assert!(err.is_retryable());
            let api = ApiError::from(err);
            assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE, "{message}");
            let res = actix_web::ResponseError::error_response(&api);
            assert_eq!(res.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
        }
    }

    #[test]
    fn ordinary_query_errors_stay_internal() {
        let err = DbError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::CheckViolation,
            Box::new("check failed".to_string()),
        ));
        assert!(!err.is_unavailable());
        assert!(!err.may_mean_connection_lost());
        assert_eq!(ApiError::from(err).status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ApiError::from(DbError::Query(DieselError::NotFound)).status(), StatusCode::NOT_FOUND);
    }
}
