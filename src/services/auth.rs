//! Signing in, throttled without handing attackers a lock: failures count per (account,
//! address) pair and per address, so guessing from one place does not keep the owner out from
//! another; only 100 failures in a row lock the account itself (NIST 800-63B). Every attempt
//! is counted before its password is checked, under a lock, so parallel guesses cannot all be
//! evaluated against the same count. The answer (and the argon2 work) is the same whether or
//! not the email exists.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::SecretString;

use crate::access::Origin;
use crate::clock::Clock;
use crate::db::DbPool;
use crate::domain::{EmailAddress, PlatformRole, UserStatus, password};
use crate::error::AppError;
use crate::models::users::User;
use crate::models::{login_failures, sessions, used_form_tokens, users};
use crate::services::password_work::PasswordWork;
use crate::services::rules::{self, DomainJoin};

/// How many failed sign-ins are tolerated (settings; defaults here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failures one address may make on one account within the window.
    pub per_account_and_address: i64,
    /// Failures one address may make within the window, whatever the accounts.
    pub per_address: i64,
    /// Failures in a row, from anywhere, before the account itself is locked.
    pub per_account_in_a_row: i64,
    pub window_minutes: i32,
}

impl Default for ThrottleLimits {
    fn default() -> ThrottleLimits {
        ThrottleLimits {
            per_account_and_address: 5,
            per_address: 30,
            per_account_in_a_row: 100,
            window_minutes: 15,
        }
    }
}

pub enum SignInOutcome {
    /// Signed in; on a first sign-in, what became of their domain's organization.
    SignedIn(User, DomainJoin),
    InvalidCredentials,
    Disabled,
    /// The right password, but the person's organization signs in through its identity
    /// provider only.
    UseSso,
    /// This address has failed too often (on this account, or in all).
    Throttled,
    /// The account has failed 100 times in a row.
    Locked,
}

/// The keys an attempt is counted under.
struct AttemptKeys {
    pair: String,
    address: String,
    account: String,
}

impl AttemptKeys {
    fn new(email: &str, ip: &str) -> AttemptKeys {
        // An unparseable email is throttled and answered like an unknown one; control
        // characters (a NUL byte) never reach the database.
        let account = EmailAddress::parse(email)
            .map(EmailAddress::into_inner)
            .unwrap_or_else(|_| email.trim().to_lowercase().replace(char::is_control, ""));
        AttemptKeys {
            pair: format!("pair:{account}|{ip}"),
            address: format!("ip:{ip}"),
            account: format!("account:{account}"),
        }
    }

    fn all(&self) -> [&str; 3] {
        [&self.pair, &self.address, &self.account]
    }
}

enum Admission {
    /// Counted as a failure until the password proves right: these rows.
    Admitted(Vec<i64>),
    Refused(SignInOutcome),
}

/// Decides and counts in one transaction, under locks on the attempt's keys.
async fn admit(
    conn: &mut AsyncPgConnection,
    keys: &AttemptKeys,
    clock: &Clock,
    limits: &ThrottleLimits,
) -> Result<Admission, AppError> {
    let admission = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            login_failures::lock_keys(conn, &[&keys.pair, &keys.address]).await?;
            let counts = login_failures::recent_counts(
                conn,
                &[&keys.pair, &keys.address],
                limits.window_minutes,
                clock.now(),
            )
            .await?;
            let count_of = |key: &str| counts.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n);
            if count_of(&keys.pair) >= limits.per_account_and_address
                || count_of(&keys.address) >= limits.per_address
            {
                return Ok(Admission::Refused(SignInOutcome::Throttled));
            }
            if login_failures::count_all(conn, &keys.account).await? >= limits.per_account_in_a_row
            {
                return Ok(Admission::Refused(SignInOutcome::Locked));
            }
            Ok(Admission::Admitted(
                login_failures::record(conn, &keys.all()).await?,
            ))
        })
        .await?;
    Ok(admission)
}

#[tracing::instrument(skip_all)]
pub async fn sign_in(
    pool: &DbPool,
    clock: &Clock,
    hashing: &PasswordWork,
    limits: &ThrottleLimits,
    email: &str,
    password: SecretString,
    origin: &Origin,
) -> Result<SignInOutcome, AppError> {
    let keys = AttemptKeys::new(email, origin.ip.as_deref().unwrap_or_default());
    let mut conn = pool.get().await?;
    let reserved = match admit(&mut conn, &keys, clock, limits).await? {
        Admission::Admitted(reserved) => reserved,
        Admission::Refused(outcome) => return Ok(outcome),
    };
    let (user, stored) = match EmailAddress::parse(email) {
        Ok(email) => users::find_with_hash_by_email(&mut conn, email.as_str())
            .await?
            .map_or((None, None), |(user, hash)| (Some(user), hash)),
        Err(_) => (None, None),
    };
    // Don't hold a connection while hashing.
    drop(conn);
    let rehash = stored.as_deref().is_some_and(password::needs_rehash);
    let verified = hashing
        .run(move || {
            let verified = password::verify(&password, stored.as_deref());
            // Made again with today's parameters while the password is at hand.
            let renewed = (verified && rehash)
                .then(|| password::hash(&password).ok())
                .flatten();
            (verified, renewed)
        })
        .await;
    let mut conn = pool.get().await?;
    let (verified, renewed) = match verified {
        Ok(checked) => checked,
        Err(busy) => {
            // Not checked, so not a failure.
            login_failures::forget(&mut conn, &reserved, &[]).await?;
            return Err(busy);
        }
    };
    match user {
        Some(user) if verified => {
            // The right password: this attempt was no failure, and the pair and the account
            // start afresh (the address keeps its other failures).
            login_failures::forget(&mut conn, &reserved, &[&keys.pair, &keys.account]).await?;
            if user.status == UserStatus::Disabled {
                return Ok(SignInOutcome::Disabled);
            }
            if user.platform_role != PlatformRole::SuperAdmin
                && crate::models::org_oauth_settings::sso_required_for(&mut conn, user.id).await?
            {
                return Ok(SignInOutcome::UseSso);
            }
            if let Some(renewed) = renewed {
                users::set_password_hash(&mut conn, user.id, &renewed).await?;
            }
            let domain = if user.last_login_at.is_none() {
                conn.transaction::<_, diesel::result::Error, _>(async |conn| {
                    rules::join_by_domain(conn, &user, origin).await
                })
                .await?
            } else {
                DomainJoin::Nothing
            };
            users::record_login(&mut conn, user.id).await?;
            Ok(SignInOutcome::SignedIn(user, domain))
        }
        _ => Ok(SignInOutcome::InvalidCredentials),
    }
}

/// Deletes expired sessions and old sign-in failures (run every few minutes).
pub async fn housekeeping(pool: &DbPool, clock: &Clock) -> Result<(), AppError> {
    let mut conn = pool.get().await?;
    sessions::delete_expired(&mut conn).await?;
    login_failures::delete_older_than(&mut conn, 24 * 60, clock.now()).await?;
    used_form_tokens::delete_older_than(&mut conn, clock.now() - chrono::Duration::days(1)).await?;
    Ok(())
}
