//! The Manage dialog's Assign Users tab: registered users become members in one transaction.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::SuperAdmin;
use crate::domain::{EmailAddress, OrgId, OrgRole, UserId};
use crate::error::{AppError, TxError};
use crate::models::memberships::{self, NewMembership};
use crate::models::users::{self, User};
use crate::models::{audit, organizations};
use crate::services::admin::LineProblem;
use crate::services::admin::organizations::Organization;
use crate::services::rules::{self, SINGLE_ORG_POLICY};

/// At most this many lines in one Assign Users batch.
pub const MAX_ASSIGN_LINES: usize = 100;

pub enum AssignOutcome {
    Assigned {
        assigned: Vec<String>,
        already_members: Vec<String>,
        unknown: Vec<String>,
    },
    /// Nothing was changed.
    Rejected {
        message: Option<String>,
        problems: Vec<LineProblem>,
    },
}

/// What the tab shows afterwards: the organization as read in the transaction, and the outcome.
pub struct Assignment {
    pub org: Organization,
    pub outcome: AssignOutcome,
}

fn rejected(message: String) -> AssignOutcome {
    AssignOutcome::Rejected {
        message: Some(message),
        problems: Vec::new(),
    }
}

/// Malformed lines, users the single-organization policy or the domain restriction keeps out,
/// or more than 100 lines reject the whole batch; emails with no account are reported and
/// skipped.
#[tracing::instrument(skip(conn, admin, pasted))]
pub async fn assign_users(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    pasted: &str,
    override_domain_restriction: bool,
) -> Result<Assignment, AppError> {
    let lines: Vec<(usize, &str)> = pasted
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let early = if lines.is_empty() {
        Some(rejected("Paste at least one email address.".to_owned()))
    } else if lines.len() > MAX_ASSIGN_LINES {
        Some(rejected(format!(
            "Paste at most {MAX_ASSIGN_LINES} email addresses at once; this batch has {}.",
            lines.len()
        )))
    } else {
        None
    };
    if let Some(outcome) = early {
        let org = organizations::find(conn, org_id)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(Assignment { org, outcome });
    }
    let mut problems = Vec::new();
    let mut emails: Vec<(usize, EmailAddress)> = Vec::new();
    for (line, text) in &lines {
        match EmailAddress::parse(text) {
            Ok(email) if !emails.iter().any(|(_, e)| *e == email) => emails.push((*line, email)),
            Ok(_) => {}
            Err(e) => problems.push(LineProblem {
                line: *line,
                text: (*text).to_owned(),
                reason: e.to_string(),
            }),
        }
    }
    let result = conn
        .transaction::<_, TxError<(Organization, Vec<LineProblem>)>, _>(async |conn| {
            let org = organizations::find(conn, org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let addresses: Vec<String> =
                emails.iter().map(|(_, e)| e.as_str().to_owned()).collect();
            // Lock the users so a concurrent batch cannot add them elsewhere under the policy.
            let found: Vec<User> = users::lock_by_emails(conn, &addresses).await?;
            let ids: Vec<UserId> = found.iter().map(|u| u.id).collect();
            let already: Vec<UserId> = memberships::members_among(conn, org_id, &ids).await?;
            let elsewhere = rules::kept_out_by_single_org_policy(conn, &ids, Some(org_id)).await?;
            let (mut assigned, mut already_members, mut unknown, mut to_add) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (line, email) in &emails {
                let Some(user) = found.iter().find(|u| u.email == email.as_str()) else {
                    unknown.push(email.to_string());
                    continue;
                };
                let refusal = if already.contains(&user.id) {
                    already_members.push(user.email.clone());
                    continue;
                } else if elsewhere.contains(&user.id) {
                    Some(SINGLE_ORG_POLICY.to_owned())
                } else if !override_domain_restriction && !rules::domain_allows(&org, email) {
                    Some(format!(
                        "Outside the organization's domain ({}); tick the override to add anyway.",
                        org.domain.as_deref().unwrap_or_default()
                    ))
                } else {
                    None
                };
                match refusal {
                    Some(reason) => problems.push(LineProblem {
                        line: *line,
                        text: user.email.clone(),
                        reason,
                    }),
                    None => {
                        assigned.push(user.email.clone());
                        to_add.push(NewMembership {
                            org_id,
                            user_id: user.id,
                            role: OrgRole::Member,
                        });
                    }
                }
            }
            if !problems.is_empty() {
                problems.sort_by_key(|p| p.line);
                return Err(TxError::Rejected((org, std::mem::take(&mut problems))));
            }
            if !to_add.is_empty() {
                memberships::insert_many(conn, &to_add).await?;
                let after = serde_json::json!({ "assigned": assigned, "override_domain_restriction": override_domain_restriction });
                let entry = audit::NewAuditEntry {
                    after: Some(after),
                    ..admin.audit("organization.users_assigned", org_id, &org.name)
                };
                audit::record(conn, &entry).await?;
            }
            let outcome = AssignOutcome::Assigned {
                assigned,
                already_members,
                unknown,
            };
            Ok(Assignment { org, outcome })
        })
        .await;
    match result {
        Ok(assignment) => Ok(assignment),
        Err(TxError::Rejected((org, problems))) => Ok(Assignment {
            org,
            outcome: AssignOutcome::Rejected {
                message: None,
                problems,
            },
        }),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}
