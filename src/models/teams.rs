//! Teams and their members. The database keeps what a team's rows must hold whatever the code
//! does: exactly one owner (an index, and a check at commit), members of the organization only
//! (leaving it leaves its teams), the member count on the team row.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{team_members, teams, token_assignments, users};
use crate::domain::{OrgId, TeamId, TeamRole, TeamStatus, TokenKind, UserId};
use crate::models::users::User;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams, check_for_backend(diesel::pg::Pg))]
pub struct Team {
    pub id: TeamId,
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    /// Which of the palette's colours its avatar takes (0 to 7).
    pub colour: i16,
    pub status: TeamStatus,
    pub member_count: i32,
    pub created_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Tokens used by calls made for the team (the policy API's usage reports).
    pub inference_used: i64,
    pub embedding_used: i64,
}

impl Team {
    pub fn used(&self, kind: TokenKind) -> i64 {
        match kind {
            TokenKind::Inference => self.inference_used,
            TokenKind::Embedding => self.embedding_used,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == TeamStatus::Active
    }

    /// The avatar's letters: the first letter of the first two words.
    pub fn initials(&self) -> String {
        self.name
            .split_whitespace()
            .take(2)
            .filter_map(|word| word.chars().next())
            .flat_map(char::to_uppercase)
            .collect()
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = team_members, check_for_backend(diesel::pg::Pg))]
pub struct TeamMember {
    pub team_id: TeamId,
    pub user_id: UserId,
    pub role: TeamRole,
    pub joined_at: DateTime<Utc>,
}

/// Which teams a list shows.
pub struct TeamListQuery<'a> {
    pub org_id: OrgId,
    /// The viewer: their role in each team comes with it.
    pub viewer: UserId,
    /// Only the active teams the viewer is in (what a member sees); else every team.
    pub only_mine: bool,
    /// Lower-case text the name must contain; empty for all.
    pub contains: &'a str,
    pub offset: i64,
    pub limit: i64,
}

diesel::define_sql_function! {
    /// Where `needle` starts in `text` (1-based), 0 when it is not in it.
    fn strpos(text: Text, needle: Text) -> Integer;
}

/// One page of teams by name, each with the viewer's role in it, and how many match. Three
/// statements, each prepared once: the count and the page's ids (index-only walks of the
/// organization's teams by name), then only those teams with the viewer's role.
pub async fn page(
    conn: &mut AsyncPgConnection,
    query: &TeamListQuery<'_>,
) -> QueryResult<(Vec<(Team, Option<TeamRole>)>, i64)> {
    let matching = || {
        let mut ids = teams::table
            .filter(teams::org_id.eq(query.org_id))
            .into_boxed();
        if query.only_mine {
            let mine = team_members::table
                .filter(team_members::org_id.eq(query.org_id))
                .filter(team_members::user_id.eq(query.viewer))
                .select(team_members::team_id);
            ids = ids
                .filter(teams::id.eq_any(mine))
                .filter(teams::status.eq(TeamStatus::Active));
        }
        if !query.contains.is_empty() {
            // strpos, not LIKE: nothing in the search is a pattern.
            ids = ids.filter(strpos(teams::name_key, query.contains).gt(0));
        }
        ids
    };
    let total: i64 = matching().count().get_result(conn).await?;
    let ids: Vec<TeamId> = matching()
        .order((teams::name_key, teams::id))
        .offset(query.offset)
        .limit(query.limit)
        .select(teams::id)
        .load(conn)
        .await?;
    if ids.is_empty() {
        return Ok((Vec::new(), total));
    }
    let mine = team_members::table.on(team_members::team_id
        .eq(teams::id)
        .and(team_members::user_id.eq(query.viewer)));
    let rows = teams::table
        .left_join(mine)
        .filter(teams::id.eq_any(&ids))
        .order((teams::name_key, teams::id))
        .select((Team::as_select(), team_members::role.nullable()))
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// A team of this organization with the viewer's role in it; another organization's team is
/// not found.
pub async fn find_with_role(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    team_id: TeamId,
    viewer: UserId,
) -> QueryResult<Option<(Team, Option<TeamRole>)>> {
    let mine = team_members::table.on(team_members::team_id
        .eq(teams::id)
        .and(team_members::user_id.eq(viewer)));
    teams::table
        .left_join(mine)
        .filter(teams::id.eq(team_id))
        .filter(teams::org_id.eq(org_id))
        .select((Team::as_select(), team_members::role.nullable()))
        .first(conn)
        .await
        .optional()
}

/// The team, locked until the transaction ends: every change to a team and its members takes
/// this lock first, so decisions are taken on rows nobody else is changing.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    team_id: TeamId,
) -> QueryResult<Option<Team>> {
    teams::table
        .filter(teams::id.eq(team_id))
        .filter(teams::org_id.eq(org_id))
        .for_update()
        .select(Team::as_select())
        .first(conn)
        .await
        .optional()
}

/// The team roles of these users (those in the team).
pub async fn members_among(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    user_ids: &[UserId],
) -> QueryResult<Vec<(TeamMember, User)>> {
    team_members::table
        .inner_join(users::table)
        .filter(team_members::team_id.eq(team_id))
        .filter(team_members::user_id.eq_any(user_ids))
        .select((TeamMember::as_select(), User::as_select()))
        .load(conn)
        .await
}

/// One page of a team's member ids: owner first, then by role, then by name (an index-only
/// walk, so a late page costs index entries, not rows).
pub async fn member_ids_page(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<UserId>> {
    team_members::table
        .filter(team_members::team_id.eq(team_id))
        .order((
            team_members::role_rank.desc(),
            team_members::first_name_key,
            team_members::last_name_key,
            team_members::user_id,
        ))
        .offset(offset)
        .limit(limit)
        .select(team_members::user_id)
        .load(conn)
        .await
}

/// These members of a team with their user rows, in the order of `ids`.
pub async fn members_in_order(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    ids: &[UserId],
) -> QueryResult<Vec<(TeamMember, User)>> {
    let mut found = members_among(conn, team_id, ids).await?;
    found.sort_by_key(|(member, _)| ids.iter().position(|id| *id == member.user_id));
    Ok(found)
}

/// The first members of a team by name (who a deactivation takes access from).
pub async fn first_names(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    limit: i64,
) -> QueryResult<Vec<User>> {
    let ids = member_ids_page(conn, team_id, 0, limit).await?;
    Ok(members_in_order(conn, team_id, &ids)
        .await?
        .into_iter()
        .map(|(_, user)| user)
        .collect())
}

/// Creates a team owned by `owner` (a member of the organization).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    name: &str,
    description: &str,
    owner: UserId,
) -> QueryResult<Team> {
    let team = diesel::insert_into(teams::table)
        .values((
            teams::org_id.eq(org_id),
            teams::name.eq(name),
            teams::description.eq(description),
        ))
        .returning(Team::as_returning())
        .get_result(conn)
        .await?;
    add(conn, org_id, team.id, owner, TeamRole::Owner).await?;
    // The count as the trigger left it.
    Ok(Team {
        member_count: 1,
        ..team
    })
}

pub async fn add(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    team_id: TeamId,
    user_id: UserId,
    role: TeamRole,
) -> QueryResult<()> {
    diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(team_id),
            team_members::org_id.eq(org_id),
            team_members::user_id.eq(user_id),
            team_members::role.eq(role),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The team's owner.
pub async fn owner_of(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
) -> QueryResult<Option<UserId>> {
    team_members::table
        .filter(team_members::team_id.eq(team_id))
        .filter(team_members::role.eq(TeamRole::Owner))
        .select(team_members::user_id)
        .first(conn)
        .await
        .optional()
}

pub async fn set_role(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    user_id: UserId,
    role: TeamRole,
) -> QueryResult<()> {
    diesel::update(team_members::table.find((team_id, user_id)))
        .set(team_members::role.eq(role))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn remove(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    user_id: UserId,
) -> QueryResult<usize> {
    diesel::delete(team_members::table.find((team_id, user_id)))
        .execute(conn)
        .await
}

/// Deactivates or reactivates a team (its members stay, for a reactivation).
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    status: TeamStatus,
    at: DateTime<Utc>,
) -> QueryResult<Team> {
    let deactivated_at = (status == TeamStatus::Deactivated).then_some(at);
    diesel::update(teams::table.find(team_id))
        .set((
            teams::status.eq(status),
            teams::deactivated_at.eq(deactivated_at),
        ))
        .returning(Team::as_returning())
        .get_result(conn)
        .await
}

/// The teams these members own, by name.
pub async fn owned_by(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<Vec<(UserId, Team)>> {
    team_members::table
        .inner_join(teams::table)
        .filter(team_members::org_id.eq(org_id))
        .filter(team_members::user_id.eq_any(user_ids))
        .filter(team_members::role.eq(TeamRole::Owner))
        .order(teams::name_key)
        .select((team_members::user_id, Team::as_select()))
        .load(conn)
        .await
}

/// Before members leave the organization (and so its teams): the teams they own pass to
/// `heir`, who joins them as owner or is promoted. Their own rows go with the membership.
pub async fn hand_over(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    leaving: &[UserId],
    heir: UserId,
) -> QueryResult<Vec<TeamId>> {
    // Demote first: the one-owner index allows no moment with two.
    let team_ids: Vec<TeamId> = diesel::update(
        team_members::table
            .filter(team_members::org_id.eq(org_id))
            .filter(team_members::user_id.eq_any(leaving))
            .filter(team_members::role.eq(TeamRole::Owner)),
    )
    .set(team_members::role.eq(TeamRole::Admin))
    .returning(team_members::team_id)
    .get_results(conn)
    .await?;
    if team_ids.is_empty() {
        return Ok(team_ids);
    }
    let rows: Vec<_> = team_ids
        .iter()
        .map(|team_id| {
            (
                team_members::team_id.eq(*team_id),
                team_members::org_id.eq(org_id),
                team_members::user_id.eq(heir),
                team_members::role.eq(TeamRole::Owner),
            )
        })
        .collect();
    diesel::insert_into(team_members::table)
        .values(rows)
        .on_conflict((team_members::team_id, team_members::user_id))
        .do_update()
        .set(team_members::role.eq(TeamRole::Owner))
        .execute(conn)
        .await?;
    Ok(team_ids)
}

/// A team as a form offers it.
#[derive(Debug, Clone, Queryable)]
pub struct TeamChoice {
    pub id: TeamId,
    pub name: String,
}

/// The active teams of an organization, by name (the invitation form's choices).
pub async fn active_in(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    limit: i64,
) -> QueryResult<Vec<TeamChoice>> {
    teams::table
        .filter(teams::org_id.eq(org_id))
        .filter(teams::status.eq(TeamStatus::Active))
        .order((teams::name_key, teams::id))
        .limit(limit)
        .select((teams::id, teams::name))
        .load(conn)
        .await
}

/// The teams of this organization with these lower-case names.
pub async fn find_by_names(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    lower_names: &[String],
) -> QueryResult<Vec<Team>> {
    teams::table
        .filter(teams::org_id.eq(org_id))
        .filter(teams::name_key.eq_any(lower_names))
        .select(Team::as_select())
        .load(conn)
        .await
}

/// Those of `ids` that are teams of this organization (ids of another organization's teams
/// are not found).
pub async fn find_in(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    ids: &[TeamId],
) -> QueryResult<Vec<Team>> {
    teams::table
        .filter(teams::org_id.eq(org_id))
        .filter(teams::id.eq_any(ids))
        .select(Team::as_select())
        .load(conn)
        .await
}

/// The teams each of these members belongs to, by name.
pub async fn names_of_members(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[UserId],
) -> QueryResult<Vec<(UserId, String)>> {
    team_members::table
        .inner_join(teams::table)
        .filter(team_members::org_id.eq(org_id))
        .filter(team_members::user_id.eq_any(user_ids))
        .order((team_members::user_id, teams::name))
        .select((team_members::user_id, teams::name))
        .load(conn)
        .await
}

/// Adds a member to teams as a team `member`, skipping teams they are already in.
pub async fn join(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
    team_ids: &[TeamId],
) -> QueryResult<usize> {
    let rows: Vec<_> = team_ids
        .iter()
        .map(|team_id| {
            (
                team_members::team_id.eq(team_id),
                team_members::org_id.eq(org_id),
                team_members::user_id.eq(user_id),
            )
        })
        .collect();
    diesel::insert_into(team_members::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}

/// Tokens given to a team, one row per assignment.
#[derive(Debug, Clone, Queryable)]
pub struct BudgetLine {
    pub id: i64,
    pub kind: TokenKind,
    pub tokens: i64,
    pub created_at: DateTime<Utc>,
}

/// A team's assignments, newest first.
pub async fn budget_of(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    limit: i64,
) -> QueryResult<Vec<BudgetLine>> {
    token_assignments::table
        .filter(token_assignments::team_id.eq(team_id))
        .order((
            token_assignments::created_at.desc(),
            token_assignments::id.desc(),
        ))
        .limit(limit)
        .select((
            token_assignments::id,
            token_assignments::kind,
            token_assignments::tokens,
            token_assignments::created_at,
        ))
        .load(conn)
        .await
}

/// A team's tokens per kind.
pub async fn budget_totals(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
) -> QueryResult<Vec<(TokenKind, i64)>> {
    token_assignments::table
        .filter(token_assignments::team_id.eq(team_id))
        .group_by(token_assignments::kind)
        .order(token_assignments::kind.desc())
        .select((
            token_assignments::kind,
            sql::<BigInt>("sum(token_assignments.tokens)::bigint"),
        ))
        .load(conn)
        .await
}

/// Gives purchased tokens to a team; the database refuses more than is left unassigned.
pub async fn fund(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    team_id: TeamId,
    kind: TokenKind,
    tokens: i64,
    by: UserId,
) -> QueryResult<()> {
    diesel::insert_into(token_assignments::table)
        .values((
            token_assignments::org_id.eq(org_id),
            token_assignments::team_id.eq(team_id),
            token_assignments::kind.eq(kind),
            token_assignments::tokens.eq(tokens),
            token_assignments::created_by.eq(by),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Takes back one of a team's assignments (the tokens return to the organization's pool).
pub async fn withdraw(
    conn: &mut AsyncPgConnection,
    team_id: TeamId,
    assignment_id: i64,
) -> QueryResult<Option<BudgetLine>> {
    diesel::delete(
        token_assignments::table
            .filter(token_assignments::id.eq(assignment_id))
            .filter(token_assignments::team_id.eq(team_id)),
    )
    .returning((
        token_assignments::id,
        token_assignments::kind,
        token_assignments::tokens,
        token_assignments::created_at,
    ))
    .get_result(conn)
    .await
    .optional()
}

/// Of these teams, the ones of the organization that `user_id` is a member of.
pub async fn joined_among(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
    team_ids: &[i64],
) -> QueryResult<Vec<i64>> {
    team_members::table
        .filter(team_members::org_id.eq(org_id))
        .filter(team_members::user_id.eq(user_id))
        .filter(team_members::team_id.eq_any(team_ids))
        .select(team_members::team_id)
        .load(conn)
        .await
}

/// A team's budget as the usage alerts read it: its name, and per kind the tokens assigned
/// and used.
pub struct BudgetUse {
    pub name: String,
    pub assigned: [(TokenKind, i64, i64); 2],
}

pub async fn budget_use(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    team_id: i64,
) -> QueryResult<Option<BudgetUse>> {
    let team: Option<(String, i64, i64)> = teams::table
        .filter(teams::org_id.eq(org_id))
        .filter(teams::id.eq(team_id))
        .select((teams::name, teams::inference_used, teams::embedding_used))
        .first(conn)
        .await
        .optional()?;
    let Some((name, inference_used, embedding_used)) = team else {
        return Ok(None);
    };
    let assigned: Vec<(TokenKind, Option<i64>)> = token_assignments::table
        .filter(token_assignments::team_id.eq(team_id))
        .group_by(token_assignments::kind)
        .select((
            token_assignments::kind,
            sql::<diesel::sql_types::Nullable<BigInt>>("sum(tokens)::bigint"),
        ))
        .load(conn)
        .await?;
    let of = |kind| {
        assigned
            .iter()
            .find(|(k, _)| *k == kind)
            .and_then(|(_, tokens)| *tokens)
            .unwrap_or(0)
    };
    Ok(Some(BudgetUse {
        name,
        assigned: [
            (
                TokenKind::Inference,
                of(TokenKind::Inference),
                inference_used,
            ),
            (
                TokenKind::Embedding,
                of(TokenKind::Embedding),
                embedding_used,
            ),
        ],
    }))
}
