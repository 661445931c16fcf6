//! What members see and do in the organization they act in. Every function takes the
//! `OrgContext` proof and checks its `Permission` in `access.rs`.

pub mod invitations;
pub mod members;
pub mod provider_keys;
pub mod security;
pub mod service_accounts;
pub mod subscription;
pub mod teams;

use diesel_async::AsyncPgConnection;

use crate::access::{Decision, OrgContext, Permission, can_act_on, require};
use crate::domain::UserId;
use crate::error::{AppError, Denied, TxError};
use crate::models::memberships::{self, Membership};
use crate::models::organizations::{self, Organization};
use crate::models::users::User;

/// A member as the Organization page lists them, with what the viewer may do to them.
pub struct MemberRow {
    pub membership: Membership,
    pub user: User,
    /// Whether the viewer may change or remove this member, and why not.
    pub manage: Decision,
}

pub struct Overview {
    pub organization: Organization,
    /// Whether the viewer manages members at all (owners and admins); members see no controls.
    pub viewer_manages: bool,
    pub owner_name: String,
    pub members: Vec<MemberRow>,
}

/// The organization, its owner and members. Its rows come from this request's membership, so
/// another organization's data is never reachable from here.
#[tracing::instrument(skip_all, fields(org_id = %ctx.org_id))]
pub async fn overview(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
) -> Result<Overview, AppError> {
    require(ctx, Permission::ViewOrganization)?;
    let organization = organizations::find(conn, ctx.org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let members: Vec<MemberRow> = memberships::members_of(conn, ctx.org_id, 200)
        .await?
        .into_iter()
        .map(|(membership, user)| MemberRow {
            manage: can_act_on(ctx, membership.role),
            membership,
            user,
        })
        .collect();
    let owner_name = members
        .iter()
        .find(|m| m.membership.role == crate::domain::OrgRole::Owner)
        .map(|m| m.user.display_name())
        .unwrap_or_default();
    Ok(Overview {
        organization,
        viewer_manages: require(ctx, Permission::ChangeMembers).is_ok(),
        owner_name,
        members,
    })
}

/// The actor as they are now: their organization role re-read in the transaction and held
/// (shared) until it ends, so a demotion or removal waits for the decision taken on it; having
/// left meanwhile is a refusal; super administrators need no membership. Taken before any other
/// lock: a removal locks memberships first too, so the two cannot deadlock.
pub(crate) async fn current_actor(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
) -> Result<OrgContext, TxError<Denied>> {
    match memberships::find_shared(conn, ctx.org_id, ctx.user.id).await? {
        Some(mine) => Ok(ctx.with_current_membership(mine.role, mine.subscriber_admin)),
        None if ctx.user.is_super_admin() => Ok(ctx.clone()),
        None => Err(TxError::Rejected(Denied(
            "You are no longer a member of this organization.",
        ))),
    }
}

/// The targets' memberships, locked for update with the actor's in user order (so two changes
/// naming the same people queue instead of deadlocking), and the actor as they stand now; the
/// actor having left meanwhile is a refusal. For changes to members' own rows.
async fn lock_members(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    targets: &[UserId],
) -> Result<(OrgContext, Vec<(Membership, User)>), TxError<Denied>> {
    let mut ids = targets.to_vec();
    ids.push(ctx.user.id);
    let locked = memberships::lock_with_users(conn, ctx.org_id, &ids).await?;
    let actor = match locked.iter().find(|(m, _)| m.user_id == ctx.user.id) {
        Some((mine, _)) => ctx.with_current_membership(mine.role, mine.subscriber_admin),
        None if ctx.user.is_super_admin() => ctx.clone(),
        None => {
            return Err(TxError::Rejected(Denied(
                "You are no longer a member of this organization.",
            )));
        }
    };
    let targets = locked
        .into_iter()
        .filter(|(m, _)| targets.contains(&m.user_id))
        .collect();
    Ok((actor, targets))
}

pub(crate) fn rejected(e: TxError<Denied>) -> AppError {
    match e {
        TxError::Rejected(reason) => reason.into(),
        TxError::Db(e) => e.into(),
    }
}

fn refuse(decision: Decision) -> Result<(), TxError<Denied>> {
    decision.into_result().map_err(TxError::Rejected)
}
