//! `/settings/org/subscription`: the plan, seats, shared limits and statements every member can
//! read, and the owner's and admins' changes. Plain forms and pages: every step works without
//! JavaScript, and a change that costs money is previewed before it is confirmed.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::OrgContext;
use crate::db::paging::Paging;
use crate::domain::UserId;
use crate::domain::billing::{self, Statement};
use crate::error::AppError;
use crate::services::org::subscription::{
    self as service, Misfit, PlanChange, SEATS_PER_PAGE, SeatLookup, SeatPreview, SubscriptionView,
};
use crate::web::AppState;
use crate::web::kit::format::{csv_text, money, number};
use crate::web::kit::listing::{Pager, query_string};
use crate::web::kit::{flash, htmx, paths};

/// "Team allows 50 production workflows; this organization uses 60."
pub fn explain(misfit: &Misfit) -> String {
    format!(
        "{} allows {} {}; this organization uses {}.",
        misfit.plan_name,
        number(misfit.limit.limit),
        misfit.limit.label.to_lowercase(),
        number(misfit.limit.used)
    )
}

#[derive(Template)]
#[template(path = "org/subscription/page.html")]
struct SubscriptionPage {
    ctx: OrgContext,
    view: SubscriptionView,
    seat_pager: Pager,
    /// The form refused, if any: shown again with its input and the reason.
    refused: Refused,
}

#[derive(Deserialize)]
pub struct PageParams {
    seats_page: Option<i64>,
}

/// A form of the page that was refused: its input and why, shown again on the page (422).
enum Refused {
    Nothing,
    Seat { email: String, error: String },
    Plan(String),
    Month { month: String, error: String },
}

impl Refused {
    fn status(&self) -> StatusCode {
        match self {
            Refused::Nothing => StatusCode::OK,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn seat_email(&self) -> &str {
        match self {
            Refused::Seat { email, .. } => email,
            _ => "",
        }
    }

    fn seat_error(&self) -> Option<&str> {
        match self {
            Refused::Seat { error, .. } => Some(error),
            _ => None,
        }
    }

    fn plan_error(&self) -> Option<&str> {
        match self {
            Refused::Plan(error) => Some(error),
            _ => None,
        }
    }

    fn month(&self) -> &str {
        match self {
            Refused::Month { month, .. } => month,
            _ => "",
        }
    }

    fn month_error(&self) -> Option<&str> {
        match self {
            Refused::Month { error, .. } => Some(error),
            _ => None,
        }
    }
}

async fn subscription_page(
    req: &HttpRequest,
    ctx: OrgContext,
    state: &AppState,
    seats_page: Option<i64>,
    refused: Refused,
) -> Result<HttpResponse, AppError> {
    let paging = Paging::new(seats_page, Some(SEATS_PER_PAGE));
    let view = service::view(
        &mut *state.pool.get().await?,
        &ctx,
        state.clock.now(),
        paging,
    )
    .await?;
    let seat_pager = Pager::new(paging, view.seat_holders.len(), view.seat_total, |page| {
        format!(
            "{}?{}",
            paths::SUBSCRIPTION.path(),
            query_string(&[("seats_page", page.to_string())])
        )
    });
    let page = SubscriptionPage {
        ctx,
        view,
        seat_pager,
        refused,
    };
    htmx::page(req, page.refused.status(), &page)
}

pub async fn page(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    subscription_page(&req, ctx, &state, params.seats_page, Refused::Nothing).await
}

#[derive(Deserialize)]
pub struct PlanInput {
    plan: String,
}

pub async fn change_plan(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    input: web::Form<PlanInput>,
) -> Result<HttpResponse, AppError> {
    let Ok(plan_id) = input.plan.trim().parse::<i64>() else {
        let refused = Refused::Plan("Choose a plan.".to_owned());
        return subscription_page(&req, ctx, &state, None, refused).await;
    };
    let outcome = service::change_plan(
        &mut *state.pool.get().await?,
        &ctx,
        plan_id,
        state.clock.now(),
    )
    .await?;
    match outcome {
        PlanChange::Changed { from, to } if from == to => {
            flash(&req, format!("The organization stays on {to}."))?;
        }
        PlanChange::Changed { to, .. } => {
            flash(&req, format!("The organization is now on {to}."))?;
        }
        PlanChange::DoesNotFit(misfit) => {
            let refused = Refused::Plan(format!("The plan did not change: {}", explain(&misfit)));
            return subscription_page(&req, ctx, &state, None, refused).await;
        }
    }
    Ok(htmx::redirect(&req, &paths::SUBSCRIPTION.path()))
}

#[derive(Template)]
#[template(path = "org/subscription/seat.html")]
struct SeatPage {
    preview: SeatPreview,
}

#[derive(Deserialize)]
pub struct SeatQuery {
    email: String,
    /// "grant" or "withdraw".
    change: String,
}

fn is_grant(change: &str) -> Result<bool, AppError> {
    match change {
        "grant" => Ok(true),
        "withdraw" => Ok(false),
        _ => Err(AppError::BadRequest(
            "The seat change must be grant or withdraw.",
        )),
    }
}

/// The cost before and after a seat change, with the button that confirms it.
pub async fn preview_seat(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    query: web::Query<SeatQuery>,
) -> Result<HttpResponse, AppError> {
    let grant = is_grant(&query.change)?;
    let lookup =
        service::preview_seat(&mut *state.pool.get().await?, &ctx, &query.email, grant).await?;
    match lookup {
        SeatLookup::Preview(preview) => htmx::page(&req, StatusCode::OK, &SeatPage { preview }),
        SeatLookup::Invalid(error) => {
            let refused = Refused::Seat {
                email: query.email.clone(),
                error,
            };
            subscription_page(&req, ctx, &state, None, refused).await
        }
    }
}

#[derive(Deserialize)]
pub struct SeatInput {
    user: i64,
    change: String,
}

pub async fn set_seat(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    input: web::Form<SeatInput>,
) -> Result<HttpResponse, AppError> {
    let grant = is_grant(&input.change)?;
    let user = service::set_seat(
        &mut *state.pool.get().await?,
        &ctx,
        UserId(input.user),
        grant,
        state.clock.now(),
    )
    .await?;
    let message = if grant {
        format!("{} holds a seat now.", user.email)
    } else {
        format!("{} no longer holds a seat.", user.email)
    };
    flash(&req, message)?;
    Ok(htmx::redirect(&req, &paths::SUBSCRIPTION.path()))
}

#[derive(Deserialize)]
pub struct AdminInput {
    user: i64,
    /// "yes" or "no".
    admin: String,
}

pub async fn set_subscription_admin(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    input: web::Form<AdminInput>,
) -> Result<HttpResponse, AppError> {
    let admin = match input.admin.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(AppError::BadRequest("Say yes or no.")),
    };
    let user = service::set_subscription_admin(
        &mut *state.pool.get().await?,
        &ctx,
        UserId(input.user),
        admin,
    )
    .await?;
    let message = if admin {
        format!(
            "{} is a subscription admin now: they grant and withdraw seats.",
            user.email
        )
    } else {
        format!("{} is no longer a subscription admin.", user.email)
    };
    flash(&req, message)?;
    Ok(htmx::redirect(&req, &paths::SUBSCRIPTION.path()))
}

#[derive(Deserialize)]
pub struct MonthQuery {
    month: String,
}

/// The "any month" form: to that month's CSV, or back to the page with the reason.
pub async fn find_statement(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    query: web::Query<MonthQuery>,
) -> Result<HttpResponse, AppError> {
    match billing::parse_month(&query.month) {
        Some(month) if month <= billing::month_of(state.clock.now()) => {
            let key = month.format("%Y-%m").to_string();
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    actix_web::http::header::LOCATION,
                    paths::SUBSCRIPTION_STATEMENT.with_id(key).to_string(),
                ))
                .finish())
        }
        _ => {
            let refused = Refused::Month {
                month: query.month.clone(),
                error: "Choose a month up to this one, as YYYY-MM.".to_owned(),
            };
            subscription_page(&req, ctx, &state, None, refused).await
        }
    }
}

/// A month's statement as CSV: one row per line, then the total.
pub async fn statement_csv(
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let month = billing::parse_month(&path).ok_or(AppError::NotFound)?;
    let statement = service::statement(
        &mut *state.pool.get().await?,
        &ctx,
        month,
        state.clock.now(),
    )
    .await?;
    let body = statement_as_csv(&statement)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"statement-{}.csv\"", statement.key()),
        ))
        .body(body))
}

fn statement_as_csv(statement: &Statement) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| AppError::Internal(e.into());
    writer
        .write_record([
            "from",
            "to",
            "plan",
            "seats",
            "extra_seats",
            "monthly_cost",
            "days",
            "days_in_month",
            "amount",
        ])
        .map_err(csv_error)?;
    for line in &statement.lines {
        writer
            .write_record([
                line.first_day.to_string(),
                line.last_day.to_string(),
                csv_text(&line.plan_name),
                line.seats.to_string(),
                line.extra_seats.to_string(),
                plain_money(line.monthly_cost_cents),
                line.days.to_string(),
                statement.days_in_month.to_string(),
                plain_money(line.amount_cents),
            ])
            .map_err(csv_error)?;
    }
    writer
        .write_record([
            "total",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            &plain_money(statement.total_cents),
        ])
        .map_err(csv_error)?;
    writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("CSV: {e}")))
}

/// 123450 → "1234.50": dollars for a spreadsheet, without thousands separators.
fn plain_money(cents: i64) -> String {
    money(cents).replace(',', "")
}

#[derive(Template)]
#[template(path = "org/subscription/cancel.html")]
struct CancelPage {
    ctx: OrgContext,
    view: SubscriptionView,
}

pub async fn confirm_cancel(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let view = service::view(
        &mut *state.pool.get().await?,
        &ctx,
        state.clock.now(),
        Paging::new(None, Some(1)),
    )
    .await?;
    htmx::page(&req, StatusCode::OK, &CancelPage { ctx, view })
}

pub async fn cancel(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    service::cancel(&mut *state.pool.get().await?, &ctx, state.clock.now()).await?;
    flash(
        &req,
        format!(
            "The subscription of {} is cancelled. You can still use its remaining credits.",
            ctx.org_name
        ),
    )?;
    Ok(htmx::redirect(&req, &paths::SUBSCRIPTION.path()))
}
