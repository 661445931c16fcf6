//! `/settings/org/security` (seed 004): the IP allowlist and endpoint restrictions, owners and
//! admins only. Before a change is saved, the keys used in the last 7 days are tried against
//! the rules as they would be, by the policy API's own `policy::decide`, and the page says
//! which it would start denying. "Why was this denied?" runs a key's call through the same.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{OrgContext, Permission, require};
use crate::domain::api_key::parse_prefix;
use crate::domain::{EmailAddress, FieldErrors, IpNetwork, OptionalText, OrgId, TokenKind, UserId};
use crate::error::{AppError, Denied, TxError};
use crate::models::access_policies::{self, IpEntryRow, NewIpEntry, RestrictionRow};
use crate::models::api_keys::{self, ApiKey, RecentKey};
use crate::models::{audit, memberships, users};
use crate::policy::{
    self, Call, Check, Facts, IpEntry, KeyFacts, ModelFacts, OrgFacts, Restriction, Secret, Trace,
    Verdict,
};
use crate::services::org::{current_actor, rejected};
use crate::services::policy::{self as gateway, Asked};

/// Keys used this recently are the ones a change is tried against.
const ACTIVE_WITHIN: Duration = Duration::days(7);
/// At most this many of them.
const ACTIVE_TRIED: i64 = 5_000;
/// Keys listed with what report-only rules would have denied.
const REPORTS_SHOWN: i64 = 50;

pub struct SecurityView {
    /// The endpoint catalogue: (name, label).
    pub endpoints: Vec<(String, String)>,
    pub ip_entries: Vec<IpEntryRow>,
    pub restrictions: Vec<RestrictionRow>,
    /// What report-only rules would have denied, per key.
    pub reports: Vec<Report>,
    /// Whether members must sign in with SSO; `None` when the organization has no OpenID
    /// client (a super admin configures it).
    pub sso_required: Option<bool>,
}

pub use crate::models::api_keys::WouldDeny as Report;

#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn view(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
) -> Result<SecurityView, AppError> {
    require(ctx, Permission::ManageAccessPolicies)?;
    let reports = api_keys::would_deny_counts(conn, ctx.org_id, REPORTS_SHOWN).await?;
    Ok(SecurityView {
        endpoints: access_policies::endpoints(conn).await?,
        ip_entries: access_policies::ip_entries(conn, ctx.org_id).await?,
        restrictions: access_policies::restrictions(conn, ctx.org_id).await?,
        reports,
        sso_required: crate::models::org_oauth_settings::find(conn, ctx.org_id)
            .await?
            .map(|settings| settings.sso_required),
    })
}

/// Requires (or stops requiring) members to sign in with the organization's identity
/// provider. Refused, with the reason, when the organization has no OpenID client.
#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn set_sso_required(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    required: bool,
) -> Result<Result<(), &'static str>, AppError> {
    require(ctx, Permission::ManageAccessPolicies)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(before) =
            crate::models::org_oauth_settings::set_sso_required(conn, ctx.org_id, required).await?
        else {
            return Ok(Err(
                "Your organization has no single sign-on configured; a platform administrator sets it up.",
            ));
        };
        let who = ctx.actor();
        let entry = audit::NewAuditEntry {
            before: Some(serde_json::json!({ "sso_required": before })),
            after: Some(serde_json::json!({ "sso_required": required })),
            ..who.audit_org("access_policy.sso_required_changed", ctx.org_id, &ctx.org_name)
        };
        audit::record(conn, &entry).await?;
        Ok(Ok(()))
    })
    .await
}

/// What a change would do to the keys in use.
#[derive(Debug, Default)]
pub struct Impact {
    /// Keys used lately whose last call the change would deny.
    pub denied: Vec<RecentKey>,
    /// Keys whose last call a report-only rule would count.
    pub counted: Vec<RecentKey>,
    /// How many keys were used lately.
    pub active: usize,
}

impl Impact {
    pub fn is_empty(&self) -> bool {
        self.denied.is_empty() && self.counted.is_empty()
    }

    /// Every key used lately would be denied.
    pub fn locks_everyone_out(&self) -> bool {
        self.active > 0 && self.denied.len() == self.active
    }
}

/// The outcome of a change: saved, refused as typed, or waiting for a confirmation that names
/// the keys it would start denying.
pub enum Change {
    Saved(String),
    Invalid(FieldErrors),
    Confirm(Impact),
}

/// The rules as they stand, in the decision's own terms.
#[derive(Clone)]
struct Rules {
    entries: Vec<IpEntry>,
    restrictions: Vec<(Option<UserId>, Restriction)>,
}

impl Rules {
    async fn load(conn: &mut AsyncPgConnection, org_id: OrgId) -> Result<Rules, AppError> {
        let entries = access_policies::ip_entries(conn, org_id)
            .await?
            .into_iter()
            .filter_map(|row| {
                Some(IpEntry {
                    id: row.id,
                    network: IpNetwork::parse(&row.network).ok()?,
                    endpoint: row.endpoint,
                    report_only: row.report_only,
                })
            })
            .collect();
        let restrictions = access_policies::restrictions(conn, org_id)
            .await?
            .into_iter()
            .map(|row| {
                let restriction = Restriction {
                    id: row.id,
                    for_member: row.user_id.is_some(),
                    endpoints: row.endpoints,
                    report_only: row.report_only,
                };
                (row.user_id, restriction)
            })
            .collect();
        Ok(Rules {
            entries,
            restrictions,
        })
    }

    /// How the IP and endpoint checks treat a key's last call under these rules.
    fn verdicts(&self, key: &RecentKey, now: DateTime<Utc>) -> (Verdict, Verdict) {
        let facts = Facts {
            key: KeyFacts {
                id: key.id,
                name: key.name.clone(),
                org_id: Some(OrgId(0)),
                user_id: key.user_id,
                revoked_at: None,
                expires_at: None,
                user_active: true,
                role: Some(key.role),
            },
            org: Some(OrgFacts {
                name: String::new(),
                active: true,
                cancelled: false,
                inference_left: i64::MAX,
                embedding_left: i64::MAX,
            }),
            team: None,
            ip_entries: self.entries.clone(),
            restrictions: self
                .restrictions
                .iter()
                .filter(|(user, _)| user.is_none_or(|u| u == key.user_id))
                .map(|(_, r)| r.clone())
                .collect(),
            endpoint_known: true,
            model: Some(ModelFacts {
                kind: TokenKind::Inference,
                allowed: true,
            }),
        };
        let call = Call {
            endpoint: key.last_endpoint.as_deref().unwrap_or_default(),
            model: "",
            team: None,
            ip: key
                .last_ip
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok()),
            now,
            secret: Secret::NotChecked,
        };
        let trace = policy::decide(Some(&facts), &call);
        let verdict_of = |check| {
            trace
                .steps
                .iter()
                .find(|s| s.check == check)
                .map_or(Verdict::Passed, |s| s.verdict)
        };
        (verdict_of(Check::Ip), verdict_of(Check::Endpoint))
    }
}

/// Tries the keys used lately against the rules now and as `change` would leave them.
async fn impact(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut Rules),
) -> Result<Impact, AppError> {
    let before = Rules::load(conn, ctx.org_id).await?;
    let mut after = before.clone();
    change(&mut after);
    let keys =
        api_keys::used_since(conn, ctx.org_id, now - ACTIVE_WITHIN, now, ACTIVE_TRIED).await?;
    let mut impact = Impact {
        active: keys.len(),
        ..Impact::default()
    };
    let denies = |v: Verdict| matches!(v, Verdict::Failed(_));
    let counts = |v: Verdict| v == Verdict::WouldDeny;
    for key in keys {
        let (ip_before, endpoint_before) = before.verdicts(&key, now);
        let (ip_after, endpoint_after) = after.verdicts(&key, now);
        if (denies(ip_after) && !denies(ip_before))
            || (denies(endpoint_after) && !denies(endpoint_before))
        {
            impact.denied.push(key);
        } else if (counts(ip_after) && !counts(ip_before))
            || (counts(endpoint_after) && !counts(endpoint_before))
        {
            impact.counted.push(key);
        }
    }
    Ok(impact)
}

/// The Add IP entry form as typed.
#[derive(Debug, Clone, Default)]
pub struct IpEntryForm {
    pub network: String,
    pub label: String,
    /// Empty: every endpoint.
    pub endpoint: String,
    pub report_only: bool,
    /// The person saw which keys it would start denying, and saves anyway.
    pub confirmed: bool,
}

#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn add_ip_entry(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    form: &IpEntryForm,
    now: DateTime<Utc>,
) -> Result<Change, AppError> {
    require(ctx, Permission::ManageAccessPolicies)?;
    let mut errors = FieldErrors::default();
    let network = errors.check("network", IpNetwork::parse(&form.network));
    let label = errors.check("label", OptionalText::parse(&form.label, 100));
    let endpoints = access_policies::endpoints(conn).await?;
    let endpoint = match form.endpoint.as_str() {
        "" => None,
        chosen if endpoints.iter().any(|(name, _)| name == chosen) => Some(chosen.to_owned()),
        _ => {
            errors.add("endpoint", "Choose an endpoint from the list.");
            None
        }
    };
    let (Some(network), Some(label)) = (network, label) else {
        return Ok(Change::Invalid(errors));
    };
    if !errors.is_empty() {
        return Ok(Change::Invalid(errors));
    }
    if !form.confirmed {
        let entry = IpEntry {
            id: 0,
            network,
            endpoint: endpoint.clone(),
            report_only: form.report_only,
        };
        let impact = impact(conn, ctx, now, |rules| rules.entries.push(entry)).await?;
        if !impact.is_empty() {
            return Ok(Change::Confirm(impact));
        }
    }
    let shown = network.to_string();
    let label = label.into_inner();
    let saved = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let actor = current_actor(conn, ctx).await?;
            require(&actor, Permission::ManageAccessPolicies).map_err(TxError::Rejected)?;
            let new = NewIpEntry {
                org_id: ctx.org_id,
                network: &shown,
                label: &label,
                endpoint: endpoint.as_deref(),
                report_only: form.report_only,
                created_by: ctx.user.id,
                at: now,
            };
            if access_policies::insert_ip_entry(conn, &new)
                .await?
                .is_none()
            {
                return Ok(false);
            }
            let who = actor.actor();
            let entry = audit::NewAuditEntry {
                after: Some(serde_json::json!({
                    "network": shown,
                    "label": label,
                    "endpoint": endpoint,
                    "report_only": form.report_only,
                })),
                ..who.audit_org("access_policy.ip_added", ctx.org_id, &shown)
            };
            audit::record(conn, &entry).await?;
            Ok(true)
        })
        .await
        .map_err(rejected)?;
    if !saved {
        errors.add(
            "network",
            "This network is already listed for this endpoint.",
        );
        return Ok(Change::Invalid(errors));
    }
    Ok(Change::Saved(format!(
        "{shown} was added to the allowlist."
    )))
}

/// Removing or enforcing a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    Remove,
    Enforce,
}

#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn change_ip_entry(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    id: i64,
    action: RuleAction,
    confirmed: bool,
    now: DateTime<Utc>,
) -> Result<Change, AppError> {
    require(ctx, Permission::ManageAccessPolicies)?;
    let exists = access_policies::ip_entries(conn, ctx.org_id)
        .await?
        .iter()
        .any(|e| e.id == id);
    if !exists {
        return Err(AppError::NotFound);
    }
    if !confirmed {
        let impact = impact(conn, ctx, now, |rules| match action {
            RuleAction::Remove => rules.entries.retain(|e| e.id != id),
            RuleAction::Enforce => rules
                .entries
                .iter_mut()
                .filter(|e| e.id == id)
                .for_each(|e| e.report_only = false),
        })
        .await?;
        if !impact.denied.is_empty() {
            return Ok(Change::Confirm(impact));
        }
    }
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let actor = current_actor(conn, ctx).await?;
        require(&actor, Permission::ManageAccessPolicies).map_err(TxError::Rejected)?;
        let network = match action {
            RuleAction::Remove => access_policies::delete_ip_entry(conn, ctx.org_id, id).await?,
            RuleAction::Enforce => access_policies::enforce_ip_entry(conn, ctx.org_id, id).await?,
        }
        .ok_or(diesel::result::Error::NotFound)?;
        let (verb, done) = match action {
            RuleAction::Remove => ("access_policy.ip_removed", "was removed from the allowlist"),
            RuleAction::Enforce => {
                api_keys::clear_would_deny(conn, ctx.org_id, "ip").await?;
                ("access_policy.ip_enforced", "is enforced from now on")
            }
        };
        let who = actor.actor();
        audit::record(conn, &who.audit_org(verb, ctx.org_id, &network)).await?;
        Ok(Change::Saved(format!("{network} {done}.")))
    })
    .await
    .map_err(rejected)
}

/// The endpoint restriction form as typed.
#[derive(Debug, Clone, Default)]
pub struct RestrictionForm {
    /// A member's email; empty: the whole organization.
    pub member: String,
    pub endpoints: Vec<String>,
    pub report_only: bool,
    pub confirmed: bool,
}

#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn set_restriction(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    form: &RestrictionForm,
    now: DateTime<Utc>,
) -> Result<Change, AppError> {
    require(ctx, Permission::ManageAccessPolicies)?;
    let mut errors = FieldErrors::default();
    let member = match form.member.trim() {
        "" => None,
        typed => match EmailAddress::parse(typed) {
            Ok(email) => match users::find_by_email(conn, email.as_str()).await? {
                Some(user)
                    if memberships::find(conn, ctx.org_id, user.id)
                        .await?
                        .is_some() =>
                {
                    Some((user.id, user.email))
                }
                _ => {
                    errors.add("member", "No member of this organization has this email.");
                    None
                }
            },
            Err(e) => {
                errors.add("member", e.to_string());
                None
            }
        },
    };
    let catalogue = access_policies::endpoints(conn).await?;
    let mut chosen: Vec<String> = Vec::new();
    for endpoint in &form.endpoints {
        if !catalogue.iter().any(|(name, _)| name == endpoint) {
            errors.add("endpoints", "Choose endpoints from the list.");
            break;
        }
        if !chosen.contains(endpoint) {
            chosen.push(endpoint.clone());
        }
    }
    if chosen.is_empty() && errors.get("endpoints").is_none() {
        errors.add(
            "endpoints",
            "Tick at least one endpoint to allow; to lift the restriction, remove it.",
        );
    }
    if !errors.is_empty() {
        return Ok(Change::Invalid(errors));
    }
    let user_id = member.as_ref().map(|(id, _)| *id);
    if !form.confirmed {
        let restriction = Restriction {
            id: 0,
            for_member: user_id.is_some(),
            endpoints: chosen.clone(),
            report_only: form.report_only,
        };
        let impact = impact(conn, ctx, now, |rules| {
            rules.restrictions.retain(|(user, _)| *user != user_id);
            rules.restrictions.push((user_id, restriction));
        })
        .await?;
        if !impact.is_empty() {
            return Ok(Change::Confirm(impact));
        }
    }
    let whose = member.as_ref().map_or_else(
        || "the whole organization".to_owned(),
        |(_, email)| email.clone(),
    );
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let actor = current_actor(conn, ctx).await?;
        require(&actor, Permission::ManageAccessPolicies).map_err(TxError::Rejected)?;
        if let Some(user_id) = user_id
            && memberships::find_shared(conn, ctx.org_id, user_id)
                .await?
                .is_none()
        {
            return Err(TxError::Rejected(Denied(
                "This person is no longer a member.",
            )));
        }
        let (_, before) = access_policies::set_restriction(
            conn,
            ctx.org_id,
            user_id,
            &chosen,
            form.report_only,
            ctx.user.id,
            now,
        )
        .await?;
        let who = actor.actor();
        let entry = audit::NewAuditEntry {
            before: (!before.is_empty()).then(|| serde_json::json!({ "allowed": before })),
            after: Some(serde_json::json!({ "allowed": chosen, "report_only": form.report_only })),
            ..who.audit_org("access_policy.restriction_set", ctx.org_id, &whose)
        };
        audit::record(conn, &entry).await?;
        Ok(Change::Saved(format!(
            "The endpoints allowed to {whose} were saved."
        )))
    })
    .await
    .map_err(rejected)
}

#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn change_restriction(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    id: i64,
    action: RuleAction,
    confirmed: bool,
    now: DateTime<Utc>,
) -> Result<Change, AppError> {
    require(ctx, Permission::ManageAccessPolicies)?;
    let exists = access_policies::restrictions(conn, ctx.org_id)
        .await?
        .iter()
        .any(|r| r.id == id);
    if !exists {
        return Err(AppError::NotFound);
    }
    if !confirmed && action == RuleAction::Enforce {
        let impact = impact(conn, ctx, now, |rules| {
            rules
                .restrictions
                .iter_mut()
                .filter(|(_, r)| r.id == id)
                .for_each(|(_, r)| r.report_only = false);
        })
        .await?;
        if !impact.denied.is_empty() {
            return Ok(Change::Confirm(impact));
        }
    }
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let actor = current_actor(conn, ctx).await?;
        require(&actor, Permission::ManageAccessPolicies).map_err(TxError::Rejected)?;
        let user = match action {
            RuleAction::Remove => access_policies::delete_restriction(conn, ctx.org_id, id).await?,
            RuleAction::Enforce => {
                api_keys::clear_would_deny(conn, ctx.org_id, "endpoint").await?;
                access_policies::enforce_restriction(conn, ctx.org_id, id).await?
            }
        }
        .ok_or(diesel::result::Error::NotFound)?;
        let whose = match user {
            Some(user_id) => users::find(conn, user_id)
                .await?
                .map_or_else(String::new, |u| u.email),
            None => "the whole organization".to_owned(),
        };
        let (verb, done) = match action {
            RuleAction::Remove => ("access_policy.restriction_removed", "was lifted"),
            RuleAction::Enforce => (
                "access_policy.restriction_enforced",
                "is enforced from now on",
            ),
        };
        let who = actor.actor();
        audit::record(conn, &who.audit_org(verb, ctx.org_id, &whose)).await?;
        Ok(Change::Saved(format!(
            "The endpoint restriction of {whose} {done}."
        )))
    })
    .await
    .map_err(rejected)
}

/// The "Why was this denied?" form as typed.
#[derive(Debug, Clone, Default)]
pub struct ExplainForm {
    pub key: String,
    pub endpoint: String,
    pub model: String,
    pub ip: String,
    /// The team the call is made for (its id), or empty.
    pub team: String,
}

pub enum Explained {
    Trace { key: Box<ApiKey>, trace: Trace },
    Invalid(FieldErrors),
}

/// Runs a call with one of the organization's keys (by prefix) through the policy API's
/// decision, recording nothing.
#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn explain(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    form: &ExplainForm,
    now: DateTime<Utc>,
) -> Result<Explained, AppError> {
    require(ctx, Permission::ManageAccessPolicies)?;
    let mut errors = FieldErrors::default();
    let key = match parse_prefix(&form.key) {
        Some(prefix) => api_keys::find_by_prefix(conn, ctx.org_id, &prefix).await?,
        None => None,
    };
    if key.is_none() {
        errors.add(
            "key",
            "No key of this organization has this prefix (it starts with ghk_).",
        );
    }
    for (field, value) in [("endpoint", &form.endpoint), ("model", &form.model)] {
        if value.trim().is_empty() || value.len() > 200 || value.chars().any(char::is_control) {
            errors.add(field, "Enter 1 to 200 printable characters.");
        }
    }
    let ip = match form.ip.trim().parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            errors.add("ip", "Enter the IPv4 or IPv6 address the call came from.");
            None
        }
    };
    let team = match form.team.trim() {
        "" => None,
        team => match team.parse::<i64>() {
            Ok(team) => Some(team),
            Err(_) => {
                errors.add("team", "Enter the team's number, or leave it empty.");
                None
            }
        },
    };
    let Some(key) = key.filter(|_| errors.is_empty()) else {
        return Ok(Explained::Invalid(errors));
    };
    let asked = Asked {
        endpoint: form.endpoint.trim(),
        model: form.model.trim(),
        team,
        ip,
    };
    let (_, trace) = gateway::explain(conn, &key.prefix, &asked, now)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Explained::Trace {
        key: Box::new(key),
        trace,
    })
}
