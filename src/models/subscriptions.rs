//! What an organization pays for and from when: its plan, the seats held (members with the
//! subscriber flag) and its status, recorded at every change so any past month can be billed.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{memberships, organizations, plans};
use crate::domain::billing::{Billed, SeatPricing};
use crate::domain::{OrgId, UserId};
use crate::models::plans::Plan;

/// Why the subscription changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeReason {
    Started,
    Plan,
    Seats,
    Cancelled,
}

impl ChangeReason {
    fn as_str(self) -> &'static str {
        match self {
            ChangeReason::Started => "started",
            ChangeReason::Plan => "plan",
            ChangeReason::Seats => "seats",
            ChangeReason::Cancelled => "cancelled",
        }
    }
}

/// Records the organization's plan (its prices copied), seats and status as this transaction
/// sees them, in effect from `at` — or from the previous change, if a clock elsewhere (another
/// instance's, the database's) put that one later: changes stay in the order they were made.
pub async fn record(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    reason: ChangeReason,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO subscription_changes (org_id, effective_at, reason, plan_name, \
             monthly_price_cents, included_seats, extra_seat_price_cents, seats, active) \
         SELECT o.id, greatest($2, (SELECT max(effective_at) FROM subscription_changes \
                                    WHERE org_id = $1)), $3, coalesce(p.name, 'No plan'), coalesce(p.monthly_price_cents, 0), \
             coalesce(p.included_seats, 0), coalesce(p.extra_seat_price_cents, 0), \
             o.subscriber_count, o.status = 'active' \
         FROM organizations o LEFT JOIN plans p ON p.id = o.plan_id WHERE o.id = $1",
    )
    .bind::<BigInt, _>(org_id.0)
    .bind::<Timestamptz, _>(at)
    .bind::<Text, _>(reason.as_str())
    .execute(conn)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, Queryable)]
struct ChangeRow {
    effective_at: DateTime<Utc>,
    plan_name: String,
    monthly_price_cents: i64,
    included_seats: i32,
    extra_seat_price_cents: i64,
    seats: i32,
    active: bool,
}

/// The changes that bill the days from `from` to before `until`: the last one before `from`
/// and those after it, oldest first.
pub async fn in_effect_between(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    from: NaiveDate,
    until: NaiveDate,
) -> QueryResult<Vec<Billed>> {
    let midnight = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
    let (Some(from), Some(until)) = (midnight(from), midnight(until)) else {
        return Ok(Vec::new());
    };
    let rows: Vec<ChangeRow> = ChangesBetween {
        org_id: org_id.0,
        from,
        until,
    }
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Billed {
            effective_at: row.effective_at,
            plan_name: row.plan_name,
            pricing: SeatPricing {
                monthly_price_cents: row.monthly_price_cents,
                included_seats: row.included_seats,
                extra_seat_price_cents: row.extra_seat_price_cents,
            },
            seats: row.seats,
            active: row.active,
        })
        .collect())
}

/// The organization's subscription now: its plan, seats, shared limits in use and status.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub struct Subscription {
    pub status: String,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub member_count: i32,
    #[diesel(column_name = subscriber_count)]
    pub seats: i32,
    pub workflows_in_use: i32,
    pub work_items_in_use: i32,
    pub jobs_running: i32,
    pub plan_id: Option<i64>,
}

impl Subscription {
    pub fn is_cancelled(&self) -> bool {
        self.status == "cancelled"
    }

    /// Members besides the owner: who must be gone before the owner can cancel.
    pub fn other_members(&self) -> i32 {
        (self.member_count - 1).max(0)
    }
}

/// The organization's subscription, its row locked for a change when `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    lock: bool,
) -> QueryResult<Option<Subscription>> {
    let query = organizations::table
        .find(org_id)
        .select(Subscription::as_select());
    if lock {
        query.for_no_key_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// The organization's subscription and its plan, in one statement.
pub async fn find_with_plan(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Option<(Subscription, Option<Plan>)>> {
    organizations::table
        .find(org_id)
        .left_join(plans::table)
        .select((Subscription::as_select(), Option::<Plan>::as_select()))
        .first(conn)
        .await
        .optional()
}

/// What the platform reports in use against the shared limits now.
pub async fn report_use(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    workflows: i32,
    work_items: i32,
    jobs: i32,
) -> QueryResult<()> {
    diesel::update(organizations::table.find(org_id))
        .set((
            organizations::workflows_in_use.eq(workflows),
            organizations::work_items_in_use.eq(work_items),
            organizations::jobs_running.eq(jobs),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn set_plan(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    plan_id: i64,
) -> QueryResult<()> {
    diesel::update(organizations::table.find(org_id))
        .set(organizations::plan_id.eq(plan_id))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn cancel(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(organizations::table.find(org_id))
        .set((
            organizations::status.eq("cancelled"),
            organizations::cancelled_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Gives or takes a member's seat; false when they are not a member or already so.
pub async fn set_seat(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
    seat: bool,
) -> QueryResult<bool> {
    diesel::update(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::subscriber.ne(seat)),
    )
    .set(memberships::subscriber.eq(seat))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// Gives or takes a member's subscription-admin flag; false when they are not a member.
pub async fn set_subscriber_admin(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
    admin: bool,
) -> QueryResult<bool> {
    diesel::update(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set(memberships::subscriber_admin.eq(admin))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// A member holding a seat, as the Subscription tab lists them.
#[derive(Debug, Clone, Queryable)]
pub struct SeatHolder {
    pub user_id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub subscriber_admin: bool,
}

impl SeatHolder {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

/// One page of the members holding a seat, by email, in one statement: the page is cut from
/// the seat holders' index alone (a deep page skips index entries, not rows), then joined to
/// its 25 users.
pub async fn seat_holders(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<SeatHolder>> {
    SeatPage {
        org_id: org_id.0,
        offset,
        limit,
    }
    .load(conn)
    .await
}

// The two statements below are written as query fragments, not `sql_query` text, so each
// connection prepares them once (Diesel caches a fragment's statement by its SQL; `sql_query`
// is parsed again on every call, an extra round trip).

type Pass<'a, 'b> = diesel::query_builder::AstPass<'a, 'b, diesel::pg::Pg>;

/// The changes in effect from `from` to before `until`: the last one at or before `from`
/// and every later one, oldest first.
struct ChangesBetween {
    org_id: i64,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl diesel::query_builder::QueryId for ChangesBetween {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for ChangesBetween {
    type SqlType = (
        Timestamptz,
        Text,
        BigInt,
        diesel::sql_types::Integer,
        BigInt,
        diesel::sql_types::Integer,
        diesel::sql_types::Bool,
    );
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for ChangesBetween {
    fn walk_ast<'b>(&'b self, mut out: Pass<'_, 'b>) -> QueryResult<()> {
        out.push_sql(
            "SELECT effective_at, plan_name, monthly_price_cents, included_seats, \
                 extra_seat_price_cents, seats, active \
             FROM subscription_changes WHERE org_id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.org_id)?;
        out.push_sql(" AND effective_at < ");
        out.push_bind_param::<Timestamptz, _>(&self.until)?;
        out.push_sql(
            " AND effective_at >= coalesce((SELECT max(effective_at) FROM subscription_changes \
               WHERE org_id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.org_id)?;
        out.push_sql(" AND effective_at <= ");
        out.push_bind_param::<Timestamptz, _>(&self.from)?;
        out.push_sql("), '-infinity') ORDER BY effective_at, id");
        Ok(())
    }
}

/// One page of seat holders: cut from the seat holders' index alone, then joined to its users.
struct SeatPage {
    org_id: i64,
    offset: i64,
    limit: i64,
}

impl diesel::query_builder::QueryId for SeatPage {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for SeatPage {
    type SqlType = (BigInt, Text, Text, Text, diesel::sql_types::Bool);
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for SeatPage {
    fn walk_ast<'b>(&'b self, mut out: Pass<'_, 'b>) -> QueryResult<()> {
        out.push_sql(
            "SELECT page.user_id, u.email, u.first_name, u.last_name, page.subscriber_admin \
             FROM (SELECT user_id, email_key, subscriber_admin FROM memberships \
                   WHERE org_id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.org_id)?;
        out.push_sql(" AND subscriber ORDER BY email_key, user_id OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.offset)?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(
            ") page JOIN users u ON u.id = page.user_id ORDER BY page.email_key, page.user_id",
        );
        Ok(())
    }
}
