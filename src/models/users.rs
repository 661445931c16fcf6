use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::paging::Total;
use crate::db::schema::users;
use crate::domain::{PlatformRole, UserId, UserStatus};

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

#[derive(QueryableByName)]
struct FoundUser {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Ids of the people a search finds, newest first, at most `limit`. One key range per field,
/// united: each branch is an index-only scan of a covering index (an OR over three indexes
/// would read every matching row from the table). Written as SQL because Diesel's DSL has no
/// ordered, limited UNION.
pub async fn search_ids(
    conn: &mut AsyncPgConnection,
    org_id: Option<crate::domain::OrgId>,
    search: &PersonSearch,
    limit: i64,
) -> QueryResult<Vec<UserId>> {
    use diesel::sql_types::{BigInt, Text};
    // Within one organization the keys are read from its memberships; otherwise from users.
    let (table, id, scope) = match org_id {
        Some(_) => ("memberships", "user_id", "org_id = $1 AND"),
        None => ("users", "id", "$1 = $1 AND"),
    };
    // Each branch walks its index in (key, id) order and stops after `limit` rows, so a common
    // prefix costs `limit` rows per field, not every match. Results come in the order of the
    // key that matched, then id: the top `limit` of the merged branches, the same on every page.
    // (A first name's key is first, chr(1), last: ordered as its index is, since names hold no
    // control characters.)
    let sql = match search {
        PersonSearch::AnyField { .. } => format!(
            "SELECT id FROM ( \
               (SELECT {id} AS id, email_key AS k FROM {table} WHERE {scope} email_key >= $2 AND email_key < $3 \
                ORDER BY email_key, {id} LIMIT $4) \
               UNION ALL (SELECT {id}, first_name_key || chr(1) || last_name_key FROM {table} WHERE {scope} first_name_key >= $2 AND first_name_key < $3 \
                ORDER BY first_name_key, last_name_key, {id} LIMIT $4) \
               UNION ALL (SELECT {id}, last_name_key FROM {table} WHERE {scope} last_name_key >= $2 AND last_name_key < $3 \
                ORDER BY last_name_key, {id} LIMIT $4) \
             ) found GROUP BY id ORDER BY min(k), id LIMIT $4"
        ),
        PersonSearch::FullName { .. } => format!(
            "SELECT {id} AS id FROM {table} WHERE {scope} first_name_key >= $2 AND first_name_key < $3 \
             AND last_name_key >= $5 AND last_name_key < $6 ORDER BY first_name_key, last_name_key, {id} LIMIT $4"
        ),
    };
    let (from, until, last_from, last_until) = match search {
        PersonSearch::AnyField { from, until } => (from, until, from, until),
        PersonSearch::FullName { first, last } => (&first.0, &first.1, &last.0, &last.1),
    };
    let mut query = diesel::sql_query(sql)
        .into_boxed()
        .bind::<BigInt, _>(org_id.map_or(0, |o| o.0))
        .bind::<Text, _>(from)
        .bind::<Text, _>(until)
        .bind::<BigInt, _>(limit);
    if let PersonSearch::FullName { .. } = search {
        query = query.bind::<Text, _>(last_from).bind::<Text, _>(last_until);
    }
    let found: Vec<FoundUser> = query.load(conn).await?;
    Ok(found.into_iter().map(|f| UserId(f.id)).collect())
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
