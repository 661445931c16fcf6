//! The organization pages every member sees.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::OrgRole;
use crate::services::organizations::{self, Overview};
use crate::web::AppState;
use crate::web::context::{Chrome, SignedInUser};
use crate::web::errors::AppError;

#[derive(Template, WebTemplate)]
#[template(path = "org/overview.html")]
pub struct OverviewPage {
    pub chrome: Chrome,
    pub overview: Overview,
    pub my_role: OrgRole,
}

impl OverviewPage {
    pub fn owner_name(&self) -> String {
        self.overview
            .members
            .iter()
            .find(|(membership, _)| membership.role == OrgRole::Owner)
            .map(|(_, user)| user.display_name())
            .unwrap_or_default()
    }
}

pub async fn overview(
    signed_in: SignedInUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let Some(current) = signed_in.current_org() else {
        return Ok(HttpResponse::SeeOther()
            .insert_header(("Location", "/settings/account"))
            .finish());
    };
    let (org_id, my_role) = (current.org_id, current.role);
    let mut conn = state.pool.get().await?;
    let overview = organizations::overview(&mut conn, &signed_in, org_id).await?;
    let page = OverviewPage {
        chrome: Chrome::new(&signed_in, "org")?,
        overview,
        my_role,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
