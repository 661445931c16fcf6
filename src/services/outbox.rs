//! Invitation emails through the outbox. A request renders the email, seals it under the
//! master key (it carries a sign-up link) and writes it in its own transaction; the worker
//! sends it with retries and exponential backoff, and records on the invitation when sending
//! failed and why. Rows are claimed with `FOR UPDATE SKIP LOCKED` and held until the send is
//! recorded, so several instances never send one row twice.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::crypto;
use crate::db::DbPool;
use crate::domain::api_key::shown_prefix;
use crate::domain::{Grouped, InvitationId, OrgId, OrgRole};
use crate::email::{MailSender, OutgoingEmail};
use crate::models::{api_keys, invitations, memberships, outbox};

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxPace {
    /// How often the worker looks for due emails when nobody wakes it.
    pub poll_ms: u64,
    /// The wait after the first failure; it doubles with each failure, up to an hour.
    pub retry_base_ms: u64,
}

impl Default for OutboxPace {
    fn default() -> OutboxPace {
        OutboxPace {
            poll_ms: 2_000,
            retry_base_ms: 5_000,
        }
    }
}

const LONGEST_RETRY_MS: u64 = 60 * 60 * 1000;
/// A key's holder is warned this long before it expires.
const KEY_WARNING: chrono::Duration = chrono::Duration::days(7);
/// Rows one worker claims at a time.
const BATCH: i64 = 20;

/// Writes emails into the outbox: seals them and wakes this instance's worker.
#[derive(Clone)]
pub struct Postbox {
    master_key: Arc<Vec<u8>>,
    base_url: String,
    wake: Arc<Notify>,
}

fn context(recipient: &str) -> String {
    crypto::SealedIn::Outbox(recipient).context()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SealedMessage {
    subject: String,
    text: String,
    html: String,
}

#[derive(Template)]
#[template(path = "emails/invitation.txt")]
struct InvitationText<'a> {
    inviter: &'a str,
    org_name: &'a str,
    role: &'a str,
    role_article: &'a str,
    link: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "emails/invitation.html")]
struct InvitationHtml<'a> {
    inviter: &'a str,
    org_name: &'a str,
    role: &'a str,
    role_article: &'a str,
    link: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "emails/key_expiry.txt")]
struct KeyExpiryText<'a> {
    name: &'a str,
    prefix: &'a str,
    scope: &'a str,
    expires: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/key_expiry.html")]
struct KeyExpiryHtml<'a> {
    name: &'a str,
    prefix: &'a str,
    scope: &'a str,
    expires: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/password_reset.txt")]
struct PasswordResetText<'a> {
    link: &'a str,
    /// The account signs in with SSO: the link is the SSO sign-in, not a reset.
    sso: bool,
}

#[derive(Template)]
#[template(path = "emails/password_reset.html")]
struct PasswordResetHtml<'a> {
    link: &'a str,
    sso: bool,
}

/// A password reset link, to the account's address.
pub struct PasswordResetEmail<'a> {
    pub to: &'a str,
    /// The link's token: sealed in the outbox like an invitation's, never stored in clear.
    /// `None` for an account made by single sign-on, which has no password: the email says
    /// to sign in with SSO.
    pub token: Option<&'a str>,
}

/// What a key's expiry warning says.
pub struct KeyExpiryEmail<'a> {
    pub to: &'a str,
    pub name: &'a str,
    /// As the pages show it (`ghk_…`).
    pub prefix: &'a str,
    /// The organization's name, or `None` for a personal key.
    pub org_name: Option<&'a str>,
    /// The key's page, from the site's root.
    pub path: &'a str,
    pub expires_at: DateTime<Utc>,
}

#[derive(Template)]
#[template(path = "emails/usage_alert.txt")]
struct UsageAlertText<'a> {
    org_name: &'a str,
    limit: &'a AlertedLimit<'a>,
    percent: i16,
    used: Grouped,
    allowed: Grouped,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/usage_alert.html")]
struct UsageAlertHtml<'a> {
    org_name: &'a str,
    limit: &'a AlertedLimit<'a>,
    percent: i16,
    used: Grouped,
    allowed: Grouped,
    link: &'a str,
}

/// The limit a soft alert is about.
#[derive(Clone, Copy)]
pub enum AlertedLimit<'a> {
    /// The organization's purchased tokens of a kind ("inference").
    Tokens { kind: &'a str },
    /// A team's token budget of a kind.
    TeamBudget { team: &'a str, kind: &'a str },
    /// One of the plan's shared limits, named in lower case ("production workflows").
    Shared { name: &'a str },
}

/// What a soft alert says: the organization's use of a limit reached a threshold of it.
pub struct UsageAlertEmail<'a> {
    pub to: &'a str,
    pub org_name: &'a str,
    pub limit: AlertedLimit<'a>,
    pub percent: i16,
    pub used: i64,
    /// The limit: tokens purchased or assigned, or what the plan allows.
    pub allowed: i64,
}

/// What an invitation email says.
pub struct InvitationEmail<'a> {
    pub invitation_id: InvitationId,
    pub to: &'a str,
    pub org_name: &'a str,
    pub inviter: &'a str,
    pub role: OrgRole,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

impl Postbox {
    pub fn new(master_key: Vec<u8>, base_url: &str) -> Postbox {
        Postbox {
            master_key: Arc::new(master_key),
            base_url: base_url.trim_end_matches('/').to_owned(),
            wake: Arc::default(),
        }
    }

    /// The page an invitation link opens.
    pub fn invitation_link(&self, token: &str) -> String {
        format!("{}/invitations/{token}", self.base_url)
    }

    /// Renders and queues an invitation email in the caller's transaction.
    pub async fn queue_invitation(
        &self,
        conn: &mut AsyncPgConnection,
        email: &InvitationEmail<'_>,
    ) -> diesel::QueryResult<()> {
        let link = self.invitation_link(email.token);
        let (role, role_article) = match email.role {
            OrgRole::Owner => ("owner", "the"),
            OrgRole::Admin => ("admin", "an"),
            OrgRole::Member => ("member", "a"),
        };
        let expires = email.expires_at.format("%-d %B %Y, %H:%M UTC").to_string();
        let text = InvitationText {
            inviter: email.inviter,
            org_name: email.org_name,
            role,
            role_article,
            link: &link,
            expires: expires.clone(),
        };
        let html = InvitationHtml {
            inviter: email.inviter,
            org_name: email.org_name,
            role,
            role_article,
            link: &link,
            expires,
        };
        let message = SealedMessage {
            subject: format!(
                "{} invited you to {} on Guildhall",
                email.inviter, email.org_name
            ),
            text: text.render().map_err(rendering)?,
            html: html.render().map_err(rendering)?,
        };
        self.seal_and_queue(conn, Some(email.invitation_id), email.to, &message)
            .await
    }

    /// Renders and queues a warning that a key expires soon, in the caller's transaction.
    pub async fn queue_password_reset(
        &self,
        conn: &mut AsyncPgConnection,
        email: &PasswordResetEmail<'_>,
    ) -> diesel::QueryResult<()> {
        let (link, sso) = match email.token {
            Some(token) => (
                format!("{}{}", self.base_url, password_reset_path(token)),
                false,
            ),
            None => (format!("{}{SSO_SIGN_IN_PATH}", self.base_url), true),
        };
        let message = SealedMessage {
            subject: if sso {
                "Sign in to Guildhall with single sign-on".to_owned()
            } else {
                "Reset your Guildhall password".to_owned()
            },
            text: PasswordResetText { link: &link, sso }
                .render()
                .map_err(rendering)?,
            html: PasswordResetHtml { link: &link, sso }
                .render()
                .map_err(rendering)?,
        };
        self.seal_and_queue(conn, None, email.to, &message).await
    }

    pub async fn queue_key_expiry(
        &self,
        conn: &mut AsyncPgConnection,
        email: &KeyExpiryEmail<'_>,
    ) -> diesel::QueryResult<()> {
        let link = format!("{}{}", self.base_url, email.path);
        let expires = email.expires_at.format("%-d %B %Y, %H:%M UTC").to_string();
        let scope = email
            .org_name
            .map_or_else(|| "your personal account".to_owned(), str::to_owned);
        let text = KeyExpiryText {
            name: email.name,
            prefix: email.prefix,
            scope: &scope,
            expires: &expires,
            link: &link,
        };
        let html = KeyExpiryHtml {
            name: email.name,
            prefix: email.prefix,
            scope: &scope,
            expires: &expires,
            link: &link,
        };
        let message = SealedMessage {
            subject: format!("Your API key “{}” expires on {expires}", email.name),
            text: text.render().map_err(rendering)?,
            html: html.render().map_err(rendering)?,
        };
        self.seal_and_queue(conn, None, email.to, &message).await
    }

    /// Renders and queues a soft alert, in the caller's transaction.
    pub async fn queue_usage_alert(
        &self,
        conn: &mut AsyncPgConnection,
        email: &UsageAlertEmail<'_>,
    ) -> diesel::QueryResult<()> {
        // Tokens are followed on the Usage page, the plan's limits on the Subscription page.
        let page = match email.limit {
            AlertedLimit::Shared { .. } => "subscription",
            _ => "usage",
        };
        let link = format!("{}/settings/org/{page}", self.base_url);
        let (org_name, limit, percent) = (email.org_name, &email.limit, email.percent);
        let (used, allowed) = (Grouped(email.used), Grouped(email.allowed));
        let text = UsageAlertText {
            org_name,
            limit,
            percent,
            used,
            allowed,
            link: &link,
        };
        let html = UsageAlertHtml {
            org_name,
            limit,
            percent,
            used,
            allowed,
            link: &link,
        };
        let message = SealedMessage {
            subject: match email.limit {
                AlertedLimit::Tokens { kind } => {
                    format!("{org_name} has used {percent}% of its {kind} tokens")
                }
                AlertedLimit::TeamBudget { team, kind } => format!(
                    "Team {team} of {org_name} has used {percent}% of its {kind} token budget"
                ),
                AlertedLimit::Shared { name } => {
                    format!("{org_name} is using {percent}% of its plan's {name}")
                }
            },
            text: text.render().map_err(rendering)?,
            html: html.render().map_err(rendering)?,
        };
        self.seal_and_queue(conn, None, email.to, &message).await
    }

    /// Seals a rendered message to its recipient and writes it into the outbox.
    async fn seal_and_queue(
        &self,
        conn: &mut AsyncPgConnection,
        invitation_id: Option<InvitationId>,
        to: &str,
        message: &SealedMessage,
    ) -> diesel::QueryResult<()> {
        let plain = serde_json::to_vec(message).map_err(rendering)?;
        let sealed = crypto::seal(&self.master_key, &plain, &context(to)).map_err(rendering)?;
        outbox::enqueue(conn, invitation_id, to, sealed).await?;
        Ok(())
    }

    /// Asks this instance's worker to look now (after the queuing transaction committed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn open(&self, row: &outbox::OutboxRow) -> anyhow::Result<OutgoingEmail> {
        let sealed = row
            .message_sealed
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("outbox row {} has no message", row.id))?;
        let plain = crypto::open(&self.master_key, sealed, &context(&row.recipient))?;
        let message: SealedMessage = serde_json::from_slice(&plain)?;
        Ok(OutgoingEmail {
            to: row.recipient.clone(),
            subject: message.subject,
            text: message.text,
            html: message.html,
        })
    }
}

fn rendering(e: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(format!("rendering an email: {e}").into())
}

/// The wait before attempt `attempts + 1`.
pub fn retry_delay_ms(pace: OutboxPace, attempts: i32) -> u64 {
    let doublings = u32::try_from(attempts.clamp(0, 20)).unwrap_or(0);
    pace.retry_base_ms
        .saturating_mul(1u64 << doublings)
        .min(LONGEST_RETRY_MS)
}

/// Sends what is due, one batch; returns how many were sent.
pub async fn deliver_due(
    pool: &DbPool,
    postbox: &Postbox,
    sender: &MailSender,
    pace: OutboxPace,
    clock: &Clock,
) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let sent = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let mut sent = 0;
            for row in outbox::claim_due(conn, BATCH).await? {
                let result = match postbox.open(&row) {
                    Ok(email) => sender.send(&email).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match result {
                    Ok(()) => {
                        outbox::mark_sent(conn, row.id).await?;
                        if let Some(invitation) = row.invitation_id {
                            invitations::record_sending(conn, invitation, None, clock.now())
                                .await?;
                        }
                        sent += 1;
                    }
                    Err(error) => {
                        tracing::warn!(outbox_id = row.id, attempts = row.attempts + 1, %error, "sending an email failed");
                        let delay = retry_delay_ms(pace, row.attempts);
                        outbox::mark_failed(conn, row.id, &error, i64::try_from(delay).unwrap_or(i64::MAX))
                            .await?;
                        if let Some(invitation) = row.invitation_id {
                            invitations::record_sending(conn, invitation, Some(&error), clock.now())
                                .await?;
                        }
                    }
                }
            }
            Ok(sent)
        })
        .await?;
    Ok(sent)
}

/// Where a password reset link leads. Written out like the invitation link (this layer does
/// not know the web's routes; a test in `web::kit::paths` holds the two together).
pub fn password_reset_path(token: &str) -> String {
    format!("/password-reset/{token}")
}

/// The SSO sign-in page, for an account without a password (held to `web::kit::paths` by a
/// test there, like the links above).
pub const SSO_SIGN_IN_PATH: &str = "/login/sso";

/// A key's page, where it is rotated. Written out like the invitation link (this layer does not
/// know the web's routes; a test in `web::kit::paths` holds the two together).
pub fn key_page_path(organizations: bool, key_id: i64) -> String {
    if organizations {
        format!("/settings/org/keys/api/{key_id}")
    } else {
        format!("/settings/account/keys/{key_id}")
    }
}

/// Queues a warning for each key that expires within a week and whose holder was not warned
/// yet: once per key, whichever instance gets there first.
pub async fn warn_of_expiring_keys(
    pool: &DbPool,
    postbox: &Postbox,
    clock: &Clock,
) -> anyhow::Result<usize> {
    let now = clock.now();
    let mut conn = pool.get().await?;
    let warned = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let due = api_keys::claim_expiring(conn, now, now + KEY_WARNING, BATCH).await?;
            for key in &due {
                let path = key_page_path(key.org_id.is_some(), key.id);
                // A service account reads no mail: the people who manage it are told.
                let recipients = match key.org_id {
                    Some(org_id) if key.held_by_service_account => {
                        memberships::manager_emails(conn, OrgId(org_id)).await?
                    }
                    _ => vec![key.holder_email.clone()],
                };
                for to in &recipients {
                    let email = KeyExpiryEmail {
                        to,
                        name: &key.name,
                        prefix: &shown_prefix(&key.prefix),
                        org_name: key.org_name.as_deref(),
                        path: &path,
                        expires_at: key.expires_at,
                    };
                    postbox.queue_key_expiry(conn, &email).await?;
                }
                api_keys::mark_warned(conn, key.id, now).await?;
            }
            Ok(due.len())
        })
        .await?;
    if warned > 0 {
        postbox.wake();
    }
    Ok(warned)
}

/// The background worker: sends due emails when woken or every `poll_ms`.
pub fn spawn_worker(
    pool: DbPool,
    postbox: Postbox,
    sender: MailSender,
    pace: OutboxPace,
    clock: Clock,
) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = warn_of_expiring_keys(&pool, &postbox, &clock).await {
                tracing::warn!(error = %e, "warning of expiring keys");
            }
            match deliver_due(&pool, &postbox, &sender, pace, &clock).await {
                // A full batch: there may be more.
                Ok(sent) if sent as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the outbox worker"),
            }
            let _ =
                tokio::time::timeout(Duration::from_millis(pace.poll_ms), postbox.wake.notified())
                    .await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let pace = OutboxPace {
            poll_ms: 1,
            retry_base_ms: 1_000,
        };
        assert_eq!(retry_delay_ms(pace, 0), 1_000);
        assert_eq!(retry_delay_ms(pace, 1), 2_000);
        assert_eq!(retry_delay_ms(pace, 3), 8_000);
        assert_eq!(retry_delay_ms(pace, 50), LONGEST_RETRY_MS);
    }
}
