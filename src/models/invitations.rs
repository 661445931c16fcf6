//! Invitations to join an organization. The token in the link is never stored: rows keep its
//! SHA-256, and accepting is one atomic update, so one link joins one person.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use crate::db::schema::{invitation_teams, invitations, organizations, teams, users};
use crate::domain::{InvitationId, InvitationStatus, OrgId, OrgRole, TeamId, TeamStatus, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations, check_for_backend(diesel::pg::Pg))]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    pub role: OrgRole,
    pub status: InvitationStatus,
    pub invited_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub send_count: i32,
    pub send_failure: Option<String>,
}

impl Invitation {
    /// The status people see: a pending invitation past its expiry is expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> InvitationStatus {
        match self.status {
            InvitationStatus::Pending if self.expires_at <= now => InvitationStatus::Expired,
            status => status,
        }
    }
}

/// The hash under which a token is stored and looked up.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = invitations)]
pub struct NewInvitation<'a> {
    pub org_id: OrgId,
    pub email: &'a str,
    pub role: OrgRole,
    pub token_hash: Vec<u8>,
    pub invited_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Inserts invitations, each pre-assigning the same teams, in two statements.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    new: &[NewInvitation<'_>],
    team_ids: &[TeamId],
) -> QueryResult<Vec<Invitation>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let invitations = diesel::insert_into(invitations::table)
        .values(new)
        .returning(Invitation::as_returning())
        .get_results(conn)
        .await?;
    let rows: Vec<_> = invitations
        .iter()
        .flat_map(|invitation| {
            team_ids.iter().map(|team_id| {
                (
                    invitation_teams::invitation_id.eq(invitation.id),
                    invitation_teams::team_id.eq(*team_id),
                )
            })
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(invitation_teams::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(invitations)
}

/// The pending invitations among these emails, expired ones included.
pub async fn pending_for(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    emails: &[String],
) -> QueryResult<Vec<Invitation>> {
    invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::email.eq_any(emails))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .select(Invitation::as_select())
        .load(conn)
        .await
}

/// Cancels every pending invitation of the organization (its subscription is being
/// cancelled); returns their ids, so their queued emails can be dropped.
pub async fn cancel_pending_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Vec<InvitationId>> {
    diesel::update(
        invitations::table
            .filter(invitations::org_id.eq(org_id))
            .filter(invitations::status.eq(InvitationStatus::Pending)),
    )
    .set(invitations::status.eq(InvitationStatus::Cancelled))
    .returning(invitations::id)
    .get_results(conn)
    .await
}

/// Stores the expiry of pending invitations past it, so the emails can be invited again.
pub async fn expire(
    conn: &mut AsyncPgConnection,
    ids: &[InvitationId],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq_any(ids))
            .filter(invitations::status.eq(InvitationStatus::Pending))
            .filter(invitations::expires_at.le(now)),
    )
    .set(invitations::status.eq(InvitationStatus::Expired))
    .execute(conn)
    .await
}

/// An invitation with the name of whoever sent it.
pub type WithInviter = (Invitation, Option<String>, Option<String>);

/// An organization's invitations, pending ones first, newest first, with who sent them.
pub async fn latest_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    limit: i64,
) -> QueryResult<Vec<WithInviter>> {
    invitations::table
        .left_join(users::table.on(users::id.nullable().eq(invitations::invited_by)))
        .filter(invitations::org_id.eq(org_id))
        .order((
            invitations::pending.desc(),
            invitations::created_at.desc(),
            invitations::id.desc(),
        ))
        .limit(limit)
        .select((
            Invitation::as_select(),
            users::first_name.nullable(),
            users::last_name.nullable(),
        ))
        .load(conn)
        .await
}

/// An invitation of this organization, locked; another organization's id is not found.
pub async fn lock_in(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    id: InvitationId,
) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::id.eq(id))
        .for_update()
        .select(Invitation::as_select())
        .first(conn)
        .await
        .optional()
}

/// A new token and expiry for a pending invitation; the old link stops working.
pub async fn replace_token(
    conn: &mut AsyncPgConnection,
    id: InvitationId,
    token_hash: Vec<u8>,
    expires_at: DateTime<Utc>,
) -> QueryResult<Invitation> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::token_hash.eq(token_hash),
            invitations::expires_at.eq(expires_at),
            invitations::send_count.eq(invitations::send_count + 1),
            invitations::send_failure.eq(None::<String>),
        ))
        .returning(Invitation::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: InvitationId,
    status: InvitationStatus,
) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set(invitations::status.eq(status))
        .execute(conn)
        .await
        .map(|_| ())
}

/// What the invitation page shows: the invitation, its organization's name and its inviter.
pub struct Invited {
    pub invitation: Invitation,
    pub org_name: String,
    pub inviter: Option<String>,
}

pub async fn find_by_token(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> QueryResult<Option<Invited>> {
    let found: Option<(Invitation, String, Option<String>, Option<String>)> = invitations::table
        .inner_join(organizations::table)
        .left_join(users::table.on(users::id.nullable().eq(invitations::invited_by)))
        .filter(invitations::token_hash.eq(token_hash(token)))
        .select((
            Invitation::as_select(),
            organizations::name,
            users::first_name.nullable(),
            users::last_name.nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(invitation, org_name, first, last)| Invited {
        inviter: full_name(first, last),
        invitation,
        org_name,
    }))
}

/// "First Last" of a joined user, when there is one with a name.
pub fn full_name(first: Option<String>, last: Option<String>) -> Option<String> {
    let name = format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default());
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Consumes a token: one atomic update that succeeds for one request only, and only while the
/// invitation is pending and unexpired. Concurrent requests wait on the row and then find it
/// accepted.
pub async fn accept(
    conn: &mut AsyncPgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<Invitation>> {
    diesel::update(
        invitations::table
            .filter(invitations::token_hash.eq(token_hash(token)))
            .filter(invitations::status.eq(InvitationStatus::Pending))
            .filter(invitations::expires_at.gt(now)),
    )
    .set((
        invitations::status.eq(InvitationStatus::Accepted),
        invitations::accepted_at.eq(now),
    ))
    .returning(Invitation::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Who joined with an accepted invitation.
pub async fn record_acceptor(
    conn: &mut AsyncPgConnection,
    id: InvitationId,
    user_id: UserId,
) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set(invitations::accepted_by.eq(user_id))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The teams an invitation pre-assigns that are still active, and the names of those that were
/// deactivated meanwhile.
pub async fn teams_of(
    conn: &mut AsyncPgConnection,
    id: InvitationId,
) -> QueryResult<Vec<(TeamId, String, TeamStatus)>> {
    invitation_teams::table
        .inner_join(teams::table)
        .filter(invitation_teams::invitation_id.eq(id))
        .order(teams::name)
        .select((teams::id, teams::name, teams::status))
        .load(conn)
        .await
}

/// How many pending invitations each of these members sent.
pub async fn pending_sent_by(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<Vec<(Option<UserId>, i64)>> {
    invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .filter(invitations::invited_by.eq_any(user_ids))
        .group_by(invitations::invited_by)
        .select((invitations::invited_by, diesel::dsl::count_star()))
        .load(conn)
        .await
}

/// Records how the last attempt to send went (`None`: sent).
pub async fn record_sending(
    conn: &mut AsyncPgConnection,
    id: InvitationId,
    failure: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    match failure {
        None => diesel::update(invitations::table.find(id))
            .set((
                invitations::send_failure.eq(None::<String>),
                invitations::last_sent_at.eq(now),
            ))
            .execute(conn)
            .await
            .map(|_| ()),
        Some(reason) => diesel::update(invitations::table.find(id))
            .set(invitations::send_failure.eq(reason))
            .execute(conn)
            .await
            .map(|_| ()),
    }
}
