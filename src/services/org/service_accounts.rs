//! Service accounts (seed 001): members that are programs, owned by the organization, so an
//! integration outlives whoever set it up. Owners and admins create them with a role (admin or
//! member, never owner), issue their keys on the Keys page, change their role and remove them
//! on the Members page like anyone's (removal revokes their keys and disables them). They never
//! sign in, read no mail and hold no seat (the database refuses all three, migration 000012);
//! their calls count in usage under their own name.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{Decision, OrgContext, Permission, can_act_on, require, roles_to_give};
use crate::domain::{FieldErrors, OrgRole, RequiredText, random_bytes};
use crate::error::{AppError, Denied, TxError};
use crate::models::audit;
use crate::models::memberships::{self, Membership, NewMembership};
use crate::models::users::{self, User};
use crate::services::org::current_actor;

/// A service account as its page lists it, with whether the viewer may remove it and why not.
pub struct ServiceAccount {
    pub user: User,
    pub membership: Membership,
    pub remove: Decision,
}

/// The organization's service accounts, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
) -> Result<Vec<ServiceAccount>, AppError> {
    require(ctx, Permission::ManageServiceAccounts)?;
    Ok(users::service_accounts_of(conn, ctx.org_id)
        .await?
        .into_iter()
        .map(|(user, membership)| ServiceAccount {
            remove: can_act_on(ctx, membership.role),
            user,
            membership,
        })
        .collect())
}

pub enum CreateOutcome {
    Created(User),
    Invalid(FieldErrors),
}

/// Creates a service account named `name` with `role`, as a member of the organization.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn create(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    name: &str,
    role: &str,
) -> Result<CreateOutcome, AppError> {
    require(ctx, Permission::ManageServiceAccounts)?;
    let mut errors = FieldErrors::default();
    let name = errors.check("name", RequiredText::parse(name, 100));
    let role = role
        .parse::<OrgRole>()
        .ok()
        .filter(|role| roles_to_give(ctx).contains(role));
    if role.is_none() {
        errors.add("role", "Choose one of the roles offered.".to_owned());
    }
    let (Some(name), Some(role)) = (name, role) else {
        return Ok(CreateOutcome::Invalid(errors));
    };
    let name = name.into_inner();
    let email = made_up_address(&name);
    let created = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let actor = current_actor(conn, ctx).await?;
            require(&actor, Permission::ManageServiceAccounts).map_err(TxError::Rejected)?;
            if !roles_to_give(&actor).contains(&role) {
                return Err(TxError::Rejected(Denied(
                    "You can only give roles below your own.",
                )));
            }
            let user = users::insert_service_account(conn, ctx.org_id, &name, &email).await?;
            memberships::insert(
                conn,
                &NewMembership {
                    org_id: ctx.org_id,
                    user_id: user.id,
                    role,
                },
            )
            .await?;
            let who = actor.actor();
            let entry = audit::NewAuditEntry {
                after: Some(serde_json::json!({ "name": name, "role": role.as_str() })),
                ..who.audit_org("service_account.created", ctx.org_id, &name)
            };
            audit::record(conn, &entry).await?;
            Ok(user)
        })
        .await
        .map_err(|e| match e {
            TxError::Rejected(reason) => AppError::from(reason),
            TxError::Db(e) => e.into(),
        })?;
    Ok(CreateOutcome::Created(created))
}

/// An address nobody receives mail at (RFC 2606 reserves `.invalid`), unique by its random
/// part and readable by the name's letters and digits.
fn made_up_address(name: &str) -> String {
    let readable: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(24)
        .collect();
    let readable = if readable.is_empty() {
        "service".to_owned()
    } else {
        readable
    };
    let unique: String = random_bytes(6).iter().map(|b| format!("{b:02x}")).collect();
    format!("{readable}.{unique}@service-accounts.invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_addresses_are_unique_readable_and_undeliverable() {
        let first = made_up_address("CI deploy (prod)");
        let second = made_up_address("CI deploy (prod)");
        assert_ne!(first, second);
        assert!(first.starts_with("cideployprod."), "{first}");
        assert!(first.ends_with("@service-accounts.invalid"));
        assert!(made_up_address("ü ✓").starts_with("service."));
        assert!(
            crate::domain::EmailAddress::parse(&first).is_ok(),
            "{first}"
        );
    }
}
