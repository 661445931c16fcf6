//! The super administrator's console.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::models::organizations::Organization;
use crate::services;
use crate::web::AppState;
use crate::web::context::{Chrome, SignedInUser};
use crate::web::errors::AppError;

#[derive(Template, WebTemplate)]
#[template(path = "admin/organizations.html")]
pub struct OrganizationsPage {
    pub chrome: Chrome,
    pub organizations: Vec<Organization>,
}

pub async fn organizations(
    signed_in: SignedInUser,
    state: web::Data<AppState>,
) -> Result<OrganizationsPage, AppError> {
    let mut conn = state.pool.get().await?;
    let organizations =
        services::organizations::list_for_super_admin(&mut conn, &signed_in).await?;
    Ok(OrganizationsPage {
        chrome: Chrome::new(&signed_in, "organizations")?,
        organizations,
    })
}
