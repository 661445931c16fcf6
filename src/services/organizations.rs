//! Organizations: the super administrator's table, Add Organization, the Manage dialog's tabs
//! (details, assign users, models), and what every member sees of their own organization.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;

use crate::domain::reference::{country_name, is_public_email_domain};
use crate::domain::{
    EmailAddress, FieldErrors, OrgId, OrgRole, PlatformRole, RequiredText, UserId, normalise_domain,
};
use crate::models::memberships::{self, Membership, NewMembership};
use crate::models::organizations::{self, ListQuery, Organization, OrganizationFields};
use crate::models::users::{self, NewUser, User};
use crate::models::{audit, platform};
use crate::services::{SuperAdmin, TxError, is_unique_violation};
use crate::web::context::SignedInUser;
use crate::web::errors::AppError;
use crate::web::listing::Total;

/// At most this many lines in one Assign Users batch.
pub const MAX_ASSIGN_LINES: usize = 100;

/// The organization form as typed: Add Organization (with the owner) and the Details tab.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OrgInput {
    pub name: String,
    pub contact_name: String,
    pub address: String,
    pub zip: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub domain: String,
    pub restrict_to_domain: Option<String>,
    pub allow_subdomains: Option<String>,
    pub owner_email: String,
}

impl OrgInput {
    pub fn from_organization(org: &Organization) -> OrgInput {
        OrgInput {
            name: org.name.clone(),
            contact_name: org.contact_name.clone(),
            address: org.address.clone(),
            zip: org.zip.clone(),
            city: org.city.clone(),
            country: org.country.clone(),
            phone: org.phone.clone(),
            email: org.email.clone(),
            domain: org.domain.clone().unwrap_or_default(),
            restrict_to_domain: org.restrict_to_domain.then(|| "on".to_owned()),
            allow_subdomains: org.allow_subdomains.then(|| "on".to_owned()),
            owner_email: String::new(),
        }
    }
}

fn optional_text(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    max_chars: usize,
) -> String {
    let text = raw.trim();
    if text.chars().count() > max_chars {
        errors.add(field, format!("Use at most {max_chars} characters."));
    } else if text.chars().any(char::is_control) {
        errors.add(field, "Remove the control characters.");
    }
    text.to_owned()
}

/// Checks every field and reports each problem beside its field.
fn parse_fields(input: &OrgInput, errors: &mut FieldErrors) -> Option<OrganizationFields> {
    let name = errors.check("name", RequiredText::parse(&input.name, 200));
    let contact_name = errors.check(
        "contact_name",
        RequiredText::parse(&input.contact_name, 200),
    );
    let address = optional_text(errors, "address", &input.address, 200);
    let zip = optional_text(errors, "zip", &input.zip, 20);
    let city = optional_text(errors, "city", &input.city, 100);
    let country = input.country.trim().to_uppercase();
    if country.is_empty() {
        errors.add("country", "Choose a country.");
    } else if country_name(&country).is_none() {
        errors.add(
            "country",
            "Choose a country from the list (an ISO 3166 code such as DE).",
        );
    }
    let phone = optional_text(errors, "phone", &input.phone, 40);
    if !phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
    {
        errors.add("phone", "Use digits, spaces and + - ( ) only.");
    }
    let email = errors.check("email", EmailAddress::parse(&input.email));
    let domain = match input.domain.trim() {
        "" => None,
        raw => {
            match normalise_domain(raw.trim_start_matches('@')) {
                None => {
                    errors.add("domain", "Enter a domain name like example.com.");
                    None
                }
                Some(domain) if is_public_email_domain(&domain) => {
                    errors.add("domain", format!("{domain} is a public email provider: it cannot identify one organization."));
                    None
                }
                Some(domain) => Some(domain),
            }
        }
    };
    let restrict_to_domain = input.restrict_to_domain.is_some();
    if restrict_to_domain && input.domain.trim().is_empty() {
        errors.add(
            "restrict_to_domain",
            "Set a domain to restrict members to it.",
        );
    }
    Some(OrganizationFields {
        name: name?.into_inner(),
        contact_name: contact_name?.into_inner(),
        address,
        zip,
        city,
        country,
        phone,
        email: email?.into_inner(),
        domain,
        restrict_to_domain,
        allow_subdomains: input.allow_subdomains.is_some(),
    })
    .filter(|_| errors.is_empty())
}

const DOMAIN_TAKEN: &str = "Another organization already uses this domain.";

pub enum SaveOutcome {
    Saved(Box<Organization>),
    Invalid(FieldErrors),
}

/// Add Organization: the organization and its owner, in one transaction. The owner is the user
/// with that email, or a new account (without a password until they accept an invitation).
pub async fn create(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    input: &OrgInput,
) -> Result<SaveOutcome, AppError> {
    let mut errors = FieldErrors::default();
    let fields = parse_fields(input, &mut errors);
    let owner_email = errors.check("owner_email", EmailAddress::parse(&input.owner_email));
    let (Some(fields), Some(owner_email)) = (fields, owner_email) else {
        return Ok(SaveOutcome::Invalid(errors));
    };
    let result = conn
        .transaction::<_, TxError<FieldErrors>, _>(async |conn| {
            let mut errors = FieldErrors::default();
            if let Some(domain) = &fields.domain
                && organizations::domain_taken(conn, domain, None).await?
            {
                errors.add("domain", DOMAIN_TAKEN);
            }
            let owner = match users::find_by_email(conn, owner_email.as_str()).await? {
                Some(owner) => owner,
                None => {
                    let new = NewUser {
                        email: owner_email.as_str(),
                        first_name: "",
                        last_name: "",
                        password_hash: None,
                        platform_role: PlatformRole::User,
                    };
                    users::insert(conn, &new).await?
                }
            };
            let settings = platform::settings(conn).await?;
            if settings.single_org_per_account
                && !memberships::users_with_other_memberships(conn, &[owner.id], OrgId(0))
                    .await?
                    .is_empty()
            {
                errors.add("owner_email", SINGLE_ORG_POLICY);
            }
            if !errors.is_empty() {
                return Err(TxError::Rejected(errors));
            }
            let plan_id = platform::default_plan_id(conn).await?;
            let org = organizations::insert(conn, &fields, plan_id).await?;
            memberships::insert(
                conn,
                &NewMembership {
                    org_id: org.id,
                    user_id: owner.id,
                    role: OrgRole::Owner,
                },
            )
            .await?;
            let after = serde_json::json!({ "fields": fields_json(&fields), "owner": owner.email });
            audit::record(
                conn,
                &audit::NewAuditEntry {
                    after: Some(after),
                    ..admin.audit("organization.created", org.id, &org.name)
                },
            )
            .await?;
            // Re-read so the counters the triggers kept are current.
            Ok(organizations::find(conn, org.id).await?.unwrap_or(org))
        })
        .await;
    settle(result)
}

/// The Details tab: the same fields and checks as Add Organization.
pub async fn update_details(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    input: &OrgInput,
) -> Result<SaveOutcome, AppError> {
    let mut errors = FieldErrors::default();
    let Some(fields) = parse_fields(input, &mut errors) else {
        return Ok(SaveOutcome::Invalid(errors));
    };
    let result = conn
        .transaction::<_, TxError<FieldErrors>, _>(async |conn| {
            let before = organizations::find(conn, org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            if let Some(domain) = &fields.domain
                && organizations::domain_taken(conn, domain, Some(org_id)).await?
            {
                let mut errors = FieldErrors::default();
                errors.add("domain", DOMAIN_TAKEN);
                return Err(TxError::Rejected(errors));
            }
            let org = organizations::update(conn, org_id, &fields).await?;
            let entry = audit::NewAuditEntry {
                before: Some(fields_json(&OrganizationFields::from(&before))),
                after: Some(fields_json(&fields)),
                ..admin.audit("organization.updated", org_id, &org.name)
            };
            audit::record(conn, &entry).await?;
            Ok(org)
        })
        .await;
    settle(result)
}

/// A race on the unique domain index ends as the same field error as the check before it.
fn settle(result: Result<Organization, TxError<FieldErrors>>) -> Result<SaveOutcome, AppError> {
    match result {
        Ok(org) => Ok(SaveOutcome::Saved(Box::new(org))),
        Err(TxError::Rejected(errors)) => Ok(SaveOutcome::Invalid(errors)),
        Err(TxError::Db(e)) if is_unique_violation(&e, "organizations_domain_key") => {
            let mut errors = FieldErrors::default();
            errors.add("domain", DOMAIN_TAKEN);
            Ok(SaveOutcome::Invalid(errors))
        }
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

impl From<&Organization> for OrganizationFields {
    fn from(org: &Organization) -> OrganizationFields {
        OrganizationFields {
            name: org.name.clone(),
            contact_name: org.contact_name.clone(),
            address: org.address.clone(),
            zip: org.zip.clone(),
            city: org.city.clone(),
            country: org.country.clone(),
            phone: org.phone.clone(),
            email: org.email.clone(),
            domain: org.domain.clone(),
            restrict_to_domain: org.restrict_to_domain,
            allow_subdomains: org.allow_subdomains,
        }
    }
}

fn fields_json(fields: &OrganizationFields) -> serde_json::Value {
    serde_json::json!({
        "name": fields.name, "contact_name": fields.contact_name, "address": fields.address,
        "zip": fields.zip, "city": fields.city, "country": fields.country, "phone": fields.phone,
        "email": fields.email, "domain": fields.domain, "restrict_to_domain": fields.restrict_to_domain,
        "allow_subdomains": fields.allow_subdomains,
    })
}

/// The message of the single-organization policy: it names the policy, never the other organization.
pub const SINGLE_ORG_POLICY: &str = "Already belongs to an organization, and the platform's single-organization-per-account policy allows only one.";

/// One line of an Assign Users batch that stops the whole batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

pub enum AssignOutcome {
    Assigned {
        assigned: Vec<String>,
        already_members: Vec<String>,
        unknown: Vec<String>,
    },
    /// Nothing was changed.
    Rejected {
        message: Option<String>,
        problems: Vec<LineProblem>,
    },
}

/// Assign Users: registered users become members in one transaction. Malformed lines, users the
/// single-organization policy or the domain restriction keeps out, or more than 100 lines reject
/// the whole batch; emails with no account are reported and skipped.
pub async fn assign_users(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    pasted: &str,
    override_domain_restriction: bool,
) -> Result<AssignOutcome, AppError> {
    let lines: Vec<(usize, &str)> = pasted
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Ok(AssignOutcome::Rejected {
            message: Some("Paste at least one email address.".to_owned()),
            problems: Vec::new(),
        });
    }
    if lines.len() > MAX_ASSIGN_LINES {
        let message = format!(
            "Paste at most {MAX_ASSIGN_LINES} email addresses at once; this batch has {}.",
            lines.len()
        );
        return Ok(AssignOutcome::Rejected {
            message: Some(message),
            problems: Vec::new(),
        });
    }
    let mut problems = Vec::new();
    let mut emails: Vec<(usize, EmailAddress)> = Vec::new();
    for (line, text) in &lines {
        match EmailAddress::parse(text) {
            Ok(email) if !emails.iter().any(|(_, e)| *e == email) => emails.push((*line, email)),
            Ok(_) => {}
            Err(e) => problems.push(LineProblem {
                line: *line,
                text: (*text).to_owned(),
                reason: e.to_string(),
            }),
        }
    }
    let result = conn
        .transaction::<_, TxError<Vec<LineProblem>>, _>(async |conn| {
            let org = organizations::find(conn, org_id).await?.ok_or(diesel::result::Error::NotFound)?;
            let addresses: Vec<String> = emails.iter().map(|(_, e)| e.as_str().to_owned()).collect();
            // Lock the users so a concurrent batch cannot add them elsewhere under the policy.
            let found: Vec<User> = users::lock_by_emails(conn, &addresses).await?;
            let ids: Vec<UserId> = found.iter().map(|u| u.id).collect();
            let already: Vec<UserId> = memberships::members_among(conn, org_id, &ids).await?;
            let settings = platform::settings(conn).await?;
            let elsewhere = if settings.single_org_per_account {
                memberships::users_with_other_memberships(conn, &ids, org_id).await?
            } else {
                Vec::new()
            };
            let (mut assigned, mut already_members, mut unknown, mut to_add) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (line, email) in &emails {
                let Some(user) = found.iter().find(|u| u.email == email.as_str()) else {
                    unknown.push(email.to_string());
                    continue;
                };
                if already.contains(&user.id) {
                    already_members.push(user.email.clone());
                } else if elsewhere.contains(&user.id) {
                    problems.push(LineProblem { line: *line, text: user.email.clone(), reason: SINGLE_ORG_POLICY.to_owned() });
                } else if !override_domain_restriction && !domain_allows(&org, email) {
                    let reason = format!("Outside the organization's domain ({}); tick the override to add anyway.", org.domain.as_deref().unwrap_or_default());
                    problems.push(LineProblem { line: *line, text: user.email.clone(), reason });
                } else {
                    assigned.push(user.email.clone());
                    to_add.push(NewMembership { org_id, user_id: user.id, role: OrgRole::Member });
                }
            }
            if !problems.is_empty() {
                problems.sort_by_key(|p| p.line);
                return Err(TxError::Rejected(std::mem::take(&mut problems)));
            }
            if !to_add.is_empty() {
                memberships::insert_many(conn, &to_add).await?;
                let after = serde_json::json!({ "assigned": assigned, "override_domain_restriction": override_domain_restriction });
                audit::record(conn, &audit::NewAuditEntry { after: Some(after), ..admin.audit("organization.users_assigned", org_id, &org.name) }).await?;
            }
            Ok(AssignOutcome::Assigned { assigned, already_members, unknown })
        })
        .await;
    match result {
        Ok(outcome) => Ok(outcome),
        Err(TxError::Rejected(problems)) => Ok(AssignOutcome::Rejected {
            message: None,
            problems,
        }),
        Err(TxError::Db(e)) => Err(e.into()),
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

/// The Models tab: replaces the organization's allowlist with these catalogue entries.
pub async fn set_models(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    model_ids: &[i64],
) -> Result<(), AppError> {
    let catalogue = platform::catalogue(conn).await?;
    if model_ids
        .iter()
        .any(|id| !catalogue.iter().any(|m| m.id == *id))
    {
        return Err(AppError::BadRequest(
            "One of the chosen models is not in the catalogue. Reload the page and try again.",
        ));
    }
    let mut chosen = model_ids.to_vec();
    chosen.sort_unstable();
    chosen.dedup();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let org = organizations::find(conn, org_id)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
        let before = platform::allowed_model_ids(conn, org_id).await?;
        platform::set_allowed_models(conn, org_id, &chosen).await?;
        let entry = audit::NewAuditEntry {
            before: Some(serde_json::json!(before)),
            after: Some(serde_json::json!(chosen)),
            ..admin.audit("organization.models_changed", org_id, &org.name)
        };
        audit::record(conn, &entry).await
    })
    .await?;
    Ok(())
}

/// A page of the Organizations table and how many rows match in all.
pub async fn list(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    query: &ListQuery<'_>,
) -> Result<(Vec<Organization>, Total), AppError> {
    // A search counts ten pages beyond this one at most.
    Ok(organizations::list(conn, query, query.offset + 10 * query.limit).await?)
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    org_id: OrgId,
) -> Result<Organization, AppError> {
    organizations::find(conn, org_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// What every member may see of their organization: the organization and its members.
pub struct Overview {
    pub organization: Organization,
    pub members: Vec<(Membership, User)>,
}

/// Members see only organizations they belong to (the membership comes from this request's
/// context, loaded from the database); super administrators see any.
pub async fn overview(
    conn: &mut AsyncPgConnection,
    actor: &SignedInUser,
    org_id: OrgId,
) -> Result<Overview, AppError> {
    let belongs = actor.organizations.iter().any(|org| org.org_id == org_id);
    if !belongs && !actor.user.is_super_admin() {
        return Err(AppError::NotFound);
    }
    let organization = organizations::find(conn, org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let members = memberships::members_of(conn, org_id, 200).await?;
    Ok(Overview {
        organization,
        members,
    })
}
