//! `/settings/org/teams`: the team cards (search and pages swap in place, state in the URL),
//! Create Team (a dialog with htmx, a page without), and the card menu's Deactivate (with a
//! preview of who loses access) and Reactivate.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::OrgContext;
use crate::db::paging::Paging;
use crate::domain::{FieldErrors, TeamId, search_text};
use crate::error::AppError;
use crate::services::org::teams::{self as service, CreateOutcome, DeactivationPreview, TeamList};
use crate::web::AppState;
use crate::web::kit::listing::{Pager, query_string};
use crate::web::kit::{flash, htmx, paths};

#[derive(Debug, Default, Deserialize)]
pub struct TeamParams {
    q: Option<String>,
    page: Option<i64>,
}

/// Cards a page shows.
const CARDS_PER_PAGE: i64 = 24;

/// The grid region: cards, search, pager.
pub struct TeamGrid {
    pub list: TeamList,
    pub q: String,
    pub pager: Pager,
}

#[derive(Template)]
#[template(path = "org/teams/page.html")]
struct TeamsPage {
    org_name: String,
    grid: TeamGrid,
}

#[derive(Template)]
#[template(path = "org/teams/_grid.html")]
struct GridFragment {
    grid: TeamGrid,
}

fn href(q: &str, page: i64) -> String {
    let page = if page > 1 {
        page.to_string()
    } else {
        String::new()
    };
    let query = query_string(&[("q", q.to_owned()), ("page", page)]);
    if query.is_empty() {
        paths::TEAMS.path()
    } else {
        format!("{}?{query}", paths::TEAMS.path())
    }
}

pub async fn list(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    params: web::Query<TeamParams>,
) -> Result<HttpResponse, AppError> {
    let q =
        search_text(params.q.as_deref().unwrap_or_default()).map_err(AppError::Unprocessable)?;
    let paging = Paging {
        page: params.page.unwrap_or(1).clamp(1, 100_000),
        per_page: CARDS_PER_PAGE,
    };
    let list = service::list(&mut *state.pool.get().await?, &ctx, &q, paging).await?;
    let pager = Pager::new(paging, list.cards.len(), list.total, |n| href(&q, n));
    let grid = TeamGrid { list, q, pager };
    if htmx::is_htmx(&req) && htmx::target(&req) == Some(paths::targets::TEAM_GRID) {
        return htmx::fragment(&req, StatusCode::OK, &GridFragment { grid });
    }
    let page = TeamsPage {
        org_name: ctx.org_name,
        grid,
    };
    htmx::page(&req, StatusCode::OK, &page)
}

/// The Create Team form: what was typed and what is wrong with it.
#[derive(Default)]
pub struct NewTeamForm {
    pub name: String,
    pub description: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "org/teams/new/page.html")]
struct NewTeamPage {
    form: NewTeamForm,
}

#[derive(Template)]
#[template(path = "org/teams/new/_dialog.html")]
struct NewTeamDialog {
    form: NewTeamForm,
}

#[derive(Template)]
#[template(path = "org/teams/new/_form.html")]
struct NewTeamFragment {
    form: NewTeamForm,
}

pub async fn new_team(req: HttpRequest, ctx: OrgContext) -> Result<HttpResponse, AppError> {
    crate::access::require(&ctx, crate::access::Permission::CreateTeams)?;
    let form = NewTeamForm::default();
    htmx::respond(&req, StatusCode::OK, NewTeamDialog { form }, |dialog| {
        NewTeamPage { form: dialog.form }
    })
}

#[derive(Deserialize)]
pub struct NewTeamInput {
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    form: web::Form<NewTeamInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    match service::create(&mut conn, &ctx, &input.name, &input.description).await? {
        CreateOutcome::Created(team) => {
            flash(
                &req,
                format!("{} was created; you are its owner.", team.name),
            )?;
            Ok(htmx::redirect(
                &req,
                &paths::TEAM.with_id(team.id).to_string(),
            ))
        }
        CreateOutcome::Invalid(errors) => {
            let form = NewTeamForm {
                name: input.name,
                description: input.description,
                errors,
            };
            htmx::respond(
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                NewTeamFragment { form },
                |f| NewTeamPage { form: f.form },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "org/teams/deactivate/page.html")]
struct DeactivatePage {
    preview: DeactivationPreview,
}

#[derive(Template)]
#[template(path = "org/teams/deactivate/_dialog.html")]
struct DeactivateDialog {
    preview: DeactivationPreview,
}

/// Who would lose access: a dialog over the cards, or a page without JavaScript.
pub async fn deactivation_preview(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let preview =
        service::deactivation_preview(&mut *state.pool.get().await?, &ctx, TeamId(*path)).await?;
    htmx::respond(&req, StatusCode::OK, DeactivateDialog { preview }, |d| {
        DeactivatePage { preview: d.preview }
    })
}

pub async fn deactivate(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_active(req, ctx, state, TeamId(*path), false).await
}

pub async fn reactivate(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_active(req, ctx, state, TeamId(*path), true).await
}

async fn set_active(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    team_id: TeamId,
    active: bool,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let team =
        service::set_active(&mut *state.pool.get().await?, &ctx, team_id, active, now).await?;
    let message = if active {
        format!(
            "{} was reactivated; its members have access again.",
            team.name
        )
    } else {
        format!(
            "{} was deactivated; its {} members lost access to it.",
            team.name, team.member_count
        )
    };
    flash(&req, message)?;
    Ok(htmx::redirect(&req, &paths::TEAMS.path()))
}
