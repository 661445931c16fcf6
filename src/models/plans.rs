//! The plan catalogue (SKUs).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::plans;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plans, check_for_backend(diesel::pg::Pg))]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub monthly_price_cents: i64,
    pub included_seats: i32,
    pub extra_seat_price_cents: i64,
    pub workflow_limit: i32,
    pub work_item_capacity: i32,
    pub concurrent_job_limit: i32,
    pub created_at: DateTime<Utc>,
}

impl Plan {
    pub fn pricing(&self) -> crate::domain::billing::SeatPricing {
        crate::domain::billing::SeatPricing {
            monthly_price_cents: self.monthly_price_cents,
            included_seats: self.included_seats,
            extra_seat_price_cents: self.extra_seat_price_cents,
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = plans)]
pub struct NewPlan {
    pub name: String,
    pub monthly_price_cents: i64,
    pub included_seats: i32,
    pub extra_seat_price_cents: i64,
    pub workflow_limit: i32,
    pub work_item_capacity: i32,
    pub concurrent_job_limit: i32,
}

pub async fn plans(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Plan>> {
    plans::table
        .order(plans::monthly_price_cents.asc())
        .select(Plan::as_select())
        .load(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Plan>> {
    plans::table
        .find(id)
        .select(Plan::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn default_plan_id(conn: &mut AsyncPgConnection) -> QueryResult<Option<i64>> {
    plans::table
        .order(plans::id.asc())
        .select(plans::id)
        .first(conn)
        .await
        .optional()
}

/// Inserts a plan; `None` when the name is taken.
pub async fn insert_plan(
    conn: &mut AsyncPgConnection,
    plan: &NewPlan,
) -> QueryResult<Option<Plan>> {
    diesel::insert_into(plans::table)
        .values(plan)
        .on_conflict(plans::name)
        .do_nothing()
        .returning(Plan::as_returning())
        .get_result(conn)
        .await
        .optional()
}
