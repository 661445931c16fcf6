//! The Subscription tab: the plan and what it includes, seats and their cost, the shared limits
//! in use, monthly statements, plan changes, seats granted and withdrawn, and cancellation.
//! Every change decides on rows it holds, and records the subscription as it then stands, so
//! any month can be billed afterwards.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::{
    Decision, OrgContext, Permission, can_cancel_subscription, can_hold_seat, can_manage_seats,
    can_see_billing, require,
};
use crate::db::paging::{Paging, Total};
use crate::domain::billing::{self, SeatPricing, Statement};
use crate::domain::{EmailAddress, OrgId, UserId};
use crate::error::{AppError, Denied, TxError};
use crate::models::memberships;
use crate::models::plans::{self, Plan};
use crate::models::subscriptions::{self, ChangeReason, SeatHolder, Subscription};
pub use crate::models::users::User;
use crate::models::{audit, invitations, outbox, users};
use crate::services::org::{current_actor, lock_members, refuse, rejected};

/// Seat holders listed per page.
pub const SEATS_PER_PAGE: i64 = 25;

/// One shared limit (seed 000: totals across every member) and its use now.
#[derive(Debug, Clone)]
pub struct LimitUse {
    /// Stable name: the policy API's field, and what a sent alert is remembered by.
    pub key: &'static str,
    pub label: &'static str,
    pub used: i32,
    pub limit: i32,
}

impl LimitUse {
    /// The bar's maximum: the limit, or 1 for a plan without one (a meter needs max > 0).
    pub fn meter_max(&self) -> i32 {
        self.limit.max(1)
    }

    /// The bar's value, full at most (a meter's value cannot pass its max); the figures beside
    /// it say how far beyond.
    pub fn meter_value(&self) -> i32 {
        self.used.clamp(0, self.meter_max())
    }
}

/// The plan's shared limits (all 0 without a plan) and the organization's use of each now.
pub(crate) fn limits_of(plan: Option<&Plan>, now: &Subscription) -> Vec<LimitUse> {
    let limit = |f: fn(&Plan) -> i32| plan.map_or(0, f);
    vec![
        LimitUse {
            key: "production_workflows",
            label: "Production workflows",
            used: now.workflows_in_use,
            limit: limit(|p| p.workflow_limit),
        },
        LimitUse {
            key: "work_items",
            label: "Work items",
            used: now.work_items_in_use,
            limit: limit(|p| p.work_item_capacity),
        },
        LimitUse {
            key: "concurrent_jobs",
            label: "Concurrent jobs",
            used: now.jobs_running,
            limit: limit(|p| p.concurrent_job_limit),
        },
    ]
}

/// The plan's shared limits and the organization's use of each now (none without a plan: then
/// nothing limits it).
pub(crate) async fn shared_limits(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> diesel::QueryResult<Vec<LimitUse>> {
    Ok(match subscriptions::find_with_plan(conn, org_id).await? {
        Some((now, Some(plan))) => limits_of(Some(&plan), &now),
        _ => Vec::new(),
    })
}

/// A limit of a plan that the organization's use exceeds: why it cannot move to that plan.
pub struct Misfit {
    pub plan_name: String,
    pub limit: LimitUse,
}

/// The first limit of `plan` the organization's current use exceeds; `None` when it fits.
fn does_not_fit(plan: &Plan, now: &Subscription) -> Option<Misfit> {
    limits_of(Some(plan), now)
        .into_iter()
        .find(|l| l.used > l.limit)
        .map(|limit| Misfit {
            plan_name: plan.name.clone(),
            limit,
        })
}

/// A plan the organization could move to, with its cost at the seats held now.
pub struct PlanChoice {
    pub plan: Plan,
    pub monthly_cost_cents: i64,
    pub current: bool,
    /// Why the organization cannot move to it.
    pub refused: Option<Misfit>,
}

pub struct SubscriptionView {
    pub subscription: Subscription,
    pub plan: Option<Plan>,
    pub pricing: SeatPricing,
    pub monthly_cost_cents: i64,
    pub limits: Vec<LimitUse>,
    /// Every plan, with whether the viewer may move to it; empty for those who may not.
    pub choices: Vec<PlanChoice>,
    pub change_plan: Result<(), Denied>,
    pub manage_seats: Decision,
    /// Whether the viewer names subscription admins (the owner).
    pub names_admins: bool,
    /// Statements and seat holders: for owners, admins and subscription admins.
    pub sees_billing: bool,
    /// This month so far, then the previous month.
    pub statements: Vec<Statement>,
    pub seat_holders: Vec<SeatHolder>,
    pub seat_total: Total,
    pub cancel: Decision,
}

impl SubscriptionView {
    /// Seats held beyond those the plan includes.
    pub fn extra_seats(&self) -> i32 {
        self.pricing.extra_seats(self.subscription.seats)
    }

    pub fn other_members(&self) -> i32 {
        self.subscription.other_members()
    }
}

/// The Subscription tab, for every member.
#[tracing::instrument(skip(conn, ctx, now), fields(org_id = %ctx.org_id))]
pub async fn view(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    now: DateTime<Utc>,
    seat_paging: Paging,
) -> Result<SubscriptionView, AppError> {
    require(ctx, Permission::ViewOrganization)?;
    let subscription = subscriptions::find(conn, ctx.org_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let all_plans = plans::plans(conn).await?;
    let plan = all_plans
        .iter()
        .find(|p| Some(p.id) == subscription.plan_id)
        .cloned();
    let pricing = plan.as_ref().map_or(SeatPricing::NONE, Plan::pricing);
    let manage_seats = can_manage_seats(ctx);
    let change_plan = require(ctx, Permission::ManagePlan);
    let sees_billing = can_see_billing(ctx).is_ok();
    let choices = if change_plan.is_ok() {
        all_plans
            .into_iter()
            .map(|p| PlanChoice {
                monthly_cost_cents: p.pricing().monthly_cost(subscription.seats),
                current: Some(p.id) == subscription.plan_id,
                refused: does_not_fit(&p, &subscription),
                plan: p,
            })
            .collect()
    } else {
        Vec::new()
    };
    let (statements, seat_holders) = if sees_billing {
        let this_month = billing::month_of(now);
        let last_month = billing::previous_month(this_month);
        let changes = subscriptions::in_effect_between(
            conn,
            ctx.org_id,
            last_month,
            billing::next_month(this_month),
        )
        .await?;
        let today = now.date_naive();
        let statements = vec![
            billing::statement(this_month, today, &changes),
            billing::statement(last_month, today, &changes),
        ];
        let holders = subscriptions::seat_holders(
            conn,
            ctx.org_id,
            seat_paging.offset(),
            seat_paging.per_page,
        )
        .await?;
        (statements, holders)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(SubscriptionView {
        monthly_cost_cents: pricing.monthly_cost(subscription.seats),
        limits: limits_of(plan.as_ref(), &subscription),
        cancel: can_cancel_subscription(ctx, subscription.other_members()),
        seat_total: Total::exact(i64::from(subscription.seats)),
        subscription,
        plan,
        pricing,
        choices,
        change_plan,
        manage_seats,
        names_admins: require(ctx, Permission::ManageBilling).is_ok(),
        sees_billing,
        statements,
        seat_holders,
    })
}

/// The statement of one month, for its CSV: any month up to this one, for those who see billing.
#[tracing::instrument(skip(conn, ctx, now), fields(org_id = %ctx.org_id))]
pub async fn statement(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    month: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<Statement, AppError> {
    require(ctx, Permission::ViewOrganization)?;
    can_see_billing(ctx)?;
    if month > billing::month_of(now) {
        return Err(AppError::NotFound);
    }
    let changes =
        subscriptions::in_effect_between(conn, ctx.org_id, month, billing::next_month(month))
            .await?;
    Ok(billing::statement(month, now.date_naive(), &changes))
}

/// What granting or withdrawing a seat would change, shown before it is confirmed.
pub struct SeatPreview {
    pub user: User,
    pub grant: bool,
    pub seats_before: i32,
    pub seats_after: i32,
    pub cost_before_cents: i64,
    pub cost_after_cents: i64,
    pub pricing: SeatPricing,
}

pub enum SeatLookup {
    Preview(SeatPreview),
    /// Nobody in this organization has this email, or it already holds (or lacks) a seat.
    Invalid(String),
}

/// The member a seat change names, and the cost before and after it.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn preview_seat(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    email: &str,
    grant: bool,
) -> Result<SeatLookup, AppError> {
    can_manage_seats(ctx).into_result()?;
    let email = match EmailAddress::parse(email) {
        Ok(email) => email,
        Err(e) => return Ok(SeatLookup::Invalid(e.to_string())),
    };
    let Some(user) = users::find_by_email(conn, email.as_str()).await? else {
        return Ok(SeatLookup::Invalid(NOT_A_MEMBER.to_owned()));
    };
    let Some(membership) = memberships::find(conn, ctx.org_id, user.id).await? else {
        return Ok(SeatLookup::Invalid(NOT_A_MEMBER.to_owned()));
    };
    if membership.subscriber == grant {
        return Ok(SeatLookup::Invalid(if grant {
            format!("{} already holds a seat.", user.email)
        } else {
            format!("{} holds no seat.", user.email)
        }));
    }
    let subscription = subscriptions::find(conn, ctx.org_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let pricing = match subscription.plan_id {
        Some(id) => plans::find(conn, id).await?.map(|p| p.pricing()),
        None => None,
    }
    .unwrap_or(SeatPricing::NONE);
    let seats_after = subscription.seats + if grant { 1 } else { -1 };
    Ok(SeatLookup::Preview(SeatPreview {
        user,
        grant,
        seats_before: subscription.seats,
        seats_after,
        cost_before_cents: pricing.monthly_cost(subscription.seats),
        cost_after_cents: pricing.monthly_cost(seats_after),
        pricing,
    }))
}

const NOT_A_MEMBER: &str = "No member of this organization has this email.";

/// Grants (or withdraws) the seat of one member, and records the seats from `now`.
#[tracing::instrument(skip(conn, ctx, now), fields(org_id = %ctx.org_id))]
pub async fn set_seat(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    user_id: UserId,
    grant: bool,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let (actor, mut target) = lock_members(conn, ctx, &[user_id]).await?;
        // Cancelled since the request began: nothing changes any more.
        let actor = OrgContext {
            cancelled: subscriptions::find(conn, ctx.org_id, false)
                .await?
                .is_some_and(|s| s.is_cancelled()),
            ..actor
        };
        refuse(can_manage_seats(&actor))?;
        let (_, user) = target.pop().ok_or(diesel::result::Error::NotFound)?;
        if grant {
            refuse(can_hold_seat(user.service_of.is_some()))?;
        }
        if subscriptions::set_seat(conn, ctx.org_id, user_id, grant).await? {
            subscriptions::record(conn, ctx.org_id, ChangeReason::Seats, now).await?;
            let action = if grant {
                "subscription.seat_granted"
            } else {
                "subscription.seat_withdrawn"
            };
            let who = actor.actor();
            audit::record(conn, &who.audit_org(action, ctx.org_id, &user.email)).await?;
        }
        Ok(user)
    })
    .await
    .map_err(rejected)
}

/// The owner makes a member a subscription admin (who then grants and withdraws seats), or
/// takes the flag back.
#[tracing::instrument(skip(conn, ctx), fields(org_id = %ctx.org_id))]
pub async fn set_subscription_admin(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    user_id: UserId,
    admin: bool,
) -> Result<User, AppError> {
    require(ctx, Permission::ManageBilling)?;
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let (actor, mut target) = lock_members(conn, ctx, &[user_id]).await?;
        require(&actor, Permission::ManageBilling).map_err(TxError::Rejected)?;
        let (_, user) = target.pop().ok_or(diesel::result::Error::NotFound)?;
        if admin {
            refuse(can_hold_seat(user.service_of.is_some()))?;
        }
        subscriptions::set_subscriber_admin(conn, ctx.org_id, user_id, admin).await?;
        let action = if admin {
            "subscription.admin_named"
        } else {
            "subscription.admin_withdrawn"
        };
        let who = actor.actor();
        audit::record(conn, &who.audit_org(action, ctx.org_id, &user.email)).await?;
        Ok(user)
    })
    .await
    .map_err(rejected)
}

pub enum PlanChange {
    Changed {
        from: String,
        to: String,
    },
    /// The organization's use does not fit in the plan chosen; nothing changed.
    DoesNotFit(Misfit),
}

/// Moves the organization to another plan, if what it uses fits in it.
#[tracing::instrument(skip(conn, ctx, now), fields(org_id = %ctx.org_id))]
pub async fn change_plan(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    plan_id: i64,
    now: DateTime<Utc>,
) -> Result<PlanChange, AppError> {
    let result = conn
        .transaction::<_, TxError<PlanStop>, _>(async |conn| {
            let actor = current_actor(conn, ctx).await.map_err(plan_stop)?;
            let subscription = subscriptions::find(conn, ctx.org_id, true)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            // Decided on the status read under the lock: a cancellation just before wins.
            let actor = OrgContext {
                cancelled: subscription.is_cancelled(),
                ..actor
            };
            require(&actor, Permission::ManagePlan)
                .map_err(|denied| TxError::Rejected(PlanStop::Denied(denied)))?;
            let plan = plans::find(conn, plan_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let from = match subscription.plan_id {
                Some(id) => plans::find(conn, id).await?.map(|p| p.name),
                None => None,
            }
            .unwrap_or_else(|| "No plan".to_owned());
            if let Some(misfit) = does_not_fit(&plan, &subscription) {
                return Err(TxError::Rejected(PlanStop::DoesNotFit(misfit)));
            }
            if subscription.plan_id != Some(plan.id) {
                subscriptions::set_plan(conn, ctx.org_id, plan.id).await?;
                subscriptions::record(conn, ctx.org_id, ChangeReason::Plan, now).await?;
                let who = actor.actor();
                let entry = audit::NewAuditEntry {
                    before: Some(serde_json::json!({ "plan": from })),
                    after: Some(serde_json::json!({ "plan": plan.name })),
                    ..who.audit_org("subscription.plan_changed", ctx.org_id, &plan.name)
                };
                audit::record(conn, &entry).await?;
            }
            Ok(PlanChange::Changed {
                from,
                to: plan.name,
            })
        })
        .await;
    match result {
        Ok(changed) => Ok(changed),
        Err(TxError::Rejected(PlanStop::DoesNotFit(misfit))) => Ok(PlanChange::DoesNotFit(misfit)),
        Err(TxError::Rejected(PlanStop::Denied(denied))) => Err(denied.into()),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}

enum PlanStop {
    Denied(Denied),
    DoesNotFit(Misfit),
}

fn plan_stop(e: TxError<Denied>) -> TxError<PlanStop> {
    match e {
        TxError::Rejected(denied) => TxError::Rejected(PlanStop::Denied(denied)),
        TxError::Db(e) => TxError::Db(e),
    }
}

/// Cancels the subscription: the owner only, once every other member is gone. Pending
/// invitations are cancelled first (in the order joining locks them, then the organization),
/// so nobody can join the cancelled organization.
#[tracing::instrument(skip(conn, ctx, now), fields(org_id = %ctx.org_id))]
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    ctx: &OrgContext,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    conn.transaction::<_, TxError<Denied>, _>(async |conn| {
        let actor = current_actor(conn, ctx).await?;
        let withdrawn = invitations::cancel_pending_of(conn, ctx.org_id).await?;
        for id in &withdrawn {
            outbox::drop_unsent(conn, *id).await?;
        }
        let subscription = subscriptions::find(conn, ctx.org_id, true)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
        let actor = OrgContext {
            cancelled: subscription.is_cancelled(),
            ..actor
        };
        refuse(can_cancel_subscription(
            &actor,
            subscription.other_members(),
        ))?;
        subscriptions::cancel(conn, ctx.org_id, now).await?;
        subscriptions::record(conn, ctx.org_id, ChangeReason::Cancelled, now).await?;
        let who = actor.actor();
        let entry = audit::NewAuditEntry {
            after: Some(serde_json::json!({ "invitations_cancelled": withdrawn.len() })),
            ..who.audit_org("subscription.cancelled", ctx.org_id, &ctx.org_name)
        };
        audit::record(conn, &entry).await?;
        Ok(())
    })
    .await
    .map_err(rejected)
}
