//! An organization's access policies (seed 004): IP allowlist entries and endpoint
//! restrictions, and the platform's endpoint catalogue they name.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{
    api_endpoints, endpoint_restriction_allows, endpoint_restrictions, ip_allow_entries, users,
};
use crate::domain::{OrgId, UserId};

/// The endpoint catalogue, in its order: (name, label).
pub async fn endpoints(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(String, String)>> {
    api_endpoints::table
        .order((api_endpoints::position, api_endpoints::name))
        .select((api_endpoints::name, api_endpoints::label))
        .load(conn)
        .await
}

/// Adds an endpoint at the end of the catalogue; `false` when the name is taken.
pub async fn insert_endpoint(
    conn: &mut AsyncPgConnection,
    name: &str,
    label: &str,
) -> QueryResult<bool> {
    diesel::insert_into(api_endpoints::table)
        .values((
            api_endpoints::name.eq(name),
            api_endpoints::label.eq(label),
            api_endpoints::position.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
                "(SELECT coalesce(max(position), 0) + 1 FROM api_endpoints)",
            )),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

#[derive(Debug, Clone, Queryable)]
pub struct IpEntryRow {
    pub id: i64,
    pub network: String,
    pub label: String,
    pub endpoint: Option<String>,
    pub report_only: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

pub async fn ip_entries(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Vec<IpEntryRow>> {
    ip_allow_entries::table
        .left_join(users::table.on(users::id.nullable().eq(ip_allow_entries::created_by)))
        .filter(ip_allow_entries::org_id.eq(org_id))
        .order((ip_allow_entries::network, ip_allow_entries::id))
        .select((
            ip_allow_entries::id,
            ip_allow_entries::network,
            ip_allow_entries::label,
            ip_allow_entries::endpoint,
            ip_allow_entries::report_only,
            ip_allow_entries::created_at,
            users::email.nullable(),
        ))
        .load(conn)
        .await
}

pub struct NewIpEntry<'a> {
    pub org_id: OrgId,
    pub network: &'a str,
    pub label: &'a str,
    pub endpoint: Option<&'a str>,
    pub report_only: bool,
    pub created_by: UserId,
    pub at: DateTime<Utc>,
}

/// Adds an entry; `None` when the same network is already listed for the same scope.
pub async fn insert_ip_entry(
    conn: &mut AsyncPgConnection,
    new: &NewIpEntry<'_>,
) -> QueryResult<Option<i64>> {
    diesel::insert_into(ip_allow_entries::table)
        .values((
            ip_allow_entries::org_id.eq(new.org_id),
            ip_allow_entries::network.eq(new.network),
            ip_allow_entries::label.eq(new.label),
            ip_allow_entries::endpoint.eq(new.endpoint),
            ip_allow_entries::report_only.eq(new.report_only),
            ip_allow_entries::created_by.eq(new.created_by),
            ip_allow_entries::created_at.eq(new.at),
        ))
        .on_conflict_do_nothing()
        .returning(ip_allow_entries::id)
        .get_result(conn)
        .await
        .optional()
}

/// Removes an entry of this organization; returns its network, or `None` when there is none.
pub async fn delete_ip_entry(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    id: i64,
) -> QueryResult<Option<String>> {
    diesel::delete(
        ip_allow_entries::table
            .filter(ip_allow_entries::org_id.eq(org_id))
            .filter(ip_allow_entries::id.eq(id)),
    )
    .returning(ip_allow_entries::network)
    .get_result(conn)
    .await
    .optional()
}

/// Turns a report-only entry into an enforced one; returns its network.
pub async fn enforce_ip_entry(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    id: i64,
) -> QueryResult<Option<String>> {
    diesel::update(
        ip_allow_entries::table
            .filter(ip_allow_entries::org_id.eq(org_id))
            .filter(ip_allow_entries::id.eq(id)),
    )
    .set(ip_allow_entries::report_only.eq(false))
    .returning(ip_allow_entries::network)
    .get_result(conn)
    .await
    .optional()
}

#[derive(Debug, Clone)]
pub struct RestrictionRow {
    pub id: i64,
    /// `None`: organization-wide.
    pub user_id: Option<UserId>,
    pub member_email: Option<String>,
    pub report_only: bool,
    pub endpoints: Vec<String>,
}

/// The organization's restrictions, the organization-wide one first, then by member email.
pub async fn restrictions(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Vec<RestrictionRow>> {
    let rows: Vec<(i64, Option<UserId>, Option<String>, bool)> = endpoint_restrictions::table
        .left_join(users::table.on(users::id.nullable().eq(endpoint_restrictions::user_id)))
        .filter(endpoint_restrictions::org_id.eq(org_id))
        .order((
            users::email.nullable().asc().nulls_first(),
            endpoint_restrictions::id,
        ))
        .select((
            endpoint_restrictions::id,
            endpoint_restrictions::user_id.nullable(),
            users::email.nullable(),
            endpoint_restrictions::report_only,
        ))
        .load(conn)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let allows: Vec<(i64, String)> = endpoint_restriction_allows::table
        .filter(endpoint_restriction_allows::restriction_id.eq_any(&ids))
        .select((
            endpoint_restriction_allows::restriction_id,
            endpoint_restriction_allows::endpoint,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, user_id, member_email, report_only)| RestrictionRow {
            id,
            user_id,
            member_email,
            report_only,
            endpoints: allows
                .iter()
                .filter(|(r, _)| *r == id)
                .map(|(_, e)| e.clone())
                .collect(),
        })
        .collect())
}

/// Sets the allowlist of the organization (`user_id` `None`) or of one member, replacing the
/// one there was; returns the restriction's id and its endpoints before (empty when new).
#[allow(clippy::too_many_arguments)]
pub async fn set_restriction(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: Option<UserId>,
    endpoints: &[String],
    report_only: bool,
    by: UserId,
    at: DateTime<Utc>,
) -> QueryResult<(i64, Vec<String>)> {
    use diesel::PgExpressionMethods;
    let existing: Option<i64> = endpoint_restrictions::table
        .filter(endpoint_restrictions::org_id.eq(org_id))
        .filter(endpoint_restrictions::user_id.is_not_distinct_from(user_id))
        .select(endpoint_restrictions::id)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let (id, before) = match existing {
        Some(id) => {
            diesel::update(endpoint_restrictions::table.find(id))
                .set(endpoint_restrictions::report_only.eq(report_only))
                .execute(conn)
                .await?;
            let before = diesel::delete(
                endpoint_restriction_allows::table
                    .filter(endpoint_restriction_allows::restriction_id.eq(id)),
            )
            .returning(endpoint_restriction_allows::endpoint)
            .get_results(conn)
            .await?;
            (id, before)
        }
        None => {
            let id = diesel::insert_into(endpoint_restrictions::table)
                .values((
                    endpoint_restrictions::org_id.eq(org_id),
                    endpoint_restrictions::user_id.eq(user_id),
                    endpoint_restrictions::report_only.eq(report_only),
                    endpoint_restrictions::created_by.eq(by),
                    endpoint_restrictions::created_at.eq(at),
                ))
                .returning(endpoint_restrictions::id)
                .get_result(conn)
                .await?;
            (id, Vec::new())
        }
    };
    let rows: Vec<_> = endpoints
        .iter()
        .map(|e| {
            (
                endpoint_restriction_allows::restriction_id.eq(id),
                endpoint_restriction_allows::endpoint.eq(e),
            )
        })
        .collect();
    diesel::insert_into(endpoint_restriction_allows::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok((id, before))
}

/// Removes a restriction of this organization; returns whose it was (`Some(None)`: the
/// organization's), or `None` when there is none.
pub async fn delete_restriction(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    id: i64,
) -> QueryResult<Option<Option<UserId>>> {
    diesel::delete(
        endpoint_restrictions::table
            .filter(endpoint_restrictions::org_id.eq(org_id))
            .filter(endpoint_restrictions::id.eq(id)),
    )
    .returning(endpoint_restrictions::user_id.nullable())
    .get_result(conn)
    .await
    .optional()
}

pub async fn enforce_restriction(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    id: i64,
) -> QueryResult<Option<Option<UserId>>> {
    diesel::update(
        endpoint_restrictions::table
            .filter(endpoint_restrictions::org_id.eq(org_id))
            .filter(endpoint_restrictions::id.eq(id)),
    )
    .set(endpoint_restrictions::report_only.eq(false))
    .returning(endpoint_restrictions::user_id.nullable())
    .get_result(conn)
    .await
    .optional()
}
