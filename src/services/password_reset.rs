//! Forgotten passwords (issue 16): a link sent by email opens one password change, once, for
//! an hour. The request is answered the same whether the address has an account or not; using
//! the link ends every session of the account.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::access::{Actor, Origin};
use crate::db::DbPool;
use crate::domain::{EmailAddress, FieldErrors, UserStatus, password, random_token};
use crate::error::AppError;
use crate::models::{audit, password_resets, sessions, users};
use crate::services::outbox::{PasswordResetEmail, Postbox};
use crate::services::password_work::PasswordWork;

/// How long a link works.
pub const LINK_LIFETIME: Duration = Duration::hours(1);
/// One link per account in this long, however often it is asked for (no mail bombing).
const ONE_LINK_PER: Duration = Duration::minutes(2);

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Sends a link to the account with this address, if there is one that may sign in with a
/// password; says nothing either way.
#[tracing::instrument(skip_all)]
pub async fn request(
    pool: &DbPool,
    postbox: &Postbox,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Ok(email) = EmailAddress::parse(email) else {
        return Ok(());
    };
    let mut conn = pool.get().await?;
    let Some(user) = users::find_by_email(&mut conn, email.as_str()).await? else {
        return Ok(());
    };
    if user.status != UserStatus::Active || user.service_of.is_some() {
        return Ok(());
    }
    // An account made by single sign-on has no password: it is told to use SSO instead.
    let has_password = users::password_hash_of(&mut conn, user.id).await?.is_some();
    let token = random_token(32);
    let sent = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if password_resets::sent_since(conn, user.id, now - ONE_LINK_PER).await? {
                return Ok(false);
            }
            // The SSO reminder is paced like a link (a closed row: it opens nothing).
            let expires = if has_password {
                now + LINK_LIFETIME
            } else {
                now
            };
            password_resets::insert(conn, user.id, &token_hash(&token), now, expires).await?;
            let message = PasswordResetEmail {
                to: &user.email,
                token: has_password.then_some(token.as_str()),
            };
            postbox.queue_password_reset(conn, &message).await?;
            Ok(true)
        })
        .await?;
    if sent {
        postbox.wake();
    }
    Ok(())
}

/// Whether the link still opens a password change.
pub async fn is_open(pool: &DbPool, token: &str, now: DateTime<Utc>) -> Result<bool, AppError> {
    let mut conn = pool.get().await?;
    Ok(password_resets::open(&mut conn, &token_hash(token), now)
        .await?
        .is_some())
}

pub enum ResetOutcome {
    /// The password was set: every session of the account ended.
    Reset,
    Invalid(FieldErrors),
    /// Used, expired or never sent.
    Closed,
}

/// Sets a new password through a link: the link is used once, whoever comes first.
#[tracing::instrument(skip_all)]
pub async fn reset(
    pool: &DbPool,
    hashing: &PasswordWork,
    token: &str,
    new_password: SecretString,
    confirm_password: SecretString,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<ResetOutcome, AppError> {
    let hash = token_hash(token);
    let user_id = {
        let mut conn = pool.get().await?;
        match password_resets::open(&mut conn, &hash, now).await? {
            Some(user_id) => user_id,
            None => return Ok(ResetOutcome::Closed),
        }
    };
    let Some(user) = users::find(&mut *pool.get().await?, user_id).await? else {
        return Ok(ResetOutcome::Closed);
    };
    let mut errors = FieldErrors::default();
    let context = password::context_words(&user.email, &[]);
    if let Err(message) = password::check_strength(new_password.expose_secret(), &context) {
        errors.add("new_password", message);
    } else if new_password.expose_secret() != confirm_password.expose_secret() {
        errors.add("confirm_password", "The two passwords differ.");
    }
    if !errors.is_empty() {
        return Ok(ResetOutcome::Invalid(errors));
    }
    let new_hash = hashing.run(move || password::hash(&new_password)).await??;
    let mut conn = pool.get().await?;
    let reset = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            // Claimed in the transaction that uses it: of concurrent uses, one gets here.
            let Some(user_id) = password_resets::claim(conn, &hash, now).await? else {
                return Ok(false);
            };
            users::set_password_hash(conn, user_id, &new_hash).await?;
            password_resets::close_all(conn, user_id, now).await?;
            sessions::delete_for_user(conn, user_id).await?;
            let actor = Actor::themselves(user_id, &user.email, origin);
            audit::record(conn, &actor.audit("user.password_reset", &user.email)).await?;
            Ok(true)
        })
        .await?;
    Ok(if reset {
        ResetOutcome::Reset
    } else {
        ResetOutcome::Closed
    })
}
