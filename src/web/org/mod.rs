//! `/settings/org`: the organization the member acts in (chosen in the header): the
//! Organization page (leave, transfer ownership), Members and invitations, Teams, the
//! Subscription tab and the provider keys.

pub mod audit;
pub mod invitations;
pub mod keys;
pub mod members;
pub mod security;
pub mod service_accounts;
pub mod subscription;
pub mod team;
pub mod teams;
pub mod usage;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::{self, OrgContext, Permission};
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::services::org::members as member_service;
use crate::services::org::{self, Overview};
use crate::web::AppState;
use crate::web::kit::{flash, htmx, paths};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ORG_OVERVIEW.pattern, web::get().to(overview))
        .route(paths::LEAVE_ORG.pattern, web::post().to(leave))
        .route(paths::TRANSFER_OWNERSHIP.pattern, web::post().to(transfer))
        .route(paths::MEMBERS.pattern, web::get().to(members::list))
        // Before `/users/{id}`, which would otherwise take "remove" as an id.
        .route(
            paths::MEMBER_REMOVAL.pattern,
            web::get().to(members::removal_preview),
        )
        .route(
            paths::MEMBER_REMOVAL.pattern,
            web::post().to(members::remove),
        )
        .route(paths::MEMBER.pattern, web::get().to(members::detail))
        .route(
            paths::MEMBER_ROLE.pattern,
            web::post().to(members::change_role),
        )
        .route(
            paths::MEMBER_DETAILS.pattern,
            web::post().to(members::update_details),
        )
        .route(paths::INVITE.pattern, web::get().to(invitations::list))
        .route(paths::INVITE.pattern, web::post().to(invitations::invite))
        .route(
            paths::INVITATION_RESEND.pattern,
            web::post().to(invitations::resend),
        )
        .route(
            paths::INVITATION_CANCEL.pattern,
            web::post().to(invitations::cancel),
        )
        .route(paths::TEAMS.pattern, web::get().to(teams::list))
        .route(paths::TEAMS.pattern, web::post().to(teams::create))
        // Before `/teams/{id}`, which would otherwise take "new" as an id.
        .route(paths::NEW_TEAM.pattern, web::get().to(teams::new_team))
        .route(paths::TEAM.pattern, web::get().to(team::page))
        .route(
            paths::TEAM_CANDIDATES.pattern,
            web::get().to(team::find_candidates),
        )
        .route(paths::TEAM_ADD.pattern, web::post().to(team::add))
        .route(paths::TEAM_ROLE.pattern, web::post().to(team::change_role))
        .route(paths::TEAM_REMOVE.pattern, web::post().to(team::remove))
        .route(
            paths::TEAM_TRANSFER.pattern,
            web::get().to(team::confirm_transfer),
        )
        .route(paths::TEAM_TRANSFER.pattern, web::post().to(team::transfer))
        .route(
            paths::TEAM_DEACTIVATE.pattern,
            web::get().to(teams::deactivation_preview),
        )
        .route(
            paths::TEAM_DEACTIVATE.pattern,
            web::post().to(teams::deactivate),
        )
        .route(
            paths::TEAM_REACTIVATE.pattern,
            web::post().to(teams::reactivate),
        )
        .route(paths::TEAM_BUDGET.pattern, web::get().to(team::budget))
        .route(paths::TEAM_BUDGET.pattern, web::post().to(team::fund))
        .route(paths::TEAM_WITHDRAW.pattern, web::post().to(team::withdraw))
        .route(
            paths::SUBSCRIPTION.pattern,
            web::get().to(subscription::page),
        )
        .route(
            paths::SUBSCRIPTION_PLAN.pattern,
            web::post().to(subscription::change_plan),
        )
        .route(
            paths::SUBSCRIPTION_SEAT.pattern,
            web::get().to(subscription::preview_seat),
        )
        .route(
            paths::SUBSCRIPTION_SEAT.pattern,
            web::post().to(subscription::set_seat),
        )
        .route(
            paths::SUBSCRIPTION_ADMIN.pattern,
            web::post().to(subscription::set_subscription_admin),
        )
        .route(
            paths::SUBSCRIPTION_STATEMENTS.pattern,
            web::get().to(subscription::find_statement),
        )
        .route(
            paths::SUBSCRIPTION_STATEMENT.pattern,
            web::get().to(subscription::statement_csv),
        )
        .route(
            paths::SUBSCRIPTION_CANCEL.pattern,
            web::get().to(subscription::confirm_cancel),
        )
        .route(
            paths::SUBSCRIPTION_CANCEL.pattern,
            web::post().to(subscription::cancel),
        )
        .route(paths::PROVIDER_KEYS.pattern, web::get().to(keys::page))
        .route(paths::PROVIDER_KEYS.pattern, web::post().to(keys::add))
        .route(paths::USAGE.pattern, web::get().to(usage::page))
        .route(paths::USAGE_CSV.pattern, web::get().to(usage::csv))
        .route(paths::ORG_AUDIT.pattern, web::get().to(audit::show))
        .route(paths::ORG_AUDIT_CSV.pattern, web::get().to(audit::csv))
        .route(
            paths::ORG_AUDIT_VERIFY.pattern,
            web::post().to(audit::verify),
        )
        .route(
            paths::ORG_AUDIT_VERIFICATION.pattern,
            web::get().to(audit::verification),
        )
        .route(
            paths::USAGE_ALERTS.pattern,
            web::post().to(usage::set_alerts),
        )
        .route(
            paths::SERVICE_ACCOUNTS.pattern,
            web::get().to(service_accounts::page),
        )
        .route(
            paths::SERVICE_ACCOUNTS.pattern,
            web::post().to(service_accounts::create),
        )
        .route(paths::SECURITY.pattern, web::get().to(security::page))
        .route(
            paths::SECURITY_SSO.pattern,
            web::post().to(security::set_sso),
        )
        .route(
            paths::SECURITY_EXPLAIN.pattern,
            web::get().to(security::explain),
        )
        .route(
            paths::SECURITY_IP.pattern,
            web::post().to(security::add_ip_entry),
        )
        .route(
            paths::SECURITY_IP_REMOVE.pattern,
            web::post().to(security::remove_ip_entry),
        )
        .route(
            paths::SECURITY_IP_ENFORCE.pattern,
            web::post().to(security::enforce_ip_entry),
        )
        .route(
            paths::SECURITY_RESTRICTIONS.pattern,
            web::post().to(security::set_restriction),
        )
        .route(
            paths::SECURITY_RESTRICTION_REMOVE.pattern,
            web::post().to(security::remove_restriction),
        )
        .route(
            paths::SECURITY_RESTRICTION_ENFORCE.pattern,
            web::post().to(security::enforce_restriction),
        )
        .route(
            paths::ORG_API_KEYS.pattern,
            web::post().to(keys::create_api_key),
        )
        .route(
            paths::ORG_API_KEY.pattern,
            web::get().to(keys::api_key_page),
        )
        .route(
            paths::ORG_API_KEY_REVOKE.pattern,
            web::post().to(keys::revoke_api_key),
        )
        .route(
            paths::ORG_API_KEY_ROTATE.pattern,
            web::post().to(keys::rotate_api_key),
        )
        .route(
            paths::PROVIDER_KEY_ROTATE.pattern,
            web::get().to(keys::rotate_form),
        )
        .route(
            paths::PROVIDER_KEY_ROTATE.pattern,
            web::post().to(keys::rotate),
        )
        .route(
            paths::PROVIDER_KEY_REMOVE.pattern,
            web::get().to(keys::confirm_remove),
        )
        .route(
            paths::PROVIDER_KEY_REMOVE.pattern,
            web::post().to(keys::remove),
        );
}

#[derive(Template)]
#[template(path = "org/page.html")]
struct OverviewPage {
    ctx: OrgContext,
    overview: Overview,
    can_leave: Result<(), crate::error::Denied>,
    can_transfer: bool,
    transfer_email: String,
    transfer_error: Option<String>,
}

async fn overview_page(
    req: &HttpRequest,
    ctx: OrgContext,
    state: &AppState,
    status: StatusCode,
    transfer_email: String,
    transfer_error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let overview = org::overview(&mut conn, &ctx).await?;
    let page = OverviewPage {
        can_leave: access::require(&ctx, Permission::LeaveOrganization),
        can_transfer: access::require(&ctx, Permission::ManageBilling).is_ok(),
        ctx,
        overview,
        transfer_email,
        transfer_error,
    };
    htmx::page(req, status, &page)
}

async fn overview(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    overview_page(&req, ctx, &state, StatusCode::OK, String::new(), None).await
}

async fn leave(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    member_service::leave(&mut *state.pool.get().await?, &ctx, state.clock.now()).await?;
    flash(&req, format!("You left {}.", ctx.org_name))?;
    Ok(htmx::redirect(&req, &paths::ACCOUNT_PAGE.path()))
}

#[derive(Deserialize)]
struct TransferInput {
    email: String,
}

async fn transfer(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    form: web::Form<TransferInput>,
) -> Result<HttpResponse, AppError> {
    access::require(&ctx, Permission::ManageBilling)?;
    let typed = form.email.clone();
    let found = match EmailAddress::parse(&typed) {
        Ok(email) => {
            member_service::member_by_email(&mut *state.pool.get().await?, &ctx, &email).await?
        }
        Err(e) => {
            let error = Some(e.to_string());
            return overview_page(
                &req,
                ctx,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                typed,
                error,
            )
            .await;
        }
    };
    let Some(user_id) = found else {
        let error = Some("No member of this organization has this email.".to_owned());
        return overview_page(
            &req,
            ctx,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            typed,
            error,
        )
        .await;
    };
    let row =
        member_service::transfer_ownership(&mut *state.pool.get().await?, &ctx, user_id).await?;
    flash(
        &req,
        format!(
            "{} now owns {}; you are an admin.",
            row.user.email, ctx.org_name
        ),
    )?;
    Ok(htmx::redirect(&req, &paths::ORG_OVERVIEW.path()))
}
