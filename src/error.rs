//! The application error: what went wrong, in terms every layer understands. The web layer
//! decides how each variant looks (`web::kit::errors`); nothing here knows about HTTP.

/// A refusal with the one-line reason shown to the person refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub &'static str);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign-in required")]
    Unauthenticated,
    #[error("forbidden: {0}")]
    Forbidden(#[from] Denied),
    #[error("not found")]
    NotFound,
    /// A request no form of ours sends (a tampered id, say); the message is shown as is.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("missing or invalid CSRF token")]
    Csrf,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn forbidden(reason: &'static str) -> AppError {
        AppError::Forbidden(Denied(reason))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> AppError {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                AppError::Unavailable(info.message().to_owned())
            }
            Error::BrokenTransactionManager => AppError::Unavailable(e.to_string()),
            Error::NotFound => AppError::NotFound,
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> AppError {
        AppError::Unavailable(e.to_string())
    }
}

/// The error of a transaction that can also be rejected with a reason (rolled back).
pub enum TxError<R> {
    Db(diesel::result::Error),
    Rejected(R),
}

impl<R> From<diesel::result::Error> for TxError<R> {
    fn from(e: diesel::result::Error) -> TxError<R> {
        TxError::Db(e)
    }
}

/// Whether a database error is the violation of this unique constraint or index.
pub fn is_unique_violation(error: &diesel::result::Error, constraint: &str) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some(constraint))
}
