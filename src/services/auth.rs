//! Signing in: throttled per account and per address, with the same answer (and the same
//! argon2 work) whether or not the email exists.

use secrecy::SecretString;

use crate::clock::Clock;
use crate::db::DbPool;
use crate::domain::{EmailAddress, UserStatus, password};
use crate::error::AppError;
use crate::models::users::User;
use crate::models::{login_failures, sessions, users};
use crate::services::password_work::PasswordWork;

/// Failures allowed per account within the window before sign-in is refused.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
/// Failures allowed per client address within the window.
pub const MAX_FAILURES_PER_IP: i64 = 30;
pub const WINDOW_MINUTES: i32 = 15;

pub enum SignInOutcome {
    SignedIn(User),
    InvalidCredentials,
    Disabled,
    Throttled,
}

#[tracing::instrument(skip_all)]
pub async fn sign_in(
    pool: &DbPool,
    clock: &Clock,
    hashing: &PasswordWork,
    email: &str,
    password: SecretString,
    ip: &str,
) -> Result<SignInOutcome, AppError> {
    // An unparseable email is throttled and answered like an unknown one.
    let email_key = format!(
        "email:{}",
        EmailAddress::parse(email)
            .map(EmailAddress::into_inner)
            // Control characters (a NUL byte) never reach the database.
            .unwrap_or_else(|_| email.trim().to_lowercase().replace(char::is_control, ""))
    );
    let ip_key = format!("ip:{ip}");
    let mut conn = pool.get().await?;
    let counts = login_failures::recent_counts(
        &mut conn,
        &[&email_key, &ip_key],
        WINDOW_MINUTES,
        clock.now(),
    )
    .await?;
    let count_of = |key: &str| counts.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n);
    if count_of(&email_key) >= MAX_FAILURES_PER_ACCOUNT || count_of(&ip_key) >= MAX_FAILURES_PER_IP
    {
        return Ok(SignInOutcome::Throttled);
    }
    let (user, stored) = match EmailAddress::parse(email) {
        Ok(email) => users::find_with_hash_by_email(&mut conn, email.as_str())
            .await?
            .map_or((None, None), |(user, hash)| (Some(user), hash)),
        Err(_) => (None, None),
    };
    // Don't hold a connection while hashing.
    drop(conn);
    let verified = hashing
        .run(move || password::verify(&password, stored.as_deref()))
        .await?;
    let mut conn = pool.get().await?;
    match user {
        Some(user) if verified => {
            if user.status == UserStatus::Disabled {
                return Ok(SignInOutcome::Disabled);
            }
            login_failures::clear(&mut conn, &email_key).await?;
            users::record_login(&mut conn, user.id).await?;
            Ok(SignInOutcome::SignedIn(user))
        }
        _ => {
            login_failures::record(&mut conn, &[&email_key, &ip_key]).await?;
            Ok(SignInOutcome::InvalidCredentials)
        }
    }
}

/// Deletes expired sessions and old sign-in failures (run every few minutes).
pub async fn housekeeping(pool: &DbPool, clock: &Clock) -> Result<(), AppError> {
    let mut conn = pool.get().await?;
    sessions::delete_expired(&mut conn).await?;
    login_failures::delete_older_than(&mut conn, 24 * 60, clock.now()).await?;
    Ok(())
}
