//! htmx request detection and responses that work both with and without JavaScript.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::header;

pub fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().get("HX-Request").is_some_and(|v| v == "true")
        && req.headers().get("HX-Boosted").is_none()
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
