use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::paging::Total;
use crate::db::schema::{organizations, platform_counters};
use crate::domain::{OrgId, OrganizationFields};
use crate::models::subscriptions::{self, ChangeReason};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub contact_name: String,
    pub address: String,
    pub zip: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub domain: Option<String>,
    pub restrict_to_domain: bool,
    pub allow_subdomains: bool,
    pub status: String,
    pub member_count: i32,
    pub admin_count: i32,
    pub subscriber_count: i32,
    pub created_at: DateTime<Utc>,
    pub plan_id: Option<i64>,
    pub inference_purchased: i64,
    pub inference_assigned: i64,
    pub embedding_purchased: i64,
    pub embedding_assigned: i64,
    pub inference_used: i64,
    pub embedding_used: i64,
    /// Percentages of a limit at which owners and admins are emailed (soft alerts).
    pub alert_thresholds: Vec<i16>,
}

pub async fn set_alert_thresholds(
    conn: &mut AsyncPgConnection,
    id: OrgId,
    thresholds: &[i16],
) -> QueryResult<Vec<i16>> {
    diesel::update(organizations::table.find(id))
        .set(organizations::alert_thresholds.eq(thresholds))
        .returning(organizations::alert_thresholds)
        .get_result(conn)
        .await
}

/// Records that an alert went out; `false` when it had already, this period.
pub async fn mark_alert_sent(
    conn: &mut AsyncPgConnection,
    id: OrgId,
    limit_name: &str,
    threshold: i16,
    period: chrono::NaiveDate,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    use crate::db::schema::usage_alerts_sent;
    diesel::insert_into(usage_alerts_sent::table)
        .values((
            usage_alerts_sent::org_id.eq(id),
            usage_alerts_sent::limit_name.eq(limit_name),
            usage_alerts_sent::threshold.eq(threshold),
            usage_alerts_sent::period.eq(period),
            usage_alerts_sent::sent_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

pub async fn find(conn: &mut AsyncPgConnection, id: OrgId) -> QueryResult<Option<Organization>> {
    organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    fields: &OrganizationFields,
    plan_id: Option<i64>,
) -> QueryResult<Organization> {
    let org: Organization = diesel::insert_into(organizations::table)
        .values((fields, organizations::plan_id.eq(plan_id)))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await?;
    // Billing starts with the organization.
    subscriptions::record(conn, org.id, ChangeReason::Started, org.created_at).await?;
    Ok(org)
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: OrgId,
    fields: &OrganizationFields,
) -> QueryResult<Organization> {
    diesel::update(organizations::table.find(id))
        .set(fields)
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
}

/// Whether the organization is active, its row locked until the transaction ends. A member
/// joining locks it before the membership's counter trigger updates it anyway, so a
/// cancellation waits for the join (and a join after it sees it), and two joins queue rather
/// than deadlock (a shared lock each, then both updating the row, would).
pub async fn lock_if_active(conn: &mut AsyncPgConnection, id: OrgId) -> QueryResult<bool> {
    organizations::table
        .find(id)
        .select(organizations::status)
        .for_no_key_update()
        .first::<String>(conn)
        .await
        .optional()
        .map(|status| status.as_deref() == Some("active"))
}

/// Whether another organization already uses this domain.
/// The active organization whose domain this is (exact match on the normalised domain).
pub async fn id_and_name_by_domain(
    conn: &mut AsyncPgConnection,
    domain: &str,
) -> QueryResult<Option<(OrgId, String)>> {
    organizations::table
        .filter(organizations::domain.eq(domain))
        .filter(organizations::status.eq("active"))
        .select((organizations::id, organizations::name))
        .first(conn)
        .await
        .optional()
}

pub async fn domain_taken(
    conn: &mut AsyncPgConnection,
    domain: &str,
    except: Option<OrgId>,
) -> QueryResult<bool> {
    let mut query = organizations::table
        .filter(organizations::domain.eq(domain))
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(organizations::id.ne(id));
    }
    diesel::select(diesel::dsl::exists(query))
        .get_result(conn)
        .await
}

/// Columns the Organizations table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    Id,
    Name,
    Users,
    Contact,
    Phone,
    Email,
    Domain,
    InferencePurchased,
    InferenceAssigned,
    EmbeddingPurchased,
    EmbeddingAssigned,
}

/// A page of the Organizations table. Every order is served by an index on `(column, id)`.
pub struct ListQuery<'a> {
    /// Lower-cased text to find in name, domain or email.
    pub search: Option<&'a str>,
    pub sort: SortColumn,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

fn like_pattern(search: &str) -> String {
    let escaped = search
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

macro_rules! order_by {
    ($query:expr, $column:expr, $descending:expr) => {
        if $descending {
            $query.order(($column.desc(), organizations::id.desc()))
        } else {
            $query.order(($column.asc(), organizations::id.asc()))
        }
    };
}

/// Two short queries instead of one long one: the page's ids come from an index-only scan of the
/// sort column's `(column, id)` index (cheap even at a deep offset), then only those rows are read.
pub async fn list(
    conn: &mut AsyncPgConnection,
    list: &ListQuery<'_>,
    cap: i64,
) -> QueryResult<(Vec<Organization>, Total)> {
    let mut query = organizations::table.select(organizations::id).into_boxed();
    if let Some(search) = list.search {
        query = query
            .filter(organizations::search_text.like(like_pattern(search)))
            // Planned for each search, never from a connection's cached generic plan: a common
            // word is fastest walking the sort column's index (it keeps the search text, see
            // the migration), a rare one through the trigram index, and only the word's
            // statistics tell which. A literal in the query keeps Diesel from caching it.
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE"));
    }
    // Name and contact sort case-insensitively, by their lower-cased key columns.
    let query = match list.sort {
        SortColumn::Id => order_by!(query, organizations::id, list.descending),
        SortColumn::Name => order_by!(query, organizations::name_key, list.descending),
        SortColumn::Users => order_by!(query, organizations::member_count, list.descending),
        SortColumn::Contact => order_by!(query, organizations::contact_key, list.descending),
        SortColumn::Phone => order_by!(query, organizations::phone, list.descending),
        SortColumn::Email => order_by!(query, organizations::email, list.descending),
        SortColumn::Domain => order_by!(query, organizations::domain, list.descending),
        SortColumn::InferencePurchased => {
            order_by!(query, organizations::inference_purchased, list.descending)
        }
        SortColumn::InferenceAssigned => {
            order_by!(query, organizations::inference_assigned, list.descending)
        }
        SortColumn::EmbeddingPurchased => {
            order_by!(query, organizations::embedding_purchased, list.descending)
        }
        SortColumn::EmbeddingAssigned => {
            order_by!(query, organizations::embedding_assigned, list.descending)
        }
    };
    // With a search, one statement finds the matching ids in order up to `cap + 1`: the page is
    // a slice of them and the total is exact below the cap. Without one, the kept counter.
    let (ids, total): (Vec<OrgId>, Total) = match list.search {
        None => {
            let ids = query
                .offset(list.offset)
                .limit(list.limit)
                .load(conn)
                .await?;
            let count = platform_counters::table
                .select(platform_counters::organizations)
                .first(conn)
                .await?;
            (ids, Total::exact(count))
        }
        Some(_) => {
            let found: Vec<OrgId> = query.limit(cap + 1).load(conn).await?;
            let total = Total::capped(found.len(), cap);
            let page = found
                .into_iter()
                .skip(usize::try_from(list.offset).unwrap_or(0))
                .take(usize::try_from(list.limit).unwrap_or(0))
                .collect();
            (page, total)
        }
    };
    let mut rows: Vec<Organization> = organizations::table
        .filter(organizations::id.eq_any(&ids))
        .select(Organization::as_select())
        .load(conn)
        .await?;
    rows.sort_by_key(|org| ids.iter().position(|id| *id == org.id));
    Ok((rows, total))
}

/// An organization's name and kept member count (the user list's filter).
pub async fn name_and_member_count(
    conn: &mut AsyncPgConnection,
    id: OrgId,
) -> QueryResult<Option<(String, i32)>> {
    organizations::table
        .find(id)
        .select((organizations::name, organizations::member_count))
        .first(conn)
        .await
        .optional()
}

/// The counters above the Members page, kept on the organization row by the database.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct Counters {
    pub members: i32,
    pub admins: i32,
    pub subscribers: i32,
}

/// An organization's name and counters.
pub async fn counters(
    conn: &mut AsyncPgConnection,
    id: OrgId,
) -> QueryResult<Option<(String, Counters)>> {
    organizations::table
        .find(id)
        .select((
            organizations::name,
            (
                organizations::member_count,
                organizations::admin_count,
                organizations::subscriber_count,
            ),
        ))
        .first(conn)
        .await
        .optional()
}

/// Ids and domains of every organization (the sales import resolves each line against them).
pub async fn all_ids_and_domains(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<(OrgId, Option<String>)>> {
    organizations::table
        .select((organizations::id, organizations::domain))
        .load(conn)
        .await
}
