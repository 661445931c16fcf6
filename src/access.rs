//! Who is asking and what they may do. The proofs services take (`SuperAdmin`, `OrgContext`),
//! and SPEC §3 as one table: `Permission` for what a role may do in its organization,
//! `can_act_on` for what it may do to another member. Every refusal carries the one-line
//! reason the person sees, so the server's check and the page's disabled control agree.

use serde::{Deserialize, Serialize};

use crate::domain::{OrgId, OrgRole, PlatformRole, TeamRole, UserId};
use crate::error::Denied;
use crate::models::audit::NewAuditEntry;
use crate::models::memberships::UserOrganization;
use crate::models::sessions::SessionWithUser;

/// The platform settings every request may need, read with the request's context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformFlags {
    pub single_org_per_account: bool,
    pub oauth_login_enabled: bool,
}

/// The signed-in user, loaded from the database with the session on every request (so a
/// removal or a disabled account bites at once), with the organizations they belong to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub platform_role: PlatformRole,
    pub organizations: Vec<UserOrganization>,
    pub platform: PlatformFlags,
    /// The client's address, for the audit log (set per request, never stored).
    #[serde(skip)]
    pub ip: Option<String>,
    /// The request's id, for the audit log (set per request, never stored).
    #[serde(skip)]
    pub request_id: Option<String>,
}

impl CurrentUser {
    /// The user of a session's rows (`sessions::load_with_user`); `None` when the session is
    /// not signed in or the account no longer exists or is disabled.
    pub fn from_session_rows(rows: &[SessionWithUser]) -> Option<CurrentUser> {
        let first = rows.first()?;
        Some(CurrentUser {
            id: first.user_id?,
            email: first.email.clone()?,
            first_name: first.first_name.clone().unwrap_or_default(),
            last_name: first.last_name.clone().unwrap_or_default(),
            platform_role: first.platform_role?,
            request_id: None,
            organizations: rows
                .iter()
                .filter_map(|row| {
                    Some(UserOrganization {
                        org_id: row.org_id?,
                        org_name: row.org_name.clone()?,
                        role: row.role?,
                        cancelled: row.org_cancelled?,
                        subscriber_admin: row.subscriber_admin?,
                    })
                })
                .collect(),
            platform: PlatformFlags {
                single_org_per_account: first.single_org_per_account,
                oauth_login_enabled: first.oauth_login_enabled,
            },
            ip: None,
        })
    }

    pub fn is_super_admin(&self) -> bool {
        self.platform_role == PlatformRole::SuperAdmin
    }

    /// The organization chosen in the header if the user still belongs to it, else the first
    /// one; `None` for a user with no organization.
    pub fn acting_in(&self, chosen: Option<OrgId>) -> Option<&UserOrganization> {
        self.organizations
            .iter()
            .find(|org| Some(org.org_id) == chosen)
            .or_else(|| self.organizations.first())
    }

    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name, self.last_name);
        match full.trim() {
            "" => self.email.clone(),
            name => name.to_owned(),
        }
    }

    /// Acting on one's own account.
    pub fn as_self(&self) -> Actor {
        self.actor("self")
    }

    fn actor(&self, role: &'static str) -> Actor {
        Actor {
            user_id: Some(self.id),
            email: self.email.clone(),
            role,
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// Where a request came from, for the audit log: its client address and its id. The web layer
/// reads them; services that act for someone not signed in yet take them.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// Who did something, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub email: String,
    /// The role acted as: `super_admin`, an organization role, `self` or `system`.
    pub role: &'static str,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The command line (create-superadmin, seed-demo).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            email: "system".to_owned(),
            role: "system",
            ip: None,
            request_id: None,
        }
    }

    /// Someone acting on their own account before they are signed in (accepting an
    /// invitation, resetting a password, a first sign-in through SSO), from this request.
    pub fn themselves(user_id: UserId, email: &str, origin: &Origin) -> Actor {
        Actor {
            user_id: Some(user_id),
            email: email.to_owned(),
            role: "self",
            ip: origin.ip.clone(),
            request_id: origin.request_id.clone(),
        }
    }

    pub fn audit<'a>(&'a self, action: &'a str, target: &'a str) -> NewAuditEntry<'a> {
        NewAuditEntry {
            actor_user_id: self.user_id,
            actor_email: &self.email,
            actor_role: self.role,
            action,
            org_id: None,
            target,
            before: None,
            after: None,
            ip: self.ip.as_deref(),
            request_id: self.request_id.as_deref(),
        }
    }

    /// An audit entry about one organization.
    pub fn audit_org<'a>(
        &'a self,
        action: &'a str,
        org_id: OrgId,
        target: &'a str,
    ) -> NewAuditEntry<'a> {
        NewAuditEntry {
            org_id: Some(org_id),
            ..self.audit(action, target)
        }
    }
}

/// Proof that the acting user is a super administrator: the console's services take one, so
/// they cannot be reached without the check.
#[derive(Debug, Clone)]
pub struct SuperAdmin {
    actor: Actor,
    platform: PlatformFlags,
}

impl SuperAdmin {
    pub fn check(user: &CurrentUser) -> Result<SuperAdmin, Denied> {
        if !user.is_super_admin() {
            return Err(Denied("Only super administrators can open this page."));
        }
        Ok(SuperAdmin {
            actor: user.actor("super_admin"),
            platform: user.platform,
        })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The platform settings as this request started.
    pub fn platform(&self) -> PlatformFlags {
        self.platform
    }

    pub fn user_id(&self) -> UserId {
        self.actor.user_id.unwrap_or(UserId(0))
    }

    pub fn audit<'a>(
        &'a self,
        action: &'a str,
        org_id: OrgId,
        target: &'a str,
    ) -> NewAuditEntry<'a> {
        self.actor.audit_org(action, org_id, target)
    }
}

/// Proof that a call comes from the platform itself: it presented the token configured as
/// `GUILDHALL_PLATFORM_TOKEN` (compared in constant time). Organizations never hold it, so what
/// only the platform may say (what an organization has in use against its plan's shared
/// limits, which decides the plans it fits) takes one.
#[derive(Debug)]
pub struct PlatformCaller {
    actor: Actor,
}

impl PlatformCaller {
    pub fn check(
        presented: &str,
        configured: Option<&secrecy::SecretString>,
        origin: Origin,
    ) -> Result<PlatformCaller, Denied> {
        use secrecy::ExposeSecret;
        use subtle::ConstantTimeEq;
        let refused = Denied(
            "Only the platform calls this, with the token configured as GUILDHALL_PLATFORM_TOKEN.",
        );
        let Some(configured) = configured else {
            return Err(refused);
        };
        let expected = configured.expose_secret().as_bytes();
        // Lengths differ only for a wrong token; ct_eq then answers no without a timing clue.
        if !bool::from(presented.as_bytes().ct_eq(expected)) {
            return Err(refused);
        }
        Ok(PlatformCaller {
            actor: Actor {
                user_id: None,
                email: "platform".to_owned(),
                role: "system",
                ip: origin.ip,
                request_id: origin.request_id,
            },
        })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

/// Proof of the organization a request acts in and the user's membership of it, read from the
/// database on this request.
#[derive(Debug, Clone)]
pub struct OrgContext {
    pub user: CurrentUser,
    pub org_id: OrgId,
    pub org_name: String,
    pub role: OrgRole,
    /// The organization's subscription is cancelled (only its owner still acts in it).
    pub cancelled: bool,
    /// The member holds the subscription-admin flag (manages seats).
    pub subscriber_admin: bool,
}

impl OrgContext {
    /// The user acting in the organization they chose (see `CurrentUser::acting_in`).
    pub fn choose(user: CurrentUser, chosen: Option<OrgId>) -> Option<OrgContext> {
        let membership = user.acting_in(chosen)?.clone();
        Some(OrgContext {
            user,
            org_id: membership.org_id,
            org_name: membership.org_name,
            role: membership.role,
            cancelled: membership.cancelled,
            subscriber_admin: membership.subscriber_admin,
        })
    }

    /// The user acting in `org_id` exactly, when they belong to it (no fallback to another).
    pub fn member_of(user: CurrentUser, org_id: OrgId) -> Option<OrgContext> {
        if !user.organizations.iter().any(|org| org.org_id == org_id) {
            return None;
        }
        OrgContext::choose(user, Some(org_id))
    }

    pub fn actor(&self) -> Actor {
        self.user.actor(self.role.as_str())
    }

    /// The same person with their role as re-read (locked) inside a transaction, so a decision
    /// taken there stands on the role they hold now, not the one the request started with.
    pub fn with_current_role(&self, role: OrgRole) -> OrgContext {
        OrgContext {
            role,
            ..self.clone()
        }
    }

    /// The same person with their role and flags as re-read (locked) inside a transaction.
    pub fn with_current_membership(&self, role: OrgRole, subscriber_admin: bool) -> OrgContext {
        OrgContext {
            role,
            subscriber_admin,
            ..self.clone()
        }
    }

    /// The role that decides: super administrators act as owners.
    fn authority(&self) -> OrgRole {
        if self.user.is_super_admin() {
            OrgRole::Owner
        } else {
            self.role
        }
    }
}

/// One variant per row of SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See the organization, its owner, the member list, the Subscription tab, providers.
    ViewOrganization,
    /// Invite users, resend and cancel invitations.
    ManageInvitations,
    /// Remove members, one or many (admins only below their own role: see `can_act_on`).
    RemoveMembers,
    /// Change roles and edit member names (admins only below their own role).
    ChangeMembers,
    CreateTeams,
    /// Add, rotate and remove provider keys.
    ManageProviderKeys,
    /// The IP allowlist and endpoint restrictions.
    ManageAccessPolicies,
    /// Change the plan, read org-wide usage.
    ManagePlan,
    /// Payment details, cancelling the subscription, transferring ownership.
    ManageBilling,
    LeaveOrganization,
    /// Consume credits with one's own organization API key.
    UseOrgApiKey,
    /// Create and remove service accounts, and issue and rotate their keys.
    ManageServiceAccounts,
    /// Read and verify the organization's audit log.
    ReadAuditLog,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::ViewOrganization,
        Permission::ManageInvitations,
        Permission::RemoveMembers,
        Permission::ChangeMembers,
        Permission::CreateTeams,
        Permission::ManageProviderKeys,
        Permission::ManageAccessPolicies,
        Permission::ManagePlan,
        Permission::ManageBilling,
        Permission::LeaveOrganization,
        Permission::UseOrgApiKey,
        Permission::ManageServiceAccounts,
        Permission::ReadAuditLog,
    ];

    /// SPEC §3: the roles allowed, and the reason given to the others.
    fn rule(self) -> (&'static [OrgRole], &'static str) {
        use OrgRole::{Admin, Member, Owner};
        const EVERYONE: &[OrgRole] = &[Owner, Admin, Member];
        const MANAGERS: &[OrgRole] = &[Owner, Admin];
        match self {
            Permission::ViewOrganization | Permission::UseOrgApiKey => (EVERYONE, ""),
            Permission::ManageInvitations => {
                (MANAGERS, "Only owners and admins can invite people.")
            }
            Permission::RemoveMembers => (MANAGERS, "Only owners and admins can remove members."),
            Permission::ChangeMembers => (MANAGERS, "Only owners and admins can change members."),
            Permission::CreateTeams => (MANAGERS, "Only owners and admins can create teams."),
            Permission::ManageProviderKeys => {
                (MANAGERS, "Only owners and admins can manage provider keys.")
            }
            Permission::ManageAccessPolicies => (
                MANAGERS,
                "Only owners and admins can manage access policies.",
            ),
            Permission::ManageServiceAccounts => {
                (MANAGERS, "Only owners and admins manage service accounts.")
            }
            Permission::ManagePlan => (MANAGERS, "Only owners and admins can change the plan."),
            Permission::ReadAuditLog => {
                (MANAGERS, "Only owners and admins can read the audit log.")
            }
            Permission::ManageBilling => (&[Owner], "Only the owner can manage billing."),
            Permission::LeaveOrganization => (
                &[Admin, Member],
                "The owner cannot leave; transfer ownership first.",
            ),
        }
    }

    /// What a cancelled organization no longer allows: growing or changing it. Its owner still
    /// sees it, keeps its keys and uses its remaining credits (seed 004).
    fn closed_by_cancellation(self) -> bool {
        matches!(
            self,
            Permission::ManageInvitations
                | Permission::ChangeMembers
                | Permission::CreateTeams
                | Permission::ManagePlan
                | Permission::ManageServiceAccounts
        )
    }

    /// Whether a member with this role may do this.
    pub fn check(self, role: OrgRole) -> Result<(), Denied> {
        let (allowed, reason) = self.rule();
        if allowed.contains(&role) {
            Ok(())
        } else {
            Err(Denied(reason))
        }
    }
}

/// Whether the acting member may do this in their organization. Super administrators bypass
/// every organization rule but the owner's staying.
pub fn require(ctx: &OrgContext, permission: Permission) -> Result<(), Denied> {
    if ctx.user.is_super_admin() && permission != Permission::LeaveOrganization {
        return Ok(());
    }
    if ctx.cancelled && permission.closed_by_cancellation() {
        return Err(Denied(CANCELLED));
    }
    permission.check(ctx.role)
}

const CANCELLED: &str = "The subscription is cancelled: nothing can be added or changed.";

/// SPEC §2, Membership: the owner and the members holding the subscriber-admin flag grant and
/// withdraw seats (admins only when they hold the flag).
pub fn can_manage_seats(ctx: &OrgContext) -> Decision {
    if ctx.user.is_super_admin() {
        return Decision::Allowed;
    }
    if ctx.cancelled {
        return Decision::Refused(CANCELLED);
    }
    if ctx.role == OrgRole::Owner || ctx.subscriber_admin {
        Decision::Allowed
    } else {
        Decision::Refused("Only the owner and subscription admins grant and withdraw seats.")
    }
}

/// Statements and the list of seat holders: owners, admins (who change the plan) and
/// subscription admins (who manage seats); members see the plan, seats and cost only.
pub fn can_see_billing(ctx: &OrgContext) -> Result<(), Denied> {
    if ctx.user.is_super_admin()
        || matches!(ctx.role, OrgRole::Owner | OrgRole::Admin)
        || ctx.subscriber_admin
    {
        Ok(())
    } else {
        Err(Denied(
            "Only owners, admins and subscription admins see statements.",
        ))
    }
}

/// SPEC §3: only the owner cancels, and only once every other member has been removed (seed
/// 004).
pub fn can_cancel_subscription(ctx: &OrgContext, other_members: i32) -> Decision {
    if let Err(denied) = require(ctx, Permission::ManageBilling) {
        return Decision::Refused(denied.0);
    }
    if ctx.cancelled {
        return Decision::Refused("The subscription is already cancelled.");
    }
    if other_members > 0 {
        return Decision::Refused("Remove every other member before cancelling.");
    }
    Decision::Allowed
}

/// Organization API keys (seed 004): owners and admins see and revoke every key of the
/// organization; members only their own.
pub fn sees_every_api_key(ctx: &OrgContext) -> bool {
    ctx.user.is_super_admin() || matches!(ctx.role, OrgRole::Owner | OrgRole::Admin)
}

/// Revoking an organization key held by `holder`.
pub fn can_revoke_api_key(ctx: &OrgContext, holder: UserId) -> Decision {
    if holder == ctx.user.id || sees_every_api_key(ctx) {
        Decision::Allowed
    } else {
        Decision::Refused("Only owners and admins revoke other members' keys.")
    }
}

/// Rotating a key: its holder only, as the new secret is shown to whoever rotates it; a
/// service account's keys, by the owners and admins who manage it.
pub fn can_rotate_api_key(ctx: &OrgContext, holder: UserId, holder_is_service: bool) -> Decision {
    if holder == ctx.user.id || (holder_is_service && sees_every_api_key(ctx)) {
        Decision::Allowed
    } else if holder_is_service {
        Decision::Refused("Only owners and admins rotate a service account's keys.")
    } else {
        Decision::Refused("Only the key's holder rotates it: the new key is shown to them alone.")
    }
}

/// The answer to "may this person act on that member?", with the reason when not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Refused(&'static str),
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allowed
    }

    /// The reason a refused control shows beside its lock icon.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Decision::Allowed => None,
            Decision::Refused(reason) => Some(reason),
        }
    }

    pub fn into_result(self) -> Result<(), Denied> {
        match self {
            Decision::Allowed => Ok(()),
            Decision::Refused(reason) => Err(Denied(reason)),
        }
    }
}

/// SPEC §3: you can only act on members strictly below your own role (seed 002); the owner
/// changes only by a transfer.
pub fn can_act_on(actor: &OrgContext, target: OrgRole) -> Decision {
    match (actor.authority(), target) {
        (_, OrgRole::Owner) => {
            Decision::Refused("The owner changes only when they transfer ownership.")
        }
        (OrgRole::Member, _) => Decision::Refused("Only owners and admins can manage members."),
        (actor, target) if actor > target => Decision::Allowed,
        _ => Decision::Refused("Admins can only act on members below their own role."),
    }
}

/// The roles the actor may give: strictly below their own, never owner (ownership moves only by
/// a transfer). Empty for members.
pub fn roles_to_give(actor: &OrgContext) -> Vec<OrgRole> {
    let authority = actor.authority();
    [OrgRole::Admin, OrgRole::Member]
        .into_iter()
        .filter(|role| *role < authority)
        .collect()
}

/// May the actor give `new_role` to a member who holds `target` now?
pub fn can_give_role(actor: &OrgContext, target: OrgRole, new_role: OrgRole) -> Decision {
    match can_act_on(actor, target) {
        Decision::Allowed if roles_to_give(actor).contains(&new_role) => Decision::Allowed,
        Decision::Allowed => Decision::Refused("You can only give roles below your own."),
        refused => refused,
    }
}

/// May the actor invite people with this role?
pub fn can_invite_as(actor: &OrgContext, role: OrgRole) -> Result<(), Denied> {
    require(actor, Permission::ManageInvitations)?;
    if roles_to_give(actor).contains(&role) {
        Ok(())
    } else {
        Err(Denied(
            "You can only invite people with a role below your own.",
        ))
    }
}

/// May the actor hand the organization over? Only its owner (or a super administrator), and
/// only to another member.
pub fn can_transfer_to(actor: &OrgContext, target: OrgRole, target_is_service: bool) -> Decision {
    if actor.authority() != OrgRole::Owner {
        return Decision::Refused("Only the owner can transfer ownership.");
    }
    if target == OrgRole::Owner {
        return Decision::Refused("This member already owns the organization.");
    }
    if target_is_service {
        return Decision::Refused("A service account cannot own the organization.");
    }
    Decision::Allowed
}

/// A seat (or the subscription admin's flag) for a member: people only.
pub fn can_hold_seat(target_is_service: bool) -> Decision {
    if target_is_service {
        Decision::Refused("A service account holds no seat: it counts in usage, not in seats.")
    } else {
        Decision::Allowed
    }
}

/// Where the acting member stands in one team (SPEC §3, team rules; seed 002): their team role,
/// if they are in it, and whether the team is active. Team roles are separate from
/// organization roles; organization owners and admins see every team and decide its status and
/// budget, but manage its members only by the team role they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamStanding {
    pub role: Option<TeamRole>,
    pub active: bool,
}

/// What a member may see of a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamVisibility {
    Visible,
    /// They are in it, but it was deactivated: they are told so.
    Refused(&'static str),
    /// Not theirs to know about: not found.
    Hidden,
}

/// Whether the actor runs the organization's teams (owners, admins, super administrators).
fn oversees_teams(actor: &OrgContext) -> bool {
    actor.authority() >= OrgRole::Admin
}

/// The team role that decides: super administrators act as the team's owner.
fn team_authority(actor: &OrgContext, standing: TeamStanding) -> Option<TeamRole> {
    if actor.user.is_super_admin() {
        Some(TeamRole::Owner)
    } else {
        standing.role
    }
}

/// Members see the active teams they are in; organization owners and admins see every team.
pub fn team_visibility(actor: &OrgContext, standing: TeamStanding) -> TeamVisibility {
    match (oversees_teams(actor), standing.role, standing.active) {
        (true, _, _) | (false, Some(_), true) => TeamVisibility::Visible,
        (false, Some(_), false) => TeamVisibility::Refused(
            "This team was deactivated; an organization owner or admin can reactivate it.",
        ),
        (false, None, _) => TeamVisibility::Hidden,
    }
}

const TEAM_INACTIVE: &str = "This team is deactivated; reactivate it first.";

/// Adding members, changing their team roles, removing them: the team's owner and admins.
pub fn can_manage_team(actor: &OrgContext, standing: TeamStanding) -> Decision {
    if !standing.active {
        return Decision::Refused(TEAM_INACTIVE);
    }
    match team_authority(actor, standing) {
        Some(role) if role >= TeamRole::Admin => Decision::Allowed,
        _ => Decision::Refused("Only the team's owner and admins can manage its members."),
    }
}

/// The team roles the actor may give: strictly below their own team role, never owner (owners
/// make admins, admins up to moderators). Empty for those who do not manage the team.
pub fn team_roles_to_give(actor: &OrgContext, standing: TeamStanding) -> Vec<TeamRole> {
    if !can_manage_team(actor, standing).is_allowed() {
        return Vec::new();
    }
    let authority = team_authority(actor, standing).unwrap_or(TeamRole::Viewer);
    [
        TeamRole::Admin,
        TeamRole::Moderator,
        TeamRole::Member,
        TeamRole::Viewer,
    ]
    .into_iter()
    .filter(|role| *role < authority)
    .collect()
}

/// May the actor change or remove a team member who holds `target`?
pub fn can_act_on_team_member(
    actor: &OrgContext,
    standing: TeamStanding,
    target: TeamRole,
) -> Decision {
    match can_manage_team(actor, standing) {
        Decision::Allowed => {}
        refused => return refused,
    }
    if target == TeamRole::Owner {
        return Decision::Refused("The team's owner changes only when they transfer ownership.");
    }
    match team_authority(actor, standing) {
        Some(authority) if authority > target => Decision::Allowed,
        _ => Decision::Refused("You can only act on team members below your own team role."),
    }
}

/// May the actor give `new_role` to a team member who holds `target` now?
pub fn can_give_team_role(
    actor: &OrgContext,
    standing: TeamStanding,
    target: TeamRole,
    new_role: TeamRole,
) -> Decision {
    match can_act_on_team_member(actor, standing, target) {
        Decision::Allowed if team_roles_to_give(actor, standing).contains(&new_role) => {
            Decision::Allowed
        }
        Decision::Allowed => Decision::Refused("You can only give team roles below your own."),
        refused => refused,
    }
}

/// May the actor hand the team to a member who holds `target`? Only its owner.
pub fn can_transfer_team(actor: &OrgContext, standing: TeamStanding, target: TeamRole) -> Decision {
    if !standing.active {
        return Decision::Refused(TEAM_INACTIVE);
    }
    if team_authority(actor, standing) != Some(TeamRole::Owner) {
        return Decision::Refused("Only the team's owner can transfer its ownership.");
    }
    if target == TeamRole::Owner {
        return Decision::Refused("This member already owns the team.");
    }
    Decision::Allowed
}

/// Deactivating: the team's owner, or an organization owner or admin.
pub fn can_deactivate_team(actor: &OrgContext, standing: TeamStanding) -> Decision {
    if !standing.active {
        return Decision::Refused("This team is already deactivated.");
    }
    if oversees_teams(actor) || team_authority(actor, standing) == Some(TeamRole::Owner) {
        Decision::Allowed
    } else {
        Decision::Refused(
            "Only the team's owner or an organization owner or admin can deactivate it.",
        )
    }
}

/// Reactivating: organization owners and admins (a deactivated team is theirs to see).
pub fn can_reactivate_team(actor: &OrgContext, standing: TeamStanding) -> Decision {
    if standing.active {
        return Decision::Refused("This team is active.");
    }
    if oversees_teams(actor) {
        Decision::Allowed
    } else {
        Decision::Refused("Only organization owners and admins can reactivate a team.")
    }
}

/// Giving a team purchased tokens, or taking them back: organization owners and admins.
pub fn can_fund_team(actor: &OrgContext, standing: TeamStanding) -> Decision {
    if !oversees_teams(actor) {
        return Decision::Refused("Only organization owners and admins assign tokens to teams.");
    }
    if !standing.active {
        return Decision::Refused(TEAM_INACTIVE);
    }
    Decision::Allowed
}

/// Seeing a team's budget: those who fund it and the team's owner and admins.
pub fn can_see_team_budget(actor: &OrgContext, standing: TeamStanding) -> bool {
    oversees_teams(actor) || team_authority(actor, standing) >= Some(TeamRole::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrgRole::{Admin, Member, Owner};

    fn context(role: OrgRole, platform_role: PlatformRole) -> OrgContext {
        let user = CurrentUser {
            id: UserId(1),
            email: "someone@example.com".to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            platform_role,
            organizations: vec![UserOrganization {
                org_id: OrgId(7),
                org_name: "Acme".to_owned(),
                role,
                cancelled: false,
                subscriber_admin: false,
            }],
            platform: PlatformFlags::default(),
            ip: None,
            request_id: None,
        };
        OrgContext::choose(user, None).expect("a membership")
    }

    /// SPEC §3, written out by hand: (permission, owner, admin, member).
    const EXPECTED: [(Permission, bool, bool, bool); 13] = [
        (Permission::ViewOrganization, true, true, true),
        (Permission::ManageInvitations, true, true, false),
        (Permission::RemoveMembers, true, true, false),
        (Permission::ChangeMembers, true, true, false),
        (Permission::CreateTeams, true, true, false),
        (Permission::ManageProviderKeys, true, true, false),
        (Permission::ManageAccessPolicies, true, true, false),
        (Permission::ManagePlan, true, true, false),
        (Permission::ManageBilling, true, false, false),
        (Permission::LeaveOrganization, false, true, true),
        (Permission::UseOrgApiKey, true, true, true),
        (Permission::ManageServiceAccounts, true, true, false),
        (Permission::ReadAuditLog, true, true, false),
    ];

    #[test]
    fn every_permission_for_every_role_matches_the_spec() {
        assert_eq!(EXPECTED.len(), Permission::ALL.len());
        for (permission, owner, admin, member) in EXPECTED {
            for (role, expected) in [(Owner, owner), (Admin, admin), (Member, member)] {
                let decided = require(&context(role, PlatformRole::User), permission);
                assert_eq!(decided.is_ok(), expected, "{permission:?} as {role:?}");
                if let Err(Denied(reason)) = decided {
                    assert!(!reason.is_empty(), "{permission:?} refuses with a reason");
                }
            }
        }
    }

    #[test]
    fn super_admins_may_do_everything_but_leave_as_owner() {
        for permission in Permission::ALL {
            let decided = require(&context(Owner, PlatformRole::SuperAdmin), permission);
            assert_eq!(
                decided.is_ok(),
                permission != Permission::LeaveOrganization,
                "{permission:?}"
            );
        }
    }

    #[test]
    fn members_act_only_on_roles_strictly_below_their_own() {
        let cases = [
            (Owner, Admin, true),
            (Owner, Member, true),
            (Owner, Owner, false),
            (Admin, Member, true),
            (Admin, Admin, false),
            (Admin, Owner, false),
            (Member, Member, false),
            (Member, Admin, false),
            (Member, Owner, false),
        ];
        for (actor, target, allowed) in cases {
            let decision = can_act_on(&context(actor, PlatformRole::User), target);
            assert_eq!(decision.is_allowed(), allowed, "{actor:?} on {target:?}");
            assert_eq!(decision.reason().is_some(), !allowed);
        }
        let root = context(Member, PlatformRole::SuperAdmin);
        assert!(can_act_on(&root, Admin).is_allowed());
        assert!(!can_act_on(&root, Owner).is_allowed());
    }

    #[test]
    fn roles_given_are_strictly_below_ones_own_and_never_owner() {
        let owner = context(Owner, PlatformRole::User);
        let admin = context(Admin, PlatformRole::User);
        let member = context(Member, PlatformRole::User);
        assert_eq!(roles_to_give(&owner), vec![Admin, Member]);
        assert_eq!(roles_to_give(&admin), vec![Member]);
        assert!(roles_to_give(&member).is_empty());
        assert!(can_give_role(&owner, Member, Admin).is_allowed());
        assert!(!can_give_role(&owner, Admin, Owner).is_allowed());
        assert!(!can_give_role(&admin, Member, Admin).is_allowed());
        assert!(!can_give_role(&admin, Admin, Member).is_allowed());
        assert!(can_invite_as(&admin, Member).is_ok());
        assert!(can_invite_as(&admin, Admin).is_err());
        assert!(can_invite_as(&member, Member).is_err());
        assert!(can_transfer_to(&owner, Member, false).is_allowed());
        assert!(!can_transfer_to(&owner, Member, true).is_allowed());
        assert!(!can_transfer_to(&admin, Member, false).is_allowed());
        assert!(!can_transfer_to(&owner, Owner, false).is_allowed());
    }

    fn standing(role: Option<TeamRole>) -> TeamStanding {
        TeamStanding { role, active: true }
    }

    #[test]
    fn team_roles_are_given_strictly_below_ones_own_team_role() {
        use TeamRole::{Admin as TAdmin, Member as TMember, Moderator, Owner as TOwner, Viewer};
        // An organization owner who is a team viewer manages nothing in the team (seed 002).
        let org_owner = context(Owner, PlatformRole::User);
        assert!(team_roles_to_give(&org_owner, standing(Some(Viewer))).is_empty());
        assert!(!can_manage_team(&org_owner, standing(Some(Viewer))).is_allowed());
        assert!(!can_manage_team(&org_owner, standing(None)).is_allowed());
        let member = context(Member, PlatformRole::User);
        assert_eq!(
            team_roles_to_give(&member, standing(Some(TOwner))),
            vec![TAdmin, Moderator, TMember, Viewer]
        );
        assert_eq!(
            team_roles_to_give(&member, standing(Some(TAdmin))),
            vec![Moderator, TMember, Viewer]
        );
        assert!(team_roles_to_give(&member, standing(Some(Moderator))).is_empty());
        let cases = [
            (TOwner, TAdmin, true),
            (TOwner, TOwner, false),
            (TAdmin, Moderator, true),
            (TAdmin, TAdmin, false),
            (TAdmin, TOwner, false),
            (Moderator, Viewer, false),
            (TMember, Viewer, false),
        ];
        for (mine, target, allowed) in cases {
            let decision = can_act_on_team_member(&member, standing(Some(mine)), target);
            assert_eq!(decision.is_allowed(), allowed, "{mine:?} on {target:?}");
            assert_eq!(decision.reason().is_some(), !allowed);
        }
        assert!(
            can_give_team_role(&member, standing(Some(TAdmin)), Viewer, Moderator).is_allowed()
        );
        assert!(!can_give_team_role(&member, standing(Some(TAdmin)), Viewer, TAdmin).is_allowed());
        assert!(!can_give_team_role(&member, standing(Some(TOwner)), TMember, TOwner).is_allowed());
        // Super administrators bypass team rules.
        let root = context(Member, PlatformRole::SuperAdmin);
        assert!(can_act_on_team_member(&root, standing(None), TAdmin).is_allowed());
        assert!(can_transfer_team(&root, standing(None), TMember).is_allowed());
    }

    #[test]
    fn team_visibility_status_and_budget_follow_the_organization_role() {
        use TeamRole::{Admin as TAdmin, Owner as TOwner, Viewer};
        let admin = context(Admin, PlatformRole::User);
        let member = context(Member, PlatformRole::User);
        let deactivated = |role| TeamStanding {
            role,
            active: false,
        };
        assert_eq!(
            team_visibility(&admin, standing(None)),
            TeamVisibility::Visible
        );
        assert_eq!(
            team_visibility(&admin, deactivated(None)),
            TeamVisibility::Visible
        );
        assert_eq!(
            team_visibility(&member, standing(Some(Viewer))),
            TeamVisibility::Visible
        );
        assert_eq!(
            team_visibility(&member, standing(None)),
            TeamVisibility::Hidden
        );
        assert!(matches!(
            team_visibility(&member, deactivated(Some(TOwner))),
            TeamVisibility::Refused(_)
        ));
        assert!(can_deactivate_team(&member, standing(Some(TOwner))).is_allowed());
        assert!(!can_deactivate_team(&member, standing(Some(TAdmin))).is_allowed());
        assert!(can_deactivate_team(&admin, standing(None)).is_allowed());
        assert!(!can_reactivate_team(&member, deactivated(Some(TOwner))).is_allowed());
        assert!(can_reactivate_team(&admin, deactivated(None)).is_allowed());
        assert!(!can_manage_team(&member, deactivated(Some(TOwner))).is_allowed());
        assert!(!can_transfer_team(&member, deactivated(Some(TOwner)), TAdmin).is_allowed());
        assert!(can_fund_team(&admin, standing(None)).is_allowed());
        assert!(!can_fund_team(&member, standing(Some(TOwner))).is_allowed());
        assert!(!can_fund_team(&admin, deactivated(None)).is_allowed());
        assert!(can_see_team_budget(&member, standing(Some(TAdmin))));
        assert!(!can_see_team_budget(&member, standing(Some(Viewer))));
        assert!(can_see_team_budget(&admin, standing(Some(Viewer))));
    }

    #[test]
    fn seats_statements_and_cancellation_follow_the_owner_and_the_subscription_admin_flag() {
        let owner = context(Owner, PlatformRole::User);
        let admin = context(Admin, PlatformRole::User);
        let member = context(Member, PlatformRole::User);
        let root = context(Member, PlatformRole::SuperAdmin);
        let flagged = |ctx: &OrgContext| ctx.with_current_membership(ctx.role, true);
        assert!(can_manage_seats(&owner).is_allowed());
        assert!(
            !can_manage_seats(&admin).is_allowed(),
            "admins need the flag"
        );
        assert!(can_manage_seats(&flagged(&admin)).is_allowed());
        assert!(can_manage_seats(&flagged(&member)).is_allowed());
        assert!(can_manage_seats(&root).is_allowed());
        assert!(can_see_billing(&admin).is_ok());
        assert!(can_see_billing(&member).is_err());
        assert!(can_see_billing(&flagged(&member)).is_ok());
        assert!(can_cancel_subscription(&owner, 0).is_allowed());
        assert_eq!(
            can_cancel_subscription(&owner, 3).reason(),
            Some("Remove every other member before cancelling.")
        );
        assert!(!can_cancel_subscription(&admin, 0).is_allowed());

        // Once cancelled, the owner keeps the organization but grows and changes nothing.
        let cancelled = OrgContext {
            cancelled: true,
            ..owner.clone()
        };
        assert!(!can_cancel_subscription(&cancelled, 0).is_allowed());
        assert!(!can_manage_seats(&cancelled).is_allowed());
        for permission in Permission::ALL {
            let closed = matches!(
                permission,
                Permission::ManageInvitations
                    | Permission::ChangeMembers
                    | Permission::CreateTeams
                    | Permission::ManagePlan
                    | Permission::ManageServiceAccounts
                    | Permission::LeaveOrganization
            );
            assert_eq!(
                require(&cancelled, permission).is_err(),
                closed,
                "{permission:?} once cancelled"
            );
        }
    }

    #[test]
    fn the_chosen_organization_must_still_be_ones_own() {
        let ctx = context(Admin, PlatformRole::User);
        let again = OrgContext::choose(ctx.user.clone(), Some(OrgId(99))).expect("fallback");
        assert_eq!(again.org_id, OrgId(7));
    }
}
