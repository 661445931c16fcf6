//! Sessions: a PostgreSQL store for actix-session (the cookie holds only a random key, so a
//! session is revoked by deleting its row), and a typed wrapper over the session state.

use std::collections::HashMap;

use actix_session::storage::{
    LoadError, SaveError, SessionKey, SessionStore, UpdateError, generate_session_key,
};
use actix_session::{Session, SessionInsertError};
use actix_web::cookie::time::Duration;
use sha2::{Digest, Sha256};

use crate::access::CurrentUser;
use crate::clock::Clock;
use crate::config::SessionLimits;
use crate::db::DbPool;
use crate::domain::{OrgId, UserId, random_token};
use crate::models::sessions;

/// `last_seen` is written back at most this often, so a busy session is not a write per request
/// (and the write never waits for another request's: see `sessions::touch`).
const LAST_SEEN_RESOLUTION_SECS: i64 = 60;

/// The message the web layer recognises to answer 503 instead of 500 (see `web::errors`).
pub const STORE_UNAVAILABLE: &str = "session store unavailable";

const USER_ID: &str = "user_id";
/// Not stored: the store's `load` puts the signed-in user it read with the session here, so
/// the request context costs one statement; `save` and `update` take it out again.
const CURRENT_USER: &str = "current_user";
const SIGNED_IN_AT: &str = "signed_in_at";
const LAST_SEEN: &str = "last_seen";
/// When the password was last entered: at sign-in, or to confirm a sensitive action.
const CONFIRMED_AT: &str = "confirmed_at";
pub const CSRF_TOKEN_KEY: &str = "csrf_token";
const FLASH: &str = "flash";
const ORG_ID: &str = "org_id";

#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
    clock: Clock,
    limits: SessionLimits,
}

impl PgSessionStore {
    pub fn new(pool: DbPool, clock: Clock, limits: SessionLimits) -> PgSessionStore {
        PgSessionStore {
            pool,
            clock,
            limits,
        }
    }

    fn expiry(&self, ttl: &Duration) -> chrono::DateTime<chrono::Utc> {
        self.clock.now() + chrono::Duration::seconds(ttl.whole_seconds())
    }

    async fn conn(&self) -> anyhow::Result<crate::db::DbConn> {
        self.pool
            .get()
            .await
            .map_err(|e| anyhow::anyhow!("{STORE_UNAVAILABLE}: {e}"))
    }
}

fn key_hash(key: &SessionKey) -> Vec<u8> {
    Sha256::digest(key.as_ref().as_bytes()).to_vec()
}

/// The signed-in user's id, copied to its own column so all of a user's sessions can be ended.
fn user_id_of(state: &HashMap<String, String>) -> Option<UserId> {
    state.get(USER_ID).and_then(|v| v.parse().ok()).map(UserId)
}

fn to_json(state: &HashMap<String, String>) -> serde_json::Value {
    serde_json::Value::Object(
        state
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

impl PgSessionStore {
    /// A signed-in session still within its limits, last seen more than a minute ago, is
    /// recorded as seen now, here where its row was read, rather than by saving the whole state
    /// (which every request in flight would do at once, queuing on the row). An expired one is
    /// left as it is for the request to end it.
    async fn touch(
        &self,
        conn: &mut crate::db::DbConn,
        key: &SessionKey,
        state: &mut HashMap<String, String>,
        super_admin: bool,
    ) -> anyhow::Result<()> {
        let time = |name: &str| {
            state
                .get(name)
                .and_then(|v| serde_json::from_str::<i64>(v).ok())
                .unwrap_or(0)
        };
        let times = SignInTimes {
            user_id: user_id_of(state).unwrap_or(UserId(0)),
            signed_in_at: time(SIGNED_IN_AT),
            last_seen: time(LAST_SEEN),
        };
        let now = self.clock.now().timestamp();
        if times.expired(now, &self.limits, super_admin)
            || now - times.last_seen < LAST_SEEN_RESOLUTION_SECS
        {
            return Ok(());
        }
        let seen = now.to_string();
        let expires_at =
            self.clock.now() + chrono::Duration::seconds(crate::config::LONGEST_SESSION_SECS);
        sessions::touch(conn, &key_hash(key), &seen, expires_at)
            .await
            .map_err(unavailable)?;
        state.insert(LAST_SEEN.to_owned(), seen);
        Ok(())
    }
}

fn unavailable(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{STORE_UNAVAILABLE}: {e}")
}

impl SessionStore for PgSessionStore {
    /// The session and, when signed in, its user (see `CURRENT_USER`) in one statement.
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let mut conn = self.conn().await.map_err(LoadError::Other)?;
        let rows = sessions::load_with_user(&mut conn, &key_hash(key))
            .await
            .map_err(|e| LoadError::Other(unavailable(e)))?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut state: HashMap<String, String> = serde_json::from_value(first.state.clone())
            .map_err(|e| LoadError::Deserialization(e.into()))?;
        state.remove(CURRENT_USER);
        if let Some(user) = CurrentUser::from_session_rows(&rows) {
            self.touch(&mut conn, key, &mut state, user.is_super_admin())
                .await
                .map_err(LoadError::Other)?;
            let user =
                serde_json::to_string(&user).map_err(|e| LoadError::Deserialization(e.into()))?;
            state.insert(CURRENT_USER.to_owned(), user);
        }
        Ok(Some(state))
    }

    async fn save(
        &self,
        mut state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        // The user came from the database with the session; it is never stored in it.
        state.remove(CURRENT_USER);
        let key = generate_session_key();
        let mut conn = self.conn().await.map_err(SaveError::Other)?;
        sessions::insert(
            &mut conn,
            &key_hash(&key),
            user_id_of(&state),
            &to_json(&state),
            self.expiry(ttl),
        )
        .await
        .map_err(|e| SaveError::Other(unavailable(e)))?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        mut state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        state.remove(CURRENT_USER);
        let mut conn = self.conn().await.map_err(UpdateError::Other)?;
        let updated = sessions::update(
            &mut conn,
            &key_hash(&key),
            user_id_of(&state),
            &to_json(&state),
            self.expiry(ttl),
        )
        .await
        .map_err(|e| UpdateError::Other(unavailable(e)))?;
        if updated {
            return Ok(key);
        }
        // The row was revoked while the request ran: the state must not come back under the old
        // key, but a signed-out visitor may keep going under a new one.
        drop(conn);
        let mut state = state;
        if user_id_of(&state).is_some() {
            state.clear();
        }
        self.save(state, ttl).await.map_err(|e| match e {
            SaveError::Serialization(e) => UpdateError::Serialization(e),
            SaveError::Other(e) => UpdateError::Other(e),
        })
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let mut conn = self.conn().await?;
        sessions::extend(&mut conn, &key_hash(key), self.expiry(ttl))
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.conn().await?;
        sessions::delete(&mut conn, &key_hash(key))
            .await
            .map_err(unavailable)
    }
}

/// A flash message shown once on the next page.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    /// Worth knowing, neither a success nor a failure of what was asked.
    Info,
    Error,
}

impl FlashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Error => "error",
        }
    }
}

/// When a signed-in session began and was last used.
pub struct SignInTimes {
    pub user_id: UserId,
    signed_in_at: i64,
    last_seen: i64,
}

impl SignInTimes {
    /// Whether the session has outlived its limits: a super administrator's are shorter.
    pub fn expired(&self, now: i64, limits: &SessionLimits, super_admin: bool) -> bool {
        let (idle, absolute) = if super_admin {
            (limits.admin_idle_secs, limits.admin_absolute_secs)
        } else {
            (limits.idle_secs, limits.absolute_secs)
        };
        now - self.signed_in_at > absolute || now - self.last_seen > idle
    }
}

/// Typed access to the session state; every key lives here.
pub trait AppSession {
    /// The user and times of a signed-in session; `None` for a visitor.
    fn sign_in_times(&self) -> Option<SignInTimes>;
    fn start_signed_in(&self, user_id: UserId, now: i64) -> Result<(), SessionInsertError>;
    /// The CSRF token of this session, created on first use.
    fn csrf_token(&self) -> Result<String, SessionInsertError>;
    /// When the password was last entered (sign-in or confirmation).
    fn password_entered_at(&self) -> i64;
    fn confirm_password(&self, now: i64) -> Result<(), SessionInsertError>;
    fn push_flash(
        &self,
        kind: FlashKind,
        message: impl Into<String>,
    ) -> Result<(), SessionInsertError>;
    fn take_flashes(&self) -> Vec<Flash>;
    fn chosen_org(&self) -> Option<OrgId>;
    /// Acts in this organization from now on (`None`: the personal account).
    fn choose_org(&self, org: Option<OrgId>) -> Result<(), SessionInsertError>;
    /// The signed-in user read with this session, if it is signed in to an active account.
    fn current_user(&self) -> Option<CurrentUser>;
}

impl AppSession for Session {
    fn sign_in_times(&self) -> Option<SignInTimes> {
        let user_id = self.get::<i64>(USER_ID).ok().flatten()?;
        Some(SignInTimes {
            user_id: UserId(user_id),
            signed_in_at: self.get::<i64>(SIGNED_IN_AT).ok().flatten().unwrap_or(0),
            last_seen: self.get::<i64>(LAST_SEEN).ok().flatten().unwrap_or(0),
        })
    }

    fn start_signed_in(&self, user_id: UserId, now: i64) -> Result<(), SessionInsertError> {
        // A new key and a new CSRF token: nothing from before sign-in carries over.
        self.renew();
        self.clear();
        self.insert(USER_ID, user_id.0)?;
        self.insert(SIGNED_IN_AT, now)?;
        self.insert(LAST_SEEN, now)?;
        self.insert(CSRF_TOKEN_KEY, random_token(32))
    }

    fn password_entered_at(&self) -> i64 {
        let at = |key| self.get::<i64>(key).ok().flatten().unwrap_or(0);
        at(SIGNED_IN_AT).max(at(CONFIRMED_AT))
    }

    fn confirm_password(&self, now: i64) -> Result<(), SessionInsertError> {
        self.insert(CONFIRMED_AT, now)
    }

    fn csrf_token(&self) -> Result<String, SessionInsertError> {
        if let Ok(Some(token)) = self.get::<String>(CSRF_TOKEN_KEY) {
            return Ok(token);
        }
        let token = random_token(32);
        self.insert(CSRF_TOKEN_KEY, &token)?;
        Ok(token)
    }

    fn push_flash(
        &self,
        kind: FlashKind,
        message: impl Into<String>,
    ) -> Result<(), SessionInsertError> {
        let mut flashes: Vec<Flash> = self.get(FLASH).ok().flatten().unwrap_or_default();
        flashes.push(Flash {
            kind,
            message: message.into(),
        });
        self.insert(FLASH, flashes)
    }

    fn take_flashes(&self) -> Vec<Flash> {
        if !self.contains_key(FLASH) {
            return Vec::new();
        }
        self.remove_as::<Vec<Flash>>(FLASH)
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    fn chosen_org(&self) -> Option<OrgId> {
        self.get(ORG_ID).ok().flatten().map(OrgId)
    }

    fn choose_org(&self, org: Option<OrgId>) -> Result<(), SessionInsertError> {
        match org {
            Some(org) => self.insert(ORG_ID, org.0),
            None => {
                self.remove(ORG_ID);
                Ok(())
            }
        }
    }

    fn current_user(&self) -> Option<CurrentUser> {
        self.get(CURRENT_USER).ok().flatten()
    }
}
