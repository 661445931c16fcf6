//! Reading the audit log (an organization's for its owners and admins, every entry for super
//! administrators) and verifying its hash chains, in the background with its progress.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use tokio::sync::Semaphore;

use crate::access::{OrgContext, Permission, SuperAdmin, require};
use crate::clock::Clock;
use crate::db::DbPool;
use crate::domain::{FieldErrors, OrgId, UserId};
use crate::error::AppError;
use crate::models::audit::{self, AuditEntry, LinkCheck};
pub use crate::models::audit::{AuditFilter, Cursor, Side};
use crate::models::{audit_verifications, organizations};

/// Entries on one page.
pub const PAGE_SIZE: i64 = 50;

/// Entries read per statement by an export or a verification.
pub const BATCH: i64 = 2_000;

/// The filters as typed (every field a string from the address), before they are checked.
#[derive(Debug, Clone, Default)]
pub struct Typed<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub from: &'a str,
    pub until: &'a str,
}

/// The filter typed, checked; or the fields' errors.
pub fn parse_filter(typed: &Typed<'_>) -> Result<AuditFilter, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut day = |field: &'static str, typed: &str| match typed.trim() {
        "" => None,
        typed => NaiveDate::parse_from_str(typed, "%Y-%m-%d")
            .map_err(|_| errors.add(field, "Enter a date as YYYY-MM-DD."))
            .ok(),
    };
    let from = day("from", typed.from);
    let until = day("until", typed.until);
    if let (Some(from), Some(until)) = (from, until)
        && from > until
    {
        errors.add("from", "The first day comes after the last.");
    }
    let text = |typed: &str| {
        Some(typed.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let action = text(typed.action);
    if let Some(action) = &action
        && !ACTIONS.contains(&action.as_str())
    {
        errors.add("action", "Choose an action from the list.");
    }
    for (field, value) in [("actor", typed.actor), ("target", typed.target)] {
        if value.contains('\0') || value.chars().count() > 320 {
            errors.add(field, "Enter at most 320 characters.");
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let midnight = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    Ok(AuditFilter {
        orgs: Vec::new(),
        actor: text(typed.actor).map(|a| a.to_lowercase()),
        action,
        target: text(typed.target),
        from: from.and_then(midnight),
        // The last day is included: until the next midnight.
        until: until.and_then(|d| d.succ_opt()).and_then(midnight),
    })
}

/// A cursor as written in an address: the entry's time in microseconds and its id.
pub fn parse_cursor(typed: &str) -> Option<Cursor> {
    let (micros, id) = typed.split_once('.')?;
    Some(Cursor {
        at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id: id.parse().ok()?,
    })
}

pub fn cursor_text(cursor: Cursor) -> String {
    format!("{}.{}", cursor.at.timestamp_micros(), cursor.id)
}

/// One entry as the pages show it.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub entry: AuditEntry,
    /// The organization's name, when the entry is about one that still exists.
    pub org_name: Option<String>,
    pub changes: Vec<Change>,
}

/// One field an entry changed, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A page of entries and the cursors of the pages either side (when there are any).
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<EntryView>,
    pub newer: Option<Cursor>,
    pub older: Option<Cursor>,
}

/// Whose entries are read: proof of the right to read them.
#[derive(Debug, Clone)]
pub enum Reader {
    Organization(OrgContext),
    Platform(SuperAdmin),
}

impl Reader {
    /// The filter narrowed to what this reader may see; `org` is the super admin's choice.
    fn scope(&self, mut filter: AuditFilter, org: Option<OrgId>) -> Result<AuditFilter, AppError> {
        match self {
            Reader::Organization(ctx) => {
                require(ctx, Permission::ReadAuditLog)?;
                filter.orgs = vec![ctx.org_id];
            }
            Reader::Platform(_) => filter.orgs = org.into_iter().collect(),
        }
        Ok(filter)
    }

    /// Whether this reader may read the log at all (no statement).
    pub fn check(&self) -> Result<(), AppError> {
        self.scope(AuditFilter::default(), None).map(|_| ())
    }

    /// Who reads: the walk they start is theirs.
    fn user_id(&self) -> UserId {
        match self {
            Reader::Organization(ctx) => ctx.user.id,
            Reader::Platform(admin) => admin.user_id(),
        }
    }

    /// The chain to verify: the organization's, or every chain.
    fn chain(&self, org: Option<OrgId>) -> Result<Option<OrgId>, AppError> {
        match self {
            Reader::Organization(ctx) => {
                require(ctx, Permission::ReadAuditLog)?;
                Ok(Some(ctx.org_id))
            }
            Reader::Platform(_) => Ok(org),
        }
    }
}

/// The page of entries next to `from` (or the newest). One statement.
pub async fn page(
    conn: &mut AsyncPgConnection,
    reader: &Reader,
    filter: AuditFilter,
    org: Option<OrgId>,
    from: Option<(Side, Cursor)>,
) -> Result<AuditPage, AppError> {
    let filter = reader.scope(filter, org)?;
    // One more than a page: whether there is a page beyond it.
    let mut rows = audit::page(conn, &filter, from, PAGE_SIZE + 1).await?;
    let beyond = rows.len() as i64 > PAGE_SIZE;
    if beyond {
        match from {
            Some((Side::Newer, _)) => drop(rows.remove(0)),
            _ => drop(rows.pop()),
        }
    }
    let cursor = |row: Option<&(AuditEntry, Option<String>)>| {
        row.map(|(entry, _)| Cursor {
            at: entry.at,
            id: entry.id,
        })
    };
    let (has_newer, has_older) = match from {
        None => (false, beyond),
        Some((Side::Older, _)) => (true, beyond),
        Some((Side::Newer, _)) => (beyond, true),
    };
    let newer = cursor(rows.first()).filter(|_| has_newer);
    let older = cursor(rows.last()).filter(|_| has_older);
    Ok(AuditPage {
        entries: rows.into_iter().map(view).collect(),
        newer,
        older,
    })
}

/// Every entry matching the filter, newest first, `BATCH` at a time: `after` is the last
/// entry of the batch before (none for the first).
pub async fn batch(
    conn: &mut AsyncPgConnection,
    reader: &Reader,
    filter: AuditFilter,
    org: Option<OrgId>,
    after: Option<Cursor>,
) -> Result<Vec<EntryView>, AppError> {
    let filter = reader.scope(filter, org)?;
    let from = after.map(|cursor| (Side::Older, cursor));
    let rows = audit::page(conn, &filter, from, BATCH).await?;
    Ok(rows.into_iter().map(view).collect())
}

fn view((entry, org_name): (AuditEntry, Option<String>)) -> EntryView {
    EntryView {
        changes: changes(entry.before.as_ref(), entry.after.as_ref()),
        entry,
        org_name,
    }
}

/// Words that mark a field holding a secret: its value is never shown (no entry should hold
/// one; this keeps a careless one off the page).
const SECRET_WORDS: [&str; 4] = ["secret", "password", "token_hash", "key_hash"];

/// What changed between `before` and `after`, field by field, as readable text: objects are
/// compared by key (in key order), anything else as a single `value`.
pub fn changes(
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Vec<Change> {
    use serde_json::Value;
    let fields = |value: Option<&Value>| -> Vec<(String, Value)> {
        match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(other) => vec![("value".to_owned(), other.clone())],
        }
    };
    let before = fields(before);
    let after = fields(after);
    let names: BTreeSet<&String> = before.iter().chain(after.iter()).map(|(k, _)| k).collect();
    let find = |list: &[(String, Value)], name: &str| {
        list.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    names
        .into_iter()
        .filter_map(|name| {
            let (was, now) = (find(&before, name), find(&after, name));
            if was == now {
                return None;
            }
            let secret = SECRET_WORDS.iter().any(|word| name.contains(word));
            let text = |value: Option<Value>| {
                value.map(|value| {
                    if secret {
                        "(hidden)".to_owned()
                    } else {
                        readable(&value)
                    }
                })
            };
            Some(Change {
                field: name.replace('_', " "),
                before: text(was),
                after: text(now),
            })
        })
        .collect()
}

fn readable(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "none".to_owned(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(readable).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Entries checked.
    pub checked: u64,
    pub problem: Option<Problem>,
}

/// The first break in a chain, named by the entry it is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The entry's content no longer matches its hash.
    Altered { entry_id: i64 },
    /// The entry's link remains but the entry is gone.
    Removed { entry_id: i64 },
    /// Links are missing before this entry, or it does not follow the link before it.
    Broken { entry_id: i64 },
    /// The entry was written with no link: slipped in behind the trigger.
    Unlinked { entry_id: i64 },
}

impl Problem {
    /// As stored with a finished walk.
    fn kind(&self) -> &'static str {
        match self {
            Problem::Altered { .. } => "altered",
            Problem::Removed { .. } => "removed",
            Problem::Broken { .. } => "broken",
            Problem::Unlinked { .. } => "unlinked",
        }
    }

    fn entry_id(&self) -> i64 {
        match self {
            Problem::Altered { entry_id }
            | Problem::Removed { entry_id }
            | Problem::Broken { entry_id }
            | Problem::Unlinked { entry_id } => *entry_id,
        }
    }

    fn stored(kind: &str, entry_id: i64) -> Option<Problem> {
        Some(match kind {
            "altered" => Problem::Altered { entry_id },
            "removed" => Problem::Removed { entry_id },
            "broken" => Problem::Broken { entry_id },
            "unlinked" => Problem::Unlinked { entry_id },
            _ => return None,
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Problem::Altered { entry_id } => {
                format!("Entry #{entry_id} was changed after it was written.")
            }
            Problem::Removed { entry_id } => format!("Entry #{entry_id} was deleted."),
            Problem::Broken { entry_id } => format!(
                "The chain breaks before entry #{entry_id}: entries before it were deleted or \
                 inserted out of order."
            ),
            Problem::Unlinked { entry_id } => {
                format!("Entry #{entry_id} was inserted outside the chain.")
            }
        }
    }
}

/// Where a walk along the chains is: the last link checked.
#[derive(Debug, Clone, Default)]
pub struct Walk {
    last: Option<(i64, i64, Vec<u8>)>,
    pub checked: u64,
}

impl Walk {
    /// Checks the next links (in chain, position order) against the ones before them.
    pub fn check(&mut self, links: &[LinkCheck]) -> Result<(), Problem> {
        for link in links {
            let (expected_position, expected_prev) = match &self.last {
                Some((chain, position, hash)) if *chain == link.chain => {
                    (position + 1, hash.clone())
                }
                _ => (1, vec![0; 32]),
            };
            if link.position != expected_position || link.prev_hash != expected_prev {
                return Err(Problem::Broken {
                    entry_id: link.entry_id,
                });
            }
            match &link.recomputed {
                None => {
                    return Err(Problem::Removed {
                        entry_id: link.entry_id,
                    });
                }
                Some(recomputed) if *recomputed != link.hash => {
                    return Err(Problem::Altered {
                        entry_id: link.entry_id,
                    });
                }
                Some(_) => {}
            }
            self.last = Some((link.chain, link.position, link.hash.clone()));
            self.checked += 1;
        }
        Ok(())
    }

    fn after(&self) -> (i64, i64) {
        self.last
            .as_ref()
            .map_or((i64::MIN, 0), |(chain, position, _)| (*chain, *position))
    }
}

/// A walk silent this long was interrupted (its instance stopped): the page says so, and a new
/// one may start.
const SILENT_FOR: chrono::Duration = chrono::Duration::seconds(30);

/// Walks running on this instance at once: each reads every entry of its chains.
static WALKS: std::sync::LazyLock<Arc<Semaphore>> =
    std::sync::LazyLock::new(|| Arc::new(Semaphore::new(1)));

/// Starts a walk along the reader's chains (an organization's, or every one, or one the super
/// admin chose) in the background, or joins the walk of the same chains already running.
/// Returns the walk's id, whose progress `verification` reads.
pub async fn start_verification(
    pool: &DbPool,
    clock: &Clock,
    reader: &Reader,
    org: Option<OrgId>,
) -> Result<i64, AppError> {
    let only = reader.chain(org)?;
    let now = clock.now();
    let mut conn = pool.get().await?;
    if let Some(org) = only
        && organizations::name_and_member_count(&mut conn, org)
            .await?
            .is_none()
    {
        return Err(AppError::NotFound);
    }
    if let Some(id) = audit_verifications::running(&mut conn, only, now - SILENT_FOR).await? {
        return Ok(id);
    }
    let Ok(permit) = Arc::clone(&WALKS).try_acquire_owned() else {
        // Busy: with this very walk, started a moment ago by a second press? Join it.
        return audit_verifications::running(&mut conn, only, now - SILENT_FOR)
            .await?
            .ok_or(AppError::Busy);
    };
    let total = audit_verifications::links_in(&mut conn, only).await?;
    let id = audit_verifications::start(&mut conn, only, reader.user_id(), total, now).await?;
    drop(conn);
    let (pool, clock) = (pool.clone(), clock.clone());
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(error) = walk_in_background(pool.clone(), clock.clone(), id, only).await {
            tracing::error!(verification = id, %error, "the audit walk stopped");
            // Said at once, on a fresh connection: no one waits 30 s on a walk that is gone.
            let abandoned = match pool.get().await {
                Ok(mut conn) => audit_verifications::abandon(&mut conn, id, clock.now())
                    .await
                    .map_err(AppError::from),
                Err(e) => Err(AppError::from(e)),
            };
            if let Err(error) = abandoned {
                tracing::error!(verification = id, %error, "the stopped walk could not be marked");
            }
        }
    });
    Ok(id)
}

async fn walk_in_background(
    pool: DbPool,
    clock: Clock,
    id: i64,
    only: Option<OrgId>,
) -> Result<(), AppError> {
    let mut conn = pool.get().await?;
    let noting = Noting::Row {
        id,
        clock: clock.clone(),
    };
    let verdict = walk_chains(&mut conn, only, &noting).await?;
    let problem = verdict.problem.as_ref().map(|p| (p.kind(), p.entry_id()));
    audit_verifications::finish(&mut conn, id, verdict.checked as i64, problem, clock.now())
        .await?;
    Ok(())
}

/// A walk's state, as its row says.
#[derive(Debug, Clone)]
pub struct Verification {
    pub id: i64,
    /// The organization whose chain it walks; `None`: every chain.
    pub org: Option<OrgId>,
    /// Links checked so far, of those in the chains when it started.
    pub checked: i64,
    pub total: i64,
    pub state: WalkState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkState {
    Running,
    /// Its walker went silent (the instance stopped): start again.
    Interrupted,
    /// It stopped on an error: start again.
    Failed,
    Finished(Verdict),
}

impl Verification {
    /// How far along, for a progress bar (new links may make `checked` pass `total`).
    pub fn progress(&self) -> (i64, i64) {
        let total = self.total.max(self.checked).max(1);
        (self.checked.min(total), total)
    }
}

/// The walk `id`, if the reader may see it (an organization's readers see only its walks).
pub async fn verification(
    conn: &mut AsyncPgConnection,
    reader: &Reader,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Verification, AppError> {
    reader.check()?;
    let row = audit_verifications::find(conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Reader::Organization(ctx) = reader
        && row.org_id != Some(ctx.org_id)
    {
        return Err(AppError::NotFound);
    }
    let state = match (row.finished_at, row.problem, row.problem_entry) {
        (Some(_), ..) if row.failed => WalkState::Failed,
        (Some(_), kind, entry) => WalkState::Finished(Verdict {
            checked: row.checked.max(0) as u64,
            problem: kind
                .zip(entry)
                .and_then(|(kind, entry)| Problem::stored(&kind, entry)),
        }),
        (None, ..) if row.beat_at < now - SILENT_FOR => WalkState::Interrupted,
        (None, ..) => WalkState::Running,
    };
    Ok(Verification {
        id: row.id,
        org: row.org_id,
        checked: row.checked,
        total: row.total,
        state,
    })
}

/// Who hears of each batch a walk has checked.
pub enum Noting {
    /// Nobody: `guildhall audit-verify` answers at the end.
    Nothing,
    /// A background walk's row, which the page reads.
    Row { id: i64, clock: Clock },
}

/// The walk itself, from the first link, `BATCH` links a statement, naming the first break.
pub async fn walk_chains(
    conn: &mut AsyncPgConnection,
    only: Option<OrgId>,
    noting: &Noting,
) -> diesel::QueryResult<Verdict> {
    let mut walk = Walk::default();
    loop {
        let links = audit::links_after(conn, only, walk.after(), BATCH).await?;
        if let Err(problem) = walk.check(&links) {
            return Ok(Verdict {
                checked: walk.checked,
                problem: Some(problem),
            });
        }
        if (links.len() as i64) < BATCH {
            break;
        }
        if let Noting::Row { id, clock } = noting {
            audit_verifications::progress(conn, *id, walk.checked as i64, clock.now()).await?;
        }
    }
    // The last check reads the whole log at once: a sign of life first.
    if let Noting::Row { id, clock } = noting {
        audit_verifications::progress(conn, *id, walk.checked as i64, clock.now()).await?;
    }
    let problem = audit::first_unlinked(conn, only)
        .await?
        .map(|entry_id| Problem::Unlinked { entry_id });
    Ok(Verdict {
        checked: walk.checked,
        problem,
    })
}

/// Every action the console records, for the filter's list.
pub const ACTIONS: &[&str] = &[
    "access_policy.ip_added",
    "access_policy.ip_enforced",
    "access_policy.ip_removed",
    "access_policy.restriction_enforced",
    "access_policy.restriction_removed",
    "access_policy.restriction_set",
    "access_policy.sso_required_changed",
    "api_key.created",
    "api_key.revoked",
    "api_key.rotated",
    "endpoint.added",
    "invitation.accepted",
    "invitation.cancelled",
    "invitation.resent",
    "invitation.sent",
    "member.details_updated",
    "member.joined_by_domain",
    "member.left",
    "member.removed",
    "member.role_changed",
    "model.added",
    "organization.created",
    "organization.models_changed",
    "organization.oauth_changed",
    "organization.ownership_transferred",
    "organization.shared_use_reported",
    "organization.updated",
    "organization.users_assigned",
    "plan.created",
    "platform.master_key_rotated",
    "platform.settings_changed",
    "provider_key.added",
    "provider_key.removed",
    "provider_key.rotated",
    "purchase.recorded",
    "sales_file.imported",
    "service_account.created",
    "subscription.admin_named",
    "subscription.admin_withdrawn",
    "subscription.cancelled",
    "subscription.plan_changed",
    "subscription.seat_granted",
    "subscription.seat_withdrawn",
    "team.created",
    "team.deactivated",
    "team.member_added",
    "team.member_removed",
    "team.member_role_changed",
    "team.ownership_transferred",
    "team.reactivated",
    "team.tokens_assigned",
    "team.tokens_withdrawn",
    "tokens.assigned",
    "usage.alerts_changed",
    "user.disabled",
    "user.created_by_sso",
    "user.enabled",
    "user.made_super_admin",
    "user.password_changed",
    "user.password_reset",
    "user.profile_updated",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn link(chain: i64, position: i64, prev: u8, hash: u8, now: Option<u8>) -> LinkCheck {
        LinkCheck {
            chain,
            position,
            entry_id: chain * 100 + position,
            prev_hash: vec![prev; 32],
            hash: vec![hash; 32],
            recomputed: now.map(|h| vec![h; 32]),
        }
    }

    #[test]
    fn a_whole_chain_passes_and_each_kind_of_break_is_named() {
        let good = [
            link(1, 1, 0, 7, Some(7)),
            link(1, 2, 7, 8, Some(8)),
            link(2, 1, 0, 9, Some(9)),
        ];
        let mut walk = Walk::default();
        assert_eq!(walk.check(&good), Ok(()));
        assert_eq!(walk.checked, 3);

        let altered = [link(1, 1, 0, 7, Some(6))];
        assert_eq!(
            Walk::default().check(&altered),
            Err(Problem::Altered { entry_id: 101 })
        );
        let removed = [link(1, 1, 0, 7, None)];
        assert_eq!(
            Walk::default().check(&removed),
            Err(Problem::Removed { entry_id: 101 })
        );
        let gap = [link(1, 1, 0, 7, Some(7)), link(1, 3, 7, 8, Some(8))];
        assert_eq!(
            Walk::default().check(&gap),
            Err(Problem::Broken { entry_id: 103 })
        );
        let relinked = [link(1, 1, 0, 7, Some(7)), link(1, 2, 5, 8, Some(8))];
        assert_eq!(
            Walk::default().check(&relinked),
            Err(Problem::Broken { entry_id: 102 })
        );
        let headless = [link(1, 2, 7, 8, Some(8))];
        assert_eq!(
            Walk::default().check(&headless),
            Err(Problem::Broken { entry_id: 102 })
        );
    }

    #[test]
    fn a_walk_goes_on_across_batches() {
        let mut walk = Walk::default();
        assert_eq!(walk.check(&[link(1, 1, 0, 7, Some(7))]), Ok(()));
        assert_eq!(walk.after(), (1, 1));
        assert_eq!(walk.check(&[link(1, 2, 7, 8, Some(8))]), Ok(()));
    }

    #[test]
    fn changes_read_field_by_field_and_hide_secrets() {
        let before = json!({"role": "member", "teams": ["Ops"], "same": 1});
        let after =
            json!({"role": "admin", "teams": [], "same": 1, "client_secret": "x", "seat": true});
        let shown = changes(Some(&before), Some(&after));
        let text: Vec<(String, Option<String>, Option<String>)> = shown
            .into_iter()
            .map(|c| (c.field, c.before, c.after))
            .collect();
        assert_eq!(
            text,
            vec![
                (
                    "client secret".to_owned(),
                    None,
                    Some("(hidden)".to_owned())
                ),
                (
                    "role".to_owned(),
                    Some("member".to_owned()),
                    Some("admin".to_owned())
                ),
                ("seat".to_owned(), None, Some("yes".to_owned())),
                (
                    "teams".to_owned(),
                    Some("Ops".to_owned()),
                    Some("none".to_owned())
                ),
            ]
        );
        assert_eq!(
            changes(None, Some(&json!("Pro"))),
            vec![Change {
                field: "value".to_owned(),
                before: None,
                after: Some("Pro".to_owned()),
            }]
        );
    }

    #[test]
    fn filters_are_checked_field_by_field() {
        let errors = parse_filter(&Typed {
            from: "2026-13-01",
            action: "nothing.done",
            actor: "a\0b",
            ..Typed::default()
        })
        .expect_err("refused");
        assert!(errors.get("from").is_some());
        assert!(errors.get("action").is_some());
        assert!(errors.get("actor").is_some());
        let filter = parse_filter(&Typed {
            actor: " Mia@Acme.test ",
            from: "2026-11-02",
            until: "2026-11-02",
            ..Typed::default()
        })
        .expect("accepted");
        assert_eq!(filter.actor.as_deref(), Some("mia@acme.test"));
        assert_eq!(
            filter.until.expect("until") - filter.from.expect("from"),
            chrono::Duration::days(1)
        );
        let cursor = Cursor {
            at: DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("time"),
            id: 42,
        };
        assert_eq!(parse_cursor(&cursor_text(cursor)), Some(cursor));
        assert_eq!(parse_cursor("junk"), None);
    }
}
