//! A user's own account: profile and password, and creating super administrators.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};

use crate::access::{Actor, CurrentUser};
use crate::db::DbPool;
use crate::domain::{EmailAddress, FieldErrors, PersonName, PlatformRole, password};
use crate::error::AppError;
use crate::models::users::{NewUser, User, UserChanges};
use crate::models::{audit, sessions, users};
use crate::services::password_work::PasswordWork;

pub use crate::models::memberships::UserOrganization;

/// A new first and last name.
#[derive(Debug, Clone)]
pub struct ProfileChange {
    pub first_name: PersonName,
    pub last_name: PersonName,
}

#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    change: ProfileChange,
) -> Result<User, AppError> {
    let actor = user.as_self();
    let (first_name, last_name) = (
        change.first_name.into_inner(),
        change.last_name.into_inner(),
    );
    let before = serde_json::json!({ "first_name": user.first_name, "last_name": user.last_name });
    let after = serde_json::json!({ "first_name": first_name, "last_name": last_name });
    let updated = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let changes = UserChanges {
                first_name: Some(&first_name),
                last_name: Some(&last_name),
                ..Default::default()
            };
            let updated = users::update(conn, user.id, &changes).await?;
            let target = user.email.as_str();
            audit::record(
                conn,
                &audit::NewAuditEntry {
                    before: Some(before),
                    after: Some(after),
                    ..actor.audit("user.profile_updated", target)
                },
            )
            .await?;
            Ok(updated)
        })
        .await?;
    Ok(updated)
}

/// The password form as typed.
#[derive(Debug)]
pub struct PasswordChange {
    pub current_password: SecretString,
    pub new_password: SecretString,
    pub confirm_password: SecretString,
}

pub enum PasswordOutcome {
    Changed,
    Invalid(FieldErrors),
}

/// Changes the password and ends every session of the user; the caller starts a fresh one.
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn change_password(
    pool: &DbPool,
    hashing: &PasswordWork,
    user: &CurrentUser,
    change: PasswordChange,
) -> Result<PasswordOutcome, AppError> {
    let actor = user.as_self();
    let mut errors = FieldErrors::default();
    let organizations: Vec<&str> = user
        .organizations
        .iter()
        .map(|org| org.org_name.as_str())
        .collect();
    let context = password::context_words(&user.email, &organizations);
    if let Err(message) = password::check_strength(change.new_password.expose_secret(), &context) {
        errors.add("new_password", message);
    } else if change.new_password.expose_secret() != change.confirm_password.expose_secret() {
        errors.add("confirm_password", "The two passwords differ.");
    }
    let stored = users::password_hash_of(&mut *pool.get().await?, user.id).await?;
    let (current, new) = (change.current_password, change.new_password);
    let new_hash = hashing
        .run(move || -> anyhow::Result<Option<String>> {
            if !password::verify(&current, stored.as_deref()) {
                return Ok(None);
            }
            password::hash(&new).map(Some)
        })
        .await??;
    let Some(new_hash) = new_hash else {
        errors.add("current_password", "This is not your current password.");
        return Ok(PasswordOutcome::Invalid(errors));
    };
    if !errors.is_empty() {
        return Ok(PasswordOutcome::Invalid(errors));
    }
    let mut conn = pool.get().await?;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        users::update(
            conn,
            user.id,
            &UserChanges {
                password_hash: Some(&new_hash),
                ..Default::default()
            },
        )
        .await?;
        sessions::delete_for_user(conn, user.id).await?;
        audit::record(conn, &actor.audit("user.password_changed", &user.email)).await
    })
    .await?;
    Ok(PasswordOutcome::Changed)
}

/// Creates a super administrator, or promotes an existing user and sets their password.
#[tracing::instrument(skip(pool, new_password))]
pub async fn create_super_admin(
    pool: &DbPool,
    email: &str,
    new_password: SecretString,
) -> anyhow::Result<User> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{email:?}: {e}"))?;
    password::check_strength(
        new_password.expose_secret(),
        &password::context_words(email.as_str(), &[]),
    )
    .map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&new_password)).await??;
    let mut conn = pool.get().await?;
    let actor = Actor::system();
    let user = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let user = match users::find_by_email(conn, email.as_str()).await? {
                Some(existing) => {
                    let changes = UserChanges {
                        password_hash: Some(&hash),
                        platform_role: Some(PlatformRole::SuperAdmin),
                        status: Some(crate::domain::UserStatus::Active),
                        ..Default::default()
                    };
                    let user = users::update(conn, existing.id, &changes).await?;
                    sessions::delete_for_user(conn, user.id).await?;
                    user
                }
                None => {
                    let new = NewUser {
                        email: email.as_str(),
                        first_name: "",
                        last_name: "",
                        password_hash: Some(&hash),
                        platform_role: PlatformRole::SuperAdmin,
                    };
                    users::insert(conn, &new).await?
                }
            };
            audit::record(conn, &actor.audit("user.made_super_admin", &user.email)).await?;
            Ok(user)
        })
        .await?;
    Ok(user)
}

/// Whether this is the user's password (to confirm a sensitive action).
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn check_password(
    pool: &DbPool,
    hashing: &PasswordWork,
    user: &CurrentUser,
    password: SecretString,
) -> Result<bool, AppError> {
    let stored = users::password_hash_of(&mut *pool.get().await?, user.id).await?;
    hashing
        .run(move || password::verify(&password, stored.as_deref()))
        .await
}

/// What a person types to create an organization from their account page.
pub struct OwnOrganization {
    pub name: crate::domain::RequiredText,
    /// An ISO 3166 alpha-2 code, checked by the caller.
    pub country: String,
}

/// Seed 004: anyone creates an organization and becomes its owner; they are its point of contact
/// until they change it. The single-organization policy applies (its message names the policy,
/// never the other organization).
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn create_organization(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    new: OwnOrganization,
) -> Result<Result<crate::domain::OrgId, FieldErrors>, AppError> {
    use crate::domain::{OrgRole, OrganizationFields};
    use crate::error::TxError;
    use crate::models::memberships::{self, NewMembership};
    use crate::models::{organizations, plans};
    let fields = OrganizationFields {
        name: new.name.into_inner(),
        contact_name: user.display_name(),
        address: String::new(),
        zip: String::new(),
        city: String::new(),
        country: new.country,
        phone: String::new(),
        email: user.email.clone(),
        domain: None,
        restrict_to_domain: false,
        allow_subdomains: false,
    };
    let actor = user.as_self();
    let result = conn
        .transaction::<_, TxError<FieldErrors>, _>(async |conn| {
            // Locked: a concurrent invitation or assignment waits, so the policy holds.
            users::lock_by_emails(conn, std::slice::from_ref(&user.email)).await?;
            if !crate::services::rules::kept_out_by_single_org_policy(conn, &[user.id], None)
                .await?
                .is_empty()
            {
                let mut errors = FieldErrors::default();
                errors.add("name", crate::services::rules::SINGLE_ORG_POLICY);
                return Err(TxError::Rejected(errors));
            }
            let plan_id = plans::default_plan_id(conn).await?;
            let org = organizations::insert(conn, &fields, plan_id).await?;
            memberships::insert(
                conn,
                &NewMembership {
                    org_id: org.id,
                    user_id: user.id,
                    role: OrgRole::Owner,
                },
            )
            .await?;
            let entry = audit::NewAuditEntry {
                after: Some(serde_json::json!({ "fields": fields, "owner": user.email })),
                ..actor.audit_org("organization.created", org.id, &org.name)
            };
            audit::record(conn, &entry).await?;
            Ok(org.id)
        })
        .await;
    match result {
        Ok(id) => Ok(Ok(id)),
        Err(TxError::Rejected(errors)) => Ok(Err(errors)),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}
