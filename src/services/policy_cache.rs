//! The facts of recent `authorize` calls, kept in memory so the gateway's hot path does not
//! wait on the database.
//!
//! Triggers NOTIFY the `guildhall_policy` channel on every change that can alter a decision
//! (migrations 000011, 000013), so no code path can forget to. Every instance LISTENs and forgets what a
//! change touches: `org:<id>` one organization's facts, `all` everything. Facts read while a
//! change was being forgotten are never kept (each read holds a ticket taken before it). While
//! the listener is down nothing is cached, and facts older than `MAX_AGE` are read again, which
//! bounds what one lost notification could cost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::db::DbPool;
use crate::policy::Facts;

pub const CHANNEL: &str = "guildhall_policy";
/// Calls (key, endpoint, model) remembered at most; past this, everything is forgotten.
const CAPACITY: usize = 100_000;
const MAX_AGE: Duration = Duration::from_secs(30);
/// A quiet listener's connection is asked to answer this often: one that died without
/// closing stops the cache within seconds. The answer may be slow on a saturated machine
/// (a false alarm costs only a reconnection).
const PING_EVERY: Duration = Duration::from_secs(5);
const PING_WITHIN: Duration = Duration::from_secs(10);
/// How long a change waits for this instance's listener to hear it, before forgetting
/// everything instead.
const SYNC_WITHIN: Duration = Duration::from_secs(2);
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// What deciding a call with one key needs, read once and shared by the calls after it.
pub struct Known {
    pub facts: Facts,
    pub secret_hash: Vec<u8>,
    /// The key's last use as the database holds it, as far as this instance knows.
    pub last_use: Mutex<LastUse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUse {
    pub at: Option<DateTime<Utc>>,
    pub ip: Option<std::net::IpAddr>,
    pub endpoint: Option<String>,
    pub model: Option<String>,
}

/// A sync marker sent through the channel, to wait for without holding a connection.
#[derive(Debug, Clone, Copy)]
pub struct Marker(u64);

/// The cache's position when a read began: facts read after a later forgetting are stale.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

pub struct PolicyCache {
    listening: AtomicBool,
    /// Tells this instance's sync markers from other instances'.
    instance: u64,
    markers_sent: AtomicU64,
    /// The latest of this instance's sync markers the listener has passed.
    synced: watch::Sender<u64>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Advanced by every forgetting.
    clock: u64,
    /// Facts read before these ticks are stale: everything, or one organization's.
    all_since: u64,
    org_since: HashMap<i64, u64>,
    entries: HashMap<String, Entry>,
}

struct Entry {
    known: Arc<Known>,
    org_id: Option<i64>,
    ticket: u64,
    read_at: Instant,
}

/// What a call asks about: the key's prefix, the endpoint, the model and the team.
pub type Asking<'a> = (&'a str, &'a str, &'a str, Option<i64>);

/// Names are printable (checked before any lookup), so a newline cannot be part of one.
fn entry_key((prefix, endpoint, model, team): Asking<'_>) -> String {
    match team {
        Some(team) => format!("{prefix}\n{endpoint}\n{model}\n{team}"),
        None => format!("{prefix}\n{endpoint}\n{model}"),
    }
}

impl Default for PolicyCache {
    fn default() -> Self {
        PolicyCache::new()
    }
}

impl PolicyCache {
    pub fn new() -> PolicyCache {
        // Random, so two instances never share markers (a sync would end early).
        let instance = crate::domain::random_bytes(8)
            .iter()
            .fold(0u64, |n, b| n << 8 | u64::from(*b));
        PolicyCache {
            listening: AtomicBool::new(false),
            instance,
            markers_sent: AtomicU64::new(0),
            synced: watch::channel(0).0,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is consistent after any single statement: a panic elsewhere leaves it usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Taken before reading facts, to keep them; `None` while the listener is down.
    pub fn ticket(&self) -> Option<Ticket> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        Some(Ticket(self.state().clock))
    }

    pub fn get(
        &self,
        prefix: &str,
        endpoint: &str,
        model: &str,
        team: Option<i64>,
    ) -> Option<Arc<Known>> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let key = entry_key((prefix, endpoint, model, team));
        let mut state = self.state();
        let entry = state.entries.get(&key)?;
        let org_since = entry
            .org_id
            .and_then(|org| state.org_since.get(&org).copied())
            .unwrap_or(0);
        if entry.ticket >= state.all_since
            && entry.ticket >= org_since
            && entry.read_at.elapsed() < MAX_AGE
        {
            return Some(Arc::clone(&entry.known));
        }
        state.entries.remove(&key);
        None
    }

    /// Keeps facts read under `ticket`, unless something was forgotten since it was taken.
    pub fn put(
        &self,
        ticket: Option<Ticket>,
        asking: Asking<'_>,
        org_id: Option<i64>,
        known: Known,
    ) -> Arc<Known> {
        let known = Arc::new(known);
        let Some(Ticket(ticket)) = ticket else {
            return known;
        };
        let mut state = self.state();
        let stale = ticket < state.all_since
            || org_id.is_some_and(|org| state.org_since.get(&org).is_some_and(|&t| ticket < t));
        if !stale {
            if state.entries.len() >= CAPACITY {
                state.entries.clear();
            }
            state.entries.insert(
                entry_key(asking),
                Entry {
                    known: Arc::clone(&known),
                    org_id,
                    ticket,
                    read_at: Instant::now(),
                },
            );
        }
        known
    }

    /// Forgets one organization's facts (its keys, members, rules, models, tokens).
    pub fn forget_org(&self, org_id: i64) {
        let mut state = self.state();
        state.clock += 1;
        let now = state.clock;
        state.org_since.insert(org_id, now);
    }

    pub fn forget_all(&self) {
        let mut state = self.state();
        state.clock += 1;
        state.all_since = state.clock;
        state.org_since.clear();
        state.entries.clear();
    }

    /// Sends a marker through the channel after every notification committed so far
    /// (PostgreSQL delivers in commit order); `None` while nobody listens (nothing to wait for).
    pub async fn send_marker(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> Result<Option<Marker>, anyhow::Error> {
        use diesel::sql_types::Text;
        if !self.listening.load(Ordering::Acquire) {
            return Ok(None);
        }
        let marker = self.markers_sent.fetch_add(1, Ordering::AcqRel) + 1;
        let notify = diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(format!("sync:{}:{marker}", self.instance));
        diesel_async::RunQueryDsl::execute(notify, conn).await?;
        Ok(Some(Marker(marker)))
    }

    /// Returns once this instance's listener has passed the marker, and with it every
    /// notification sent before it; waits at most `SYNC_WITHIN`.
    pub async fn heard(&self, marker: Option<Marker>) -> Result<(), anyhow::Error> {
        let Some(Marker(marker)) = marker else {
            return Ok(());
        };
        let mut synced = self.synced.subscribe();
        tokio::time::timeout(SYNC_WITHIN, synced.wait_for(|&heard| heard >= marker)).await??;
        Ok(())
    }

    /// Returns once this instance's listener has heard every notification committed before
    /// the call. Other instances' listeners received them at the same commit and apply them as
    /// they read them (within milliseconds; one whose connection died unnoticed answers from
    /// what it knew until its ping fails, `PING_EVERY + PING_WITHIN` at worst, and never from
    /// facts older than `MAX_AGE`).
    pub async fn sync(&self, conn: &mut AsyncPgConnection) -> Result<(), anyhow::Error> {
        let marker = self.send_marker(conn).await?;
        self.heard(marker).await
    }

    /// `sync` with a connection of the pool, given back before waiting (a slow listener holds
    /// no connection). When the listener cannot confirm, this instance forgets everything and
    /// answers from the database.
    pub async fn sync_or_forget(&self, pool: &DbPool) {
        let marker = match pool.get().await {
            Ok(mut conn) => self.send_marker(&mut conn).await,
            Err(error) => Err(error.into()),
        };
        let synced = match marker {
            Ok(marker) => self.heard(marker).await,
            Err(error) => Err(error),
        };
        if let Err(error) = synced {
            tracing::warn!(error = %error, "policy notifications not confirmed after a change");
            self.forget_all();
        }
    }

    fn apply(&self, payload: &str) {
        if let Some(org) = payload.strip_prefix("org:") {
            match org.parse() {
                Ok(org_id) => self.forget_org(org_id),
                Err(_) => self.forget_all(),
            }
        } else if let Some(marker) = payload.strip_prefix("sync:") {
            // Another instance's markers are not this one's to count.
            let ours = marker
                .split_once(':')
                .filter(|(instance, _)| instance.parse() == Ok(self.instance))
                .and_then(|(_, marker)| marker.parse::<u64>().ok());
            if let Some(marker) = ours {
                self.synced.send_if_modified(|heard| {
                    let newer = marker > *heard;
                    *heard = (*heard).max(marker);
                    newer
                });
            }
        } else {
            self.forget_all();
        }
    }

    /// Listens for changes for as long as the runtime runs, reconnecting after a failure;
    /// meanwhile the cache is off.
    pub fn spawn_listener(self: &Arc<Self>, database_url: String) {
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let Err(error) = cache.listen(&database_url).await;
                cache.listening.store(false, Ordering::Release);
                cache.forget_all();
                tracing::warn!(error = %error, "the policy listener stopped; calls read the database until it is back");
                tokio::time::sleep(RECONNECT_AFTER).await;
            }
        });
    }

    async fn listen(&self, database_url: &str) -> Result<std::convert::Infallible, anyhow::Error> {
        use diesel_async::RunQueryDsl;
        let mut conn = AsyncPgConnection::establish(database_url).await?;
        diesel::sql_query(format!("LISTEN {CHANNEL}"))
            .execute(&mut conn)
            .await?;
        // Whatever changed while nobody listened is unknown: start from nothing.
        self.forget_all();
        self.listening.store(true, Ordering::Release);
        loop {
            let next = {
                let mut notifications = std::pin::pin!(conn.notifications_stream());
                tokio::time::timeout(PING_EVERY, notifications.next()).await
            };
            match next {
                Ok(Some(notification)) => self.apply(&notification?.payload),
                Ok(None) => anyhow::bail!("the connection closed"),
                Err(_quiet) => {
                    tokio::time::timeout(
                        PING_WITHIN,
                        diesel::sql_query("SELECT 1").execute(&mut conn),
                    )
                    .await??;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;
    use crate::policy::KeyFacts;

    fn known() -> Known {
        Known {
            facts: Facts {
                key: KeyFacts {
                    id: 1,
                    name: "CI".into(),
                    org_id: None,
                    user_id: UserId(1),
                    revoked_at: None,
                    expires_at: None,
                    user_active: true,
                    role: None,
                },
                org: None,
                team: None,
                ip_entries: vec![],
                restrictions: vec![],
                endpoint_known: true,
                model: None,
            },
            secret_hash: vec![],
            last_use: Mutex::new(LastUse {
                at: None,
                ip: None,
                endpoint: None,
                model: None,
            }),
        }
    }

    fn listening() -> PolicyCache {
        let cache = PolicyCache::new();
        cache.listening.store(true, Ordering::Release);
        cache
    }

    #[test]
    fn nothing_is_kept_while_nobody_listens() {
        let cache = PolicyCache::new();
        assert!(cache.ticket().is_none());
        cache.put(cache.ticket(), ("p", "e", "m", None), Some(7), known());
        cache.listening.store(true, Ordering::Release);
        assert!(cache.get("p", "e", "m", None).is_none());
    }

    #[test]
    fn a_change_to_the_organization_forgets_its_facts_only() {
        let cache = listening();
        cache.put(cache.ticket(), ("a", "e", "m", None), Some(7), known());
        cache.put(cache.ticket(), ("b", "e", "m", None), Some(8), known());
        cache.put(cache.ticket(), ("c", "e", "m", None), None, known());
        cache.apply("org:7");
        assert!(cache.get("a", "e", "m", None).is_none());
        assert!(cache.get("b", "e", "m", None).is_some());
        assert!(cache.get("c", "e", "m", None).is_some());
        cache.apply("all");
        assert!(cache.get("b", "e", "m", None).is_none());
        assert!(cache.get("c", "e", "m", None).is_none());
    }

    #[test]
    fn facts_read_while_a_change_was_forgotten_are_not_kept() {
        let cache = listening();
        let ticket = cache.ticket();
        // The change lands while the facts are being read: what was read may predate it.
        cache.apply("org:7");
        cache.put(ticket, ("a", "e", "m", None), Some(7), known());
        assert!(cache.get("a", "e", "m", None).is_none());
        let ticket = cache.ticket();
        cache.apply("all");
        cache.put(ticket, ("c", "e", "m", None), None, known());
        assert!(cache.get("c", "e", "m", None).is_none());
        // Read after the change: kept.
        cache.put(cache.ticket(), ("a", "e", "m", None), Some(7), known());
        assert!(cache.get("a", "e", "m", None).is_some());
    }

    #[test]
    fn an_unreadable_payload_forgets_everything() {
        let cache = listening();
        cache.put(cache.ticket(), ("a", "e", "m", None), Some(7), known());
        cache.apply("org:seven");
        assert!(cache.get("a", "e", "m", None).is_none());
    }

    #[test]
    fn only_this_instances_sync_markers_count_and_they_only_advance() {
        let cache = listening();
        let other = cache.instance.wrapping_add(1);
        cache.apply(&format!("sync:{other}:9"));
        assert_eq!(*cache.synced.borrow(), 0);
        cache.apply(&format!("sync:{}:5", cache.instance));
        cache.apply(&format!("sync:{}:3", cache.instance));
        assert_eq!(*cache.synced.borrow(), 5);
    }
}
