//! The append-only audit log (the database refuses updates and deletes) and its hash chains
//! (migration `audit_chain`: a trigger links each entry as its transaction commits).

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Bytea, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{audit_log, organizations};
use crate::domain::{OrgId, UserId};

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub actor_user_id: Option<UserId>,
    pub actor_email: &'a str,
    /// The role the actor acted as: `super_admin`, an organization role, `self` or `system`.
    pub actor_role: &'a str,
    pub action: &'a str,
    pub org_id: Option<OrgId>,
    pub target: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

pub async fn record(conn: &mut AsyncPgConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn record_many(
    conn: &mut AsyncPgConnection,
    entries: &[NewAuditEntry<'_>],
) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    diesel::insert_into(audit_log::table)
        .values(entries)
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_email: String,
    pub actor_role: String,
    pub action: String,
    pub org_id: Option<OrgId>,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// Which entries: every filter is optional; `orgs` empty means every organization's and the
/// platform's own (the super admin's page), else only those organizations'.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub orgs: Vec<OrgId>,
    /// An actor's email, lower-case.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// A target, matched without regard to case.
    pub target: Option<String>,
    /// From this instant (inclusive) until that one (exclusive).
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A place in the log, newest first: an entry's time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: i64,
}

/// Which side of a cursor a page lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Older,
    Newer,
}

diesel::define_sql_function! {
    fn lower(text: Text) -> Text;
}

/// Up to `limit` entries matching `filter` next to `from` (or the newest), newest first, each
/// with its organization's name. One statement: every filter has an index in (time, id)
/// order (migration `audit_chain`), and the cursor is a row comparison the index ranges on,
/// so a page deep in millions of entries costs what the first one does.
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    from: Option<(Side, Cursor)>,
    limit: i64,
) -> QueryResult<Vec<(AuditEntry, Option<String>)>> {
    let mut query = audit_log::table
        .left_join(organizations::table.on(audit_log::org_id.eq(organizations::id.nullable())))
        .select((AuditEntry::as_select(), organizations::name.nullable()))
        .into_boxed();
    match filter.orgs.as_slice() {
        [] => {}
        [org] => query = query.filter(audit_log::org_id.eq(*org)),
        orgs => query = query.filter(audit_log::org_id.eq_any(orgs)),
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_log::actor_email.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action));
    }
    if let Some(target) = &filter.target {
        query = query.filter(lower(audit_log::target).eq(target.to_lowercase()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::at.lt(until));
    }
    let newer = matches!(from, Some((Side::Newer, _)));
    if let Some((side, cursor)) = from {
        let comparison = if side == Side::Older { "<" } else { ">" };
        query = query.filter(
            sql::<Bool>("(audit_log.at, audit_log.id) ")
                .sql(comparison)
                .sql(" (")
                .bind::<Timestamptz, _>(cursor.at)
                .sql(", ")
                .bind::<BigInt, _>(cursor.id)
                .sql(")"),
        );
    }
    let mut rows = if newer {
        query
            .order((audit_log::at.asc(), audit_log::id.asc()))
            .limit(limit)
            .load(conn)
            .await?
    } else {
        query
            .order((audit_log::at.desc(), audit_log::id.desc()))
            .limit(limit)
            .load(conn)
            .await?
    };
    if newer {
        rows.reverse();
    }
    Ok(rows)
}

/// One link of a chain as stored, with what its entry hashes to now.
#[derive(Debug, Clone, QueryableByName)]
pub struct LinkCheck {
    #[diesel(sql_type = BigInt)]
    pub chain: i64,
    #[diesel(sql_type = BigInt)]
    pub position: i64,
    #[diesel(sql_type = BigInt)]
    pub entry_id: i64,
    #[diesel(sql_type = Bytea)]
    pub prev_hash: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    pub hash: Vec<u8>,
    /// The hash of the previous link and the entry as it is now; `None` when the entry is gone.
    #[diesel(sql_type = Nullable<Bytea>)]
    pub recomputed: Option<Vec<u8>>,
}

/// The next `limit` links after `after` (chain, position), in chain then position order:
/// every chain's, or only the organization's.
pub async fn links_after(
    conn: &mut AsyncPgConnection,
    only: Option<OrgId>,
    after: (i64, i64),
    limit: i64,
) -> QueryResult<Vec<LinkCheck>> {
    const LINKS: &str = "SELECT c.chain, c.position, c.entry_id, c.prev_hash, c.hash, \
                CASE WHEN l.id IS NOT NULL \
                THEN sha256(c.prev_hash || audit_entry_content(l)) END AS recomputed \
           FROM audit_chain c LEFT JOIN audit_log l ON l.id = c.entry_id";
    match only {
        Some(org) => {
            diesel::sql_query(format!(
                "{LINKS} WHERE c.chain = $1 AND c.position > $2 ORDER BY c.position LIMIT $3"
            ))
            .bind::<BigInt, _>(org.0)
            .bind::<BigInt, _>(after.1)
            .bind::<BigInt, _>(limit)
            .load(conn)
            .await
        }
        None => {
            diesel::sql_query(format!(
                "{LINKS} WHERE (c.chain, c.position) > ($1, $2) \
                 ORDER BY c.chain, c.position LIMIT $3"
            ))
            .bind::<BigInt, _>(after.0)
            .bind::<BigInt, _>(after.1)
            .bind::<BigInt, _>(limit)
            .load(conn)
            .await
        }
    }
}

#[derive(QueryableByName)]
struct Unlinked {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The first entry with no link (written with the linking trigger switched off): of every
/// chain, or only of the organization's.
pub async fn first_unlinked(
    conn: &mut AsyncPgConnection,
    only: Option<OrgId>,
) -> QueryResult<Option<i64>> {
    const UNLINKED: &str = "SELECT l.id FROM audit_log l \
          WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = l.id)";
    let found: Option<Unlinked> = match only {
        Some(org) => diesel::sql_query(format!(
            "{UNLINKED} AND l.org_id = $1 ORDER BY l.id LIMIT 1"
        ))
        .bind::<BigInt, _>(org.0)
        .get_result(conn)
        .await
        .optional()?,
        None => diesel::sql_query(format!("{UNLINKED} ORDER BY l.id LIMIT 1"))
            .get_result(conn)
            .await
            .optional()?,
    };
    Ok(found.map(|row| row.id))
}
