//! Platform settings, the plan catalogue and the model catalogue.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;

use crate::domain::{FieldErrors, RequiredText};
use crate::models::audit;
use crate::models::platform::{self, NewPlan, PlatformSettings};
use crate::services::SuperAdmin;
use crate::services::purchases::{parse_amount, parse_kind};
use crate::web::errors::AppError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    pub single_org_per_account: Option<String>,
    pub oauth_login_enabled: Option<String>,
    pub invitation_ttl_days: String,
}

pub enum Outcome<T> {
    Saved(T),
    Invalid(FieldErrors),
}

pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    input: &SettingsInput,
) -> Result<Outcome<PlatformSettings>, AppError> {
    let mut errors = FieldErrors::default();
    let ttl = errors.check(
        "invitation_ttl_days",
        input
            .invitation_ttl_days
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|d| (1..=90).contains(d))
            .ok_or("Enter a number of days from 1 to 90."),
    );
    let Some(invitation_ttl_days) = ttl else {
        return Ok(Outcome::Invalid(errors));
    };
    let settings = PlatformSettings {
        single_org_per_account: input.single_org_per_account.is_some(),
        oauth_login_enabled: input.oauth_login_enabled.is_some(),
        invitation_ttl_days,
    };
    let saved = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let before = platform::settings(conn).await?;
            let saved = platform::update_settings(conn, &settings).await?;
            let entry = audit::NewAuditEntry {
                before: Some(settings_json(&before)),
                after: Some(settings_json(&saved)),
                ..admin.actor().audit("platform.settings_changed", "")
            };
            audit::record(conn, &entry).await?;
            Ok(saved)
        })
        .await?;
    Ok(Outcome::Saved(saved))
}

fn settings_json(settings: &PlatformSettings) -> serde_json::Value {
    serde_json::json!({ "single_org_per_account": settings.single_org_per_account,
        "oauth_login_enabled": settings.oauth_login_enabled, "invitation_ttl_days": settings.invitation_ttl_days })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanInput {
    pub name: String,
    pub monthly_price: String,
    pub included_seats: String,
    pub extra_seat_price: String,
    pub workflow_limit: String,
    pub work_item_capacity: String,
    pub concurrent_job_limit: String,
}

fn count(raw: &str) -> Result<i32, &'static str> {
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or("Enter a whole number, 0 or more.")
}

pub async fn add_plan(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    input: &PlanInput,
) -> Result<Outcome<()>, AppError> {
    let mut errors = FieldErrors::default();
    let name = errors.check("plan_name", RequiredText::parse(&input.name, 100));
    let monthly = errors.check("monthly_price", parse_amount(&input.monthly_price));
    let seats = errors.check("included_seats", count(&input.included_seats));
    let extra = errors.check("extra_seat_price", parse_amount(&input.extra_seat_price));
    let workflows = errors.check("workflow_limit", count(&input.workflow_limit));
    let items = errors.check("work_item_capacity", count(&input.work_item_capacity));
    let jobs = errors.check("concurrent_job_limit", count(&input.concurrent_job_limit));
    let (
        Some(name),
        Some(monthly),
        Some(seats),
        Some(extra),
        Some(workflows),
        Some(items),
        Some(jobs),
    ) = (name, monthly, seats, extra, workflows, items, jobs)
    else {
        return Ok(Outcome::Invalid(errors));
    };
    let plan = NewPlan {
        name: name.into_inner(),
        monthly_price_cents: monthly,
        included_seats: seats,
        extra_seat_price_cents: extra,
        workflow_limit: workflows,
        work_item_capacity: items,
        concurrent_job_limit: jobs,
    };
    let added = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(added) = platform::insert_plan(conn, &plan).await? else {
                return Ok(false);
            };
            let after = serde_json::json!({ "name": added.name, "monthly_price_cents": added.monthly_price_cents, "included_seats": added.included_seats });
            audit::record(conn, &audit::NewAuditEntry { after: Some(after), ..admin.actor().audit("plan.created", &added.name) }).await?;
            Ok(true)
        })
        .await?;
    if !added {
        errors.add("plan_name", "A plan with this name exists.");
        return Ok(Outcome::Invalid(errors));
    }
    Ok(Outcome::Saved(()))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ModelInput {
    pub provider: String,
    pub model_name: String,
    pub kind: String,
}

pub async fn add_model(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    input: &ModelInput,
) -> Result<Outcome<()>, AppError> {
    let mut errors = FieldErrors::default();
    let provider = input.provider.trim().to_lowercase();
    let provider_ok = !provider.is_empty()
        && provider.len() <= 40
        && provider
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !provider.starts_with('-');
    if !provider_ok {
        errors.add(
            "provider",
            "Use lower-case letters, digits and hyphens, like openai or azure-openai.",
        );
    }
    let name = errors.check("model_name", RequiredText::parse(&input.model_name, 100));
    let kind = errors.check("model_kind", parse_kind(&input.kind));
    let (true, Some(name), Some(kind)) = (provider_ok, name, kind) else {
        return Ok(Outcome::Invalid(errors));
    };
    let name = name.into_inner();
    let added = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(model) = platform::insert_model(conn, &provider, &name, kind).await? else {
                return Ok(false);
            };
            let target = format!("{}/{}", model.provider, model.name);
            audit::record(conn, &admin.actor().audit("model.added", &target)).await?;
            Ok(true)
        })
        .await?;
    if !added {
        errors.add(
            "model_name",
            "This provider already has a model with this name.",
        );
        return Ok(Outcome::Invalid(errors));
    }
    Ok(Outcome::Saved(()))
}
