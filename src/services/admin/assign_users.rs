//! The Manage dialog's Assign Users tab: registered users become members in one transaction.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::SuperAdmin;
use crate::domain::{EmailAddress, OrgId, OrgRole, UserId};
use crate::error::{AppError, TxError};
use crate::models::memberships::{self, NewMembership};
use crate::models::users::{self, User};
use crate::models::{audit, organizations};
use crate::services::admin::organizations::Organization;
use crate::services::rules::{self, SINGLE_ORG_POLICY};

/// At most this many lines in one Assign Users batch.
pub const MAX_ASSIGN_LINES: usize = 100;

/// What happens (or would happen) to one line of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignVerdict {
    Assign,
    AlreadyMember,
    /// No account has this email: reported and skipped.
    NoAccount,
    Duplicate,
    /// Kept out by a rule (the domain restriction, the single-organization policy).
    Refused(String),
    Malformed(String),
}

impl AssignVerdict {
    /// A line that stops the whole batch.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            AssignVerdict::Refused(_) | AssignVerdict::Malformed(_)
        )
    }

    pub fn describe(&self, committed: bool) -> String {
        match self {
            AssignVerdict::Assign if committed => "Assigned".to_owned(),
            AssignVerdict::Assign => "Would be assigned".to_owned(),
            AssignVerdict::AlreadyMember => "Already a member: skipped".to_owned(),
            AssignVerdict::NoAccount => "No account with this email: skipped".to_owned(),
            AssignVerdict::Duplicate => "Listed twice: counted once".to_owned(),
            AssignVerdict::Refused(reason) | AssignVerdict::Malformed(reason) => reason.clone(),
        }
    }

    /// For the line's badge: `ok`, `skip` or `error`.
    pub fn tone(&self) -> &'static str {
        match self {
            AssignVerdict::Assign => "ok",
            AssignVerdict::AlreadyMember | AssignVerdict::NoAccount | AssignVerdict::Duplicate => {
                "skip"
            }
            AssignVerdict::Refused(_) | AssignVerdict::Malformed(_) => "error",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AssignLine {
    /// The line number in the paste (blank lines count).
    pub line: usize,
    pub text: String,
    pub verdict: AssignVerdict,
}

pub enum AssignOutcome {
    /// The paste cannot be read as a batch (empty, too many lines); nothing changed.
    Invalid(String),
    /// The dry run: what each line would do; nothing changed.
    Planned(Vec<AssignLine>),
    /// Committed: the assignable lines are members now.
    Assigned(Vec<AssignLine>),
    /// Some line is wrong, so nothing was assigned; every line says what it would have done.
    Rejected(Vec<AssignLine>),
}

/// What the tab shows afterwards: the organization as read in the transaction, and the outcome.
pub struct Assignment {
    pub org: Organization,
    pub outcome: AssignOutcome,
}

/// The dry run (`commit` false) or the assignment: registered users become members in one
/// transaction. A malformed line, or a user the single-organization policy or the domain
/// restriction keeps out, stops the whole batch; emails with no account are reported and
/// skipped.
#[tracing::instrument(skip(conn, admin, pasted))]
pub async fn assign_users(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    pasted: &str,
    override_domain_restriction: bool,
    commit: bool,
) -> Result<Assignment, AppError> {
    let lines: Vec<(usize, &str)> = pasted
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let early = if lines.is_empty() {
        Some("Paste at least one email address.".to_owned())
    } else if lines.len() > MAX_ASSIGN_LINES {
        Some(format!(
            "Paste at most {MAX_ASSIGN_LINES} email addresses at once; this batch has {}.",
            lines.len()
        ))
    } else {
        None
    };
    if let Some(message) = early {
        let org = organizations::find(conn, org_id)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(Assignment {
            org,
            outcome: AssignOutcome::Invalid(message),
        });
    }
    let mut parsed: Vec<(usize, String, Result<EmailAddress, AssignVerdict>)> = Vec::new();
    for (line, text) in &lines {
        let result = match EmailAddress::parse(text) {
            Ok(email) if parsed.iter().any(|(_, _, p)| p.as_ref() == Ok(&email)) => {
                Err(AssignVerdict::Duplicate)
            }
            Ok(email) => Ok(email),
            Err(e) => Err(AssignVerdict::Malformed(e.to_string())),
        };
        parsed.push((*line, (*text).to_owned(), result));
    }
    let addresses: Vec<String> = parsed
        .iter()
        .filter_map(|(_, _, p)| p.as_ref().ok().map(|e| e.as_str().to_owned()))
        .collect();
    let result = conn
        .transaction::<_, TxError<Assignment>, _>(async |conn| {
            let org = organizations::find(conn, org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            // Lock the users so a concurrent batch cannot add them elsewhere under the policy.
            let found: Vec<User> = users::lock_by_emails(conn, &addresses).await?;
            // Then the organization (users first, as joining does): a cancelled one is its
            // owner's alone (SPEC §3) and takes no new members, even cancelled a moment ago.
            if !organizations::lock_if_active(conn, org_id).await? {
                return Err(TxError::Rejected(Assignment {
                    org,
                    outcome: AssignOutcome::Invalid(
                        "This organization's subscription is cancelled: it takes no new members."
                            .to_owned(),
                    ),
                }));
            }
            let ids: Vec<UserId> = found.iter().map(|u| u.id).collect();
            let already: Vec<UserId> = memberships::members_among(conn, org_id, &ids).await?;
            let elsewhere = rules::kept_out_by_single_org_policy(conn, &ids, Some(org_id)).await?;
            let mut to_add = Vec::new();
            let mut assigned: Vec<String> = Vec::new();
            let report: Vec<AssignLine> = parsed
                .iter()
                .map(|(line, text, parsed)| {
                    let verdict = match parsed {
                        Err(verdict) => verdict.clone(),
                        Ok(email) => match found.iter().find(|u| u.email == email.as_str()) {
                            None => AssignVerdict::NoAccount,
                            Some(user) if already.contains(&user.id) => {
                                AssignVerdict::AlreadyMember
                            }
                            Some(user) if elsewhere.contains(&user.id) => {
                                AssignVerdict::Refused(SINGLE_ORG_POLICY.to_owned())
                            }
                            Some(_)
                                if !override_domain_restriction
                                    && !rules::domain_allows(&org, email) =>
                            {
                                AssignVerdict::Refused(format!(
                                    "Outside the organization's domain ({}); tick the override to add anyway.",
                                    org.domain.as_deref().unwrap_or_default()
                                ))
                            }
                            Some(user) => {
                                assigned.push(user.email.clone());
                                to_add.push(NewMembership {
                                    org_id,
                                    user_id: user.id,
                                    role: OrgRole::Member,
                                });
                                AssignVerdict::Assign
                            }
                        },
                    };
                    AssignLine {
                        line: *line,
                        text: text.clone(),
                        verdict,
                    }
                })
                .collect();
            if report.iter().any(|l| l.verdict.is_error()) {
                return Err(TxError::Rejected(Assignment {
                    org,
                    outcome: AssignOutcome::Rejected(report),
                }));
            }
            if !commit {
                return Err(TxError::Rejected(Assignment {
                    org,
                    outcome: AssignOutcome::Planned(report),
                }));
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
            Ok(Assignment {
                org,
                outcome: AssignOutcome::Assigned(report),
            })
        })
        .await;
    match result {
        Ok(assignment) | Err(TxError::Rejected(assignment)) => Ok(assignment),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}
