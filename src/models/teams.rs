//! Teams, as far as members and invitations need them: the teams an invitation pre-assigns and
//! the teams a removal takes someone out of.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{team_members, teams};
use crate::domain::{OrgId, TeamId, TeamStatus, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams, check_for_backend(diesel::pg::Pg))]
pub struct Team {
    pub id: TeamId,
    pub org_id: OrgId,
    pub name: String,
    pub status: TeamStatus,
}

/// The active teams of an organization, by name (the invitation form's choices).
pub async fn active_in(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<Vec<Team>> {
    teams::table
        .filter(teams::org_id.eq(org_id))
        .filter(teams::status.eq(TeamStatus::Active))
        .order(teams::name)
        .limit(500)
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

pub async fn insert(conn: &mut AsyncPgConnection, org_id: OrgId, name: &str) -> QueryResult<Team> {
    diesel::insert_into(teams::table)
        .values((teams::org_id.eq(org_id), teams::name.eq(name)))
        .returning(Team::as_returning())
        .get_result(conn)
        .await
}
