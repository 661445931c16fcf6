use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::users;
use crate::domain::{PlatformRole, UserId, UserStatus};
use crate::web::listing::Total;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: Option<String>,
    pub platform_role: PlatformRole,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
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

pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(User::as_returning())
        .get_result(conn)
        .await
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

pub async fn record_login(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn find_by_emails(
    conn: &mut AsyncPgConnection,
    emails: &[String],
) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::email.eq_any(emails))
        .select(User::as_select())
        .load(conn)
        .await
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
    pub org_id: Option<crate::domain::OrgId>,
    pub search: Option<&'a PersonSearch>,
    pub offset: i64,
    pub limit: i64,
}

/// Runs `$body` with `$filter` bound to the search predicate over a table's three key
/// columns. Each variant stays a static query, so it is a prepared statement planned once per
/// connection (a boxed predicate would be planned on every request).
macro_rules! with_person_filter {
    ($search:expr, $table:ident, $filter:ident => $body:expr) => {
        match $search {
            PersonSearch::AnyField { from, until } => {
                let $filter = ($table::email_key
                    .ge(from.clone())
                    .and($table::email_key.lt(until.clone())))
                .or($table::first_name_key
                    .ge(from.clone())
                    .and($table::first_name_key.lt(until.clone())))
                .or($table::last_name_key
                    .ge(from.clone())
                    .and($table::last_name_key.lt(until.clone())));
                $body
            }
            PersonSearch::FullName { first, last } => {
                let $filter = ($table::first_name_key
                    .ge(first.0.clone())
                    .and($table::first_name_key.lt(first.1.clone())))
                .and(
                    $table::last_name_key
                        .ge(last.0.clone())
                        .and($table::last_name_key.lt(last.1.clone())),
                );
                $body
            }
        }
    };
}

/// Ids first (an index-only walk, backwards, of the memberships primary key or of the users
/// primary key; or the key ranges of a search), then those users: a 20,000-member organization
/// costs a page, not a sort.
pub async fn list(
    conn: &mut AsyncPgConnection,
    query: &UserListQuery<'_>,
) -> QueryResult<Vec<User>> {
    use crate::db::schema::memberships;
    let ids: Vec<UserId> = match (query.org_id, query.search) {
        (Some(org_id), None) => {
            memberships::table
                .filter(memberships::org_id.eq(org_id))
                .order(memberships::user_id.desc())
                .select(memberships::user_id)
                .offset(query.offset)
                .limit(query.limit)
                .load(conn)
                .await?
        }
        (Some(org_id), Some(search)) => with_person_filter!(search, memberships, filter => {
            memberships::table
                .filter(memberships::org_id.eq(org_id))
                .filter(filter)
                .order(memberships::user_id.desc())
                .select(memberships::user_id)
                .offset(query.offset)
                .limit(query.limit)
                .load(conn)
                .await?
        }),
        (None, Some(search)) => with_person_filter!(search, users, filter => {
            users::table
                .filter(filter)
                .order(users::id.desc())
                .select(users::id)
                .offset(query.offset)
                .limit(query.limit)
                .load(conn)
                .await?
        }),
        (None, None) => {
            users::table
                .order(users::id.desc())
                .select(users::id)
                .offset(query.offset)
                .limit(query.limit)
                .load(conn)
                .await?
        }
    };
    let mut rows: Vec<User> = users::table
        .filter(users::id.eq_any(&ids))
        .select(User::as_select())
        .load(conn)
        .await?;
    rows.sort_by_key(|user| std::cmp::Reverse(user.id));
    Ok(rows)
}

/// How many users match; kept counters when nothing is searched.
/// With a search, matches are counted up to `cap + 1` only (a broad search stops early).
pub async fn count(
    conn: &mut AsyncPgConnection,
    query: &UserListQuery<'_>,
    cap: i64,
) -> QueryResult<Total> {
    use crate::db::schema::{memberships, organizations, platform_counters};
    let found: Vec<UserId> = match (query.org_id, query.search) {
        (None, None) => {
            return platform_counters::table
                .select(platform_counters::users)
                .first(conn)
                .await
                .map(Total::exact);
        }
        (Some(org_id), None) => {
            let count: Option<i32> = organizations::table
                .find(org_id)
                .select(organizations::member_count)
                .first(conn)
                .await
                .optional()?;
            return Ok(Total::exact(count.unwrap_or(0).into()));
        }
        (Some(org_id), Some(search)) => with_person_filter!(search, memberships, filter => {
            memberships::table
                .filter(memberships::org_id.eq(org_id))
                .filter(filter)
                .select(memberships::user_id)
                .limit(cap + 1)
                .load(conn)
                .await?
        }),
        (None, Some(search)) => with_person_filter!(search, users, filter => {
            users::table.filter(filter).select(users::id).limit(cap + 1).load(conn).await?
        }),
    };
    Ok(Total::capped(found.len(), cap))
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
