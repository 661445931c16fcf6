//! Static assets compiled into the binary, so the release binary alone serves the console.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../static/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../static/app.js"),
    },
    Asset {
        name: "vendor/htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../static/vendor/htmx.min.js"),
    },
    Asset {
        name: "vendor/modern-normalize.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../static/vendor/modern-normalize.css"),
    },
];

/// Appended to asset URLs so a new release is never served from a stale cache.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub async fn serve(path: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|asset| asset.name == path.as_str()) {
        Some(asset) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, asset.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .body(asset.bytes),
        None => HttpResponse::NotFound().finish(),
    }
}
