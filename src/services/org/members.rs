//! The Members page: the list with its counters, a member's details, role changes, name edits,
//! removal with its preview, leaving and transferring ownership. Every decision is `access.rs`'s,
//! taken again inside the transaction on rows locked there, so concurrent requests cannot
//! slip past a rule (an admin acting on someone promoted meanwhile, two transfers at once).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{
    self, Decision, OrgContext, Permission, can_act_on, can_give_role, can_transfer_to, require,
};
use crate::db::paging::{Paging, Total, count_cap};
use crate::domain::{OrgRole, TokenKind, UserId};
use crate::error::{AppError, Denied, TxError};
use crate::models::memberships::{self, Membership};
pub use crate::models::organizations::Counters;
use crate::models::subscriptions::{self, ChangeReason};
use crate::models::users::{self, PersonSearch, User, UserChanges};
use crate::models::{audit, invitations, organizations, teams, token_assignments};
use crate::services::account::ProfileChange;
use crate::services::org::lock_members;

/// A member as the list and the detail panel show them, with what the viewer may do to them.
pub struct MemberRow {
    pub membership: Membership,
    pub user: User,
    /// Whether the viewer may change or remove this member, and why not.
    pub manage: Decision,
}

impl MemberRow {
    fn new(ctx: &OrgContext, (membership, user): (Membership, User)) -> MemberRow {
        MemberRow {
            manage: if user.id == ctx.user.id {
                Decision::Refused("This is you: another owner or admin changes your membership.")
            } else {
                can_act_on(ctx, membership.role)
            },
            membership,
            user,
        }
    }
}

pub struct MemberPage {
    pub org_name: String,
    pub counters: Counters,
    pub rows: Vec<MemberRow>,
    pub total: Total,
}

/// One page of members, newest first, or those whose email, first or last name starts with
/// the search. Two or three statements: the organization, the page's ids, their rows.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn list(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    search: &str,
    paging: Paging,
) -> Result<MemberPage, AppError> {
    require(ctx, Permission::ViewOrganization)?;
    let (org_name, counters) = organizations::counters(conn, ctx.org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (ids, total) = match PersonSearch::parse(search) {
        None => (
            memberships::ids_page(conn, ctx.org_id, paging.offset(), paging.per_page).await?,
            Total::exact(i64::from(counters.members)),
        ),
        Some(search) => {
            let cap = count_cap(paging);
            let found = users::search_ids(conn, Some(ctx.org_id), &search, cap + 1).await?;
            let total = Total::capped(found.len(), cap);
            let page = found
                .into_iter()
                .skip(usize::try_from(paging.offset()).unwrap_or(0))
                .take(usize::try_from(paging.per_page).unwrap_or(0))
                .collect::<Vec<_>>();
            (page, total)
        }
    };
    let mut rows: Vec<MemberRow> = memberships::with_users(conn, ctx.org_id, &ids)
        .await?
        .into_iter()
        .map(|pair| MemberRow::new(ctx, pair))
        .collect();
    // In the order the ids came: newest first, or a search's order.
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.user.id));
    Ok(MemberPage {
        org_name,
        counters,
        rows,
        total,
    })
}

/// One member of the acting organization; another organization's member is not found.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn member(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    user_id: UserId,
) -> Result<MemberRow, AppError> {
    require(ctx, Permission::ViewOrganization)?;
    let pair = memberships::with_users(conn, ctx.org_id, &[user_id])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    Ok(MemberRow::new(ctx, pair))
}

fn denied(result: Result<MemberRow, TxError<Denied>>) -> Result<MemberRow, AppError> {
    match result {
        Ok(row) => Ok(row),
        Err(TxError::Rejected(reason)) => Err(reason.into()),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

/// Gives a member another role (only roles below the actor's own, to members below it); the
/// organization's counters as they are afterwards.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn change_role(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    user_id: UserId,
    new_role: OrgRole,
) -> Result<(MemberRow, Counters), AppError> {
    require(ctx, Permission::ChangeMembers)?;
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let (actor, mut locked) = lock_members(conn, ctx, &[user_id]).await?;
            let (mut membership, user) = locked.pop().ok_or(diesel::result::Error::NotFound)?;
            if user_id == ctx.user.id {
                return Err(TxError::Rejected(Denied(
                    "You cannot change your own role.",
                )));
            }
            can_give_role(&actor, membership.role, new_role)
                .into_result()
                .map_err(TxError::Rejected)?;
            let before = membership.role;
            if before != new_role {
                memberships::set_role(conn, ctx.org_id, user_id, new_role).await?;
                let who = actor.actor();
                let entry = audit::NewAuditEntry {
                    before: Some(serde_json::json!({ "role": before.as_str() })),
                    after: Some(serde_json::json!({ "role": new_role.as_str() })),
                    ..who.audit_org("member.role_changed", ctx.org_id, &user.email)
                };
                audit::record(conn, &entry).await?;
            }
            membership.role = new_role;
            let (_, counters) = organizations::counters(conn, ctx.org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            Ok((MemberRow::new(&actor, (membership, user)), counters))
        })
        .await;
    match result {
        Ok(changed) => Ok(changed),
        Err(TxError::Rejected(reason)) => Err(reason.into()),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

/// Edits a member's first and last name (their email stays: it is how they sign in).
#[tracing::instrument(skip(conn, ctx, change), fields(org_id = %ctx.org_id))]
pub async fn update_names(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    user_id: UserId,
    change: ProfileChange,
) -> Result<MemberRow, AppError> {
    require(ctx, Permission::ChangeMembers)?;
    let (first_name, last_name) = (
        change.first_name.into_inner(),
        change.last_name.into_inner(),
    );
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let (actor, mut locked) = lock_members(conn, ctx, &[user_id]).await?;
            let (membership, user) = locked.pop().ok_or(diesel::result::Error::NotFound)?;
            can_act_on(&actor, membership.role)
                .into_result()
                .map_err(TxError::Rejected)?;
            let changes = UserChanges {
                first_name: Some(&first_name),
                last_name: Some(&last_name),
                ..Default::default()
            };
            let updated = users::update(conn, user_id, &changes).await?;
            let who = actor.actor();
            let entry = audit::NewAuditEntry {
                before: Some(
                    serde_json::json!({ "first_name": user.first_name, "last_name": user.last_name }),
                ),
                after: Some(serde_json::json!({ "first_name": first_name, "last_name": last_name })),
                ..who.audit_org("member.details_updated", ctx.org_id, &user.email)
            };
            audit::record(conn, &entry).await?;
            Ok(MemberRow::new(&actor, (membership, updated)))
        })
        .await;
    denied(result)
}

/// What removing one member takes away, and whether the actor may.
pub struct Removal {
    pub user: User,
    pub role: OrgRole,
    pub decision: Decision,
    /// The teams they leave.
    pub teams: Vec<String>,
    /// The teams they own, which pass to the organization's owner.
    pub owned_teams: Vec<String>,
    /// Invitations they sent that stay pending (anyone with the link can still join).
    pub pending_invitations: i64,
    /// Tokens assigned to them, per kind; they return to the organization (the assignments go
    /// with the membership).
    pub tokens: Vec<(TokenKind, i64)>,
}

/// Whether the actor may remove every one of them (else nobody is removed).
pub fn all_removable(removals: &[Removal]) -> bool {
    removals.iter().all(|r| r.decision.is_allowed())
}

/// At most this many members in one removal.
pub const MAX_REMOVAL: usize = 100;

async fn removals(
    conn: &mut AsyncPgConnection,
    actor: &OrgContext,
    members: Vec<(Membership, User)>,
) -> diesel::QueryResult<Vec<Removal>> {
    let ids: Vec<UserId> = members.iter().map(|(m, _)| m.user_id).collect();
    let mut team_names: HashMap<UserId, Vec<String>> = HashMap::new();
    for (user_id, name) in teams::names_of_members(conn, actor.org_id, &ids).await? {
        team_names.entry(user_id).or_default().push(name);
    }
    let mut owned: HashMap<UserId, Vec<String>> = HashMap::new();
    for (user_id, team) in teams::owned_by(conn, actor.org_id, &ids).await? {
        owned.entry(user_id).or_default().push(team.name);
    }
    let pending: HashMap<UserId, i64> = invitations::pending_sent_by(conn, actor.org_id, &ids)
        .await?
        .into_iter()
        .filter_map(|(user, count)| Some((user?, count)))
        .collect();
    let mut tokens: HashMap<UserId, Vec<(TokenKind, i64)>> = HashMap::new();
    for row in token_assignments::totals_of_members(conn, actor.org_id, &ids).await? {
        if let Ok(kind) = row.kind.parse() {
            tokens
                .entry(UserId(row.user_id))
                .or_default()
                .push((kind, row.tokens));
        }
    }
    Ok(members
        .into_iter()
        .map(|(membership, user)| Removal {
            decision: if user.id == actor.user.id {
                Decision::Refused("You cannot remove yourself; leave the organization instead.")
            } else {
                can_act_on(actor, membership.role)
            },
            role: membership.role,
            teams: team_names.remove(&user.id).unwrap_or_default(),
            owned_teams: owned.remove(&user.id).unwrap_or_default(),
            pending_invitations: pending.get(&user.id).copied().unwrap_or(0),
            tokens: tokens.remove(&user.id).unwrap_or_default(),
            user,
        })
        .collect())
}

fn removal_ids(ids: &[UserId]) -> Result<Vec<UserId>, AppError> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(AppError::Unprocessable(
            "Select at least one member to remove.",
        ));
    }
    if ids.len() > MAX_REMOVAL {
        return Err(AppError::Unprocessable(
            "Remove at most 100 members at once.",
        ));
    }
    Ok(ids)
}

/// What removing these members would take away; any id that is not a member of this
/// organization is not found.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn removal_preview(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    ids: &[UserId],
) -> Result<Vec<Removal>, AppError> {
    require(ctx, Permission::RemoveMembers)?;
    let ids = removal_ids(ids)?;
    let members = memberships::with_users(conn, ctx.org_id, &ids).await?;
    if members.len() != ids.len() {
        return Err(AppError::NotFound);
    }
    Ok(removals(conn, ctx, members).await?)
}

pub enum RemovalOutcome {
    /// Every one was removed; what each lost.
    Removed(Vec<Removal>),
    /// Someone could not be removed, so nobody was: the list says who and why.
    Refused(Vec<Removal>),
}

/// Removes members in one transaction, or none of them.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn remove(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    ids: &[UserId],
    now: DateTime<Utc>,
) -> Result<RemovalOutcome, AppError> {
    require(ctx, Permission::RemoveMembers)?;
    let ids = removal_ids(ids)?;
    let result = conn
        .transaction::<_, TxError<Result<RemovalOutcome, Denied>>, _>(async |conn| {
            let (actor, targets) = lock_members(conn, ctx, &ids).await.map_err(|e| match e {
                TxError::Rejected(denied) => TxError::Rejected(Err(denied)),
                TxError::Db(e) => TxError::Db(e),
            })?;
            if targets.len() != ids.len() {
                return Err(TxError::Db(diesel::result::Error::NotFound));
            }
            let removals = removals(conn, &actor, targets).await?;
            if removals.iter().any(|r| !r.decision.is_allowed()) {
                return Err(TxError::Rejected(Ok(RemovalOutcome::Refused(removals))));
            }
            leave_teams(conn, ctx, &ids).await?;
            if memberships::delete_many(conn, ctx.org_id, &ids).await? > 0 {
                subscriptions::record(conn, ctx.org_id, ChangeReason::Seats, now).await?;
            }
            for removal in &removals {
                let who = actor.actor();
                let entry = audit::NewAuditEntry {
                    before: Some(serde_json::json!({
                        "role": removal.role.as_str(),
                        "teams": removal.teams,
                        "owned_teams": removal.owned_teams,
                    })),
                    ..who.audit_org("member.removed", ctx.org_id, &removal.user.email)
                };
                audit::record(conn, &entry).await?;
            }
            Ok(RemovalOutcome::Removed(removals))
        })
        .await;
    match result {
        Ok(outcome) | Err(TxError::Rejected(Ok(outcome))) => Ok(outcome),
        Err(TxError::Rejected(Err(denied))) => Err(denied.into()),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

/// Before members leave the organization, and with it its teams (the database's cascade): the
/// teams they own pass to the organization's owner, so every team keeps exactly one owner. The
/// owner never leaves, so there is always an heir.
async fn leave_teams(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    leaving: &[UserId],
) -> diesel::QueryResult<()> {
    let (owner, _) = memberships::owner_of(conn, ctx.org_id)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    teams::hand_over(conn, ctx.org_id, leaving, owner.user_id).await?;
    Ok(())
}

/// The acting member leaves the organization (the owner cannot: they transfer first).
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn leave(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    access::require(ctx, Permission::LeaveOrganization)?;
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let (actor, _) = lock_members(conn, ctx, &[]).await?;
            Permission::LeaveOrganization
                .check(actor.role)
                .map_err(TxError::Rejected)?;
            leave_teams(conn, ctx, &[ctx.user.id]).await?;
            if memberships::delete_many(conn, ctx.org_id, &[ctx.user.id]).await? > 0 {
                subscriptions::record(conn, ctx.org_id, ChangeReason::Seats, now).await?;
            }
            let who = actor.actor();
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!({ "role": actor.role.as_str() })),
                ..who.audit_org("member.left", ctx.org_id, &ctx.user.email)
            };
            audit::record(conn, &entry).await?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(()),
        Err(TxError::Rejected(reason)) => Err(reason.into()),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

/// Hands the organization to another member; the old owner becomes an admin. Exactly one owner
/// throughout: the database checks it at commit, and concurrent transfers wait on the owner's
/// locked row and then find they no longer own it.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn transfer_ownership(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    to: UserId,
) -> Result<MemberRow, AppError> {
    require(ctx, Permission::ManageBilling)?;
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let (owner, _) = memberships::owner_of(conn, ctx.org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let mut locked =
                memberships::lock_with_users(conn, ctx.org_id, &[owner.user_id, to]).await?;
            let target = locked
                .iter()
                .position(|(m, _)| m.user_id == to)
                .ok_or(diesel::result::Error::NotFound)?;
            let (mut membership, user) = locked.remove(target);
            let actor = match locked.iter().find(|(m, _)| m.user_id == ctx.user.id) {
                Some((mine, _)) => ctx.with_current_role(mine.role),
                None if ctx.user.is_super_admin() => ctx.clone(),
                None => ctx.with_current_role(OrgRole::Member),
            };
            // The owner row read before the lock may have changed hands meanwhile.
            let still_owner = locked
                .iter()
                .any(|(m, _)| m.user_id == owner.user_id && m.role == OrgRole::Owner);
            if !still_owner {
                return Err(TxError::Rejected(Denied(
                    "Ownership changed meanwhile; reload the page.",
                )));
            }
            can_transfer_to(&actor, membership.role, user.service_of.is_some())
                .into_result()
                .map_err(TxError::Rejected)?;
            // Demote first: the one-owner index allows no moment with two.
            memberships::set_role(conn, ctx.org_id, owner.user_id, OrgRole::Admin).await?;
            memberships::set_role(conn, ctx.org_id, to, OrgRole::Owner).await?;
            let who = actor.actor();
            let entry = audit::NewAuditEntry {
                before: Some(
                    serde_json::json!({ "owner": owner.user_id, "role": membership.role.as_str() }),
                ),
                after: Some(serde_json::json!({ "owner": to, "previous_owner_role": "admin" })),
                ..who.audit_org(
                    "organization.ownership_transferred",
                    ctx.org_id,
                    &user.email,
                )
            };
            audit::record(conn, &entry).await?;
            membership.role = OrgRole::Owner;
            Ok(MemberRow::new(
                &actor.with_current_role(OrgRole::Admin),
                (membership, user),
            ))
        })
        .await;
    denied(result)
}

/// The member of the acting organization with this email (the transfer form names them by
/// email: a 20,000-member list does not fit in a dropdown).
pub async fn member_by_email(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    email: &crate::domain::EmailAddress,
) -> Result<Option<UserId>, AppError> {
    require(ctx, Permission::ViewOrganization)?;
    let Some(user) = users::find_by_email(conn, email.as_str()).await? else {
        return Ok(None);
    };
    Ok(memberships::find(conn, ctx.org_id, user.id)
        .await?
        .map(|m| m.user_id))
}
