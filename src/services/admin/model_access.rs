//! The Manage dialog's Models tab: each organization's allowlist of the model catalogue.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::SuperAdmin;
use crate::domain::OrgId;
use crate::error::{AppError, TxError};
use crate::models::{ai_models, audit, org_models, organizations};
use crate::services::admin::organizations::Organization;

pub use crate::models::ai_models::AiModel;

/// The catalogue, and which of its models the organization may use.
pub struct ModelAccess {
    pub org: Organization,
    pub catalogue: Vec<AiModel>,
    pub allowed: Vec<i64>,
}

#[tracing::instrument(skip(conn, _admin))]
pub async fn current(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    org_id: OrgId,
) -> Result<ModelAccess, AppError> {
    let org = organizations::find(conn, org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ModelAccess {
        catalogue: ai_models::catalogue(conn).await?,
        allowed: org_models::allowed_model_ids(conn, org_id).await?,
        org,
    })
}

/// Replaces the organization's allowlist with these catalogue entries, and returns it.
#[tracing::instrument(skip(conn, admin))]
pub async fn set_models(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    org_id: OrgId,
    model_ids: &[i64],
) -> Result<ModelAccess, AppError> {
    let mut chosen = model_ids.to_vec();
    chosen.sort_unstable();
    chosen.dedup();
    let result = conn
        .transaction::<_, TxError<()>, _>(async |conn| {
            let org = organizations::find(conn, org_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let catalogue = ai_models::catalogue(conn).await?;
            if chosen
                .iter()
                .any(|id| !catalogue.iter().any(|m| m.id == *id))
            {
                return Err(TxError::Rejected(()));
            }
            let before = org_models::allowed_model_ids(conn, org_id).await?;
            org_models::set_allowed_models(conn, org_id, &chosen).await?;
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!(before)),
                after: Some(serde_json::json!(chosen)),
                ..admin.audit("organization.models_changed", org_id, &org.name)
            };
            audit::record(conn, &entry).await?;
            Ok(ModelAccess {
                org,
                catalogue,
                allowed: chosen.clone(),
            })
        })
        .await;
    match result {
        Ok(access) => Ok(access),
        Err(TxError::Rejected(())) => Err(AppError::BadRequest(
            "One of the chosen models is not in the catalogue. Reload the page and try again.",
        )),
        Err(TxError::Db(e)) => Err(e.into()),
    }
}
