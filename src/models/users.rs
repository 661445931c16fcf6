use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::paging::Total;
use crate::db::schema::users;
use crate::domain::{OrgId, PlatformRole, UserId, UserStatus};

/// A user as pages show them; the password hash is read only where it is checked.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub platform_role: PlatformRole,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Set for a service account: the organization that owns it (it never signs in).
    pub service_of: Option<OrgId>,
}

impl User {
    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name, self.last_name);
        match full.trim() {
            "" => self.email.clone(),
            name => name.to_owned(),
        }
    }

    pub fn is_super_admin(&self) -> bool {
        self.platform_role == PlatformRole::SuperAdmin
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub platform_role: PlatformRole,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub platform_role: Option<PlatformRole>,
    pub status: Option<UserStatus>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The emails of these users: (id, email).
/// How pages name these users: by email, or a service account by its name (its address is
/// made up).
pub async fn labels_of(
    conn: &mut AsyncPgConnection,
    ids: &[UserId],
) -> QueryResult<Vec<(UserId, String)>> {
    let rows: Vec<(UserId, String, String, Option<OrgId>)> = users::table
        .filter(users::id.eq_any(ids))
        .select((
            users::id,
            users::email,
            users::first_name,
            users::service_of,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, name, service_of)| match service_of {
            Some(_) => (id, format!("{name} (service account)")),
            None => (id, email),
        })
        .collect())
}

pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user with this email and their password hash, for signing in.
pub async fn find_with_hash_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<(User, Option<String>)>> {
    users::table
        .filter(users::email.eq(email))
        .select((User::as_select(), users::password_hash))
        .first(conn)
        .await
        .optional()
}

pub async fn password_hash_of(
    conn: &mut AsyncPgConnection,
    id: UserId,
) -> QueryResult<Option<String>> {
    users::table
        .find(id)
        .select(users::password_hash)
        .first(conn)
        .await
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Inserts the user unless the address has an account already (`None` then).
pub async fn insert_if_absent(
    conn: &mut AsyncPgConnection,
    new: &NewUser<'_>,
) -> QueryResult<Option<User>> {
    diesel::insert_into(users::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: UserId,
    changes: &UserChanges<'_>,
) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_password_hash(
    conn: &mut AsyncPgConnection,
    id: UserId,
    hash: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn record_login(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(|_| ())
}

/// A search for people by what their email, first name or last name starts with; two words
/// mean first name and last name ("grace hop"). Each prefix becomes the key range [p, p+1).
#[derive(Debug, Clone)]
pub enum PersonSearch {
    AnyField {
        from: String,
        until: String,
    },
    FullName {
        first: (String, String),
        last: (String, String),
    },
}

impl PersonSearch {
    /// `None` for a blank search.
    pub fn parse(raw: &str) -> Option<PersonSearch> {
        let lower = raw.trim().to_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        match words.as_slice() {
            [] => None,
            [word] => {
                let (from, until) = prefix_range(word);
                Some(PersonSearch::AnyField { from, until })
            }
            [first, rest @ ..] => Some(PersonSearch::FullName {
                first: prefix_range(first),
                last: prefix_range(&rest.join(" ")),
            }),
        }
    }
}

/// The keys starting with `prefix` are those in [prefix, prefix with its last character + 1),
/// in the "C" collation of the key columns.
fn prefix_range(prefix: &str) -> (String, String) {
    let mut until: Vec<char> = prefix.chars().collect();
    if let Some(last) = until.pop() {
        until.push(char::from_u32(last as u32 + 1).unwrap_or(char::MAX));
    }
    (prefix.to_owned(), until.into_iter().collect())
}

/// A page of the super administrator's user list, newest first.
pub struct UserListQuery<'a> {
    /// Members of this organization only, with its kept member count.
    pub org: Option<(crate::domain::OrgId, i64)>,
    pub search: Option<&'a PersonSearch>,
    pub offset: i64,
    pub limit: i64,
}

/// A page of users, newest first, and how many match. Without a search: an index-only walk,
/// backwards, of the memberships (or users) primary key, and the kept counter. With a search:
/// one statement returns the matching ids, newest first, up to `cap + 1` (covering indexes,
/// so no table reads); the page is a slice of them and the total is exact below the cap.
/// Then only the page's users are read: a 20,000-member organization costs a page, not a sort.
pub async fn list(
    conn: &mut AsyncPgConnection,
    query: &UserListQuery<'_>,
    cap: i64,
) -> QueryResult<(Vec<User>, Total)> {
    use crate::db::schema::{memberships, platform_counters};
    let org_id = query.org.map(|(org_id, _)| org_id);
    let (ids, total): (Vec<UserId>, Total) = match (query.org, query.search) {
        (Some((org_id, member_count)), None) => {
            let ids = memberships::table
                .filter(memberships::org_id.eq(org_id))
                .order(memberships::user_id.desc())
                .select(memberships::user_id)
                .offset(query.offset)
                .limit(query.limit)
                .load(conn)
                .await?;
            (ids, Total::exact(member_count))
        }
        (None, None) => {
            let ids = users::table
                .order(users::id.desc())
                .select(users::id)
                .offset(query.offset)
                .limit(query.limit)
                .load(conn)
                .await?;
            let count = platform_counters::table
                .select(platform_counters::users)
                .first(conn)
                .await?;
            (ids, Total::exact(count))
        }
        (_, Some(search)) => {
            let found = search_ids(conn, org_id, search, cap + 1).await?;
            let total = Total::capped(found.len(), cap);
            let page = found
                .into_iter()
                .skip(usize::try_from(query.offset).unwrap_or(0))
                .take(usize::try_from(query.limit).unwrap_or(0))
                .collect();
            (page, total)
        }
    };
    let mut rows: Vec<User> = users::table
        .filter(users::id.eq_any(&ids))
        .select(User::as_select())
        .load(conn)
        .await?;
    // In the order the ids came: newest first, or a search's order.
    rows.sort_by_key(|user| ids.iter().position(|id| *id == user.id));
    Ok((rows, total))
}

/// Ids of the people a search finds, at most `limit`, in the order of the key that matched,
/// then id. One key range per field, united: each branch is an index-only scan that walks its
/// index in (key, id) order and stops after `limit` rows, so a common prefix costs `limit` rows
/// per field, not every match; the merged top `limit` is the same on every page. Written as a
/// query fragment because Diesel's DSL has no ordered, limited UNION, and unlike `sql_query`
/// text its SQL is known to be the same for every search, so each connection prepares it once.
pub async fn search_ids(
    conn: &mut AsyncPgConnection,
    org_id: Option<crate::domain::OrgId>,
    search: &PersonSearch,
    limit: i64,
) -> QueryResult<Vec<UserId>> {
    let scope = match org_id {
        Some(org_id) => SearchScope::Organization(org_id),
        None => SearchScope::Everyone,
    };
    search_ids_in(conn, scope, search, limit).await
}

/// Whom a search looks among.
#[derive(Debug, Clone, Copy)]
pub enum SearchScope {
    Everyone,
    Organization(crate::domain::OrgId),
    /// Members of the organization who are not in the team (those one may add to it).
    OrganizationOutsideTeam(crate::domain::OrgId, crate::domain::TeamId),
    Team(crate::domain::TeamId),
}

/// `search_ids` within any scope: the keys are read from the scope's own rows (users,
/// memberships or team members), each with the same key indexes.
pub async fn search_ids_in(
    conn: &mut AsyncPgConnection,
    scope: SearchScope,
    search: &PersonSearch,
    limit: i64,
) -> QueryResult<Vec<UserId>> {
    let (table, id, scope_id, team_id) = match scope {
        SearchScope::Everyone => ("users", "id", None, None),
        SearchScope::Organization(org) => ("memberships", "user_id", Some(("org_id", org.0)), None),
        SearchScope::OrganizationOutsideTeam(org, team) => (
            "memberships",
            "user_id",
            Some(("org_id", org.0)),
            Some(team.0),
        ),
        SearchScope::Team(team) => ("team_members", "user_id", Some(("team_id", team.0)), None),
    };
    let query = SearchIds {
        table,
        id,
        scope: scope_id,
        outside_team: team_id,
        search,
        limit,
    };
    let ids: Vec<i64> = query.load(conn).await?;
    Ok(ids.into_iter().map(UserId).collect())
}

struct SearchIds<'a> {
    table: &'static str,
    id: &'static str,
    /// The column that scopes the rows (`org_id`, `team_id`) and its value.
    scope: Option<(&'static str, i64)>,
    /// Leaves out the members of this team.
    outside_team: Option<i64>,
    search: &'a PersonSearch,
    limit: i64,
}

impl diesel::query_builder::QueryId for SearchIds<'_> {
    type QueryId = ();
    // Cached by its SQL, one statement per shape (scope, one word or two).
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for SearchIds<'_> {
    type SqlType = diesel::sql_types::BigInt;
}

type Pass<'a, 'b> = diesel::query_builder::AstPass<'a, 'b, diesel::pg::Pg>;

impl SearchIds<'_> {
    /// `[scope = $n AND] [not in the team AND] column >= $n AND column < $n`
    fn key_range<'b>(
        &'b self,
        out: &mut Pass<'_, 'b>,
        scoped: bool,
        column: &str,
        (from, until): (&'b String, &'b String),
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Text};
        if scoped {
            if let Some((scope_column, value)) = &self.scope {
                out.push_sql(&format!("{scope_column} = "));
                out.push_bind_param::<BigInt, _>(value)?;
                out.push_sql(" AND ");
            }
            if let Some(team_id) = &self.outside_team {
                out.push_sql("NOT EXISTS (SELECT 1 FROM team_members t WHERE t.team_id = ");
                out.push_bind_param::<BigInt, _>(team_id)?;
                out.push_sql(&format!(
                    " AND t.user_id = {}.{}) AND ",
                    self.table, self.id
                ));
            }
        }
        out.push_sql(column);
        out.push_sql(" >= ");
        out.push_bind_param::<Text, _>(from)?;
        out.push_sql(" AND ");
        out.push_sql(column);
        out.push_sql(" < ");
        out.push_bind_param::<Text, _>(until)
    }
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for SearchIds<'_> {
    fn walk_ast<'b>(&'b self, mut out: Pass<'_, 'b>) -> QueryResult<()> {
        use diesel::sql_types::BigInt;
        let (table, id) = (self.table, self.id);
        match self.search {
            PersonSearch::AnyField { from, until } => {
                // (A first name's key is first, chr(1), last: ordered as its index is, since
                // names hold no control characters.)
                let branches = [
                    ("email_key", "email_key", "email_key"),
                    (
                        "first_name_key || chr(1) || last_name_key",
                        "first_name_key",
                        "first_name_key, last_name_key",
                    ),
                    ("last_name_key", "last_name_key", "last_name_key"),
                ];
                out.push_sql("SELECT id FROM (");
                for (i, (key, column, order)) in branches.into_iter().enumerate() {
                    if i > 0 {
                        out.push_sql(" UNION ALL ");
                    }
                    out.push_sql(&format!(
                        "(SELECT {id} AS id, {key} AS k FROM {table} WHERE "
                    ));
                    self.key_range(&mut out, true, column, (from, until))?;
                    out.push_sql(&format!(" ORDER BY {order}, {id} LIMIT "));
                    out.push_bind_param::<BigInt, _>(&self.limit)?;
                    out.push_sql(")");
                }
                out.push_sql(") found GROUP BY id ORDER BY min(k), id LIMIT ");
                out.push_bind_param::<BigInt, _>(&self.limit)
            }
            PersonSearch::FullName { first, last } => {
                out.push_sql(&format!("SELECT {id} AS id FROM {table} WHERE "));
                self.key_range(&mut out, true, "first_name_key", (&first.0, &first.1))?;
                out.push_sql(" AND ");
                self.key_range(&mut out, false, "last_name_key", (&last.0, &last.1))?;
                out.push_sql(&format!(
                    " ORDER BY first_name_key, last_name_key, {id} LIMIT "
                ));
                out.push_bind_param::<BigInt, _>(&self.limit)
            }
        }
    }
}

/// The user with this email, created (without a password) when there is none, and locked until
/// the transaction ends: two requests naming the same new person settle on one row, and the
/// second waits until the first has decided what the person joins.
pub async fn find_or_create_locked(
    conn: &mut AsyncPgConnection,
    new: &NewUser<'_>,
) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .on_conflict(users::email)
        .do_nothing()
        .execute(conn)
        .await?;
    users::table
        .filter(users::email.eq(new.email))
        .for_update()
        .select(User::as_select())
        .first(conn)
        .await
}

/// The users with these emails, locked until the transaction ends.
pub async fn lock_by_emails(
    conn: &mut AsyncPgConnection,
    emails: &[String],
) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::email.eq_any(emails))
        .order(users::id)
        .for_update()
        .select(User::as_select())
        .load(conn)
        .await
}

/// A new service account of `org_id`: a user with no password (it never signs in), named
/// `name`, at an address under the reserved `.invalid` domain (no mail reaches it).
pub async fn insert_service_account(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    name: &str,
    email: &str,
) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email),
            users::first_name.eq(name),
            users::service_of.eq(Some(org_id)),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// An organization's service accounts that are still its members, with their memberships,
/// oldest first (a handful: no paging). Found by the partial index on `service_of` first, so
/// a large organization's memberships are never scanned for them (most have none).
pub async fn service_accounts_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Vec<(User, crate::models::memberships::Membership)>> {
    let ids: Vec<UserId> = users::table
        .filter(users::service_of.eq(org_id))
        .select(users::id)
        .load(conn)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut accounts: Vec<(User, crate::models::memberships::Membership)> =
        crate::models::memberships::with_users(conn, org_id, &ids)
            .await?
            .into_iter()
            .map(|(membership, user)| (user, membership))
            .collect();
    accounts.sort_by_key(|(user, _)| user.id);
    Ok(accounts)
}
