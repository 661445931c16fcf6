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
    /// A sensitive action, and the password was last entered too long ago: confirm it, then
    /// come back to this page.
    #[error("password confirmation required")]
    ConfirmPassword { back: String },
    #[error("forbidden: {0}")]
    Forbidden(#[from] Denied),
    #[error("not found")]
    NotFound,
    /// A request no form of ours sends (a tampered id, say); the message is shown as is.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// Input refused as it stands (a search with control characters, say); shown as is.
    #[error("unprocessable: {0}")]
    Unprocessable(&'static str),
    #[error("missing or invalid CSRF token")]
    Csrf,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A body above the limit of what it was sent to; the message says the limit.
    #[error("too large: {0}")]
    TooLarge(String),
    /// Too much password hashing at once: come back in a moment.
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// The use case an error happened in: the innermost instrumented function (services carry
/// `#[tracing::instrument]`), so a 500 in the log names it.
fn during() -> String {
    tracing::Span::current()
        .metadata()
        .map_or_else(|| "request".to_owned(), |span| span.name().to_owned())
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> AppError {
        AppError::Internal(e.context(format!("in {}", during())))
    }
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
                AppError::Unavailable(format!("in {}: {}", during(), info.message()))
            }
            Error::BrokenTransactionManager => {
                AppError::Unavailable(format!("in {}: {e}", during()))
            }
            // `statement_timeout` or `lock_timeout` fired: busy, not broken.
            Error::DatabaseError(_, ref info)
                if info.message().starts_with("canceling statement due to") =>
            {
                AppError::Unavailable(format!("in {}: {}", during(), info.message()))
            }
            Error::NotFound => AppError::NotFound,
            other => anyhow::Error::from(other).into(),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> AppError {
        AppError::Unavailable(format!("in {}: {e}", during()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_names_the_use_case_it_happened_in() {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("assign_users");
            let _entered = span.enter();
            let AppError::Internal(chain) = AppError::from(anyhow::anyhow!("duplicate key")) else {
                panic!("an internal error");
            };
            assert_eq!(format!("{chain:#}"), "in assign_users: duplicate key");
        });
    }
}
