//! What the platform's gateway may do with an API key (SPEC §6): the checks in their order —
//! key, organization, IP, endpoint, model, limits — each saying what it found. The policy API
//! answers from the first that fails; the console's "Why was this denied?" shows every step of
//! the same trace. Pure: the facts are read by `services::policy`, which also records what a
//! decision leaves behind.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{IpNetwork, OrgId, OrgRole, TokenKind, UserId};

/// A denial's stable, machine-readable reason. Unknown and revoked keys are one reason, so a
/// caller cannot tell which keys ever existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    KeyInvalid,
    KeyExpired,
    OrgInactive,
    IpNotAllowed,
    EndpointNotAllowed,
    ModelNotAllowed,
    LimitExceeded,
    /// The call names a team that is not one of the key holder's active teams.
    TeamNotAllowed,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::KeyInvalid => "key_invalid",
            Reason::KeyExpired => "key_expired",
            Reason::OrgInactive => "org_inactive",
            Reason::IpNotAllowed => "ip_not_allowed",
            Reason::EndpointNotAllowed => "endpoint_not_allowed",
            Reason::ModelNotAllowed => "model_not_allowed",
            Reason::LimitExceeded => "limit_exceeded",
            Reason::TeamNotAllowed => "team_not_allowed",
        }
    }
}

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Key,
    Organization,
    Ip,
    Endpoint,
    Model,
    Limits,
}

impl Check {
    pub const ALL: [Check; 6] = [
        Check::Key,
        Check::Organization,
        Check::Ip,
        Check::Endpoint,
        Check::Model,
        Check::Limits,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Check::Key => "Key",
            Check::Organization => "Organization",
            Check::Ip => "IP allowlist",
            Check::Endpoint => "Endpoint restrictions",
            Check::Model => "Model access",
            Check::Limits => "Limits",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "reason")]
pub enum Verdict {
    Passed,
    /// Passed, but a report-only rule would have denied it: counted, not enforced.
    WouldDeny,
    Failed(Reason),
    /// An earlier check decided.
    NotReached,
}

/// The rule a step stands on, for a link to where it is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "id")]
pub enum Rule {
    Key(i64),
    IpEntry(i64),
    Restriction(i64),
    ModelAccess,
    Credits,
    TeamBudget(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub check: Check,
    pub verdict: Verdict,
    pub detail: String,
    pub rule: Option<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub steps: Vec<Step>,
}

impl Trace {
    /// The step that denied the call, if one did.
    pub fn denial(&self) -> Option<(Reason, &Step)> {
        self.steps.iter().find_map(|step| match step.verdict {
            Verdict::Failed(reason) => Some((reason, step)),
            _ => None,
        })
    }

    /// The checks a report-only rule would have failed.
    pub fn would_deny(&self) -> impl Iterator<Item = Check> + '_ {
        self.steps
            .iter()
            .filter(|s| s.verdict == Verdict::WouldDeny)
            .map(|s| s.check)
    }
}

/// The key as stored, with its holder's standing now.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    pub id: i64,
    pub name: String,
    pub org_id: Option<OrgId>,
    pub user_id: UserId,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub user_active: bool,
    /// The holder's role in the key's organization; `None` once they are not a member.
    pub role: Option<OrgRole>,
}

#[derive(Debug, Clone)]
pub struct OrgFacts {
    pub name: String,
    pub active: bool,
    pub cancelled: bool,
    pub inference_left: i64,
    pub embedding_left: i64,
}

#[derive(Debug, Clone)]
pub struct IpEntry {
    pub id: i64,
    pub network: IpNetwork,
    /// Only calls to this endpoint are held to the entry; `None`: every endpoint.
    pub endpoint: Option<String>,
    pub report_only: bool,
}

#[derive(Debug, Clone)]
pub struct Restriction {
    pub id: i64,
    /// For one member; otherwise organization-wide (which spares the owner).
    pub for_member: bool,
    pub endpoints: Vec<String>,
    pub report_only: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct ModelFacts {
    pub kind: TokenKind,
    /// On the organization's allowlist (always, for a personal key: the whole catalogue).
    pub allowed: bool,
}

/// The team a call is made for, as the key's holder stands in it.
#[derive(Debug, Clone)]
pub struct TeamFacts {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub holder_is_member: bool,
    /// Tokens of each kind assigned to the team and not yet used; `None`: none assigned, so
    /// only the organization's limit applies.
    pub inference_left: Option<i64>,
    pub embedding_left: Option<i64>,
}

impl TeamFacts {
    pub fn tokens_left(&self, kind: TokenKind) -> Option<i64> {
        match kind {
            TokenKind::Inference => self.inference_left,
            TokenKind::Embedding => self.embedding_left,
        }
    }
}

/// Everything a decision reads, in one load.
#[derive(Debug, Clone)]
pub struct Facts {
    pub key: KeyFacts,
    pub org: Option<OrgFacts>,
    /// The team the call names, if it is one of the key's organization's.
    pub team: Option<TeamFacts>,
    pub ip_entries: Vec<IpEntry>,
    pub restrictions: Vec<Restriction>,
    pub endpoint_known: bool,
    /// `None`: not in the catalogue.
    pub model: Option<ModelFacts>,
}

/// Whether the key's secret was compared with the stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    Matched,
    Mismatched,
    /// The console tests a key by its prefix: whoever asks manages it and has no secret.
    NotChecked,
}

/// What is asked.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub endpoint: &'a str,
    pub model: &'a str,
    /// The team the call is made for, when the gateway names one.
    pub team: Option<i64>,
    pub ip: Option<IpAddr>,
    pub now: DateTime<Utc>,
    pub secret: Secret,
}

/// Runs every check in order; the first failure decides and the rest are not reached.
pub fn decide(facts: Option<&Facts>, call: &Call) -> Trace {
    let mut steps = Vec::with_capacity(Check::ALL.len());
    let mut decided = false;
    for check in Check::ALL {
        if decided {
            steps.push(Step {
                check,
                verdict: Verdict::NotReached,
                detail: "Not reached: an earlier check decided.".to_owned(),
                rule: None,
            });
            continue;
        }
        let step = match (check, facts) {
            (Check::Key, facts) => key_check(facts, call),
            (_, None) => unreachable_step(check),
            (Check::Organization, Some(f)) => organization_check(f),
            (Check::Ip, Some(f)) => ip_check(f, call),
            (Check::Endpoint, Some(f)) => endpoint_check(f, call),
            (Check::Model, Some(f)) => model_check(f, call),
            (Check::Limits, Some(f)) => limits_check(f, call),
        };
        decided = matches!(step.verdict, Verdict::Failed(_));
        steps.push(step);
    }
    Trace { steps }
}

fn step(check: Check, verdict: Verdict, detail: impl Into<String>, rule: Option<Rule>) -> Step {
    Step {
        check,
        verdict,
        detail: detail.into(),
        rule,
    }
}

fn unreachable_step(check: Check) -> Step {
    step(check, Verdict::NotReached, "Not reached.", None)
}

fn key_check(facts: Option<&Facts>, call: &Call) -> Step {
    let fail = |detail: &str, rule| {
        step(
            Check::Key,
            Verdict::Failed(Reason::KeyInvalid),
            detail,
            rule,
        )
    };
    let Some(facts) = facts else {
        return fail("No key has this prefix.", None);
    };
    let key = &facts.key;
    let rule = Some(Rule::Key(key.id));
    if call.secret == Secret::Mismatched {
        return fail("The key's secret does not match.", None);
    }
    if let Some(at) = key.revoked_at {
        return fail(
            &format!(
                "“{}” was revoked on {}.",
                key.name,
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            rule,
        );
    }
    if !key.user_active {
        return fail("The account holding the key is disabled.", rule);
    }
    if key.org_id.is_some() && key.role.is_none() {
        return fail(
            "The key's holder is no longer a member of the organization.",
            rule,
        );
    }
    if let Some(at) = key.expires_at.filter(|at| *at <= call.now) {
        let detail = format!(
            "“{}” expired on {}.",
            key.name,
            at.format("%Y-%m-%d %H:%M UTC")
        );
        return step(
            Check::Key,
            Verdict::Failed(Reason::KeyExpired),
            detail,
            rule,
        );
    }
    let checked = match call.secret {
        Secret::NotChecked => " (tested by its prefix: the secret was not checked)",
        _ => "",
    };
    step(
        Check::Key,
        Verdict::Passed,
        format!("“{}” is valid{checked}.", key.name),
        rule,
    )
}

fn organization_check(facts: &Facts) -> Step {
    let Some(org) = &facts.org else {
        return step(
            Check::Organization,
            Verdict::Passed,
            "A personal key: no organization's rules apply.",
            None,
        );
    };
    let owner = facts.key.role == Some(OrgRole::Owner);
    if org.cancelled && owner {
        return step(
            Check::Organization,
            Verdict::Passed,
            format!(
                "{} is cancelled; its owner may still use the remaining credits.",
                org.name
            ),
            None,
        );
    }
    if org.cancelled || !org.active {
        return step(
            Check::Organization,
            Verdict::Failed(Reason::OrgInactive),
            format!("{} is not active.", org.name),
            None,
        );
    }
    step(
        Check::Organization,
        Verdict::Passed,
        format!("{} is active.", org.name),
        None,
    )
}

fn ip_check(facts: &Facts, call: &Call) -> Step {
    if facts.org.is_none() {
        return step(
            Check::Ip,
            Verdict::Passed,
            "A personal key: no IP allowlist.",
            None,
        );
    }
    let applies = |e: &&IpEntry| {
        e.endpoint
            .as_deref()
            .is_none_or(|only| only == call.endpoint)
    };
    let applicable: Vec<&IpEntry> = facts.ip_entries.iter().filter(applies).collect();
    if applicable.is_empty() {
        return step(
            Check::Ip,
            Verdict::Passed,
            format!(
                "No allowlist entry applies to {}: any address may call.",
                call.endpoint
            ),
            None,
        );
    }
    let from = call.ip.map_or_else(
        || "an unknown address".to_owned(),
        |ip| ip.to_canonical().to_string(),
    );
    let matching = |entry: &&IpEntry| call.ip.is_some_and(|ip| entry.network.contains(ip));
    let enforced: Vec<&IpEntry> = applicable
        .iter()
        .copied()
        .filter(|e| !e.report_only)
        .collect();
    if let Some(entry) = enforced.iter().find(|e| matching(e)) {
        return step(
            Check::Ip,
            Verdict::Passed,
            format!("{from} is inside {}.", entry.network),
            Some(Rule::IpEntry(entry.id)),
        );
    }
    if !enforced.is_empty() {
        return step(
            Check::Ip,
            Verdict::Failed(Reason::IpNotAllowed),
            format!(
                "{from} is outside every allowlist entry for {}.",
                call.endpoint
            ),
            enforced.first().map(|e| Rule::IpEntry(e.id)),
        );
    }
    // Only report-only entries apply: they would deny a caller outside all of them.
    match applicable.iter().find(|e| matching(e)) {
        Some(entry) => step(
            Check::Ip,
            Verdict::Passed,
            format!("{from} is inside {} (report only).", entry.network),
            Some(Rule::IpEntry(entry.id)),
        ),
        None => step(
            Check::Ip,
            Verdict::WouldDeny,
            format!("{from} is outside the report-only entries: allowed, and counted."),
            applicable.first().map(|e| Rule::IpEntry(e.id)),
        ),
    }
}

fn endpoint_check(facts: &Facts, call: &Call) -> Step {
    if !facts.endpoint_known {
        return step(
            Check::Endpoint,
            Verdict::Failed(Reason::EndpointNotAllowed),
            format!("{:?} is not in the endpoint catalogue.", call.endpoint),
            None,
        );
    }
    let owner = facts.key.role == Some(OrgRole::Owner);
    let binding = facts
        .restrictions
        .iter()
        .filter(|r| r.for_member || !owner)
        .filter(|r| !r.endpoints.iter().any(|e| e == call.endpoint));
    let mut would_deny = None;
    for restriction in binding {
        let whose = if restriction.for_member {
            "this member's"
        } else {
            "the organization-wide"
        };
        let rule = Some(Rule::Restriction(restriction.id));
        if restriction.report_only {
            would_deny.get_or_insert(step(
                Check::Endpoint,
                Verdict::WouldDeny,
                format!(
                    "{} is not on {whose} report-only allowlist: allowed, and counted.",
                    call.endpoint
                ),
                rule,
            ));
        } else {
            return step(
                Check::Endpoint,
                Verdict::Failed(Reason::EndpointNotAllowed),
                format!("{} is not on {whose} allowlist.", call.endpoint),
                rule,
            );
        }
    }
    would_deny.unwrap_or_else(|| {
        let detail = if owner && facts.restrictions.iter().any(|r| !r.for_member) {
            format!(
                "{} is allowed: organization-wide restrictions spare the owner.",
                call.endpoint
            )
        } else {
            format!("{} is allowed.", call.endpoint)
        };
        step(Check::Endpoint, Verdict::Passed, detail, None)
    })
}

fn model_check(facts: &Facts, call: &Call) -> Step {
    match facts.model {
        None => step(
            Check::Model,
            Verdict::Failed(Reason::ModelNotAllowed),
            format!("{:?} is not in the model catalogue.", call.model),
            None,
        ),
        Some(model) if !model.allowed => step(
            Check::Model,
            Verdict::Failed(Reason::ModelNotAllowed),
            format!(
                "{} is not on the organization's model allowlist.",
                call.model
            ),
            Some(Rule::ModelAccess),
        ),
        Some(_) => step(
            Check::Model,
            Verdict::Passed,
            format!("{} is allowed.", call.model),
            None,
        ),
    }
}

fn limits_check(facts: &Facts, call: &Call) -> Step {
    let team = match (call.team, &facts.team) {
        (None, _) => None,
        (Some(_), Some(team)) if team.active && team.holder_is_member => Some(team),
        (Some(id), team) => {
            let detail = match team {
                None => format!("Team {id} is not a team of the key's organization."),
                Some(team) if !team.active => format!("{} is deactivated.", team.name),
                Some(team) => format!("The key's holder is not a member of {}.", team.name),
            };
            return step(
                Check::Limits,
                Verdict::Failed(Reason::TeamNotAllowed),
                detail,
                team.as_ref().map(|t| Rule::TeamBudget(t.id)),
            );
        }
    };
    let (Some(org), Some(model)) = (&facts.org, facts.model) else {
        return step(
            Check::Limits,
            Verdict::Passed,
            "A personal key: no shared limits.",
            None,
        );
    };
    let kind = model.kind.label().to_lowercase();
    let left = tokens_left(org, model.kind);
    if left <= 0 {
        return step(
            Check::Limits,
            Verdict::Failed(Reason::LimitExceeded),
            format!("No {kind} tokens are left of those purchased."),
            Some(Rule::Credits),
        );
    }
    let Some((team, team_left)) = team.and_then(|t| Some((t, t.tokens_left(model.kind)?))) else {
        return step(
            Check::Limits,
            Verdict::Passed,
            format!("{left} {kind} tokens left."),
            Some(Rule::Credits),
        );
    };
    if team_left <= 0 {
        return step(
            Check::Limits,
            Verdict::Failed(Reason::LimitExceeded),
            format!("{}'s budget of {kind} tokens is used up.", team.name),
            Some(Rule::TeamBudget(team.id)),
        );
    }
    step(
        Check::Limits,
        Verdict::Passed,
        format!(
            "{team_left} {kind} tokens left of {}'s budget, {left} of the organization's.",
            team.name
        ),
        Some(Rule::TeamBudget(team.id)),
    )
}

/// What a call may still use of this kind: the organization's tokens left, and the team's
/// budget left when the call names a team with one.
pub fn remaining(facts: &Facts, call: &Call, kind: TokenKind) -> Option<i64> {
    let org = tokens_left(facts.org.as_ref()?, kind);
    let team = call
        .team
        .and(facts.team.as_ref())
        .and_then(|team| team.tokens_left(kind));
    Some(team.map_or(org, |team| team.min(org)))
}

/// The organization's tokens of this kind not yet used.
pub fn tokens_left(org: &OrgFacts, kind: TokenKind) -> i64 {
    match kind {
        TokenKind::Inference => org.inference_left,
        TokenKind::Embedding => org.embedding_left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .expect("time")
            .to_utc()
    }

    fn facts(role: OrgRole) -> Facts {
        Facts {
            key: KeyFacts {
                id: 1,
                name: "CI".to_owned(),
                org_id: Some(OrgId(7)),
                user_id: UserId(3),
                revoked_at: None,
                expires_at: None,
                user_active: true,
                role: Some(role),
            },
            org: Some(OrgFacts {
                name: "Acme".to_owned(),
                active: true,
                cancelled: false,
                inference_left: 100,
                embedding_left: 0,
            }),
            team: None,
            ip_entries: Vec::new(),
            restrictions: Vec::new(),
            endpoint_known: true,
            model: Some(ModelFacts {
                kind: TokenKind::Inference,
                allowed: true,
            }),
        }
    }

    fn call(ip: &str) -> Call<'static> {
        Call {
            endpoint: "chat_completions",
            model: "gpt-4o",
            team: None,
            ip: Some(ip.parse().expect("ip")),
            now: now(),
            secret: Secret::Matched,
        }
    }

    fn reason(facts: &Facts, call: &Call) -> Option<Reason> {
        decide(Some(facts), call).denial().map(|(r, _)| r)
    }

    fn entry(id: i64, network: &str, endpoint: Option<&str>, report_only: bool) -> IpEntry {
        IpEntry {
            id,
            network: IpNetwork::parse(network).expect("network"),
            endpoint: endpoint.map(str::to_owned),
            report_only,
        }
    }

    #[test]
    fn a_valid_key_passes_every_check_in_order() {
        let trace = decide(Some(&facts(OrgRole::Member)), &call("10.0.0.1"));
        assert_eq!(
            trace.steps.iter().map(|s| s.check).collect::<Vec<_>>(),
            Check::ALL
        );
        assert!(
            trace.steps.iter().all(|s| s.verdict == Verdict::Passed),
            "{trace:?}"
        );
        assert!(trace.denial().is_none());
    }

    #[test]
    fn the_first_failure_decides_and_the_rest_are_not_reached() {
        let trace = decide(None, &call("10.0.0.1"));
        assert_eq!(trace.denial().map(|(r, _)| r), Some(Reason::KeyInvalid));
        assert!(
            trace.steps[1..]
                .iter()
                .all(|s| s.verdict == Verdict::NotReached)
        );

        let mut f = facts(OrgRole::Member);
        f.key.expires_at = Some(now());
        assert_eq!(reason(&f, &call("10.0.0.1")), Some(Reason::KeyExpired));
        f.key.revoked_at = Some(now());
        assert_eq!(
            reason(&f, &call("10.0.0.1")),
            Some(Reason::KeyInvalid),
            "revoked is invalid"
        );
        let mut gone = facts(OrgRole::Member);
        gone.key.role = None;
        assert_eq!(reason(&gone, &call("10.0.0.1")), Some(Reason::KeyInvalid));
        let mismatched = Call {
            secret: Secret::Mismatched,
            ..call("10.0.0.1")
        };
        assert_eq!(
            reason(&facts(OrgRole::Owner), &mismatched),
            Some(Reason::KeyInvalid)
        );
    }

    #[test]
    fn a_call_for_a_team_needs_its_holder_in_it_and_its_budget_left() {
        let mut f = facts(OrgRole::Member);
        let for_team = Call {
            team: Some(4),
            ..call("10.0.0.1")
        };
        assert_eq!(
            reason(&f, &for_team),
            Some(Reason::TeamNotAllowed),
            "another organization's team"
        );
        let team = TeamFacts {
            id: 4,
            name: "Data".to_owned(),
            active: true,
            holder_is_member: true,
            inference_left: Some(10),
            embedding_left: None,
        };
        f.team = Some(TeamFacts {
            holder_is_member: false,
            ..team.clone()
        });
        assert_eq!(reason(&f, &for_team), Some(Reason::TeamNotAllowed));
        f.team = Some(TeamFacts {
            active: false,
            ..team.clone()
        });
        assert_eq!(reason(&f, &for_team), Some(Reason::TeamNotAllowed));
        f.team = Some(team.clone());
        assert_eq!(reason(&f, &for_team), None);
        assert_eq!(remaining(&f, &for_team, TokenKind::Inference), Some(10));
        assert_eq!(
            remaining(&f, &call("10.0.0.1"), TokenKind::Inference),
            Some(100)
        );
        f.team = Some(TeamFacts {
            inference_left: Some(0),
            ..team.clone()
        });
        let denied = decide(Some(&f), &for_team);
        let (reason, step) = denied.denial().expect("denied");
        assert_eq!(reason, Reason::LimitExceeded);
        assert_eq!(step.rule, Some(Rule::TeamBudget(4)));
        assert_eq!(
            self::reason(&f, &call("10.0.0.1")),
            None,
            "the team's budget holds only calls made for it"
        );
        // No budget of the kind assigned: the organization's limit alone applies.
        f.team = Some(TeamFacts {
            inference_left: None,
            ..team
        });
        assert_eq!(remaining(&f, &for_team, TokenKind::Inference), Some(100));
    }

    #[test]
    fn a_cancelled_organization_serves_only_its_owner() {
        for (role, expected) in [
            (OrgRole::Owner, None),
            (OrgRole::Admin, Some(Reason::OrgInactive)),
        ] {
            let mut f = facts(role);
            if let Some(org) = f.org.as_mut() {
                org.cancelled = true;
            }
            assert_eq!(reason(&f, &call("10.0.0.1")), expected, "{role:?}");
        }
    }

    #[test]
    fn ip_entries_scoped_to_an_endpoint_hold_only_calls_to_it() {
        let mut f = facts(OrgRole::Owner);
        f.ip_entries = vec![entry(5, "203.0.113.0/24", Some("fine_tuning"), false)];
        assert_eq!(reason(&f, &call("10.0.0.1")), None, "chat is not held");
        let tuning = Call {
            endpoint: "fine_tuning",
            ..call("10.0.0.1")
        };
        assert_eq!(reason(&f, &tuning), Some(Reason::IpNotAllowed));
        let inside = Call {
            endpoint: "fine_tuning",
            ..call("::ffff:203.0.113.9")
        };
        assert_eq!(reason(&f, &inside), None, "IPv4-mapped counts as IPv4");
        f.ip_entries.push(entry(6, "2001:db8::/32", None, false));
        assert_eq!(reason(&f, &call("10.0.0.1")), Some(Reason::IpNotAllowed));
        assert_eq!(reason(&f, &call("2001:db8::5")), None);
    }

    #[test]
    fn report_only_rules_allow_but_say_they_would_deny() {
        let mut f = facts(OrgRole::Member);
        f.ip_entries = vec![entry(5, "203.0.113.0/24", None, true)];
        f.restrictions = vec![Restriction {
            id: 9,
            for_member: false,
            endpoints: vec!["embeddings".to_owned()],
            report_only: true,
        }];
        let trace = decide(Some(&f), &call("10.0.0.1"));
        assert!(trace.denial().is_none());
        assert_eq!(
            trace.would_deny().collect::<Vec<_>>(),
            [Check::Ip, Check::Endpoint]
        );
        assert!(
            decide(Some(&f), &call("203.0.113.4"))
                .would_deny()
                .eq([Check::Endpoint])
        );
    }

    #[test]
    fn organization_wide_restrictions_spare_the_owner_but_not_a_member_restriction() {
        let restricted = |for_member| Restriction {
            id: 9,
            for_member,
            endpoints: vec!["embeddings".to_owned()],
            report_only: false,
        };
        for (role, for_member, expected) in [
            (OrgRole::Owner, false, None),
            (OrgRole::Admin, false, Some(Reason::EndpointNotAllowed)),
            (OrgRole::Member, false, Some(Reason::EndpointNotAllowed)),
            (OrgRole::Owner, true, Some(Reason::EndpointNotAllowed)),
        ] {
            let mut f = facts(role);
            f.restrictions = vec![restricted(for_member)];
            assert_eq!(
                reason(&f, &call("10.0.0.1")),
                expected,
                "{role:?} {for_member}"
            );
        }
        let mut unknown = facts(OrgRole::Owner);
        unknown.endpoint_known = false;
        assert_eq!(
            reason(&unknown, &call("10.0.0.1")),
            Some(Reason::EndpointNotAllowed)
        );
    }

    #[test]
    fn models_and_limits_decide_last() {
        let mut f = facts(OrgRole::Owner);
        f.model = Some(ModelFacts {
            kind: TokenKind::Inference,
            allowed: false,
        });
        assert_eq!(reason(&f, &call("10.0.0.1")), Some(Reason::ModelNotAllowed));
        f.model = None;
        assert_eq!(reason(&f, &call("10.0.0.1")), Some(Reason::ModelNotAllowed));
        f.model = Some(ModelFacts {
            kind: TokenKind::Embedding,
            allowed: true,
        });
        assert_eq!(reason(&f, &call("10.0.0.1")), Some(Reason::LimitExceeded));
    }
}
