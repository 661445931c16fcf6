//! Responses that work with and without JavaScript: one responder gives htmx the fragment and
//! everyone else the whole page, and every view gets the CSRF token (and a page its layout)
//! as askama runtime values, so no page or fragment struct carries them.

use std::any::Any;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use askama::{Template, Values};

use crate::error::AppError;
use crate::web::kit::context::Chrome;
use crate::web::kit::csrf;

/// Whether to answer with a fragment: an htmx request, but not a boosted one and not a history
/// restore (after the back button, htmx wants the whole page).
pub fn is_htmx(req: &HttpRequest) -> bool {
    let headers = req.headers();
    headers.get("HX-Request").is_some_and(|v| v == "true")
        && headers.get("HX-Boosted").is_none()
        && headers.get("HX-History-Restore-Request").is_none()
}

/// The id of the element an htmx request will swap (`HX-Target`).
pub fn target(req: &HttpRequest) -> Option<&str> {
    req.headers().get("HX-Target")?.to_str().ok()
}

/// A redirect after a successful POST: `303 See Other` for a plain form, `HX-Redirect` for htmx
/// (which would otherwise follow the 303 itself and swap the whole page into a fragment).
pub fn redirect(req: &HttpRequest, location: &str) -> HttpResponse {
    if is_htmx(req) {
        HttpResponse::Ok()
            .insert_header(("HX-Redirect", location))
            .finish()
    } else {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish()
    }
}

/// What templates read at run time: `askama::get_value::<String>("csrf_token")` (through
/// `components/_csrf.html`) and, in the app layout, the `Chrome`.
struct ViewValues {
    csrf_token: String,
    chrome: Option<Chrome>,
}

impl Values for ViewValues {
    fn get_value<'a>(&'a self, key: &str) -> Option<&'a dyn Any> {
        match key {
            "csrf_token" => Some(&self.csrf_token),
            "chrome" => self.chrome.as_ref().map(|chrome| chrome as &dyn Any),
            _ => None,
        }
    }
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// Renders with the request's CSRF token (setting a visitor's token cookie when it is new).
fn render(
    req: &HttpRequest,
    status: StatusCode,
    view: &impl Template,
    chrome: Option<Chrome>,
) -> Result<HttpResponse, AppError> {
    let (csrf_token, new_cookie) = csrf::token_for(req)?;
    let values = ViewValues { csrf_token, chrome };
    let mut response = html(status, view.render_with_values(&values)?);
    if let Some(cookie) = new_cookie {
        response
            .add_cookie(&cookie)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("setting the CSRF cookie: {e}")))?;
    }
    Ok(response)
}

/// A fragment, for htmx.
pub fn fragment(
    req: &HttpRequest,
    status: StatusCode,
    fragment: &impl Template,
) -> Result<HttpResponse, AppError> {
    render(req, status, fragment, None)
}

/// A whole page, with the layout of the signed-in user when there is one.
pub fn page(
    req: &HttpRequest,
    status: StatusCode,
    page: &impl Template,
) -> Result<HttpResponse, AppError> {
    render(req, status, page, Chrome::of(req))
}

/// The fragment for htmx, or the whole page built around it for everyone else.
pub fn respond<F: Template, P: Template>(
    req: &HttpRequest,
    status: StatusCode,
    fragment_view: F,
    page_view: impl FnOnce(F) -> P,
) -> Result<HttpResponse, AppError> {
    if is_htmx(req) {
        fragment(req, status, &fragment_view)
    } else {
        page(req, status, &page_view(fragment_view))
    }
}

/// Tells the page an htmx response changed something (`HX-Trigger`), so regions listening for
/// the event refresh themselves.
pub fn trigger(mut response: HttpResponse, event: &'static str) -> HttpResponse {
    response.headers_mut().insert(
        header::HeaderName::from_static("hx-trigger"),
        header::HeaderValue::from_static(event),
    );
    response
}

/// Swaps the response into another region than the request's target (`HX-Retarget`,
/// `HX-Reswap`): a form inside a dialog can close the dialog when it succeeds.
pub fn retarget(mut response: HttpResponse, target_id: &str, swap: &'static str) -> HttpResponse {
    if let Ok(target) = header::HeaderValue::from_str(&format!("#{target_id}")) {
        let headers = response.headers_mut();
        headers.insert(header::HeaderName::from_static("hx-retarget"), target);
        headers.insert(
            header::HeaderName::from_static("hx-reswap"),
            header::HeaderValue::from_static(swap),
        );
    }
    response
}
