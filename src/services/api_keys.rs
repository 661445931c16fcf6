//! API keys (seed 004): a member's keys for the organization they act in, and anyone's
//! personal keys (which never reach an organization). A key is shown once, when it is issued
//! or rotated; afterwards only its prefix.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{
    CurrentUser, Decision, OrgContext, Permission, can_act_on, can_revoke_api_key,
    can_rotate_api_key, require, sees_every_api_key,
};
use crate::domain::api_key::{IssuedKey, Lifetime, Overlap, shown_prefix};
use crate::domain::{FieldErrors, OrgId, RequiredText, UserId};
use crate::error::{AppError, Denied, TxError};
pub use crate::models::api_keys::ApiKey;
use crate::models::{api_keys, audit, memberships, users};
use crate::services::org::current_actor;

/// Keys a page lists.
pub const PER_PAGE: i64 = 25;
/// Denials a key's page shows.
const DENIALS_SHOWN: i64 = 20;

/// Whose keys: an organization's (as the member acting in it) or one's personal keys.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    Organization(&'a OrgContext),
    Personal(&'a CurrentUser),
}

impl Scope<'_> {
    fn user(&self) -> &CurrentUser {
        match self {
            Scope::Organization(ctx) => &ctx.user,
            Scope::Personal(user) => user,
        }
    }

    fn org_id(&self) -> Option<OrgId> {
        match self {
            Scope::Organization(ctx) => Some(ctx.org_id),
            Scope::Personal(_) => None,
        }
    }

    /// Whose keys the viewer sees: everyone's in the organization for owners and admins,
    /// otherwise their own.
    fn holder_filter(&self) -> Option<UserId> {
        match self {
            Scope::Organization(ctx) if sees_every_api_key(ctx) => None,
            _ => Some(self.user().id),
        }
    }

    fn may_revoke(&self, holder: UserId) -> Decision {
        match self {
            Scope::Organization(ctx) => can_revoke_api_key(ctx, holder),
            Scope::Personal(user) if user.id == holder => Decision::Allowed,
            Scope::Personal(_) => Decision::Refused("This is not your key."),
        }
    }

    fn may_rotate(&self, key: &ApiKey) -> Decision {
        let holder = key.user_id;
        match self {
            Scope::Organization(ctx) => {
                can_rotate_api_key(ctx, holder, key.held_by_service_account())
            }
            Scope::Personal(user) if user.id == holder => Decision::Allowed,
            Scope::Personal(_) => Decision::Refused("This is not your key."),
        }
    }

    /// The audit entry's actor and organization; re-checks an organization member's standing
    /// (held shared until the transaction ends, so a removal waits for this change).
    async fn standing(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> Result<(crate::access::Actor, Option<OrgContext>), TxError<Denied>> {
        match self {
            Scope::Organization(ctx) => {
                let actor = current_actor(conn, ctx).await?;
                Ok((actor.actor(), Some(actor)))
            }
            Scope::Personal(user) => Ok((user.as_self(), None)),
        }
    }
}

/// A key listed with what the viewer may do to it.
pub struct KeyRow {
    pub key: ApiKey,
    pub revoke: Decision,
    pub rotate: Decision,
}

impl KeyRow {
    pub fn shown_prefix(&self) -> String {
        shown_prefix(&self.key.prefix)
    }
}

pub struct KeysView {
    pub keys: Vec<KeyRow>,
    /// The page shown (from 1), and whether more keys follow it.
    pub page: i64,
    pub more: bool,
    /// Owners and admins see every member's keys.
    pub everyones: bool,
}

/// A page of the keys in use the viewer may see, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
    page: i64,
    now: DateTime<Utc>,
) -> Result<KeysView, AppError> {
    if let Scope::Organization(ctx) = scope {
        require(ctx, Permission::ViewOrganization)?;
    }
    let holder = scope.holder_filter();
    let page = page.clamp(1, 10_000);
    let offset = (page - 1) * PER_PAGE;
    let mut keys =
        api_keys::in_use(conn, scope.org_id(), holder, now, offset, PER_PAGE + 1).await?;
    let more = keys.len() as i64 > PER_PAGE;
    keys.truncate(PER_PAGE as usize);
    Ok(KeysView {
        page,
        more,
        everyones: holder.is_none(),
        keys: keys
            .into_iter()
            .map(|key| KeyRow {
                revoke: scope.may_revoke(key.user_id),
                rotate: scope.may_rotate(&key),
                key,
            })
            .collect(),
    })
}

/// The service accounts an owner or admin may issue keys for, as `(id, name)`; nobody else
/// is offered any.
pub async fn service_accounts_as_holders(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
) -> Result<Vec<(String, String)>, AppError> {
    let Scope::Organization(ctx) = scope else {
        return Ok(Vec::new());
    };
    if require(ctx, Permission::ManageServiceAccounts).is_err() {
        return Ok(Vec::new());
    }
    Ok(users::service_accounts_of(conn, ctx.org_id)
        .await?
        .into_iter()
        .filter(|(_, membership)| can_act_on(ctx, membership.role).is_allowed())
        .map(|(user, _)| (user.id.0.to_string(), user.first_name))
        .collect())
}

/// A key just issued: the only time its whole value exists outside the caller's hands.
pub struct Issued {
    pub name: String,
    pub key: IssuedKey,
    pub expires_at: Option<DateTime<Utc>>,
}

pub enum IssueOutcome {
    Issued(Issued),
    Invalid(FieldErrors),
}

/// Issues a key for the acting user, or, in an organization, for one of its service accounts
/// (`holder`, by owners and admins).
#[tracing::instrument(skip_all)]
pub async fn create(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
    name: &str,
    lifetime: &str,
    holder: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<IssueOutcome, AppError> {
    if let Scope::Organization(ctx) = scope {
        require(ctx, Permission::UseOrgApiKey)?;
        if holder.is_some() {
            require(ctx, Permission::ManageServiceAccounts)?;
        }
    }
    let mut errors = FieldErrors::default();
    let name = errors.check("name", RequiredText::parse(name, 100));
    let lifetime = errors.check("lifetime", Lifetime::parse(lifetime));
    let (Some(name), Some(lifetime)) = (name, lifetime) else {
        return Ok(IssueOutcome::Invalid(errors));
    };
    let name = name.into_inner();
    let key = IssuedKey::generate();
    let expires_at = lifetime.expires_at(now);
    let creator = scope.user().id;
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let (actor, standing) = scope.standing(conn).await?;
        let user_id = match (holder, scope.org_id()) {
            (None, _) => creator,
            (Some(holder), Some(org_id)) => {
                // Checked again as the member stands now; another organization's account, or
                // a person, is not found.
                if let Some(standing) = &standing {
                    require(standing, Permission::ManageServiceAccounts)
                        .map_err(TxError::Rejected)?;
                }
                let found = memberships::with_users(conn, org_id, &[holder]).await?;
                let (account, _) = found
                    .iter()
                    .find(|(_, user)| user.service_of == Some(org_id))
                    .ok_or(diesel::result::Error::NotFound)?;
                // An admin may not hold, through a key, an account above what they manage.
                if let Some(standing) = &standing {
                    can_act_on(standing, account.role)
                        .into_result()
                        .map_err(TxError::Rejected)?;
                }
                holder
            }
            (Some(_), None) => return Err(diesel::result::Error::NotFound.into()),
        };
        let hash = key.hash();
        let new = api_keys::NewApiKey {
            org_id: scope.org_id(),
            user_id,
            name: &name,
            prefix: key.prefix(),
            secret_hash: &hash,
            created_by: creator,
            created_at: now,
            expires_at,
            rotated_from: None,
        };
        api_keys::insert(conn, &new).await?;
        let shown = shown_prefix(key.prefix());
        let entry = audit::NewAuditEntry {
            org_id: scope.org_id(),
            after: Some(serde_json::json!({
                "name": name,
                "prefix": shown,
                "expires_at": expires_at,
            })),
            ..actor.audit("api_key.created", &shown)
        };
        audit::record(conn, &entry).await?;
        Ok(())
    })
    .await
    .map_err(rejected)?;
    Ok(IssueOutcome::Issued(Issued {
        name,
        key,
        expires_at,
    }))
}

/// One key the viewer may see, for its page and its Revoke and Rotate forms.
#[tracing::instrument(skip_all)]
pub async fn find(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
    key_id: i64,
) -> Result<KeyDetail, AppError> {
    let key = match scope.org_id() {
        Some(org_id) => api_keys::find(conn, org_id, key_id).await?,
        None => api_keys::find_personal(conn, scope.user().id, key_id).await?,
    }
    .filter(|key| scope.holder_filter().is_none_or(|h| h == key.user_id))
    .ok_or(AppError::NotFound)?;
    let denials = api_keys::recent_denials(conn, key_id, DENIALS_SHOWN)
        .await?
        .into_iter()
        .filter_map(|(at, reason, trace)| {
            Some(Denial {
                at,
                reason,
                trace: serde_json::from_value(trace).ok()?,
            })
        })
        .collect();
    let created_by = api_keys::creator_email(conn, key_id).await?;
    Ok(KeyDetail {
        row: KeyRow {
            revoke: scope.may_revoke(key.user_id),
            rotate: scope.may_rotate(&key),
            key,
        },
        denials,
        created_by,
    })
}

pub struct KeyDetail {
    pub row: KeyRow,
    pub denials: Vec<Denial>,
    /// Who made the key (the holder, or the person who issued a service account's key);
    /// `None` once their account is gone.
    pub created_by: Option<String>,
}

/// A call the policy API denied, with every check.
pub struct Denial {
    pub at: DateTime<Utc>,
    pub reason: String,
    pub trace: crate::policy::Trace,
}

/// Revokes a key at once; returns its name.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
    key_id: i64,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let (actor, _) = scope.standing(conn).await?;
        let key = locked(conn, scope, key_id).await?;
        scope
            .may_revoke(key.user_id)
            .into_result()
            .map_err(TxError::Rejected)?;
        api_keys::revoke(conn, key.id, now, "revoked").await?;
        let shown = shown_prefix(&key.prefix);
        let entry = audit::NewAuditEntry {
            org_id: scope.org_id(),
            before: Some(serde_json::json!({ "name": key.name, "holder": key.holder_email })),
            ..actor.audit("api_key.revoked", &shown)
        };
        audit::record(conn, &entry).await?;
        Ok(key.name)
    })
    .await
    .map_err(rejected)
}

/// The key of this scope with this id, locked, not yet revoked nor expired.
async fn locked(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
    key_id: i64,
) -> Result<ApiKey, TxError<Denied>> {
    let key = api_keys::lock(conn, scope.org_id(), scope.holder_filter(), key_id)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    if key.revoked_at.is_some() {
        return Err(TxError::Rejected(Denied("This key is already revoked.")));
    }
    Ok(key)
}

pub enum RotateOutcome {
    Rotated(Issued),
    Invalid(FieldErrors),
}

/// Issues a replacement with the same name and lifetime left; the old key keeps working for
/// the chosen overlap (or stops now), so the holder can switch their programs over.
#[tracing::instrument(skip_all)]
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
    key_id: i64,
    overlap: &str,
    now: DateTime<Utc>,
) -> Result<RotateOutcome, AppError> {
    let overlap = match Overlap::parse(overlap) {
        Ok(overlap) => overlap,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("overlap", message);
            return Ok(RotateOutcome::Invalid(errors));
        }
    };
    let key = IssuedKey::generate();
    let issued = conn
        .transaction::<_, TxError<Denied>, _>(async |conn| {
            let (actor, standing) = scope.standing(conn).await?;
            let old = locked(conn, scope, key_id).await?;
            scope
                .may_rotate(&old)
                .into_result()
                .map_err(TxError::Rejected)?;
            // A service account's key, only by those who manage the account's role.
            if let (Some(standing), Some(org_id)) = (&standing, old.holder_service_of) {
                let found = memberships::with_users(conn, org_id, &[old.user_id]).await?;
                if let Some((account, _)) = found.first() {
                    can_act_on(standing, account.role)
                        .into_result()
                        .map_err(TxError::Rejected)?;
                }
            }
            if old.expires_at.is_some_and(|at| at <= now) {
                return Err(TxError::Rejected(Denied(
                    "This key has expired: create a new one.",
                )));
            }
            let hash = key.hash();
            let new = api_keys::NewApiKey {
                org_id: scope.org_id(),
                user_id: old.user_id,
                name: &old.name,
                prefix: key.prefix(),
                secret_hash: &hash,
                created_by: scope.user().id,
                created_at: now,
                expires_at: old.expires_at,
                rotated_from: Some(old.id),
            };
            api_keys::insert(conn, &new).await?;
            if overlap == Overlap::None {
                api_keys::revoke(conn, old.id, now, "rotated").await?;
            } else {
                api_keys::expire_by(conn, old.id, now + overlap.duration()).await?;
            }
            let shown = shown_prefix(key.prefix());
            let entry = audit::NewAuditEntry {
                org_id: scope.org_id(),
                before: Some(serde_json::json!({ "prefix": shown_prefix(&old.prefix) })),
                after: Some(serde_json::json!({
                    "prefix": shown,
                    "old_key_works_until": now + overlap.duration(),
                })),
                ..actor.audit("api_key.rotated", &old.name)
            };
            audit::record(conn, &entry).await?;
            Ok((old.name, old.expires_at))
        })
        .await
        .map_err(rejected)?;
    Ok(RotateOutcome::Rotated(Issued {
        name: issued.0,
        key,
        expires_at: issued.1,
    }))
}

fn rejected(e: TxError<Denied>) -> AppError {
    match e {
        TxError::Rejected(reason) => reason.into(),
        TxError::Db(e) => e.into(),
    }
}
