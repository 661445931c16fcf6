//! Organizations: the super administrator's table and CSV, Add Organization and the Details tab.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::SuperAdmin;
use crate::db::paging::Total;
use crate::domain::{EmailAddress, FieldErrors, OrgId, OrgRole, OrganizationFields, PlatformRole};
use crate::error::{AppError, TxError, is_unique_violation};
use crate::models::memberships::{self, NewMembership};
use crate::models::organizations;
use crate::models::users::{self, NewUser};
use crate::models::{audit, plans, used_form_tokens};
use crate::services::outbox::Postbox;
use crate::services::rules::{self, DOMAIN_TAKEN, SINGLE_ORG_POLICY};

pub use crate::models::organizations::{ListQuery, Organization, SortColumn};

/// Add Organization: the organization's details and the email of its owner.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub fields: OrganizationFields,
    pub owner_email: EmailAddress,
    /// The form's one-time token: the same form submitted twice creates once.
    pub form_token: Option<String>,
}

/// What Add Organization did.
pub enum CreateOutcome {
    Created(Box<Organization>),
    /// This form was submitted before (a double click, a resent POST): nothing more was made.
    AlreadySubmitted,
    Invalid(FieldErrors),
}

pub enum SaveOutcome {
    Saved(Box<Organization>),
    /// Refused by a rule that needs the database (a taken domain, the single-organization
    /// policy); nothing was changed.
    Invalid(FieldErrors),
}

/// A page of the Organizations table.
pub struct OrgTablePage {
    pub rows: Vec<Organization>,
    pub total: Total,
    /// Whether the OAuth action is offered (platform-wide OAuth login).
    pub oauth_enabled: bool,
}

#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    query: &ListQuery<'_>,
) -> Result<OrgTablePage, AppError> {
    // A search counts ten pages beyond this one at most.
    let (rows, total) = organizations::list(conn, query, query.offset + 10 * query.limit).await?;
    Ok(OrgTablePage {
        rows,
        total,
        // Read with the request's context, not once more.
        oauth_enabled: admin.platform().oauth_login_enabled,
    })
}

/// Every organization matching a search, in the table's order (the CSV export).
#[tracing::instrument(skip_all)]
pub async fn export(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    search: Option<&str>,
    sort: SortColumn,
    descending: bool,
) -> Result<Vec<Organization>, AppError> {
    let query = ListQuery {
        search,
        sort,
        descending,
        offset: 0,
        limit: i64::from(i32::MAX),
    };
    Ok(organizations::list(conn, &query, i64::from(i32::MAX))
        .await?
        .0)
}

#[tracing::instrument(skip(conn, _admin))]
pub async fn find(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    org_id: OrgId,
) -> Result<Organization, AppError> {
    organizations::find(conn, org_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Add Organization: the organization and its owner, in one transaction. The owner is the user
/// with that email, or a new account (without a password until they accept an invitation).
#[tracing::instrument(skip_all, fields(owner = %new.owner_email))]
pub async fn create(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    postbox: &Postbox,
    now: DateTime<Utc>,
    new: &NewOrganization,
) -> Result<CreateOutcome, AppError> {
    let NewOrganization {
        fields,
        owner_email,
        form_token,
    } = new;
    let result = conn
        .transaction::<_, TxError<Option<FieldErrors>>, _>(async |conn| {
            if let Some(token) = form_token
                && !used_form_tokens::claim(conn, token).await?
            {
                return Err(TxError::Rejected(None));
            }
            let mut errors = FieldErrors::default();
            if let Some(domain) = &fields.domain
                && organizations::domain_taken(conn, domain, None).await?
            {
                errors.add("domain", DOMAIN_TAKEN);
            }
            // Locked: a concurrent create or assign for the same person waits for this one, so
            // the single-organization policy holds under any interleaving.
            let owner = users::find_or_create_locked(
                conn,
                &NewUser {
                    email: owner_email.as_str(),
                    first_name: "",
                    last_name: "",
                    password_hash: None,
                    platform_role: PlatformRole::User,
                },
            )
            .await?;
            if !rules::kept_out_by_single_org_policy(conn, &[owner.id], None)
                .await?
                .is_empty()
            {
                errors.add("owner_email", SINGLE_ORG_POLICY);
            }
            if !errors.is_empty() {
                return Err(TxError::Rejected(Some(errors)));
            }
            let plan_id = plans::default_plan_id(conn).await?;
            let org = organizations::insert(conn, fields, plan_id).await?;
            memberships::insert(
                conn,
                &NewMembership {
                    org_id: org.id,
                    user_id: owner.id,
                    role: OrgRole::Owner,
                },
            )
            .await?;
            // An owner without a password is invited to set one.
            if users::password_hash_of(conn, owner.id).await?.is_none() {
                crate::services::org::invitations::invite_owner_without_password(
                    conn,
                    postbox,
                    &org,
                    &owner.email,
                    admin.actor(),
                    now,
                )
                .await?;
            }
            let after = serde_json::json!({ "fields": fields, "owner": owner.email });
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
    let settled = match result {
        Err(TxError::Rejected(None)) => return Ok(CreateOutcome::AlreadySubmitted),
        Err(TxError::Rejected(Some(errors))) => settle(Err(TxError::Rejected(errors)))?,
        Ok(org) => {
            postbox.wake();
            settle(Ok(org))?
        }
        Err(TxError::Db(e)) => settle(Err(TxError::Db(e)))?,
    };
    Ok(match settled {
        SaveOutcome::Saved(org) => CreateOutcome::Created(org),
        SaveOutcome::Invalid(errors) => CreateOutcome::Invalid(errors),
    })
}

/// The Details tab: the same fields and checks as Add Organization.
#[tracing::instrument(skip(conn, admin, fields))]
pub async fn update_details(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    fields: &OrganizationFields,
) -> Result<SaveOutcome, AppError> {
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
            let org = organizations::update(conn, org_id, fields).await?;
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!(OrganizationFields::from(&before))),
                after: Some(serde_json::json!(fields)),
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
