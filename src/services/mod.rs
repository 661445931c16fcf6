//! One function per use case: check who may do it, run one transaction, return an outcome.

pub mod accounts;
pub mod auth;
pub mod organizations;

use crate::domain::UserId;
use crate::models::audit::NewAuditEntry;

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
