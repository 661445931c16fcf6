//! The OAuth dialog: per-organization OAuth/OIDC client settings.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::domain::{FieldErrors, OrgId};
use crate::models::organizations::Organization;
use crate::services::oauth::{self as service, OAuthInput, SaveOutcome};
use crate::services::organizations as orgs;
use crate::web::admin::Admin;
use crate::web::context::Chrome;
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::session::{AppSession, FlashKind};
use crate::web::{AppState, htmx};

pub struct OAuthForm {
    pub org: Organization,
    pub csrf_token: String,
    pub issuer_url: String,
    pub client_id: String,
    pub has_secret: bool,
    pub errors: FieldErrors,
    pub saved: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/oauth/page.html")]
pub struct OAuthPage {
    pub chrome: Chrome,
    pub form: OAuthForm,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/oauth/_dialog.html")]
pub struct OAuthDialog {
    pub form: OAuthForm,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/oauth/_form.html")]
pub struct OAuthFormFragment {
    pub form: OAuthForm,
}

pub async fn show(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let org = orgs::find(&mut conn, &admin.admin, OrgId(path.into_inner())).await?;
    let current = service::current(&mut conn, &admin.admin, org.id).await?;
    let form = OAuthForm {
        org,
        csrf_token: admin.signed_in.session.csrf_token()?,
        issuer_url: current
            .as_ref()
            .map(|c| c.issuer_url.clone())
            .unwrap_or_default(),
        client_id: current
            .as_ref()
            .map(|c| c.client_id.clone())
            .unwrap_or_default(),
        has_secret: current.is_some(),
        errors: FieldErrors::default(),
        saved: false,
    };
    if htmx::is_htmx(&req) {
        return OAuthDialog { form }.render_with(StatusCode::OK);
    }
    OAuthPage {
        chrome: Chrome::new(&admin.signed_in, "organizations")?,
        form,
    }
    .render_with(StatusCode::OK)
}

pub async fn save(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<OAuthInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let org = orgs::find(&mut conn, &admin.admin, OrgId(path.into_inner())).await?;
    let outcome = service::save(
        &mut conn,
        &admin.admin,
        &state.settings.master_key_bytes(),
        org.id,
        &input,
    )
    .await?;
    let has_secret = service::current(&mut conn, &admin.admin, org.id)
        .await?
        .is_some();
    let (status, errors, saved) = match outcome {
        SaveOutcome::Saved => {
            if !htmx::is_htmx(&req) {
                admin.signed_in.session.push_flash(
                    FlashKind::Success,
                    format!("The OAuth settings of {} were saved.", org.name),
                )?;
                return Ok(htmx::redirect(&req, "/admin/organizations"));
            }
            (StatusCode::OK, FieldErrors::default(), true)
        }
        SaveOutcome::Invalid(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, false),
    };
    let form = OAuthForm {
        org,
        csrf_token: admin.signed_in.session.csrf_token()?,
        issuer_url: input.issuer_url,
        client_id: input.client_id,
        has_secret,
        errors,
        saved,
    };
    if htmx::is_htmx(&req) {
        return OAuthFormFragment { form }.render_with(status);
    }
    let page = OAuthPage {
        chrome: Chrome::new(&admin.signed_in, "organizations")?,
        form,
    };
    page.render_with(status)
}
