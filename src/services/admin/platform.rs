//! Platform settings, the plan catalogue, the model catalogue and the endpoint catalogue.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::SuperAdmin;
use crate::domain::{FieldErrors, TokenKind};
use crate::error::AppError;
use crate::models::{access_policies, ai_models, audit, plans, platform_settings};

pub use crate::models::ai_models::AiModel;
pub use crate::models::plans::{NewPlan, Plan};
pub use crate::models::platform_settings::PlatformSettings;

/// The settings page: the settings, the plans and the model catalogue.
pub struct PlatformOverview {
    pub settings: PlatformSettings,
    pub plans: Vec<Plan>,
    pub models: Vec<AiModel>,
    /// The endpoints access policies name and the policy API checks: (name, label).
    pub endpoints: Vec<(String, String)>,
}

#[tracing::instrument(skip_all)]
pub async fn overview(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
) -> Result<PlatformOverview, AppError> {
    Ok(PlatformOverview {
        settings: platform_settings::settings(conn).await?,
        plans: plans::plans(conn).await?,
        models: ai_models::catalogue(conn).await?,
        endpoints: access_policies::endpoints(conn).await?,
    })
}

pub enum Outcome {
    Saved,
    /// Refused by a uniqueness rule; nothing was changed.
    Invalid(FieldErrors),
}

#[tracing::instrument(skip(conn, admin))]
pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    settings: &PlatformSettings,
) -> Result<(), AppError> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let before = platform_settings::settings(conn).await?;
        let saved = platform_settings::update_settings(conn, settings).await?;
        let entry = audit::NewAuditEntry {
            before: Some(settings_json(&before)),
            after: Some(settings_json(&saved)),
            ..admin.actor().audit("platform.settings_changed", "")
        };
        audit::record(conn, &entry).await
    })
    .await?;
    Ok(())
}

fn settings_json(settings: &PlatformSettings) -> serde_json::Value {
    serde_json::json!({ "single_org_per_account": settings.single_org_per_account,
        "oauth_login_enabled": settings.oauth_login_enabled, "invitation_ttl_days": settings.invitation_ttl_days })
}

#[tracing::instrument(skip(conn, admin, plan), fields(plan = %plan.name))]
pub async fn add_plan(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    plan: &NewPlan,
) -> Result<Outcome, AppError> {
    let added = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(added) = plans::insert_plan(conn, plan).await? else {
                return Ok(false);
            };
            let after = serde_json::json!({ "name": added.name, "monthly_price_cents": added.monthly_price_cents, "included_seats": added.included_seats });
            let entry = audit::NewAuditEntry {
                after: Some(after),
                ..admin.actor().audit("plan.created", &added.name)
            };
            audit::record(conn, &entry).await?;
            Ok(true)
        })
        .await?;
    if added {
        return Ok(Outcome::Saved);
    }
    let mut errors = FieldErrors::default();
    errors.add("plan_name", "A plan with this name exists.");
    Ok(Outcome::Invalid(errors))
}

/// A model for the catalogue, every field checked.
#[derive(Debug, Clone)]
pub struct NewModel {
    pub provider: String,
    pub name: String,
    pub kind: TokenKind,
}

#[tracing::instrument(skip(conn, admin))]
pub async fn add_model(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    model: &NewModel,
) -> Result<Outcome, AppError> {
    let added = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(added) =
                ai_models::insert_model(conn, &model.provider, &model.name, model.kind).await?
            else {
                return Ok(false);
            };
            let target = format!("{}/{}", added.provider, added.name);
            audit::record(conn, &admin.actor().audit("model.added", &target)).await?;
            Ok(true)
        })
        .await?;
    if added {
        return Ok(Outcome::Saved);
    }
    let mut errors = FieldErrors::default();
    errors.add(
        "model_name",
        "This provider already has a model with this name.",
    );
    Ok(Outcome::Invalid(errors))
}

/// An endpoint of the policy API's catalogue: a name the gateway sends and a label people read.
#[derive(Debug)]
pub struct NewEndpoint {
    pub name: String,
    pub label: String,
}

/// Adds an endpoint to the catalogue (restrictions and IP entries can then name it).
#[tracing::instrument(skip(conn, admin))]
pub async fn add_endpoint(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    endpoint: &NewEndpoint,
) -> Result<Outcome, AppError> {
    let added = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if !access_policies::insert_endpoint(conn, &endpoint.name, &endpoint.label).await? {
                return Ok(false);
            }
            let entry = audit::NewAuditEntry {
                after: Some(serde_json::json!({ "label": endpoint.label })),
                ..admin.actor().audit("endpoint.added", &endpoint.name)
            };
            audit::record(conn, &entry).await?;
            Ok(true)
        })
        .await?;
    if added {
        return Ok(Outcome::Saved);
    }
    let mut errors = FieldErrors::default();
    errors.add(
        "endpoint_name",
        "The catalogue already has an endpoint with this name.",
    );
    Ok(Outcome::Invalid(errors))
}
