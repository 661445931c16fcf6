//! The super administrator's console, mounted under `/admin` behind the super admin fence
//! (`web::kit::context::super_admin_fence`): every handler here takes the `SuperAdmin` proof.

mod audit;
mod organizations;
mod sales;
mod settings;
mod users;

use actix_web::web;

use crate::web::kit::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    use organizations::{manage, new, oauth, purchases};
    cfg.route(
        paths::ORGANIZATIONS.pattern,
        web::get().to(organizations::list),
    )
    .route(paths::ORGANIZATIONS.pattern, web::post().to(new::create))
    .route(
        paths::ORGANIZATIONS_CSV.pattern,
        web::get().to(organizations::export_csv),
    )
    .route(paths::NEW_ORGANIZATION.pattern, web::get().to(new::form))
    .route(paths::MANAGE.pattern, web::get().to(manage::show))
    .route(paths::DETAILS.pattern, web::post().to(manage::save_details))
    .route(
        paths::ASSIGN_USERS.pattern,
        web::post().to(manage::assign_users),
    )
    .route(
        paths::MODEL_ACCESS.pattern,
        web::post().to(manage::save_models),
    )
    .route(paths::OAUTH.pattern, web::get().to(oauth::show))
    .route(paths::OAUTH.pattern, web::post().to(oauth::save))
    .route(paths::PURCHASES.pattern, web::get().to(purchases::show))
    .route(paths::PURCHASES.pattern, web::post().to(purchases::record))
    .route(
        paths::TOKEN_ASSIGNMENTS.pattern,
        web::post().to(purchases::assign),
    )
    .route(paths::SALES_IMPORT.pattern, web::get().to(sales::show))
    .route(paths::SALES_IMPORT.pattern, web::post().to(sales::upload))
    .route(paths::USERS.pattern, web::get().to(users::list))
    .route(
        paths::USER_STATUS.pattern,
        web::post().to(users::set_status),
    )
    .route(paths::SETTINGS.pattern, web::get().to(settings::show))
    .route(paths::ADMIN_AUDIT.pattern, web::get().to(audit::show))
    .route(paths::ADMIN_AUDIT_CSV.pattern, web::get().to(audit::csv))
    .route(
        paths::ADMIN_AUDIT_VERIFY.pattern,
        web::post().to(audit::verify),
    )
    .route(
        paths::ADMIN_AUDIT_VERIFICATION.pattern,
        web::get().to(audit::verification),
    )
    .route(paths::SETTINGS.pattern, web::post().to(settings::save))
    .route(
        paths::SETTINGS_PLANS.pattern,
        web::post().to(settings::add_plan),
    )
    .route(
        paths::SETTINGS_MODELS.pattern,
        web::post().to(settings::add_model),
    )
    .route(
        paths::SETTINGS_ENDPOINTS.pattern,
        web::post().to(settings::add_endpoint),
    );
}
