//! The super administrator's console: every route here needs a super administrator, checked
//! by the `Admin` extractor (which builds the `SuperAdmin` proof the services require).

mod manage;
mod oauth;
mod organizations;
mod purchases;
mod sales;
mod settings;
mod users;

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::services::SuperAdmin;
use crate::web::context::SignedInUser;
use crate::web::errors::AppError;
use crate::web::{AppState, client_ip};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/organizations", web::get().to(organizations::list))
        .route(
            "/admin/organizations",
            web::post().to(organizations::create),
        )
        .route(
            "/admin/organizations.csv",
            web::get().to(organizations::export_csv),
        )
        .route(
            "/admin/organizations/new",
            web::get().to(organizations::new_form),
        )
        .route(
            "/admin/organizations/{id}/manage",
            web::get().to(manage::show),
        )
        .route(
            "/admin/organizations/{id}/details",
            web::post().to(manage::save_details),
        )
        .route(
            "/admin/organizations/{id}/assign",
            web::post().to(manage::assign_users),
        )
        .route(
            "/admin/organizations/{id}/models",
            web::post().to(manage::save_models),
        )
        .route(
            "/admin/organizations/{id}/oauth",
            web::get().to(oauth::show),
        )
        .route(
            "/admin/organizations/{id}/oauth",
            web::post().to(oauth::save),
        )
        .route(
            "/admin/organizations/{id}/purchases",
            web::get().to(purchases::show),
        )
        .route(
            "/admin/organizations/{id}/purchases",
            web::post().to(purchases::record),
        )
        .route(
            "/admin/organizations/{id}/assignments",
            web::post().to(purchases::assign),
        )
        .route("/admin/sales-import", web::get().to(sales::show))
        .route("/admin/sales-import", web::post().to(sales::upload))
        .route("/admin/users", web::get().to(users::list))
        .route(
            "/admin/users/{id}/status",
            web::post().to(users::set_status),
        )
        .route("/admin/settings", web::get().to(settings::show))
        .route("/admin/settings", web::post().to(settings::save))
        .route("/admin/settings/plans", web::post().to(settings::add_plan))
        .route(
            "/admin/settings/models",
            web::post().to(settings::add_model),
        );
}

/// A request from a super administrator.
pub struct Admin {
    pub signed_in: SignedInUser,
    pub admin: SuperAdmin,
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = SignedInUser::from_request(req, payload);
        let ip = req
            .app_data::<web::Data<AppState>>()
            .and_then(|state| client_ip(req, &state.settings.trusted_proxies))
            .map(|ip| ip.to_string());
        Box::pin(async move {
            let signed_in = signed_in.await?;
            let admin = SuperAdmin::check(&signed_in, ip)?;
            Ok(Admin { signed_in, admin })
        })
    }
}
