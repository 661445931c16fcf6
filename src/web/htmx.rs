//! htmx request detection and responses that work both with and without JavaScript.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::header;

/// Whether to answer with a fragment: an htmx request, but not a boosted one and not a history
/// restore (after the back button, htmx wants the whole page).
pub fn is_htmx(req: &HttpRequest) -> bool {
    let headers = req.headers();
    headers.get("HX-Request").is_some_and(|v| v == "true")
        && headers.get("HX-Boosted").is_none()
        && headers.get("HX-History-Restore-Request").is_none()
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

/// Renders any page or fragment as an HTML response with the given status (askama_web's
/// responder always answers 200).
pub trait Render: askama::Template {
    fn render_with(
        &self,
        status: actix_web::http::StatusCode,
    ) -> Result<HttpResponse, crate::web::errors::AppError> {
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(self.render()?))
    }
}

impl<T: askama::Template> Render for T {}
