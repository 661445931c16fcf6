//! API keys (personal and organizational), what a decision about one reads in a single
//! statement, and what decisions leave behind: the last use, report-only counts, denials.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Bytea, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{api_keys, key_denials, policy_reports, users};
use crate::domain::{OrgId, UserId};

/// A key as the pages list it: never its hash.
#[derive(Debug, Clone, Queryable)]
pub struct ApiKey {
    pub id: i64,
    pub org_id: Option<OrgId>,
    pub user_id: UserId,
    pub holder_email: String,
    /// A service account is shown by its name (its address is made up).
    pub holder_name: String,
    pub holder_service_of: Option<OrgId>,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_ip: Option<String>,
    pub last_endpoint: Option<String>,
    pub last_model: Option<String>,
}

impl ApiKey {
    pub fn held_by_service_account(&self) -> bool {
        self.holder_service_of.is_some()
    }

    /// Who holds the key, as the pages name them.
    pub fn holder(&self) -> String {
        if self.held_by_service_account() {
            format!("{} (service account)", self.holder_name)
        } else {
            self.holder_email.clone()
        }
    }
}

type ApiKeyColumns = (
    api_keys::id,
    api_keys::org_id,
    api_keys::user_id,
    users::email,
    users::first_name,
    users::service_of,
    api_keys::name,
    api_keys::prefix,
    api_keys::created_at,
    api_keys::expires_at,
    api_keys::revoked_at,
    api_keys::last_used_at,
    api_keys::last_ip,
    api_keys::last_endpoint,
    api_keys::last_model,
);

const API_KEY_COLUMNS: ApiKeyColumns = (
    api_keys::id,
    api_keys::org_id,
    api_keys::user_id,
    users::email,
    users::first_name,
    users::service_of,
    api_keys::name,
    api_keys::prefix,
    api_keys::created_at,
    api_keys::expires_at,
    api_keys::revoked_at,
    api_keys::last_used_at,
    api_keys::last_ip,
    api_keys::last_endpoint,
    api_keys::last_model,
);

type Listed<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<
        diesel::dsl::InnerJoinOn<
            api_keys::table,
            users::table,
            diesel::dsl::Eq<users::id, api_keys::user_id>,
        >,
        ApiKeyColumns,
    >,
    diesel::pg::Pg,
>;

/// Keys with their holders, as the pages list them; each query adds its filters.
fn listed<'a>() -> Listed<'a> {
    api_keys::table
        .inner_join(users::table.on(users::id.eq(api_keys::user_id)))
        .select(API_KEY_COLUMNS)
        .into_boxed()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub org_id: Option<OrgId>,
    pub user_id: UserId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a [u8],
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_from: Option<i64>,
}

/// The email of whoever made the key.
pub async fn creator_email(
    conn: &mut AsyncPgConnection,
    key_id: i64,
) -> QueryResult<Option<String>> {
    api_keys::table
        .inner_join(users::table.on(users::id.nullable().eq(api_keys::created_by)))
        .filter(api_keys::id.eq(key_id))
        .select(users::email)
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewApiKey<'_>) -> QueryResult<i64> {
    diesel::insert_into(api_keys::table)
        .values(new)
        .returning(api_keys::id)
        .get_result(conn)
        .await
}

/// A page of the keys in use (not revoked, not expired at `now`): an organization's (all of
/// them, or one holder's) or a user's personal ones, newest first.
pub async fn in_use(
    conn: &mut AsyncPgConnection,
    org_id: Option<OrgId>,
    holder: Option<UserId>,
    now: DateTime<Utc>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ApiKey>> {
    let mut query = listed()
        .filter(api_keys::revoked_at.is_null())
        .filter(
            api_keys::expires_at
                .is_null()
                .or(api_keys::expires_at.gt(now)),
        )
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .offset(offset)
        .limit(limit);
    query = match org_id {
        Some(org_id) => query.filter(api_keys::org_id.eq(org_id)),
        None => query.filter(api_keys::org_id.is_null()),
    };
    if let Some(holder) = holder {
        query = query.filter(api_keys::user_id.eq(holder));
    }
    query.load(conn).await
}

/// The key with this id in this scope (an organization's, or `holder`'s personal keys), its
/// row locked for a change (the key's row only: its holder's stays free).
pub async fn lock(
    conn: &mut AsyncPgConnection,
    org_id: Option<OrgId>,
    holder: Option<UserId>,
    key_id: i64,
) -> QueryResult<Option<ApiKey>> {
    use diesel::PgExpressionMethods;
    let locked: Option<(i64, UserId)> = api_keys::table
        .filter(api_keys::id.eq(key_id))
        .filter(api_keys::org_id.is_not_distinct_from(org_id))
        .select((api_keys::id, api_keys::user_id))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((id, _)) = locked.filter(|(_, user)| holder.is_none_or(|h| h == *user)) else {
        return Ok(None);
    };
    listed()
        .filter(api_keys::id.eq(id))
        .first(conn)
        .await
        .optional()
}

/// A key of this organization by its prefix (the console's "Why was this denied?").
pub async fn find_by_prefix(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    prefix: &str,
) -> QueryResult<Option<ApiKey>> {
    listed()
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::prefix.eq(prefix))
        .first(conn)
        .await
        .optional()
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    key_id: i64,
) -> QueryResult<Option<ApiKey>> {
    listed()
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::id.eq(key_id))
        .first(conn)
        .await
        .optional()
}

pub async fn find_personal(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    key_id: i64,
) -> QueryResult<Option<ApiKey>> {
    listed()
        .filter(api_keys::org_id.is_null())
        .filter(api_keys::user_id.eq(user_id))
        .filter(api_keys::id.eq(key_id))
        .first(conn)
        .await
        .optional()
}

pub async fn revoke(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    at: DateTime<Utc>,
    reason: &str,
) -> QueryResult<()> {
    diesel::update(api_keys::table.find(key_id))
        .set((
            api_keys::revoked_at.eq(at),
            api_keys::revoked_reason.eq(reason),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Shortens a key's life to `until` (a rotation's overlap), never lengthens it.
pub async fn expire_by(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(api_keys::table.find(key_id))
        .set(
            api_keys::expires_at.eq(diesel::dsl::sql::<Nullable<Timestamptz>>(
                "least(coalesce(expires_at, 'infinity'), ",
            )
            .bind::<Timestamptz, _>(until)
            .sql(")")),
        )
        .execute(conn)
        .await
        .map(|_| ())
}

/// A key in use lately, with what its last call was: what a new rule is tried against.
#[derive(Debug, Clone, Queryable)]
pub struct RecentKey {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub user_id: UserId,
    pub holder_email: String,
    pub role: crate::domain::OrgRole,
    pub last_ip: Option<String>,
    pub last_endpoint: Option<String>,
}

/// The organization's keys in use (not revoked or expired) that were used since `since`.
pub async fn used_since(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<RecentKey>> {
    use crate::db::schema::memberships;
    api_keys::table
        .inner_join(users::table.on(users::id.eq(api_keys::user_id)))
        .inner_join(
            memberships::table.on(memberships::org_id
                .nullable()
                .eq(api_keys::org_id)
                .and(memberships::user_id.eq(api_keys::user_id))),
        )
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::revoked_at.is_null())
        .filter(
            api_keys::expires_at
                .is_null()
                .or(api_keys::expires_at.gt(now)),
        )
        .filter(api_keys::last_used_at.ge(since))
        .order((api_keys::last_used_at.desc(), api_keys::id))
        .limit(limit)
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::prefix,
            api_keys::user_id,
            users::email,
            memberships::role,
            api_keys::last_ip,
            api_keys::last_endpoint,
        ))
        .load(conn)
        .await
}

/// A key about to expire, with whom to warn.
#[derive(Debug, Clone, QueryableByName)]
pub struct Expiring {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub prefix: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub org_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub org_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub holder_email: String,
    /// A service account's key: its organization's owners and admins are warned instead.
    #[diesel(sql_type = Bool)]
    pub held_by_service_account: bool,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
}

/// Keys in use that expire before `until` and whose holder was not warned, not replaced by a
/// rotation (whose overlap is meant to end): locked, skipping those another instance holds.
pub async fn claim_expiring(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Expiring>> {
    diesel::sql_query(
        "SELECT k.id, k.name, k.prefix, k.org_id, o.name AS org_name, u.email AS holder_email, \
                u.service_of IS NOT NULL AS held_by_service_account, k.expires_at \
         FROM api_keys k JOIN users u ON u.id = k.user_id \
         LEFT JOIN organizations o ON o.id = k.org_id \
         WHERE k.expires_at IS NOT NULL AND k.revoked_at IS NULL AND k.expiry_warned_at IS NULL \
           AND k.expires_at > $1 AND k.expires_at <= $2 \
           AND NOT EXISTS (SELECT 1 FROM api_keys n WHERE n.rotated_from = k.id) \
         ORDER BY k.expires_at LIMIT $3 FOR UPDATE OF k SKIP LOCKED",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(until)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

pub async fn mark_warned(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(api_keys::table.find(key_id))
        .set(api_keys::expiry_warned_at.eq(at))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Everything a decision about a key reads, in one statement.
#[derive(Debug, Clone, Queryable)]
pub struct FactsRow {
    pub id: i64,
    pub name: String,
    pub org_id: Option<i64>,
    pub user_id: i64,
    pub secret_hash: Vec<u8>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub user_active: bool,
    pub role: Option<String>,
    pub org_name: Option<String>,
    pub org_active: Option<bool>,
    pub org_cancelled: Option<bool>,
    pub inference_left: Option<i64>,
    pub embedding_left: Option<i64>,
    /// `[[id, network, endpoint, report_only], …]`
    pub ip_entries: serde_json::Value,
    /// `[[id, for_member, report_only, [endpoint, …]], …]`
    pub restrictions: serde_json::Value,
    pub endpoint_known: bool,
    pub model_kind: Option<String>,
    pub model_allowed: bool,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_ip: Option<String>,
    pub last_endpoint: Option<String>,
    pub last_model: Option<String>,
    /// The team asked about, when it is one of the key's organization's.
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    pub team_active: Option<bool>,
    pub team_has_holder: bool,
    /// Assigned minus used; `None` when nothing of the kind is assigned to the team.
    pub team_inference_left: Option<i64>,
    pub team_embedding_left: Option<i64>,
}

pub async fn facts(
    conn: &mut AsyncPgConnection,
    prefix: &str,
    endpoint: &str,
    model: &str,
    team: Option<i64>,
) -> QueryResult<Option<FactsRow>> {
    FactsQuery {
        prefix,
        endpoint,
        model,
        team,
    }
    .get_result(conn)
    .await
    .optional()
}

/// Notes a call: when, from where, to what. Skipped when another call is noting it right now
/// (the row is locked): calls on one key never queue behind each other for this.
pub async fn note_use(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    at: DateTime<Utc>,
    ip: Option<&str>,
    endpoint: &str,
    model: &str,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE api_keys SET last_used_at = $2, last_ip = $3, last_endpoint = $4, \
             last_model = $5 \
         WHERE id = (SELECT id FROM api_keys WHERE id = $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<BigInt, _>(key_id)
    .bind::<Timestamptz, _>(at)
    .bind::<Nullable<Text>, _>(ip)
    .bind::<Text, _>(endpoint)
    .bind::<Text, _>(model)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Counts a call a report-only rule of this kind (`ip`, `endpoint`) would have denied.
pub async fn count_would_deny(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    rule: &str,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(policy_reports::table)
        .values((
            policy_reports::key_id.eq(key_id),
            policy_reports::rule.eq(rule),
            policy_reports::would_deny.eq(1),
            policy_reports::last_at.eq(at),
        ))
        .on_conflict((policy_reports::key_id, policy_reports::rule))
        .do_update()
        .set((
            policy_reports::would_deny.eq(policy_reports::would_deny + 1),
            policy_reports::last_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// What report-only rules would have denied, per key of the organization, most first.
#[derive(Debug, Clone, Queryable)]
pub struct WouldDeny {
    pub key_id: i64,
    pub key_name: String,
    pub holder_email: String,
    pub rule: String,
    pub would_deny: i64,
    pub last_at: DateTime<Utc>,
}

pub async fn would_deny_counts(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    limit: i64,
) -> QueryResult<Vec<WouldDeny>> {
    policy_reports::table
        .inner_join(api_keys::table.inner_join(users::table.on(users::id.eq(api_keys::user_id))))
        .filter(api_keys::org_id.eq(org_id))
        .order((policy_reports::would_deny.desc(), policy_reports::key_id))
        .limit(limit)
        .select((
            policy_reports::key_id,
            api_keys::name,
            users::email,
            policy_reports::rule,
            policy_reports::would_deny,
            policy_reports::last_at,
        ))
        .load(conn)
        .await
}

/// Forgets the organization's counts of one kind (once its rules are enforced).
pub async fn clear_would_deny(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    rule: &str,
) -> QueryResult<()> {
    let keys = api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .select(api_keys::id);
    diesel::delete(
        policy_reports::table
            .filter(policy_reports::rule.eq(rule))
            .filter(policy_reports::key_id.eq_any(keys)),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Records a denial and forgets all but the key's latest `keep`, in one statement: a key
/// denied over and over keeps a bounded history.
pub async fn record_denial(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    at: DateTime<Utc>,
    reason: &str,
    trace: serde_json::Value,
    keep: i64,
) -> QueryResult<()> {
    DenialQuery {
        key_id,
        at,
        reason,
        trace,
        older_than: keep - 1,
    }
    .execute(conn)
    .await
    .map(|_| ())
}

/// A key's latest denials, newest first: (when, reason, trace).
pub async fn recent_denials(
    conn: &mut AsyncPgConnection,
    key_id: i64,
    limit: i64,
) -> QueryResult<Vec<(DateTime<Utc>, String, serde_json::Value)>> {
    key_denials::table
        .filter(key_denials::key_id.eq(key_id))
        .order((key_denials::at.desc(), key_denials::id.desc()))
        .limit(limit)
        .select((key_denials::at, key_denials::reason, key_denials::trace))
        .load(conn)
        .await
}

/// The statement of `record_denial` (the new row is not visible to the DELETE, which keeps
/// the latest `older_than` before it).
struct DenialQuery<'a> {
    key_id: i64,
    at: DateTime<Utc>,
    reason: &'a str,
    trace: serde_json::Value,
    older_than: i64,
}

impl diesel::query_builder::QueryId for DenialQuery<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for DenialQuery<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql("WITH added AS (INSERT INTO key_denials (key_id, at, reason, trace) VALUES (");
        out.push_bind_param::<BigInt, _>(&self.key_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.reason)?;
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&self.trace)?;
        out.push_sql(") RETURNING id) DELETE FROM key_denials WHERE id IN (SELECT id FROM key_denials WHERE key_id = ");
        out.push_bind_param::<BigInt, _>(&self.key_id)?;
        out.push_sql(" ORDER BY at DESC, id DESC OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.older_than)?;
        out.push_sql(")");
        Ok(())
    }
}

// The facts are a query fragment, not `sql_query` text, so each connection prepares the
// statement once: it runs on every call the gateway makes.

struct FactsQuery<'a> {
    prefix: &'a str,
    endpoint: &'a str,
    model: &'a str,
    team: Option<i64>,
}

impl diesel::query_builder::QueryId for FactsQuery<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for FactsQuery<'_> {
    type SqlType = (
        BigInt,
        Text,
        Nullable<BigInt>,
        BigInt,
        Bytea,
        Nullable<Timestamptz>,
        Nullable<Timestamptz>,
        Bool,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Bool>,
        Nullable<Bool>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Jsonb,
        Jsonb,
        Bool,
        Nullable<Text>,
        Bool,
        Nullable<Timestamptz>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<BigInt>,
        Nullable<Text>,
        Nullable<Bool>,
        Bool,
        Nullable<BigInt>,
        Nullable<BigInt>,
    );
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for FactsQuery<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql(
            "SELECT k.id, k.name, k.org_id, k.user_id, k.secret_hash, k.revoked_at, \
                 k.expires_at, u.status = 'active', m.role, o.name, o.status = 'active', \
                 o.cancelled_at IS NOT NULL, \
                 o.inference_purchased - o.inference_used, \
                 o.embedding_purchased - o.embedding_used, \
                 (SELECT coalesce(jsonb_agg(jsonb_build_array(e.id, e.network, e.endpoint, \
                                                             e.report_only)), '[]') \
                  FROM ip_allow_entries e WHERE e.org_id = k.org_id), \
                 (SELECT coalesce(jsonb_agg(jsonb_build_array(r.id, r.user_id IS NOT NULL, \
                      r.report_only, (SELECT coalesce(jsonb_agg(a.endpoint), '[]') \
                                      FROM endpoint_restriction_allows a \
                                      WHERE a.restriction_id = r.id))), '[]') \
                  FROM endpoint_restrictions r WHERE r.org_id = k.org_id \
                    AND (r.user_id IS NULL OR r.user_id = k.user_id)), \
                 EXISTS (SELECT 1 FROM api_endpoints WHERE name = ",
        );
        out.push_bind_param::<Text, _>(self.endpoint)?;
        out.push_sql("), (SELECT kind FROM models WHERE name = ");
        out.push_bind_param::<Text, _>(self.model)?;
        out.push_sql(
            " ORDER BY id LIMIT 1), \
             k.org_id IS NULL OR EXISTS (SELECT 1 FROM org_models om \
                 JOIN models md ON md.id = om.model_id \
                 WHERE om.org_id = k.org_id AND md.name = ",
        );
        out.push_bind_param::<Text, _>(self.model)?;
        out.push_sql(
            "), k.last_used_at, k.last_ip, k.last_endpoint, k.last_model, \
             t.id, t.name, t.status = 'active', \
             EXISTS (SELECT 1 FROM team_members tm \
                     WHERE tm.team_id = t.id AND tm.user_id = k.user_id), \
             (SELECT sum(a.tokens) FROM token_assignments a \
              WHERE a.team_id = t.id AND a.kind = 'inference')::bigint - t.inference_used, \
             (SELECT sum(a.tokens) FROM token_assignments a \
              WHERE a.team_id = t.id AND a.kind = 'embedding')::bigint - t.embedding_used \
             FROM api_keys k JOIN users u ON u.id = k.user_id \
             LEFT JOIN organizations o ON o.id = k.org_id \
             LEFT JOIN memberships m ON m.org_id = k.org_id AND m.user_id = k.user_id \
             LEFT JOIN teams t ON t.org_id = k.org_id AND t.id = ",
        );
        out.push_bind_param::<Nullable<BigInt>, _>(&self.team)?;
        out.push_sql(" WHERE k.prefix = ");
        out.push_bind_param::<Text, _>(self.prefix)?;
        Ok(())
    }
}
