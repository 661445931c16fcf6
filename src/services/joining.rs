//! Joining an organization with an invitation link: the page that names the organization,
//! inviter and role, then one step to join — a new account (name and password), or the account
//! already signed in. The token is consumed by one atomic update, so one link joins one person.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};

use crate::access::{Actor, CurrentUser, Origin};
use crate::db::DbPool;
use crate::domain::{
    FieldErrors, InvitationStatus, OrgId, OrgRole, PersonName, PlatformRole, TeamStatus, UserId,
    password,
};
use crate::error::{AppError, TxError};
pub use crate::models::invitations::Invited;
use crate::models::invitations::{self, Invitation};
use crate::models::memberships::{self, NewMembership};
use crate::models::users::{self, NewUser, User, UserChanges};
use crate::models::{audit, teams};
use crate::services::password_work::PasswordWork;
use crate::services::rules::{self, SINGLE_ORG_POLICY};

/// Why a link cannot be used; the page says it and changes nothing.
pub const UNKNOWN_LINK: &str = "This invitation link is not valid. Check that you copied the whole link, or ask for a new invitation.";
pub const USED_LINK: &str = "This invitation was already used. Sign in to reach the organization.";
pub const CANCELLED_ORGANIZATION: &str =
    "This organization's subscription was cancelled: it takes no new members.";
pub const CANCELLED_LINK: &str =
    "This invitation was cancelled. Ask whoever invited you for a new one.";
pub const EXPIRED_LINK: &str =
    "This invitation has expired. Ask whoever invited you to send it again.";

/// Who is opening the link, as far as the page cares.
pub enum Visitor {
    /// No account with the invited email (or one that never set a password): name and
    /// password make it.
    NewAccount,
    /// An account with a password exists and nobody is signed in: sign in here to join.
    SignIn,
    /// Signed in with the invited email: one button joins.
    SignedIn,
    /// Signed in as somebody else.
    SomeoneElse { email: String },
}

pub enum Opened {
    Open { invited: Invited, visitor: Visitor },
    Closed(&'static str),
}

fn closed_reason(invitation: &Invitation, now: DateTime<Utc>) -> Option<&'static str> {
    match invitation.status_at(now) {
        InvitationStatus::Pending => None,
        InvitationStatus::Accepted => Some(USED_LINK),
        InvitationStatus::Cancelled => Some(CANCELLED_LINK),
        InvitationStatus::Expired => Some(EXPIRED_LINK),
    }
}

/// What the invitation page shows for this token and visitor.
#[tracing::instrument(skip_all)]
pub async fn open(
    conn: &mut AsyncPgConnection,
    token: &str,
    viewer: Option<&CurrentUser>,
    now: DateTime<Utc>,
) -> Result<Opened, AppError> {
    let Some(invited) = invitations::find_by_token(conn, token).await? else {
        return Ok(Opened::Closed(UNKNOWN_LINK));
    };
    if let Some(reason) = closed_reason(&invited.invitation, now) {
        return Ok(Opened::Closed(reason));
    }
    let visitor = match viewer {
        Some(user) if user.email == invited.invitation.email => Visitor::SignedIn,
        Some(user) => Visitor::SomeoneElse {
            email: user.email.clone(),
        },
        None => match users::find_with_hash_by_email(conn, &invited.invitation.email).await? {
            Some((_, Some(_))) => Visitor::SignIn,
            _ => Visitor::NewAccount,
        },
    };
    Ok(Opened::Open { invited, visitor })
}

/// After joining: where to act, and what could not be done.
pub struct Joined {
    pub user: User,
    pub org_id: OrgId,
    pub org_name: String,
    /// Teams of the invitation deactivated since it was sent: not joined.
    pub skipped_teams: Vec<String>,
}

pub enum JoinOutcome {
    Joined(Joined),
    /// The link cannot be used (unknown, used, cancelled, expired); nothing changed.
    Closed(&'static str),
    /// A rule keeps the person out (the single-organization policy, another account).
    Refused(String),
    /// The new-account form needs fixing.
    Invalid(FieldErrors),
}

enum Stop {
    Closed(&'static str),
    Refused(String),
}

/// In the caller's transaction, after the user exists: consume the token, join, join teams.
async fn join(
    conn: &mut AsyncPgConnection,
    token: &str,
    user: &User,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Joined, TxError<Stop>> {
    let Some(invitation) = invitations::accept(conn, token, now).await? else {
        let reason = match invitations::find_by_token(conn, token).await? {
            None => UNKNOWN_LINK,
            Some(invited) => closed_reason(&invited.invitation, now).unwrap_or(USED_LINK),
        };
        return Err(TxError::Rejected(Stop::Closed(reason)));
    };
    if !crate::models::organizations::lock_if_active(conn, invitation.org_id).await? {
        return Err(TxError::Rejected(Stop::Closed(CANCELLED_ORGANIZATION)));
    }
    if invitation.email != user.email {
        return Err(TxError::Rejected(Stop::Refused(format!(
            "This invitation was sent to {}. Sign out, then open the link again.",
            invitation.email
        ))));
    }
    invitations::record_acceptor(conn, invitation.id, user.id).await?;
    if !rules::kept_out_by_single_org_policy(conn, &[user.id], Some(invitation.org_id))
        .await?
        .is_empty()
    {
        return Err(TxError::Rejected(Stop::Refused(
            SINGLE_ORG_POLICY.to_owned(),
        )));
    }
    let existing = memberships::find(conn, invitation.org_id, user.id).await?;
    match (existing, invitation.role) {
        (Some(_), _) => {}
        // An owner invitation only sets up the account of the owner already named.
        (None, OrgRole::Owner) => {
            return Err(TxError::Rejected(Stop::Closed(CANCELLED_LINK)));
        }
        (None, role) => {
            memberships::insert(
                conn,
                &NewMembership {
                    org_id: invitation.org_id,
                    user_id: user.id,
                    role,
                },
            )
            .await?;
        }
    }
    let mut skipped_teams = Vec::new();
    let mut team_ids = Vec::new();
    for (team_id, name, status) in invitations::teams_of(conn, invitation.id).await? {
        match status {
            TeamStatus::Active => team_ids.push(team_id),
            TeamStatus::Deactivated => skipped_teams.push(name),
        }
    }
    teams::join(conn, invitation.org_id, user.id, &team_ids).await?;
    let actor = Actor::themselves(user.id, &user.email, origin);
    let entry = audit::NewAuditEntry {
        after: Some(serde_json::json!({
            "role": invitation.role.as_str(),
            "skipped_teams": skipped_teams,
        })),
        ..actor.audit_org("invitation.accepted", invitation.org_id, &user.email)
    };
    audit::record(conn, &entry).await?;
    let (org_name, _) =
        crate::models::organizations::name_and_member_count(conn, invitation.org_id)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
    Ok(Joined {
        user: user.clone(),
        org_id: invitation.org_id,
        org_name,
        skipped_teams,
    })
}

fn outcome(result: Result<Joined, TxError<Stop>>) -> Result<JoinOutcome, AppError> {
    match result {
        Ok(joined) => Ok(JoinOutcome::Joined(joined)),
        Err(TxError::Rejected(Stop::Closed(reason))) => Ok(JoinOutcome::Closed(reason)),
        Err(TxError::Rejected(Stop::Refused(reason))) => Ok(JoinOutcome::Refused(reason)),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

/// The signed-in user joins with one button.
#[tracing::instrument(skip(conn, token, origin, now))]
pub async fn join_signed_in(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    token: &str,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<JoinOutcome, AppError> {
    let result = conn
        .transaction::<_, TxError<Stop>, _>(async |conn| {
            let user = users::find(conn, user_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            join(conn, token, &user, origin, now).await
        })
        .await;
    outcome(result)
}

/// The new-account form.
pub struct NewAccount {
    pub first_name: String,
    pub last_name: String,
    pub password: SecretString,
    pub confirm_password: SecretString,
}

/// Creates the account (or sets the password of one that never had one) and joins, in one
/// transaction.
#[tracing::instrument(skip_all)]
pub async fn join_new_account(
    pool: &DbPool,
    hashing: &PasswordWork,
    token: &str,
    form: NewAccount,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<JoinOutcome, AppError> {
    let mut conn = pool.get().await?;
    let opened = open(&mut conn, token, None, now).await?;
    drop(conn);
    let invited = match opened {
        Opened::Closed(reason) => return Ok(JoinOutcome::Closed(reason)),
        Opened::Open {
            visitor: Visitor::NewAccount,
            invited,
        } => invited,
        Opened::Open { .. } => {
            return Ok(JoinOutcome::Refused(
                "An account with this email already exists: sign in to join.".to_owned(),
            ));
        }
    };
    let mut errors = FieldErrors::default();
    let first_name = errors.check("first_name", PersonName::parse(&form.first_name));
    let last_name = errors.check("last_name", PersonName::parse(&form.last_name));
    let context = password::context_words(&invited.invitation.email, &[&invited.org_name]);
    if let Err(message) = password::check_strength(form.password.expose_secret(), &context) {
        errors.add("password", message);
    } else if form.password.expose_secret() != form.confirm_password.expose_secret() {
        errors.add("confirm_password", "The two passwords differ.");
    }
    let (Some(first_name), Some(last_name), true) = (first_name, last_name, errors.is_empty())
    else {
        return Ok(JoinOutcome::Invalid(errors));
    };
    let secret = form.password;
    let hash = hashing.run(move || password::hash(&secret)).await??;
    let (first_name, last_name) = (first_name.into_inner(), last_name.into_inner());
    let email = invited.invitation.email.clone();
    let mut conn = pool.get().await?;
    let result = conn
        .transaction::<_, TxError<Stop>, _>(async |conn| {
            let user = users::find_or_create_locked(
                conn,
                &NewUser {
                    email: &email,
                    first_name: &first_name,
                    last_name: &last_name,
                    password_hash: None,
                    platform_role: PlatformRole::User,
                },
            )
            .await?;
            if users::password_hash_of(conn, user.id).await?.is_some() {
                return Err(TxError::Rejected(Stop::Refused(
                    "An account with this email already exists: sign in to join.".to_owned(),
                )));
            }
            let changes = UserChanges {
                first_name: Some(&first_name),
                last_name: Some(&last_name),
                password_hash: Some(&hash),
                ..Default::default()
            };
            let user = users::update(conn, user.id, &changes).await?;
            join(conn, token, &user, origin, now).await
        })
        .await;
    outcome(result)
}
