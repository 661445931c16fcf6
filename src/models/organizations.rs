use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::organizations;
use crate::domain::OrgId;

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
}

#[derive(Debug, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization<'a> {
    pub name: &'a str,
    pub contact_name: &'a str,
    pub address: &'a str,
    pub zip: &'a str,
    pub city: &'a str,
    pub country: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub domain: Option<&'a str>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: OrgId) -> QueryResult<Option<Organization>> {
    organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_name(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> QueryResult<Option<Organization>> {
    organizations::table
        .filter(organizations::name.eq(name))
        .select(Organization::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewOrganization<'_>,
) -> QueryResult<Organization> {
    diesel::insert_into(organizations::table)
        .values(new)
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
}

/// Organizations by name, for the super administrator's overview.
pub async fn list_by_name(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> QueryResult<Vec<Organization>> {
    organizations::table
        .order((organizations::name.asc(), organizations::id.asc()))
        .limit(limit)
        .select(Organization::as_select())
        .load(conn)
        .await
}
