//! Tokens assigned to members and teams. The database refuses an assignment that would exceed what was
//! purchased (a check on the organization's totals).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{teams, token_assignments, users};
use crate::domain::{OrgId, TokenKind, UserId};

/// An assignment with the member's email or the team's name, for the purchases page.
#[derive(Debug, Clone, Queryable)]
pub struct AssignmentRow {
    pub id: i64,
    pub kind: TokenKind,
    pub tokens: i64,
    pub user_email: Option<String>,
    pub team_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl AssignmentRow {
    /// Who holds the tokens, as the page names them.
    pub fn holder(&self) -> String {
        match (&self.user_email, &self.team_name) {
            (Some(email), _) => email.clone(),
            (None, Some(team)) => format!("Team {team}"),
            (None, None) => String::new(),
        }
    }
}

pub async fn assignments_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    limit: i64,
) -> QueryResult<Vec<AssignmentRow>> {
    token_assignments::table
        .left_join(users::table)
        .left_join(teams::table)
        .filter(token_assignments::org_id.eq(org_id))
        .order((
            token_assignments::created_at.desc(),
            token_assignments::id.desc(),
        ))
        .limit(limit)
        .select((
            token_assignments::id,
            token_assignments::kind,
            token_assignments::tokens,
            users::email.nullable(),
            teams::name.nullable(),
            token_assignments::created_at,
        ))
        .load(conn)
        .await
}

pub async fn insert_assignment(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    kind: TokenKind,
    tokens: i64,
    user_id: UserId,
    created_by: UserId,
) -> QueryResult<()> {
    diesel::insert_into(token_assignments::table)
        .values((
            token_assignments::org_id.eq(org_id),
            token_assignments::kind.eq(kind),
            token_assignments::tokens.eq(tokens),
            token_assignments::user_id.eq(user_id),
            token_assignments::created_by.eq(created_by),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(QueryableByName)]
pub struct MemberTokens {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub tokens: i64,
}

/// The tokens assigned to each of these members, per kind.
pub async fn totals_of_members(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<Vec<MemberTokens>> {
    use diesel::sql_types::{Array, BigInt};
    let ids: Vec<i64> = user_ids.iter().map(|id| id.0).collect();
    diesel::sql_query(
        "SELECT user_id, kind, sum(tokens)::bigint AS tokens FROM token_assignments \
         WHERE org_id = $1 AND user_id = ANY($2) GROUP BY user_id, kind ORDER BY user_id, kind",
    )
    .bind::<BigInt, _>(org_id.0)
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)
    .await
}

/// Whether the database refused an assignment for exceeding what was purchased.
pub fn exceeds_purchased(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::CheckViolation, info)
        if info.constraint_name().is_some_and(|c| c.ends_with("_assigned_within_purchased")))
}
