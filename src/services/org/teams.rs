//! Teams (seed 002; seed 001's workspaces): the cards, a team's members and their team roles,
//! ownership transfer, deactivation and the token budget. Every decision is `access.rs`'s, and
//! every change takes the team's row lock first and decides again on what it reads there, so
//! concurrent requests (a transfer racing role changes and removals) cannot break a rule.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{
    self, Decision, OrgContext, Permission, TeamStanding, TeamVisibility, can_act_on_team_member,
    can_deactivate_team, can_fund_team, can_give_team_role, can_manage_team, can_reactivate_team,
    can_transfer_team, team_roles_to_give,
};
use crate::db::paging::{Paging, Total, count_cap};
use crate::domain::{
    FieldErrors, OptionalText, RequiredText, TeamId, TeamRole, TeamStatus, TokenKind, UserId,
};
use crate::error::{AppError, Denied, TxError, is_unique_violation};
use crate::models::teams::{self, BudgetLine, Team, TeamListQuery, TeamMember};
pub use crate::models::users::User;
use crate::models::users::{self, PersonSearch, SearchScope};
use crate::models::{audit, memberships, organizations, token_assignments};
use crate::services::org::{current_actor, refuse, rejected};

pub const TEAM_NAME_MAX: usize = 100;
pub const TEAM_DESCRIPTION_MAX: usize = 500;
/// People a deactivation preview names (the rest are counted).
const PREVIEW_NAMES: i64 = 20;
/// Matches the add-member search offers.
const CANDIDATES: i64 = 10;

/// Where a member with this team role (if any) stands in the team.
fn standing(team: &Team, role: Option<TeamRole>) -> TeamStanding {
    TeamStanding {
        role,
        active: team.is_active(),
    }
}

/// A team as its card shows it, with the viewer's role in it and what its menu offers.
pub struct TeamCard {
    pub team: Team,
    pub my_role: Option<TeamRole>,
    pub deactivate: Decision,
    pub reactivate: Decision,
}

impl TeamCard {
    fn new(ctx: &OrgContext, team: Team, my_role: Option<TeamRole>) -> TeamCard {
        let standing = standing(&team, my_role);
        TeamCard {
            deactivate: can_deactivate_team(ctx, standing),
            reactivate: can_reactivate_team(ctx, standing),
            team,
            my_role,
        }
    }
}

pub struct TeamList {
    pub cards: Vec<TeamCard>,
    pub total: Total,
    /// Organization owners and admins see every team, deactivated ones too.
    pub sees_all: bool,
    /// Whether the viewer may create teams, and why not.
    pub can_create: Decision,
}

/// One page of the teams the viewer may see, by name, optionally those whose name contains
/// `contains`. One statement.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn list(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    contains: &str,
    paging: Paging,
) -> Result<TeamList, AppError> {
    access::require(ctx, Permission::ViewOrganization)?;
    let can_create = match access::require(ctx, Permission::CreateTeams) {
        Ok(()) => Decision::Allowed,
        Err(Denied(reason)) => Decision::Refused(reason),
    };
    let sees_all = can_create.is_allowed();
    let contains = contains.to_lowercase();
    let query = TeamListQuery {
        org_id: ctx.org_id,
        viewer: ctx.user.id,
        only_mine: !sees_all,
        contains: &contains,
        offset: paging.offset(),
        limit: paging.per_page,
    };
    let (found, total) = teams::page(conn, &query).await?;
    Ok(TeamList {
        cards: found
            .into_iter()
            .map(|(team, my_role)| TeamCard::new(ctx, team, my_role))
            .collect(),
        total: Total::exact(total),
        sees_all,
        can_create,
    })
}

pub enum CreateOutcome {
    Created(Team),
    Invalid(FieldErrors),
}

/// Creates a team; its creator owns it. The name is unique in the organization in any case.
#[tracing::instrument(skip(conn, ctx, name, description), fields(org_id = %ctx.org_id))]
pub async fn create(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    name: &str,
    description: &str,
) -> Result<CreateOutcome, AppError> {
    access::require(ctx, Permission::CreateTeams)?;
    let mut errors = FieldErrors::default();
    let name = errors.check("name", RequiredText::parse(name, TEAM_NAME_MAX));
    let description = errors.check(
        "description",
        OptionalText::parse(description, TEAM_DESCRIPTION_MAX),
    );
    let (Some(name), Some(description)) = (name, description) else {
        return Ok(CreateOutcome::Invalid(errors));
    };
    let (name, description) = (name.into_inner(), description.into_inner());
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            // The creator's role as it is now (a demotion meanwhile refuses).
            let actor = current_actor(conn, ctx).await?;
            access::require(&actor, Permission::CreateTeams).map_err(TxError::Rejected)?;
            let team = teams::insert(conn, ctx.org_id, &name, &description, ctx.user.id).await?;
            let who = actor.actor();
            let entry = audit::NewAuditEntry {
                after: Some(serde_json::json!({ "team_id": team.id, "description": description })),
                ..who.audit_org("team.created", ctx.org_id, &team.name)
            };
            audit::record(conn, &entry).await?;
            Ok(team)
        })
        .await;
    match result {
        Ok(team) => Ok(CreateOutcome::Created(team)),
        Err(TxError::Db(e)) if is_unique_violation(&e, "teams_org_name") => {
            errors.add(
                "name",
                format!("A team named “{name}” already exists in this organization."),
            );
            Ok(CreateOutcome::Invalid(errors))
        }
        Err(e) => Err(rejected(e)),
    }
}

/// A team as its page shows it, with everything the viewer may and may not do there.
pub struct TeamView {
    pub team: Team,
    pub standing: TeamStanding,
    /// The team roles the viewer may give (empty: no controls on the rows).
    pub roles: Vec<TeamRole>,
    pub manage: Decision,
    pub deactivate: Decision,
    pub reactivate: Decision,
    pub fund: Decision,
    pub sees_budget: bool,
}

impl TeamView {
    fn new(ctx: &OrgContext, team: Team, my_role: Option<TeamRole>) -> TeamView {
        let standing = standing(&team, my_role);
        TeamView {
            roles: team_roles_to_give(ctx, standing),
            manage: can_manage_team(ctx, standing),
            deactivate: can_deactivate_team(ctx, standing),
            reactivate: can_reactivate_team(ctx, standing),
            fund: can_fund_team(ctx, standing),
            sees_budget: access::can_see_team_budget(ctx, standing),
            standing,
            team,
        }
    }

    /// Whether the viewer sees any control on the members' rows.
    pub fn manages(&self) -> bool {
        !self.roles.is_empty()
    }
}

fn visible(ctx: &OrgContext, view: TeamView) -> Result<TeamView, AppError> {
    match access::team_visibility(ctx, view.standing) {
        TeamVisibility::Visible => Ok(view),
        TeamVisibility::Refused(reason) => Err(AppError::forbidden(reason)),
        TeamVisibility::Hidden => Err(AppError::NotFound),
    }
}

/// A team of the acting organization, if the viewer may see it (another organization's team,
/// or a team a member is not in, is not found).
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn open(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
) -> Result<TeamView, AppError> {
    access::require(ctx, Permission::ViewOrganization)?;
    let (team, my_role) = teams::find_with_role(conn, ctx.org_id, team_id, ctx.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    visible(ctx, TeamView::new(ctx, team, my_role))
}

/// A member of a team as its list shows them, with what the viewer may do to them.
pub struct TeamMemberRow {
    pub member: TeamMember,
    pub user: User,
    pub manage: Decision,
    pub transfer: Decision,
}

impl TeamMemberRow {
    fn new(ctx: &OrgContext, standing: TeamStanding, (member, user): (TeamMember, User)) -> Self {
        let (manage, transfer) = if user.id == ctx.user.id {
            let mine =
                Decision::Refused("This is you: another team owner or admin changes your role.");
            (mine, Decision::Refused("You already own this team."))
        } else {
            (
                can_act_on_team_member(ctx, standing, member.role),
                can_transfer_team(ctx, standing, member.role),
            )
        };
        TeamMemberRow {
            member,
            user,
            manage,
            transfer,
        }
    }
}

pub struct TeamMemberList {
    pub rows: Vec<TeamMemberRow>,
    pub total: Total,
}

/// One page of a team's members (owner first, then by role and name), or those whose email,
/// first or last name starts with the search. Two statements, by index.
#[tracing::instrument(skip(conn, ctx, view), fields(org_id = %ctx.org_id))]
pub async fn members(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    view: &TeamView,
    search: &str,
    paging: Paging,
) -> Result<TeamMemberList, AppError> {
    let team_id = view.team.id;
    let (ids, total) = match PersonSearch::parse(search) {
        None => (
            teams::member_ids_page(conn, team_id, paging.offset(), paging.per_page).await?,
            Total::exact(i64::from(view.team.member_count)),
        ),
        Some(search) => {
            let cap = count_cap(paging);
            let ids =
                users::search_ids_in(conn, SearchScope::Team(team_id), &search, cap + 1).await?;
            let total = Total::capped(ids.len(), cap);
            let page: Vec<UserId> = ids
                .into_iter()
                .skip(usize::try_from(paging.offset()).unwrap_or(0))
                .take(usize::try_from(paging.per_page).unwrap_or(0))
                .collect();
            (page, total)
        }
    };
    let found = teams::members_in_order(conn, team_id, &ids).await?;
    Ok(TeamMemberList {
        rows: found
            .into_iter()
            .map(|pair| TeamMemberRow::new(ctx, view.standing, pair))
            .collect(),
        total,
    })
}

/// Members of the organization not yet in the team whose email, first or last name starts
/// with the search: whom the viewer may add. Takes the team as `open` found it.
#[tracing::instrument(skip(conn, ctx, view), fields(org_id = %ctx.org_id))]
pub async fn candidates(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    view: &TeamView,
    search: &str,
) -> Result<Vec<User>, AppError> {
    view.manage.into_result()?;
    let Some(search) = PersonSearch::parse(search) else {
        return Ok(Vec::new());
    };
    let scope = SearchScope::OrganizationOutsideTeam(ctx.org_id, view.team.id);
    let ids = users::search_ids_in(conn, scope, &search, CANDIDATES).await?;
    let mut found: Vec<User> = memberships::with_users(conn, ctx.org_id, &ids)
        .await?
        .into_iter()
        .map(|(_, user)| user)
        .collect();
    found.sort_by_key(|user| ids.iter().position(|id| *id == user.id));
    Ok(found)
}

/// Inside a transaction: the team locked, the actor as they stand now, and the targets' rows
/// (those of `targets` in the team), all read under the team's lock.
struct Locked {
    team: Team,
    actor: OrgContext,
    standing: TeamStanding,
    targets: Vec<(TeamMember, User)>,
}

async fn lock_team(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    targets: &[UserId],
) -> Result<Locked, TxError<Denied>> {
    // The actor's and the targets' memberships first, held shared: a removal of any of them
    // (which locks memberships, then cascades into team rows) waits for this change, or this
    // change for it, instead of the two meeting halfway in the team's rows.
    let mut ids = targets.to_vec();
    ids.push(ctx.user.id);
    let held = memberships::share_among(conn, ctx.org_id, &ids).await?;
    let actor = match held.iter().find(|m| m.user_id == ctx.user.id) {
        Some(mine) => ctx.with_current_membership(mine.role, mine.subscriber_admin),
        None if ctx.user.is_super_admin() => ctx.clone(),
        None => {
            return Err(TxError::Rejected(Denied(
                "You are no longer a member of this organization.",
            )));
        }
    };
    let team = teams::lock(conn, ctx.org_id, team_id)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    let mut rows = teams::members_among(conn, team_id, &ids).await?;
    let my_role = rows
        .iter()
        .find(|(m, _)| m.user_id == ctx.user.id)
        .map(|(m, _)| m.role);
    rows.retain(|(m, _)| targets.contains(&m.user_id));
    let standing = standing(&team, my_role);
    match access::team_visibility(&actor, standing) {
        TeamVisibility::Visible => {}
        TeamVisibility::Refused(reason) => return Err(TxError::Rejected(Denied(reason))),
        TeamVisibility::Hidden => return Err(TxError::Db(diesel::result::Error::NotFound)),
    }
    Ok(Locked {
        team,
        actor,
        standing,
        targets: rows,
    })
}

/// `lock_team` for one member of the team; someone not in it (another organization's user
/// included) is not found.
async fn lock_team_member(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    user_id: UserId,
) -> Result<(Locked, TeamMember, User), TxError<Denied>> {
    let mut locked = lock_team(conn, ctx, team_id, &[user_id]).await?;
    let (member, user) = locked
        .targets
        .pop()
        .ok_or(diesel::result::Error::NotFound)?;
    Ok((locked, member, user))
}

fn team_audit<'a>(
    who: &'a access::Actor,
    action: &'a str,
    team: &'a Team,
    after: serde_json::Value,
) -> audit::NewAuditEntry<'a> {
    audit::NewAuditEntry {
        after: Some(after),
        ..who.audit_org(action, team.org_id, &team.name)
    }
}

/// Adds a member of the organization to the team as a team `member`.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn add_member(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    user_id: UserId,
) -> Result<User, AppError> {
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let locked = lock_team(conn, ctx, team_id, &[user_id]).await?;
            refuse(can_manage_team(&locked.actor, locked.standing))?;
            if !locked.targets.is_empty() {
                return Err(TxError::Rejected(Denied("They are already in this team.")));
            }
            // Another organization's user is not found, like an unknown id.
            let (_, user) = memberships::with_users(conn, ctx.org_id, &[user_id])
                .await?
                .pop()
                .ok_or(diesel::result::Error::NotFound)?;
            teams::add(conn, ctx.org_id, team_id, user_id, TeamRole::Member).await?;
            let who = locked.actor.actor();
            let after = serde_json::json!({ "member": user.email, "role": "member" });
            audit::record(
                conn,
                &team_audit(&who, "team.member_added", &locked.team, after),
            )
            .await?;
            Ok(user)
        })
        .await;
    result.map_err(rejected)
}

/// Gives a team member another team role (below the actor's own, to members below it).
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn change_role(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    user_id: UserId,
    new_role: TeamRole,
) -> Result<(TeamView, TeamMemberRow), AppError> {
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let (locked, mut member, user) = lock_team_member(conn, ctx, team_id, user_id).await?;
            if user_id == ctx.user.id {
                return Err(TxError::Rejected(Denied(
                    "You cannot change your own team role.",
                )));
            }
            refuse(can_give_team_role(
                &locked.actor,
                locked.standing,
                member.role,
                new_role,
            ))?;
            let before = member.role;
            if before != new_role {
                teams::set_role(conn, team_id, user_id, new_role).await?;
                let who = locked.actor.actor();
                let entry = audit::NewAuditEntry {
                    before: Some(serde_json::json!({ "member": user.email, "role": before })),
                    ..team_audit(
                        &who,
                        "team.member_role_changed",
                        &locked.team,
                        serde_json::json!({ "member": user.email, "role": new_role }),
                    )
                };
                audit::record(conn, &entry).await?;
            }
            member.role = new_role;
            let view = TeamView::new(&locked.actor, locked.team, locked.standing.role);
            let row = TeamMemberRow::new(&locked.actor, view.standing, (member, user));
            Ok((view, row))
        })
        .await;
    result.map_err(rejected)
}

/// Takes a member out of the team (never its owner: ownership moves by a transfer).
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn remove_member(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    user_id: UserId,
) -> Result<User, AppError> {
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let (locked, member, user) = lock_team_member(conn, ctx, team_id, user_id).await?;
            if user_id == ctx.user.id {
                return Err(TxError::Rejected(Denied(
                    "You cannot remove yourself from a team you manage; ask another team admin.",
                )));
            }
            refuse(can_act_on_team_member(
                &locked.actor,
                locked.standing,
                member.role,
            ))?;
            teams::remove(conn, team_id, user_id).await?;
            let who = locked.actor.actor();
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!({ "member": user.email, "role": member.role })),
                ..who.audit_org("team.member_removed", ctx.org_id, &locked.team.name)
            };
            audit::record(conn, &entry).await?;
            Ok(user)
        })
        .await;
    result.map_err(rejected)
}

/// A team member the owner might hand the team to, for the confirmation.
pub async fn transfer_target(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    to: UserId,
) -> Result<(TeamView, TeamMemberRow), AppError> {
    let view = open(conn, ctx, team_id).await?;
    let pair = teams::members_among(conn, team_id, &[to])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let row = TeamMemberRow::new(ctx, view.standing, pair);
    row.transfer.into_result()?;
    Ok((view, row))
}

/// Hands the team to another of its members; the old owner becomes a team admin. Exactly one
/// owner throughout: concurrent transfers and role changes wait on the team's lock, then find
/// the roles as the first left them (and the database checks at commit).
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn transfer(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    to: UserId,
) -> Result<User, AppError> {
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let (locked, member, user) = lock_team_member(conn, ctx, team_id, to).await?;
            refuse(can_transfer_team(
                &locked.actor,
                locked.standing,
                member.role,
            ))?;
            let owner = teams::owner_of(conn, team_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            // Demote first: the one-owner index allows no moment with two.
            teams::set_role(conn, team_id, owner, TeamRole::Admin).await?;
            teams::set_role(conn, team_id, to, TeamRole::Owner).await?;
            let who = locked.actor.actor();
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!({ "owner": owner, "new_owner_role": member.role })),
                ..team_audit(
                    &who,
                    "team.ownership_transferred",
                    &locked.team,
                    serde_json::json!({ "owner": user.email, "previous_owner_role": "admin" }),
                )
            };
            audit::record(conn, &entry).await?;
            Ok(user)
        })
        .await;
    result.map_err(rejected)
}

/// Who loses access when a team is deactivated.
pub struct DeactivationPreview {
    pub view: TeamView,
    /// The first members by role and name; `view.team.member_count` says how many in all.
    pub names: Vec<String>,
}

#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn deactivation_preview(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
) -> Result<DeactivationPreview, AppError> {
    let view = open(conn, ctx, team_id).await?;
    view.deactivate.into_result()?;
    let names = teams::first_names(conn, team_id, PREVIEW_NAMES)
        .await?
        .iter()
        .map(User::display_name)
        .collect();
    Ok(DeactivationPreview { view, names })
}

/// Deactivates (members lose access on their next request; the team and its members are kept)
/// or reactivates a team.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn set_active(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    active: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Team, AppError> {
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let locked = lock_team(conn, ctx, team_id, &[]).await?;
            let (decision, status, action) = if active {
                (
                    can_reactivate_team(&locked.actor, locked.standing),
                    TeamStatus::Active,
                    "team.reactivated",
                )
            } else {
                (
                    can_deactivate_team(&locked.actor, locked.standing),
                    TeamStatus::Deactivated,
                    "team.deactivated",
                )
            };
            refuse(decision)?;
            let team = teams::set_status(conn, team_id, status, now).await?;
            let who = locked.actor.actor();
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!({ "status": locked.team.status })),
                ..team_audit(
                    &who,
                    action,
                    &team,
                    serde_json::json!({ "status": status, "members": team.member_count }),
                )
            };
            audit::record(conn, &entry).await?;
            Ok(team)
        })
        .await;
    result.map_err(rejected)
}

/// A team's token budget: its assignments and totals per kind, and what the organization has
/// left to give.
pub struct Budget {
    pub lines: Vec<BudgetLine>,
    pub totals: Vec<(TokenKind, i64)>,
    pub unassigned: Vec<(TokenKind, i64)>,
}

impl Budget {
    pub fn total_of(&self, kind: TokenKind) -> i64 {
        self.totals
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, tokens)| tokens)
            .sum()
    }
}

/// Assignments a budget lists (totals count them all).
const BUDGET_LINES: i64 = 100;

#[tracing::instrument(skip(conn, ctx, view), fields(org_id = %ctx.org_id))]
pub async fn budget(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    view: &TeamView,
) -> Result<Budget, AppError> {
    if !view.sees_budget {
        return Err(AppError::forbidden(
            "Only the team's owner and admins and organization owners and admins see its budget.",
        ));
    }
    let lines = teams::budget_of(conn, view.team.id, BUDGET_LINES).await?;
    let totals = teams::budget_totals(conn, view.team.id).await?;
    let org = organizations::find(conn, ctx.org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Budget {
        lines,
        totals,
        unassigned: vec![
            (
                TokenKind::Inference,
                org.inference_purchased - org.inference_assigned,
            ),
            (
                TokenKind::Embedding,
                org.embedding_purchased - org.embedding_assigned,
            ),
        ],
    })
}

pub enum FundOutcome {
    Funded,
    Invalid(FieldErrors),
}

/// Gives the team purchased tokens. The database refuses more than the organization has left
/// unassigned (a check on its totals), so concurrent assignments cannot overshoot.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn fund(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    kind: TokenKind,
    tokens: i64,
) -> Result<FundOutcome, AppError> {
    let mut errors = FieldErrors::default();
    if tokens <= 0 {
        errors.add("tokens", "Enter a whole number of tokens above zero.");
        return Ok(FundOutcome::Invalid(errors));
    }
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let locked = lock_team(conn, ctx, team_id, &[]).await?;
            refuse(can_fund_team(&locked.actor, locked.standing))?;
            teams::fund(conn, ctx.org_id, team_id, kind, tokens, ctx.user.id).await?;
            let who = locked.actor.actor();
            let after = serde_json::json!({ "kind": kind, "tokens": tokens });
            audit::record(
                conn,
                &team_audit(&who, "team.tokens_assigned", &locked.team, after),
            )
            .await?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(FundOutcome::Funded),
        Err(TxError::Db(e)) if token_assignments::exceeds_purchased(&e) => {
            errors.add(
                "tokens",
                format!(
                    "Only purchased tokens can be assigned: this is more than the {} tokens the organization has left unassigned.",
                    kind.label().to_lowercase()
                ),
            );
            Ok(FundOutcome::Invalid(errors))
        }
        Err(e) => Err(rejected(e)),
    }
}

/// Takes one of the team's assignments back into the organization's pool.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn withdraw(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    team_id: TeamId,
    assignment_id: i64,
) -> Result<BudgetLine, AppError> {
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let locked = lock_team(conn, ctx, team_id, &[]).await?;
            refuse(can_fund_team(&locked.actor, locked.standing))?;
            let line = teams::withdraw(conn, team_id, assignment_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let who = locked.actor.actor();
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!({ "kind": line.kind, "tokens": line.tokens })),
                ..who.audit_org("team.tokens_withdrawn", ctx.org_id, &locked.team.name)
            };
            audit::record(conn, &entry).await?;
            Ok(line)
        })
        .await;
    result.map_err(rejected)
}
