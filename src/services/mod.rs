//! One function per use case: check who may do it, run one transaction, return an outcome.

pub mod accounts;
pub mod admin_users;
pub mod auth;
pub mod oauth;
pub mod organizations;
pub mod platform;
pub mod purchases;
pub mod sales_import;

use crate::domain::{OrgId, UserId};
use crate::models::audit::NewAuditEntry;
use crate::web::context::SignedInUser;
use crate::web::errors::AppError;

/// Who did something, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub email: String,
    /// The role acted as: `super_admin`, an organization role, `self` or `system`.
    pub role: &'static str,
    pub ip: Option<String>,
}

impl Actor {
    /// The command line (create-superadmin, seed-demo).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            email: "system".to_owned(),
            role: "system",
            ip: None,
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
        }
    }
}

/// Proof that the acting user is a super administrator: the console's services take one, so
/// they cannot be reached without the check.
pub struct SuperAdmin {
    actor: Actor,
}

impl SuperAdmin {
    pub fn check(signed_in: &SignedInUser, ip: Option<String>) -> Result<SuperAdmin, AppError> {
        signed_in.require_super_admin()?;
        let actor = Actor {
            user_id: Some(signed_in.user.id),
            email: signed_in.user.email.clone(),
            role: "super_admin",
            ip,
        };
        Ok(SuperAdmin { actor })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn user_id(&self) -> UserId {
        self.actor.user_id.unwrap_or(UserId(0))
    }

    /// An audit entry about one organization.
    pub fn audit<'a>(
        &'a self,
        action: &'a str,
        org_id: OrgId,
        target: &'a str,
    ) -> NewAuditEntry<'a> {
        NewAuditEntry {
            org_id: Some(org_id),
            ..self.actor.audit(action, target)
        }
    }
}

/// The error of a transaction that can also be rejected with a reason (rolled back).
pub enum TxError<R> {
    Db(diesel::result::Error),
    Rejected(R),
}

impl<R> From<diesel::result::Error> for TxError<R> {
    fn from(e: diesel::result::Error) -> TxError<R> {
        TxError::Db(e)
    }
}

/// Whether a database error is the violation of this unique constraint or index.
pub fn is_unique_violation(error: &diesel::result::Error, constraint: &str) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some(constraint))
}
