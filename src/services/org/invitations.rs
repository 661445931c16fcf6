//! Inviting people by email: a dry run that says per line what would happen, the commit (one
//! transaction, a report per line), the list of invitations with their status, resend and
//! cancel. The emails go through the outbox (`services::outbox`).

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{OrgContext, Permission, can_invite_as, require};
use crate::domain::{
    EmailAddress, FieldErrors, InvitationId, InvitationStatus, OrgRole, TeamId, UserId,
    random_token,
};
use crate::error::{AppError, Denied, TxError};
use crate::models::invitations::{self, Invitation, NewInvitation};
use crate::models::teams::{self, TeamChoice};
use crate::models::{audit, memberships, organizations, platform_settings, users};
use crate::services::outbox::{InvitationEmail, Postbox};
use crate::services::rules::{self, SINGLE_ORG_POLICY};

/// At most this many emails in one invitation batch.
pub const MAX_INVITE_LINES: usize = 100;

/// What the form sends.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    pub emails: String,
    pub role: OrgRole,
    /// Teams ticked on the form (an organization with a few teams)...
    pub team_ids: Vec<TeamId>,
    /// ...or named, separated by commas (one with many).
    pub team_names: String,
}

/// What happens (or would happen) to one line of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Invite,
    AlreadyMember,
    AlreadyInvited,
    Duplicate,
    /// Refused by a rule (the domain restriction, the single-organization policy).
    Refused(String),
    Malformed(String),
}

impl Verdict {
    pub fn is_invite(&self) -> bool {
        *self == Verdict::Invite
    }

    /// What the report says about the line.
    pub fn describe(&self, committed: bool) -> String {
        match self {
            Verdict::Invite if committed => "Invited".to_owned(),
            Verdict::Invite => "Will be invited".to_owned(),
            Verdict::AlreadyMember => "Already a member: skipped".to_owned(),
            Verdict::AlreadyInvited => {
                "Already invited: skipped (resend it from the list below)".to_owned()
            }
            Verdict::Duplicate => "Listed twice: invited once".to_owned(),
            Verdict::Refused(reason) | Verdict::Malformed(reason) => reason.clone(),
        }
    }

    /// For the badge beside the line: `ok`, `skip` or `error`.
    pub fn tone(&self) -> &'static str {
        match self {
            Verdict::Invite => "ok",
            Verdict::AlreadyMember | Verdict::AlreadyInvited | Verdict::Duplicate => "skip",
            Verdict::Refused(_) | Verdict::Malformed(_) => "error",
        }
    }
}

pub struct InviteLine {
    pub text: String,
    pub verdict: Verdict,
}

pub enum InviteOutcome {
    /// The form as sent cannot be planned (no emails, too many, a deactivated team).
    Invalid(FieldErrors),
    /// The dry run: nothing was written.
    Planned(Vec<InviteLine>),
    /// Committed: the invitable lines were invited in one transaction.
    Sent(Vec<InviteLine>),
}

/// The emails of a paste: separated by commas, semicolons or line breaks.
pub fn split_emails(text: &str) -> Vec<&str> {
    text.split([',', ';', '\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
}

/// The team names a form lists, lower-cased, without blanks and repeats.
fn team_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split([',', '\n'])
        .map(|name| name.trim().to_lowercase())
        .filter(|name| !name.is_empty())
        .take(100)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What the Invite form offers: the roles below the viewer's own and the active teams, as
/// checkboxes when there are few; with more, the form asks for their names instead of listing
/// hundreds.
pub struct InviteChoices {
    pub roles: Vec<OrgRole>,
    pub teams: Vec<TeamChoice>,
    pub teams_by_name: bool,
}

/// The most teams the Invite form lists as checkboxes.
pub const LISTED_TEAMS: i64 = 12;

pub async fn choices(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
) -> Result<InviteChoices, AppError> {
    require(ctx, Permission::ManageInvitations)?;
    let mut teams = teams::active_in(conn, ctx.org_id, LISTED_TEAMS + 1).await?;
    let teams_by_name = teams.len() > LISTED_TEAMS as usize;
    if teams_by_name {
        teams.clear();
    }
    Ok(InviteChoices {
        roles: crate::access::roles_to_give(ctx),
        teams,
        teams_by_name,
    })
}

/// The dry run (`commit` false) or the invitations themselves.
#[tracing::instrument(skip(conn, ctx, postbox, request), fields(org_id = %ctx.org_id))]
pub async fn invite(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    postbox: &Postbox,
    now: DateTime<Utc>,
    request: &InviteRequest,
    commit: bool,
) -> Result<InviteOutcome, AppError> {
    can_invite_as(ctx, request.role)?;
    let mut errors = FieldErrors::default();
    let mut team_ids = request.team_ids.clone();
    let names = team_names(&request.team_names);
    if !names.is_empty() {
        let named = teams::find_by_names(conn, ctx.org_id, &names).await?;
        for name in &names {
            match named.iter().find(|t| t.name.to_lowercase() == *name) {
                Some(team) => team_ids.push(team.id),
                None => errors.add(
                    "teams",
                    format!("No team of this organization is named “{name}”."),
                ),
            }
        }
    }
    team_ids.sort();
    team_ids.dedup();
    let chosen_teams = teams::find_in(conn, ctx.org_id, &team_ids).await?;
    if chosen_teams.len() != team_ids.len() {
        return Err(AppError::NotFound);
    }
    if let Some(team) = chosen_teams
        .iter()
        .find(|t| t.status != crate::domain::TeamStatus::Active)
    {
        errors.add(
            "teams",
            format!("{} is deactivated: choose active teams only.", team.name),
        );
    }
    let lines = split_emails(&request.emails);
    if lines.is_empty() {
        errors.add("emails", "Enter at least one email address.");
    } else if lines.len() > MAX_INVITE_LINES {
        errors.add(
            "emails",
            format!(
                "Invite at most {MAX_INVITE_LINES} people at once; this list has {}.",
                lines.len()
            ),
        );
    }
    if !errors.is_empty() {
        return Ok(InviteOutcome::Invalid(errors));
    }
    // Parse every line; the first occurrence of an address counts, later ones are duplicates.
    let mut parsed: Vec<(String, Result<EmailAddress, Verdict>)> = Vec::new();
    for line in lines {
        let result = match EmailAddress::parse(line) {
            Ok(email) if parsed.iter().any(|(_, p)| p.as_ref() == Ok(&email)) => {
                Err(Verdict::Duplicate)
            }
            Ok(email) => Ok(email),
            Err(e) => Err(Verdict::Malformed(e.to_string())),
        };
        parsed.push((line.to_owned(), result));
    }
    let emails: Vec<String> = parsed
        .iter()
        .filter_map(|(_, p)| p.as_ref().ok().map(|e| e.as_str().to_owned()))
        .collect();
    let result = conn
        .transaction::<_, TxError<Vec<InviteLine>>, _>(async |conn| {
            let org = organizations::find(conn, ctx.org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            // Lock the users so the single-organization policy holds against a concurrent add.
            let known = users::lock_by_emails(conn, &emails).await?;
            let known_ids: Vec<UserId> = known.iter().map(|u| u.id).collect();
            let members = memberships::members_among(conn, ctx.org_id, &known_ids).await?;
            let elsewhere =
                rules::kept_out_by_single_org_policy(conn, &known_ids, Some(ctx.org_id)).await?;
            let pending = invitations::pending_for(conn, ctx.org_id, &emails).await?;
            let user_of = |email: &EmailAddress| known.iter().find(|u| u.email == email.as_str());
            let lines: Vec<InviteLine> = parsed
                .iter()
                .map(|(text, parsed)| {
                    let verdict = match parsed {
                        Err(verdict) => verdict.clone(),
                        Ok(email) => {
                            let user = user_of(email);
                            if user.is_some_and(|u| members.contains(&u.id)) {
                                Verdict::AlreadyMember
                            } else if pending
                                .iter()
                                .any(|i| i.email == email.as_str() && i.expires_at > now)
                            {
                                Verdict::AlreadyInvited
                            } else if !ctx.user.is_super_admin()
                                && !rules::domain_allows(&org, email)
                            {
                                Verdict::Refused(format!(
                                    "Refused: the organization only admits emails of {}.",
                                    org.domain.as_deref().unwrap_or_default()
                                ))
                            } else if user.is_some_and(|u| elsewhere.contains(&u.id)) {
                                Verdict::Refused(format!("Refused: {SINGLE_ORG_POLICY}"))
                            } else {
                                Verdict::Invite
                            }
                        }
                    };
                    InviteLine {
                        text: text.clone(),
                        verdict,
                    }
                })
                .collect();
            if !commit {
                return Err(TxError::Rejected(lines));
            }
            let stale: Vec<InvitationId> = pending
                .iter()
                .filter(|i| i.expires_at <= now)
                .map(|i| i.id)
                .collect();
            invitations::expire(conn, &stale, now).await?;
            let ttl = platform_settings::settings(conn).await?.invitation_ttl_days;
            let expires_at = now + Duration::days(i64::from(ttl));
            let to_invite: Vec<(EmailAddress, String)> = parsed
                .iter()
                .zip(&lines)
                .filter(|(_, line)| line.verdict.is_invite())
                .filter_map(|((_, p), _)| p.as_ref().ok().cloned())
                .map(|email| (email, random_token(32)))
                .collect();
            let new: Vec<NewInvitation> = to_invite
                .iter()
                .map(|(email, token)| NewInvitation {
                    org_id: ctx.org_id,
                    email: email.as_str(),
                    role: request.role,
                    token_hash: invitations::token_hash(token),
                    invited_by: Some(ctx.user.id),
                    created_at: now,
                    expires_at,
                })
                .collect();
            let created = invitations::insert_many(conn, &new, &team_ids).await?;
            let inviter = ctx.user.display_name();
            for (invitation, (_, token)) in created.iter().zip(&to_invite) {
                postbox
                    .queue_invitation(
                        conn,
                        &InvitationEmail {
                            invitation_id: invitation.id,
                            to: &invitation.email,
                            org_name: &org.name,
                            inviter: &inviter,
                            role: invitation.role,
                            token,
                            expires_at,
                        },
                    )
                    .await?;
            }
            let actor = ctx.actor();
            let team_names: Vec<&str> = chosen_teams.iter().map(|t| t.name.as_str()).collect();
            let after = serde_json::json!({ "role": request.role.as_str(), "teams": team_names });
            let entries: Vec<audit::NewAuditEntry> = created
                .iter()
                .map(|invitation| audit::NewAuditEntry {
                    after: Some(after.clone()),
                    ..actor.audit_org("invitation.sent", ctx.org_id, &invitation.email)
                })
                .collect();
            audit::record_many(conn, &entries).await?;
            Ok(lines)
        })
        .await;
    match result {
        Ok(lines) => {
            postbox.wake();
            Ok(InviteOutcome::Sent(lines))
        }
        Err(TxError::Rejected(lines)) => Ok(InviteOutcome::Planned(lines)),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

/// An invitation as the list shows it.
pub struct InvitationRow {
    pub invitation: Invitation,
    pub inviter: Option<String>,
    /// Invited, Joined, Expired, Cancelled, or Sending failed.
    pub status_label: &'static str,
    /// Whether it can still be resent or cancelled by the viewer, and why not.
    pub actionable: Result<(), Denied>,
}

impl InvitationRow {
    fn new(
        ctx: &OrgContext,
        now: DateTime<Utc>,
        (invitation, first, last): invitations::WithInviter,
    ) -> InvitationRow {
        let status = invitation.status_at(now);
        let status_label = match status {
            InvitationStatus::Pending if invitation.send_failure.is_some() => "Sending failed",
            status => status.label(),
        };
        let actionable = match status {
            InvitationStatus::Pending | InvitationStatus::Expired
                if invitation.status == InvitationStatus::Pending =>
            {
                can_invite_as(ctx, invitation.role)
            }
            _ => Err(Denied("This invitation is closed.")),
        };
        InvitationRow {
            inviter: invitations::full_name(first, last),
            status_label,
            actionable,
            invitation,
        }
    }

    pub fn is_pending(&self) -> bool {
        self.actionable.is_ok()
    }
}

/// How many invitations the Members page lists.
pub const LISTED_INVITATIONS: usize = 20;

/// The organization's invitations, pending ones first, newest first (owners and admins).
pub async fn latest(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    now: DateTime<Utc>,
) -> Result<Vec<InvitationRow>, AppError> {
    require(ctx, Permission::ManageInvitations)?;
    Ok(
        invitations::latest_of(conn, ctx.org_id, LISTED_INVITATIONS as i64)
            .await?
            .into_iter()
            .map(|row| InvitationRow::new(ctx, now, row))
            .collect(),
    )
}

/// Locks one pending invitation of this organization that the actor may act on.
async fn lock_actionable(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    id: InvitationId,
) -> Result<Invitation, TxError<Denied>> {
    let invitation = invitations::lock_in(conn, ctx.org_id, id)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    if invitation.status != InvitationStatus::Pending {
        return Err(TxError::Rejected(Denied(
            "This invitation is closed: it was accepted or cancelled.",
        )));
    }
    can_invite_as(ctx, invitation.role).map_err(TxError::Rejected)?;
    Ok(invitation)
}

fn finish<T>(result: Result<T, TxError<Denied>>) -> Result<T, AppError> {
    match result {
        Ok(value) => Ok(value),
        Err(TxError::Rejected(denied)) => Err(denied.into()),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

/// Sends a pending invitation again with a new link (the old one stops working) and a new
/// expiry.
#[tracing::instrument(skip(conn, ctx, postbox), fields(org_id = %ctx.org_id))]
pub async fn resend(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    postbox: &Postbox,
    now: DateTime<Utc>,
    id: InvitationId,
) -> Result<Invitation, AppError> {
    require(ctx, Permission::ManageInvitations)?;
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            lock_actionable(conn, ctx, id).await?;
            let ttl = platform_settings::settings(conn).await?.invitation_ttl_days;
            let expires_at = now + Duration::days(i64::from(ttl));
            let token = random_token(32);
            let invitation =
                invitations::replace_token(conn, id, invitations::token_hash(&token), expires_at)
                    .await?;
            crate::models::outbox::drop_unsent(conn, id).await?;
            let (org_name, _) = organizations::counters(conn, ctx.org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            postbox
                .queue_invitation(
                    conn,
                    &InvitationEmail {
                        invitation_id: id,
                        to: &invitation.email,
                        org_name: &org_name,
                        inviter: &ctx.user.display_name(),
                        role: invitation.role,
                        token: &token,
                        expires_at,
                    },
                )
                .await?;
            audit::record(
                conn,
                &ctx.actor()
                    .audit_org("invitation.resent", ctx.org_id, &invitation.email),
            )
            .await?;
            Ok(invitation)
        })
        .await;
    let invitation = finish(result)?;
    postbox.wake();
    Ok(invitation)
}

/// Cancels a pending invitation: its link stops working and an unsent email is not sent.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    id: InvitationId,
) -> Result<Invitation, AppError> {
    require(ctx, Permission::ManageInvitations)?;
    let result = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let mut invitation = lock_actionable(conn, ctx, id).await?;
            invitations::set_status(conn, id, InvitationStatus::Cancelled).await?;
            crate::models::outbox::drop_unsent(conn, id).await?;
            audit::record(
                conn,
                &audit::NewAuditEntry {
                    before: Some(serde_json::json!({ "status": "pending" })),
                    after: Some(serde_json::json!({ "status": "cancelled" })),
                    ..ctx
                        .actor()
                        .audit_org("invitation.cancelled", ctx.org_id, &invitation.email)
                },
            )
            .await?;
            invitation.status = InvitationStatus::Cancelled;
            Ok(invitation)
        })
        .await;
    finish(result)
}

/// Invites the owner a super administrator named for a new organization when they have no
/// password yet: accepting the invitation sets it (in the caller's transaction).
pub async fn invite_owner_without_password(
    conn: &mut AsyncPgConnection,
    postbox: &Postbox,
    org: &crate::models::organizations::Organization,
    owner_email: &str,
    inviter: &crate::access::Actor,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let ttl = platform_settings::settings(conn).await?.invitation_ttl_days;
    let expires_at = now + Duration::days(i64::from(ttl));
    let token = random_token(32);
    let new = NewInvitation {
        org_id: org.id,
        email: owner_email,
        role: OrgRole::Owner,
        token_hash: invitations::token_hash(&token),
        invited_by: inviter.user_id,
        created_at: now,
        expires_at,
    };
    let created = invitations::insert_many(conn, &[new], &[]).await?;
    let Some(invitation) = created.first() else {
        return Ok(());
    };
    postbox
        .queue_invitation(
            conn,
            &InvitationEmail {
                invitation_id: invitation.id,
                to: owner_email,
                org_name: &org.name,
                inviter: "The Guildhall administrators",
                role: OrgRole::Owner,
                token: &token,
                expires_at,
            },
        )
        .await?;
    audit::record(
        conn,
        &inviter.audit_org("invitation.sent", org.id, owner_email),
    )
    .await
}
