//! Who is asking, per request. Each area's fence loads the current user from the database
//! (and, under `/settings/org`, the organization they act in) before any handler runs, so a
//! route is protected by where it is mounted; handlers take the proofs as extractors.

use std::future::{Ready, ready};

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::access::{CurrentUser, OrgContext, SuperAdmin};
use crate::domain::OrgId;
use crate::error::AppError;
use crate::services::account::UserOrganization;
use crate::web::AppState;
use crate::web::kit::session::{AppSession, Flash};
use crate::web::kit::{htmx, origin, paths};

fn state(req: &HttpRequest) -> Result<&web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))
}

/// The signed-in user of this request: read with the session in one statement by the session
/// store, checked against the session's timeouts, and kept in the request's extensions.
async fn load_current_user(req: &HttpRequest) -> Result<CurrentUser, AppError> {
    if let Some(user) = req.extensions().get::<CurrentUser>() {
        return Ok(user.clone());
    }
    let state = state(req)?;
    let session = req.get_session();
    let now = state.clock.now().timestamp();
    let Some(times) = session.sign_in_times() else {
        return Err(AppError::Unauthenticated);
    };
    // Read with the session by its store, in the same statement; then the limits of its role.
    let user = session
        .current_user()
        .filter(|user| user.id == times.user_id)
        .filter(|user| !times.expired(now, &state.settings.session_limits, user.is_super_admin()));
    let Some(mut user) = user else {
        session.purge();
        return Err(AppError::Unauthenticated);
    };
    let origin = origin(req, &state.settings.trusted_proxies);
    user.ip = origin.ip;
    user.request_id = origin.request_id;
    req.extensions_mut().insert(user.clone());
    Ok(user)
}

type FenceResult<B> = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

/// Runs the request when `admit` lets it in, or answers with its refusal.
async fn fence<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
    admit: impl AsyncFnOnce(&HttpRequest) -> Result<(), AppError>,
) -> FenceResult<B> {
    match admit(req.request()).await {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(refusal) => Ok(req.error_response(refusal).map_into_right_body()),
    }
}

/// Pages of one's own account: any signed-in user.
pub async fn signed_in_fence<B: MessageBody>(req: ServiceRequest, next: Next<B>) -> FenceResult<B> {
    fence(req, next, async |req| {
        load_current_user(req).await.map(drop)
    })
    .await
}

/// `/admin`: super administrators only. Handlers take the `SuperAdmin` proof it leaves.
pub async fn super_admin_fence<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> FenceResult<B> {
    fence(req, next, async |req| {
        let user = load_current_user(req).await?;
        let admin = SuperAdmin::check(&user)?;
        req.extensions_mut().insert(admin);
        Ok(())
    })
    .await
}

/// `/settings/org`: members of the organization chosen in the header. Their membership is read
/// from the database on this request, so a removal bites on the next one. A user with no
/// organization is sent to their account page.
pub async fn org_fence<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let user = match load_current_user(req.request()).await {
        Ok(user) => user,
        Err(refusal) => return Ok(req.error_response(refusal).map_into_right_body()),
    };
    let chosen = req.get_session().chosen_org();
    let Some(ctx) = OrgContext::choose(user, chosen) else {
        let redirect = htmx::redirect(req.request(), paths::ACCOUNT);
        return Ok(req.into_response(redirect).map_into_right_body());
    };
    req.extensions_mut().insert(ctx);
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Taken from the fence's work when there is one, loaded otherwise (`/`, `/login`).
impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<CurrentUser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load_current_user(&req).await })
    }
}

/// A proof left by a fence; a handler mounted outside its fence fails loudly instead of
/// running unchecked.
fn from_fence<T: Clone + 'static>(req: &HttpRequest) -> Ready<Result<T, AppError>> {
    ready(req.extensions().get::<T>().cloned().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "{} is mounted outside the fence that proves {}",
            req.path(),
            std::any::type_name::<T>()
        ))
    }))
}

impl FromRequest for SuperAdmin {
    type Error = AppError;
    type Future = Ready<Result<SuperAdmin, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        from_fence(req)
    }
}

impl FromRequest for OrgContext {
    type Error = AppError;
    type Future = Ready<Result<OrgContext, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        from_fence(req)
    }
}

/// Proof that the password was entered recently (at sign-in or to confirm): sensitive
/// super-admin actions (platform settings, OAuth secrets, disabling accounts) take it. When it
/// is too old the person is asked for it, then brought back to the page they were on.
pub struct PasswordConfirmed;

impl FromRequest for PasswordConfirmed {
    type Error = AppError;
    type Future = Ready<Result<PasswordConfirmed, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(password_confirmed(req))
    }
}

fn password_confirmed(req: &HttpRequest) -> Result<PasswordConfirmed, AppError> {
    let state = state(req)?;
    let entered = req.get_session().password_entered_at();
    if state.clock.now().timestamp() - entered <= state.settings.session_limits.confirm_secs {
        return Ok(PasswordConfirmed);
    }
    // Back to this page (a GET), or to the page whose form was sent (its Referer).
    let back = if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned())
    } else {
        req.headers()
            .get(actix_web::http::header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(|r| r.parse::<actix_web::http::Uri>().ok())
            .and_then(|uri| uri.path_and_query().map(|p| p.as_str().to_owned()))
            .filter(|path| super::is_local_path(path))
            .unwrap_or_else(|| paths::HOME.path())
    };
    Err(AppError::ConfirmPassword { back })
}

/// Everything the shared layout shows: header, organization switcher, sidebar, flashes.
pub struct Chrome {
    pub user_name: String,
    pub user_email: String,
    pub is_super_admin: bool,
    pub organizations: Vec<UserOrganization>,
    pub current_org: Option<OrgId>,
    pub flashes: Vec<Flash>,
    /// The path of the page, to mark its sidebar entry.
    path: String,
}

impl Chrome {
    /// Whether the user is an owner or admin of the organization they act in (or a super
    /// administrator), for the sidebar's management pages.
    pub fn manages_current_org(&self) -> bool {
        self.is_super_admin
            || self.organizations.iter().any(|org| {
                Some(org.org_id) == self.current_org
                    && matches!(
                        org.role,
                        crate::domain::OrgRole::Owner | crate::domain::OrgRole::Admin
                    )
            })
    }

    /// The layout of a signed-in page; `None` for visitors. Takes the flashes waiting to be shown.
    pub fn of(req: &HttpRequest) -> Option<Chrome> {
        // The session first: it borrows the extensions mutably the first time.
        let session = req.get_session();
        let extensions = req.extensions();
        let user = extensions.get::<CurrentUser>()?;
        Some(Chrome {
            user_name: user.display_name(),
            user_email: user.email.clone(),
            is_super_admin: user.is_super_admin(),
            organizations: user.organizations.clone(),
            current_org: user.acting_in(session.chosen_org()).map(|org| org.org_id),
            flashes: session.take_flashes(),
            path: req.path().to_owned(),
        })
    }

    pub fn is_current_org(&self, org_id: &OrgId) -> bool {
        self.current_org.as_ref() == Some(org_id)
    }

    /// Whether this is exactly the page at `path`.
    pub fn path_is(&self, path: impl AsRef<str>) -> bool {
        self.path == path.as_ref()
    }

    /// Whether the sidebar entry for `section` is the current page's: `aria-current` on it.
    pub fn is_section(&self, section: impl AsRef<str>) -> bool {
        let section = section.as_ref();
        self.path == section || self.path.starts_with(&format!("{section}/"))
    }
}
