//! `/settings/org/usage`: the organization's usage over a date range by day (a chart drawn on
//! the server), endpoint, model and member, against the tokens purchased; and its CSV. Owners
//! and admins. The range is in the address, so a report can be shared and works without
//! JavaScript.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::OrgContext;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::services::alerts;
use crate::services::usage::{self as service, Range, Report};
use crate::web::AppState;
use crate::web::kit::{flash, htmx, paths};
use crate::web::usage::{Chart, as_csv};

#[derive(Deserialize)]
pub struct RangeQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

#[derive(Template)]
#[template(path = "org/usage/page.html")]
struct UsagePage {
    report: Report,
    chart: Chart,
    from: String,
    until: String,
    errors: FieldErrors,
    /// The alerts form as typed, when it was refused.
    alerts: Option<(String, String)>,
}

impl UsagePage {
    fn thresholds(&self) -> String {
        match (&self.alerts, &self.report.credits) {
            (Some((typed, _)), _) => typed.clone(),
            (None, Some(credits)) => credits
                .alert_thresholds
                .iter()
                .map(i16::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            (None, None) => String::new(),
        }
    }

    fn alerts_error(&self) -> Option<&str> {
        self.alerts.as_ref().map(|(_, error)| error.as_str())
    }
}

pub async fn page(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    usage_page(&req, &ctx, &state, &query, None).await
}

async fn usage_page(
    req: &HttpRequest,
    ctx: &OrgContext,
    state: &AppState,
    query: &RangeQuery,
    alerts: Option<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let (status, range, errors) = match Range::parse(&query.from, &query.until, now) {
        Ok(range) => (StatusCode::OK, range, FieldErrors::default()),
        Err(errors) => {
            let fallback = Range::parse("", "", now).map_err(|_| AppError::BadRequest("range"))?;
            (StatusCode::UNPROCESSABLE_ENTITY, fallback, errors)
        }
    };
    let report = service::of_organization(&mut *state.pool.get().await?, ctx, range).await?;
    let status = if alerts.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    // The fields show the range shown, unless what was typed is refused.
    let (from, until) = if errors.is_empty() {
        (
            report.range.from.to_string(),
            report.range.until.to_string(),
        )
    } else {
        (query.from.clone(), query.until.clone())
    };
    let page = UsagePage {
        chart: Chart::of(&report),
        report,
        from,
        until,
        errors,
        alerts,
    };
    htmx::page(req, status, &page)
}

#[derive(Deserialize)]
pub struct AlertsInput {
    #[serde(default)]
    thresholds: String,
}

pub async fn set_alerts(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    input: web::Form<AlertsInput>,
) -> Result<HttpResponse, AppError> {
    match alerts::parse_thresholds(&input.thresholds) {
        Ok(thresholds) => {
            alerts::set_thresholds(&mut *state.pool.get().await?, &ctx, &thresholds).await?;
            flash(
                &req,
                if thresholds.is_empty() {
                    "Usage alerts are off.".to_owned()
                } else {
                    "The usage alerts were saved.".to_owned()
                },
            )?;
            Ok(htmx::redirect(&req, &paths::USAGE.path()))
        }
        Err(message) => {
            let query = RangeQuery {
                from: String::new(),
                until: String::new(),
            };
            let typed = (input.thresholds.clone(), message.to_owned());
            usage_page(&req, &ctx, &state, &query, Some(typed)).await
        }
    }
}

pub async fn csv(
    ctx: OrgContext,
    state: web::Data<AppState>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let range = Range::parse(&query.from, &query.until, state.clock.now())
        .map_err(|_| AppError::Unprocessable("Give the range as YYYY-MM-DD, at most 366 days."))?;
    let report = service::of_organization(&mut *state.pool.get().await?, &ctx, range).await?;
    let body = as_csv(&report, "member").map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"usage-{}-{}.csv\"",
                range.from, range.until
            ),
        ))
        .body(body))
}
