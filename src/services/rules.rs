//! Rules several use cases share: the single-organization policy and the domain rules. Create
//! and assign call them today; invite, accept and self-serve create will call them next.

use diesel_async::AsyncPgConnection;

use crate::access::{Actor, Origin};
use crate::domain::OrgRole;
use crate::domain::reference::is_public_email_domain;
use crate::domain::{EmailAddress, OrgId, UserId, normalise_domain};
use crate::models::audit;
use crate::models::memberships::{self, NewMembership};
use crate::models::organizations::{self, Organization};
use crate::models::platform_settings;
use crate::models::users::{self, User};

/// The message of the single-organization policy: it names the policy, never the other organization.
pub const SINGLE_ORG_POLICY: &str = "Already belongs to an organization, and the platform's single-organization-per-account policy allows only one.";

pub const DOMAIN_TAKEN: &str = "Another organization already uses this domain.";

/// Which of these users the single-organization policy keeps out of `org_id` (every one that
/// belongs to another organization, when the policy is on). Callers lock the users first, so a
/// concurrent request cannot add them elsewhere in between.
pub async fn kept_out_by_single_org_policy(
    conn: &mut AsyncPgConnection,
    user_ids: &[UserId],
    org_id: Option<OrgId>,
) -> diesel::QueryResult<Vec<UserId>> {
    if !platform_settings::settings(conn)
        .await?
        .single_org_per_account
    {
        return Ok(Vec::new());
    }
    memberships::users_with_other_memberships(conn, user_ids, org_id.unwrap_or(OrgId(0))).await
}

/// An organization's domain as typed: `None` when blank, or the reason it cannot be one.
pub fn organization_domain(raw: &str) -> Result<Option<String>, String> {
    let raw = raw.trim().trim_start_matches('@');
    if raw.is_empty() {
        return Ok(None);
    }
    match normalise_domain(raw) {
        None => Err("Enter a domain name like example.com.".to_owned()),
        Some(domain) if is_public_email_domain(&domain) => Err(format!(
            "{domain} is a public email provider: it cannot identify one organization."
        )),
        Some(domain) => Ok(Some(domain)),
    }
}

/// With the domain restriction on, only emails of the organization's domain (or, when allowed,
/// its subdomains) may be added.
pub fn domain_allows(org: &Organization, email: &EmailAddress) -> bool {
    let (true, Some(domain)) = (org.restrict_to_domain, org.domain.as_deref()) else {
        return true;
    };
    let email_domain = email.domain();
    email_domain == domain
        || (org.allow_subdomains && email_domain.ends_with(&format!(".{domain}")))
}

/// What a first sign-in did about the organization of the person's email domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainJoin {
    /// No active organization has the domain, or they are in it already.
    Nothing,
    Joined(OrgId),
    /// The single-organization policy kept them out: they belong to another organization.
    KeptOut {
        org_name: String,
    },
}

impl DomainJoin {
    /// What the person is told on signing in, when anything.
    pub fn notice(&self) -> Option<String> {
        match self {
            DomainJoin::KeptOut { org_name } => Some(format!(
                "Your address belongs to {org_name}'s domain, but you were not added to it: \
                 the platform allows one organization per person, and you are in another. \
                 Ask a platform administrator if you should be moved."
            )),
            _ => None,
        }
    }
}

/// Seed 002: a user whose email is of an organization's domain (set by a super admin) joins it
/// as a member when they first sign in or register, unless the single-organization policy keeps
/// them out (then they are told why). Runs in the caller's transaction: the user's row, then the
/// organization's, stay locked to its end (the order every join takes), so a concurrent
/// invitation or assignment cannot add them elsewhere in between.
pub async fn join_by_domain(
    conn: &mut AsyncPgConnection,
    user: &User,
    origin: &Origin,
) -> diesel::QueryResult<DomainJoin> {
    let Ok(email) = EmailAddress::parse(&user.email) else {
        return Ok(DomainJoin::Nothing);
    };
    let Some((org_id, org_name)) =
        organizations::id_and_name_by_domain(conn, email.domain()).await?
    else {
        return Ok(DomainJoin::Nothing);
    };
    users::lock_by_emails(conn, std::slice::from_ref(&user.email)).await?;
    // Cancelled since it was found: it takes no new members.
    if !organizations::lock_if_active(conn, org_id).await? {
        return Ok(DomainJoin::Nothing);
    }
    if memberships::find(conn, org_id, user.id).await?.is_some() {
        return Ok(DomainJoin::Nothing);
    }
    if !kept_out_by_single_org_policy(conn, &[user.id], Some(org_id))
        .await?
        .is_empty()
    {
        return Ok(DomainJoin::KeptOut { org_name });
    }
    let new = NewMembership {
        org_id,
        user_id: user.id,
        role: OrgRole::Member,
    };
    if memberships::insert_many(conn, &[new]).await? == 0 {
        return Ok(DomainJoin::Nothing);
    }
    // The console decides, on the request of the person signing in.
    let system = Actor {
        ip: origin.ip.clone(),
        request_id: origin.request_id.clone(),
        ..Actor::system()
    };
    let entry = audit::NewAuditEntry {
        after: Some(
            serde_json::json!({ "role": "member", "by": "domain", "organization": org_name }),
        ),
        ..system.audit_org("member.joined_by_domain", org_id, &user.email)
    };
    audit::record(conn, &entry).await?;
    Ok(DomainJoin::Joined(org_id))
}
