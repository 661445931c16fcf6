//! The policy API's use cases (SPEC §6): may this key make this call, and record what calls
//! used. Both read the key's facts in one statement and decide with `policy::decide`; the
//! console's "Why was this denied?" runs the same (`explain`).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::{DbConn, DbPool};
use crate::domain::api_key::PresentedKey;
use crate::domain::{IpNetwork, OrgId, OrgRole, TokenKind, UserId};
use crate::error::AppError;
use crate::models::api_keys::{self, FactsRow};
use crate::models::usage;
pub use crate::models::usage::NewUsage;
use crate::models::{access_policies, ai_models};
use crate::policy::{
    self, Call, Check, Facts, IpEntry, KeyFacts, ModelFacts, OrgFacts, Restriction, Secret,
    TeamFacts, Trace,
};
use crate::services::alerts;
use crate::services::outbox::Postbox;
use crate::services::policy_cache::{Known, LastUse, PolicyCache};

/// Denials kept per key (its page shows the latest).
const DENIALS_KEPT: i64 = 50;
/// A key's last use is written at most this often, or when the call differs from the last.
const NOTE_USE_EVERY: Duration = Duration::seconds(60);

/// The answer to `authorize`.
pub struct Answer {
    pub trace: Trace,
    /// The key, when one was found with a matching secret.
    pub key: Option<KeyFacts>,
    /// On allow, the organization's tokens left of the model's kind.
    pub remaining: Option<(TokenKind, i64)>,
}

/// What is asked about: the endpoint and model of the call, from where.
pub struct Asked<'a> {
    pub endpoint: &'a str,
    pub model: &'a str,
    /// The team the call is made for, when the gateway names one.
    pub team: Option<i64>,
    pub ip: Option<IpAddr>,
}

/// Decides a call with the key as presented, and records what the decision leaves: the last
/// use on allow, the denial and its trace on deny, what report-only rules would have denied.
/// The key's facts come from the cache when it holds them: an allowed call whose last use was
/// noted lately takes no connection at all.
#[tracing::instrument(skip_all, fields(endpoint = asked.endpoint, model = asked.model))]
pub async fn authorize(
    pool: &DbPool,
    cache: &PolicyCache,
    presented: &str,
    asked: &Asked<'_>,
    now: DateTime<Utc>,
) -> Result<Answer, AppError> {
    let mut conn = None;
    let found = match PresentedKey::parse(presented) {
        Some(key) => known(pool, &mut conn, cache, key.prefix(), asked)
            .await?
            .map(|known| {
                let secret = if key.matches(&known.secret_hash) {
                    Secret::Matched
                } else {
                    Secret::Mismatched
                };
                (known, secret)
            }),
        None => None,
    };
    let secret = found.as_ref().map_or(Secret::Mismatched, |(_, s)| *s);
    let call = Call {
        endpoint: asked.endpoint,
        model: asked.model,
        team: asked.team,
        ip: asked.ip,
        now,
        secret,
    };
    let trace = policy::decide(found.as_ref().map(|(known, _)| &known.facts), &call);
    let Some((known, _)) = found else {
        return Ok(Answer {
            trace,
            key: None,
            remaining: None,
        });
    };
    // A wrong secret for a real prefix is denied like an unknown key, and shown on the key's
    // page: someone holds its prefix.
    leave_traces(pool, &mut conn, &known, &trace, asked, now).await?;
    if secret != Secret::Matched {
        return Ok(Answer {
            trace,
            key: None,
            remaining: None,
        });
    }
    let facts = &known.facts;
    let remaining = match (trace.denial(), facts.model) {
        (None, Some(model)) => {
            policy::remaining(facts, &call, model.kind).map(|left| (model.kind, left))
        }
        _ => None,
    };
    Ok(Answer {
        trace,
        key: Some(facts.key.clone()),
        remaining,
    })
}

/// A connection from the pool, taken the first time one is needed.
async fn connection<'c>(
    pool: &DbPool,
    slot: &'c mut Option<DbConn>,
) -> Result<&'c mut AsyncPgConnection, AppError> {
    let conn = match slot.take() {
        Some(conn) => conn,
        None => pool.get().await?,
    };
    Ok(slot.insert(conn))
}

/// The facts of a call with the key of this prefix: cached, or read and cached.
async fn known(
    pool: &DbPool,
    conn: &mut Option<DbConn>,
    cache: &PolicyCache,
    prefix: &str,
    asked: &Asked<'_>,
) -> Result<Option<Arc<Known>>, AppError> {
    if let Some(known) = cache.get(prefix, asked.endpoint, asked.model, asked.team) {
        return Ok(Some(known));
    }
    let ticket = cache.ticket();
    let conn = connection(pool, conn).await?;
    let Some(row) = api_keys::facts(conn, prefix, asked.endpoint, asked.model, asked.team).await?
    else {
        return Ok(None);
    };
    let known = Known {
        facts: facts_of(&row),
        last_use: Mutex::new(LastUse {
            at: row.last_used_at,
            ip: row.last_ip.as_deref().and_then(|ip| ip.parse().ok()),
            endpoint: row.last_endpoint,
            model: row.last_model,
        }),
        secret_hash: row.secret_hash,
    };
    Ok(Some(cache.put(
        ticket,
        (prefix, asked.endpoint, asked.model, asked.team),
        row.org_id,
        known,
    )))
}

async fn leave_traces(
    pool: &DbPool,
    conn: &mut Option<DbConn>,
    known: &Known,
    trace: &Trace,
    asked: &Asked<'_>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let key_id = known.facts.key.id;
    if let Some((reason, _)) = trace.denial() {
        let trace_json = serde_json::to_value(trace).map_err(anyhow::Error::from)?;
        let conn = connection(pool, conn).await?;
        api_keys::record_denial(conn, key_id, now, reason.code(), trace_json, DENIALS_KEPT).await?;
        return Ok(());
    }
    for check in trace.would_deny() {
        let rule = match check {
            Check::Ip => "ip",
            _ => "endpoint",
        };
        let conn = connection(pool, conn).await?;
        api_keys::count_would_deny(conn, key_id, rule, now).await?;
    }
    let ip = asked.ip.map(|ip| ip.to_canonical());
    {
        let mut last_use = known
            .last_use
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Compared in place: the calls that need no note (nearly all) allocate nothing.
        let same_call = last_use.ip == ip
            && last_use.endpoint.as_deref() == Some(asked.endpoint)
            && last_use.model.as_deref() == Some(asked.model);
        let noted_lately = last_use.at.is_some_and(|at| now - at < NOTE_USE_EVERY);
        if same_call && noted_lately {
            return Ok(());
        }
        // Claimed before writing: the calls alongside this one need not write it too.
        *last_use = LastUse {
            at: Some(now),
            ip,
            endpoint: Some(asked.endpoint.to_owned()),
            model: Some(asked.model.to_owned()),
        };
    }
    let conn = connection(pool, conn).await?;
    api_keys::note_use(
        conn,
        key_id,
        now,
        ip.map(|ip| ip.to_string()).as_deref(),
        asked.endpoint,
        asked.model,
    )
    .await?;
    Ok(())
}

/// The trace of a call with an organization's key found by prefix, as `authorize` would
/// decide it (its secret is not asked for: whoever tests manages the key). Records nothing.
pub async fn explain(
    conn: &mut AsyncPgConnection,
    prefix: &str,
    asked: &Asked<'_>,
    now: DateTime<Utc>,
) -> Result<Option<(Facts, Trace)>, AppError> {
    let Some(row) = api_keys::facts(conn, prefix, asked.endpoint, asked.model, asked.team).await?
    else {
        return Ok(None);
    };
    let facts = facts_of(&row);
    let call = Call {
        endpoint: asked.endpoint,
        model: asked.model,
        team: asked.team,
        ip: asked.ip,
        now,
        secret: Secret::NotChecked,
    };
    let trace = policy::decide(Some(&facts), &call);
    Ok(Some((facts, trace)))
}

fn facts_of(row: &FactsRow) -> Facts {
    let org = row.org_id.map(|_| OrgFacts {
        name: row.org_name.clone().unwrap_or_default(),
        active: row.org_active.unwrap_or(false),
        cancelled: row.org_cancelled.unwrap_or(false),
        inference_left: row.inference_left.unwrap_or(0),
        embedding_left: row.embedding_left.unwrap_or(0),
    });
    Facts {
        key: KeyFacts {
            id: row.id,
            name: row.name.clone(),
            org_id: row.org_id.map(OrgId),
            user_id: UserId(row.user_id),
            revoked_at: row.revoked_at,
            expires_at: row.expires_at,
            user_active: row.user_active,
            role: row.role.as_deref().and_then(|r| r.parse::<OrgRole>().ok()),
        },
        org,
        team: row.team_id.map(|id| TeamFacts {
            id,
            name: row.team_name.clone().unwrap_or_default(),
            active: row.team_active.unwrap_or(false),
            holder_is_member: row.team_has_holder,
            inference_left: row.team_inference_left,
            embedding_left: row.team_embedding_left,
        }),
        ip_entries: ip_entries_of(&row.ip_entries),
        restrictions: restrictions_of(&row.restrictions),
        endpoint_known: row.endpoint_known,
        model: row
            .model_kind
            .as_deref()
            .and_then(|k| k.parse::<TokenKind>().ok())
            .map(|kind| ModelFacts {
                kind,
                allowed: row.model_allowed,
            }),
    }
}

/// `[[id, network, endpoint, report_only], …]`. A stored network that no longer parses is
/// kept as an entry nobody is inside, so a list never opens up by accident.
fn ip_entries_of(json: &serde_json::Value) -> Vec<IpEntry> {
    type Row = (i64, String, Option<String>, bool);
    let rows: Vec<Row> = serde_json::from_value(json.clone()).unwrap_or_default();
    rows.into_iter()
        .map(|(id, network, endpoint, report_only)| IpEntry {
            id,
            network: IpNetwork::parse(&network).unwrap_or_else(|_| {
                tracing::warn!(entry = id, "an IP allowlist entry does not parse");
                IpNetwork::NOWHERE
            }),
            endpoint,
            report_only,
        })
        .collect()
}

/// `[[id, for_member, report_only, [endpoint, …]], …]`
fn restrictions_of(json: &serde_json::Value) -> Vec<Restriction> {
    type Row = (i64, bool, bool, Vec<String>);
    let rows: Vec<Row> = serde_json::from_value(json.clone()).unwrap_or_default();
    rows.into_iter()
        .map(|(id, for_member, report_only, endpoints)| Restriction {
            id,
            for_member,
            endpoints,
            report_only,
        })
        .collect()
}

/// What a usage report did.
pub enum Reported {
    /// How many calls were new (the others had been recorded before).
    Recorded { new: i64 },
    /// The key is unknown or its secret does not match.
    UnknownKey,
    /// A call names an endpoint or model outside the catalogue, or a team that is not the
    /// key holder's: nothing was recorded.
    Refused { index: usize, message: String },
}

/// Records calls made with the presented key. A key revoked or expired since still has its
/// calls recorded: they were made while it was valid, and the organization used the tokens.
#[tracing::instrument(skip_all, fields(calls = calls.len()))]
pub async fn record_usage(
    pool: &DbPool,
    cache: &PolicyCache,
    postbox: &Postbox,
    presented: &str,
    calls: &[NewUsage],
    now: DateTime<Utc>,
) -> Result<Reported, AppError> {
    let reported = record(&mut *pool.get().await?, postbox, presented, calls, now).await?;
    if matches!(reported, Reported::Recorded { new } if new > 0) {
        // Answered once this instance has heard the tokens used: the next call may reach the
        // limit (the connection is given back before waiting).
        cache.sync_or_forget(pool).await;
    }
    Ok(reported)
}

async fn record(
    conn: &mut AsyncPgConnection,
    postbox: &Postbox,
    presented: &str,
    calls: &[NewUsage],
    now: DateTime<Utc>,
) -> Result<Reported, AppError> {
    let Some(key) = PresentedKey::parse(presented) else {
        return Ok(Reported::UnknownKey);
    };
    let Some(row) = api_keys::facts(conn, key.prefix(), "", "", None).await? else {
        return Ok(Reported::UnknownKey);
    };
    if !key.matches(&row.secret_hash) {
        return Ok(Reported::UnknownKey);
    }
    let endpoints = access_policies::endpoints(conn).await?;
    let models = ai_models::catalogue(conn).await?;
    let mut teams: Vec<i64> = calls.iter().filter_map(|c| c.team_id).collect();
    teams.sort_unstable();
    teams.dedup();
    let joined = match row.org_id {
        Some(org_id) if !teams.is_empty() => {
            crate::models::teams::joined_among(conn, OrgId(org_id), UserId(row.user_id), &teams)
                .await?
        }
        _ => Vec::new(),
    };
    for (index, call) in calls.iter().enumerate() {
        let message = if !endpoints.iter().any(|(name, _)| *name == call.endpoint) {
            format!("{:?} is not in the endpoint catalogue.", call.endpoint)
        } else if !models.iter().any(|m| m.name == call.model) {
            format!("{:?} is not in the model catalogue.", call.model)
        } else if let Some(team) = call.team_id.filter(|t| !joined.contains(t)) {
            format!("team {team} is not one of the key holder's teams.")
        } else {
            continue;
        };
        return Ok(Reported::Refused { index, message });
    }
    let new = usage::record(conn, row.id, calls).await?;
    if let Some(org_id) = row.org_id.filter(|_| new > 0) {
        let changed = alerts::Changed::Tokens { teams: &teams };
        alerts::after_use(conn, postbox, OrgId(org_id), changed, now).await?;
    }
    Ok(Reported::Recorded { new })
}
