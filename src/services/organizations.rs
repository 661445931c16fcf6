//! Reading organizations (the super administrator's console grows here in the next issue).

use diesel_async::AsyncPgConnection;

use crate::domain::OrgId;
use crate::models::memberships::{self, Membership};
use crate::models::organizations::{self, Organization};
use crate::models::users::User;
use crate::web::context::SignedInUser;
use crate::web::errors::AppError;

pub async fn list_for_super_admin(
    conn: &mut AsyncPgConnection,
    actor: &SignedInUser,
) -> Result<Vec<Organization>, AppError> {
    actor.require_super_admin()?;
    Ok(organizations::list_by_name(conn, 100).await?)
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
