use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{memberships, organizations, users};
use crate::domain::{OrgId, OrgRole, UserId};
use crate::models::users::User;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg))]
pub struct Membership {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: OrgRole,
    pub subscriber: bool,
    pub subscriber_admin: bool,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = memberships)]
pub struct NewMembership {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: OrgRole,
}

/// An organization the signed-in user belongs to, as the header's switcher shows it.
#[derive(Debug, Clone, Queryable, serde::Serialize, serde::Deserialize)]
pub struct UserOrganization {
    pub org_id: OrgId,
    pub org_name: String,
    pub role: OrgRole,
    /// The subscription is cancelled: only its owner still sees it.
    pub cancelled: bool,
    /// The user may manage the subscription's seats.
    pub subscriber_admin: bool,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewMembership) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values(new)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Members of one organization with their user rows, highest role first.
pub async fn members_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    limit: i64,
) -> QueryResult<Vec<(Membership, User)>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .order((memberships::joined_at.asc(), users::email.asc()))
        .limit(limit)
        .select((Membership::as_select(), User::as_select()))
        .load(conn)
        .await
}

/// The organizations (with the role) of each of these users, in one query.
pub async fn organizations_of_users(
    conn: &mut AsyncPgConnection,
    user_ids: &[UserId],
) -> QueryResult<Vec<(UserId, UserOrganization)>> {
    memberships::table
        .inner_join(organizations::table)
        .filter(memberships::user_id.eq_any(user_ids))
        .order((memberships::user_id, organizations::name))
        .select((
            memberships::user_id,
            (
                memberships::org_id,
                organizations::name,
                memberships::role,
                organizations::status.eq("cancelled"),
                memberships::subscriber_admin,
            ),
        ))
        .load(conn)
        .await
}

/// Which of these users already belong to some organization (other than `except`).
pub async fn users_with_other_memberships(
    conn: &mut AsyncPgConnection,
    user_ids: &[UserId],
    except: OrgId,
) -> QueryResult<Vec<UserId>> {
    memberships::table
        .filter(memberships::user_id.eq_any(user_ids))
        .filter(memberships::org_id.ne(except))
        .select(memberships::user_id)
        .distinct()
        .load(conn)
        .await
}

pub async fn members_among(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<Vec<UserId>> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq_any(user_ids))
        .select(memberships::user_id)
        .load(conn)
        .await
}

/// Adds members, skipping any who already are; returns how many were added.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    new: &[NewMembership],
) -> QueryResult<usize> {
    diesel::insert_into(memberships::table)
        .values(new)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
) -> QueryResult<Option<Membership>> {
    memberships::table
        .find((org_id, user_id))
        .select(Membership::as_select())
        .first(conn)
        .await
        .optional()
}

/// One membership, locked against changes (a role change, a removal) until the transaction ends,
/// while others may read it.
pub async fn find_shared(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
) -> QueryResult<Option<Membership>> {
    memberships::table
        .find((org_id, user_id))
        .for_share()
        .select(Membership::as_select())
        .first(conn)
        .await
        .optional()
}

/// The memberships of these users in one organization, held shared (a removal waits) in user
/// order, the order removals lock them in, so the two cannot deadlock.
pub async fn share_among(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<Vec<Membership>> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq_any(user_ids))
        .order(memberships::user_id)
        .for_share()
        .select(Membership::as_select())
        .load(conn)
        .await
}

/// The memberships of these users in one organization with their user rows, locked for the
/// transaction (in user order, so two transactions cannot deadlock on them).
pub async fn lock_with_users(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<Vec<(Membership, User)>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq_any(user_ids))
        .order(memberships::user_id)
        .for_update()
        .select((Membership::as_select(), User::as_select()))
        .load(conn)
        .await
}

/// These members of one organization with their user rows, newest member first.
pub async fn with_users(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<Vec<(Membership, User)>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq_any(user_ids))
        .order(memberships::user_id.desc())
        .select((Membership::as_select(), User::as_select()))
        .load(conn)
        .await
}

/// One page of an organization's member ids, newest first (the primary key's order).
pub async fn ids_page(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<UserId>> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .order(memberships::user_id.desc())
        .select(memberships::user_id)
        .offset(offset)
        .limit(limit)
        .load(conn)
        .await
}

/// The owner of an organization, with their user row.
pub async fn owner_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Option<(Membership, User)>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq(OrgRole::Owner))
        .select((Membership::as_select(), User::as_select()))
        .first(conn)
        .await
        .optional()
}

pub async fn set_role(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
    role: OrgRole,
) -> QueryResult<()> {
    diesel::update(memberships::table.find((org_id, user_id)))
        .set(memberships::role.eq(role))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Removes members (their team memberships go with them, by the database's cascade).
/// Removes these members; returns how many of them held a seat.
pub async fn delete_many(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<usize> {
    let seats: Vec<bool> = diesel::delete(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq_any(user_ids)),
    )
    .returning(memberships::subscriber)
    .get_results(conn)
    .await?;
    Ok(seats.into_iter().filter(|seat| *seat).count())
}

/// The emails of the organization's owner and admins whose accounts are active.
pub async fn manager_emails(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Vec<String>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq_any([OrgRole::Owner, OrgRole::Admin]))
        .filter(users::status.eq("active"))
        // Service accounts read no mail.
        .filter(users::service_of.is_null())
        .order(users::email)
        .select(users::email)
        .load(conn)
        .await
}
