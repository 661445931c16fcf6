//! `/settings/org/teams/{id}`: one team. The Members tab lists its members (search and pages
//! swap in place), adds members of the organization found as you type, changes team roles by
//! dropdown, removes members and hands the team over; the Budget tab shows and assigns its
//! tokens. Without JavaScript each is a plain link, GET form or POST answered with a page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::OrgContext;
use crate::db::paging::Paging;
use crate::domain::{FieldErrors, TeamId, TeamRole, TokenKind, UserId, search_text};
use crate::error::AppError;
use crate::services::org::teams::{
    self as service, Budget, FundOutcome, TeamMemberRow, TeamView, User,
};
use crate::web::AppState;
use crate::web::kit::listing::{Pager, query_string};
use crate::web::kit::{flash, htmx, paths};

#[derive(Debug, Default, Deserialize)]
pub struct TeamMemberParams {
    /// Searches the team's members.
    q: Option<String>,
    page: Option<i64>,
    /// Searches the organization's members to add.
    add: Option<String>,
}

/// The member table region.
pub struct MemberTable {
    pub team_id: TeamId,
    pub rows: Vec<TeamMemberRow>,
    pub q: String,
    pub pager: Pager,
    pub self_href: String,
    /// The team roles the viewer may give (empty: no controls).
    pub roles: Vec<TeamRole>,
}

impl MemberTable {
    pub fn manages(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// The add-member search and what it found.
pub struct Candidates {
    pub team_id: TeamId,
    pub q: String,
    pub found: Vec<User>,
    /// What the last addition did, announced to screen readers.
    pub message: Option<String>,
}

#[derive(Template)]
#[template(path = "org/team/page.html")]
struct TeamPage {
    view: TeamView,
    table: MemberTable,
    /// For those who manage the team.
    candidates: Option<Candidates>,
}

#[derive(Template)]
#[template(path = "org/team/_table.html")]
struct TableFragment {
    table: MemberTable,
}

#[derive(Template)]
#[template(path = "org/team/_row.html")]
struct RowFragment<'a> {
    row: &'a TeamMemberRow,
    roles: &'a [TeamRole],
    team_id: TeamId,
}

#[derive(Template)]
#[template(path = "org/team/_candidates.html")]
struct CandidatesFragment {
    candidates: Candidates,
}

/// What an htmx removal answers: no row, and the news out of band.
#[derive(Template)]
#[template(path = "org/team/_removed.html")]
struct RemovedFragment {
    message: String,
}

fn href(team_id: TeamId, q: &str, page: i64) -> String {
    let page = if page > 1 {
        page.to_string()
    } else {
        String::new()
    };
    let base = paths::TEAM.with_id(team_id).to_string();
    match query_string(&[("q", q.to_owned()), ("page", page)]) {
        query if query.is_empty() => base,
        query => format!("{base}?{query}"),
    }
}

fn searched(raw: Option<&str>) -> Result<String, AppError> {
    search_text(raw.unwrap_or_default()).map_err(AppError::Unprocessable)
}

async fn member_table(
    state: &AppState,
    ctx: &OrgContext,
    view: &TeamView,
    params: &TeamMemberParams,
) -> Result<MemberTable, AppError> {
    let q = searched(params.q.as_deref())?;
    let paging = Paging::new(params.page, Some(25));
    let list = service::members(&mut *state.pool.get().await?, ctx, view, &q, paging).await?;
    let team_id = view.team.id;
    Ok(MemberTable {
        team_id,
        pager: Pager::new(paging, list.rows.len(), list.total, |n| {
            href(team_id, &q, n)
        }),
        self_href: href(team_id, &q, paging.page),
        rows: list.rows,
        q,
        roles: view.roles.clone(),
    })
}

async fn candidates(
    state: &AppState,
    ctx: &OrgContext,
    view: &TeamView,
    q: String,
    message: Option<String>,
) -> Result<Candidates, AppError> {
    let found = service::candidates(&mut *state.pool.get().await?, ctx, view, &q).await?;
    Ok(Candidates {
        team_id: view.team.id,
        q,
        found,
        message,
    })
}

async fn whole_page(
    state: &AppState,
    ctx: &OrgContext,
    team_id: TeamId,
    params: &TeamMemberParams,
) -> Result<TeamPage, AppError> {
    let view = service::open(&mut *state.pool.get().await?, ctx, team_id).await?;
    let table = member_table(state, ctx, &view, params).await?;
    let candidates = if view.manage.is_allowed() {
        let q = searched(params.add.as_deref())?;
        Some(candidates(state, ctx, &view, q, None).await?)
    } else {
        None
    };
    Ok(TeamPage {
        view,
        table,
        candidates,
    })
}

pub async fn page(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<TeamMemberParams>,
) -> Result<HttpResponse, AppError> {
    let team_id = TeamId(*path);
    if htmx::is_htmx(&req) && htmx::target(&req) == Some(paths::targets::TEAM_MEMBER_TABLE) {
        let view = service::open(&mut *state.pool.get().await?, &ctx, team_id).await?;
        let table = member_table(&state, &ctx, &view, &params).await?;
        return htmx::fragment(&req, StatusCode::OK, &TableFragment { table });
    }
    let page = whole_page(&state, &ctx, team_id, &params).await?;
    htmx::page(&req, StatusCode::OK, &page)
}

/// The add-member search as you type (htmx), or the team's page with its results.
pub async fn find_candidates(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<TeamMemberParams>,
) -> Result<HttpResponse, AppError> {
    let team_id = TeamId(*path);
    if htmx::is_htmx(&req) {
        let q = searched(params.add.as_deref())?;
        let view = service::open(&mut *state.pool.get().await?, &ctx, team_id).await?;
        let candidates = candidates(&state, &ctx, &view, q, None).await?;
        return htmx::fragment(&req, StatusCode::OK, &CandidatesFragment { candidates });
    }
    let page = whole_page(&state, &ctx, team_id, &params).await?;
    htmx::page(&req, StatusCode::OK, &page)
}

/// A member picked on a form (`user`).
#[derive(Deserialize)]
pub struct PickedMember {
    user: i64,
    /// The add-member search to show again afterwards.
    #[serde(default)]
    add: String,
}

pub async fn add(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<PickedMember>,
) -> Result<HttpResponse, AppError> {
    let team_id = TeamId(*path);
    let q = searched(Some(&form.add))?;
    let user = service::add_member(
        &mut *state.pool.get().await?,
        &ctx,
        team_id,
        UserId(form.user),
    )
    .await?;
    let message = format!("{} joined the team as a member.", user.display_name());
    if htmx::is_htmx(&req) {
        let view = service::open(&mut *state.pool.get().await?, &ctx, team_id).await?;
        let candidates = candidates(&state, &ctx, &view, q, Some(message)).await?;
        let response = htmx::fragment(&req, StatusCode::OK, &CandidatesFragment { candidates })?;
        return Ok(htmx::trigger(response, paths::events::TEAM_MEMBERS_CHANGED));
    }
    flash(&req, message)?;
    let back = paths::TEAM.with_id(team_id).to_string();
    let back = match query_string(&[("add", q)]) {
        query if query.is_empty() => back,
        query => format!("{back}?{query}"),
    };
    Ok(htmx::redirect(&req, &back))
}

#[derive(Deserialize)]
pub struct RoleInput {
    user: i64,
    role: String,
}

pub async fn change_role(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<RoleInput>,
) -> Result<HttpResponse, AppError> {
    let team_id = TeamId(*path);
    let role: TeamRole = form
        .role
        .parse()
        .map_err(|_| AppError::BadRequest("Unknown team role."))?;
    let (view, row) = service::change_role(
        &mut *state.pool.get().await?,
        &ctx,
        team_id,
        UserId(form.user),
        role,
    )
    .await?;
    if htmx::is_htmx(&req) {
        let fragment = RowFragment {
            row: &row,
            roles: &view.roles,
            team_id,
        };
        return htmx::fragment(&req, StatusCode::OK, &fragment);
    }
    flash(
        &req,
        format!(
            "{} is now a team {}.",
            row.user.display_name(),
            row.member.role.label().to_lowercase()
        ),
    )?;
    Ok(htmx::redirect(
        &req,
        &paths::TEAM.with_id(team_id).to_string(),
    ))
}

pub async fn remove(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<PickedMember>,
) -> Result<HttpResponse, AppError> {
    let team_id = TeamId(*path);
    let user = service::remove_member(
        &mut *state.pool.get().await?,
        &ctx,
        team_id,
        UserId(form.user),
    )
    .await?;
    let message = format!("{} was removed from the team.", user.display_name());
    if htmx::is_htmx(&req) {
        let response = htmx::fragment(&req, StatusCode::OK, &RemovedFragment { message })?;
        return Ok(htmx::trigger(response, paths::events::TEAM_MEMBERS_CHANGED));
    }
    flash(&req, message)?;
    Ok(htmx::redirect(
        &req,
        &paths::TEAM.with_id(team_id).to_string(),
    ))
}

#[derive(Template)]
#[template(path = "org/team/transfer/page.html")]
struct TransferPage {
    view: TeamView,
    row: TeamMemberRow,
}

#[derive(Template)]
#[template(path = "org/team/transfer/_dialog.html")]
struct TransferDialog {
    view: TeamView,
    row: TeamMemberRow,
}

#[derive(Deserialize)]
pub struct TransferParams {
    user: i64,
}

/// The confirmation before handing the team over.
pub async fn confirm_transfer(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<TransferParams>,
) -> Result<HttpResponse, AppError> {
    let (view, row) = service::transfer_target(
        &mut *state.pool.get().await?,
        &ctx,
        TeamId(*path),
        UserId(params.user),
    )
    .await?;
    htmx::respond(&req, StatusCode::OK, TransferDialog { view, row }, |d| {
        TransferPage {
            view: d.view,
            row: d.row,
        }
    })
}

pub async fn transfer(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<TransferParams>,
) -> Result<HttpResponse, AppError> {
    let team_id = TeamId(*path);
    let user = service::transfer(
        &mut *state.pool.get().await?,
        &ctx,
        team_id,
        UserId(form.user),
    )
    .await?;
    flash(
        &req,
        format!(
            "{} now owns the team; you are a team admin.",
            user.display_name()
        ),
    )?;
    Ok(htmx::redirect(
        &req,
        &paths::TEAM.with_id(team_id).to_string(),
    ))
}

/// The Budget tab's assignment form.
#[derive(Default)]
pub struct FundForm {
    pub kind: String,
    pub tokens: String,
    pub errors: FieldErrors,
}

impl FundForm {
    /// The kind select's choices.
    pub fn kinds(&self) -> Vec<(&'static str, &'static str)> {
        TokenKind::ALL
            .iter()
            .map(|kind| (kind.as_str(), kind.label()))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "org/team/budget.html")]
struct BudgetPage {
    view: TeamView,
    budget: Budget,
    form: FundForm,
}

async fn budget_page(
    req: &HttpRequest,
    ctx: &OrgContext,
    state: &AppState,
    team_id: TeamId,
    status: StatusCode,
    form: FundForm,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let view = service::open(&mut conn, ctx, team_id).await?;
    let budget = service::budget(&mut conn, ctx, &view).await?;
    htmx::page(req, status, &BudgetPage { view, budget, form })
}

pub async fn budget(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let form = FundForm {
        kind: TokenKind::Inference.as_str().to_owned(),
        ..FundForm::default()
    };
    budget_page(&req, &ctx, &state, TeamId(*path), StatusCode::OK, form).await
}

#[derive(Deserialize)]
pub struct FundInput {
    kind: String,
    tokens: String,
}

pub async fn fund(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<FundInput>,
) -> Result<HttpResponse, AppError> {
    let team_id = TeamId(*path);
    let input = input.into_inner();
    let mut errors = FieldErrors::default();
    let kind = errors.check(
        "kind",
        input
            .kind
            .parse::<TokenKind>()
            .map_err(|_| "Choose a kind of token."),
    );
    let tokens = errors.check(
        "tokens",
        input
            .tokens
            .trim()
            .replace([',', '_', ' '], "")
            .parse::<i64>()
            .map_err(|_| "Enter a whole number of tokens above zero."),
    );
    let outcome = match (kind, tokens) {
        (Some(kind), Some(tokens)) => {
            service::fund(&mut *state.pool.get().await?, &ctx, team_id, kind, tokens).await?
        }
        _ => FundOutcome::Invalid(errors),
    };
    match outcome {
        FundOutcome::Funded => {
            flash(&req, "The tokens were assigned to the team.")?;
            Ok(htmx::redirect(
                &req,
                &paths::TEAM_BUDGET.with_id(team_id).to_string(),
            ))
        }
        FundOutcome::Invalid(errors) => {
            let form = FundForm {
                kind: input.kind,
                tokens: input.tokens,
                errors,
            };
            budget_page(
                &req,
                &ctx,
                &state,
                team_id,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct WithdrawInput {
    assignment: i64,
}

pub async fn withdraw(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<WithdrawInput>,
) -> Result<HttpResponse, AppError> {
    let team_id = TeamId(*path);
    let line = service::withdraw(
        &mut *state.pool.get().await?,
        &ctx,
        team_id,
        input.assignment,
    )
    .await?;
    flash(
        &req,
        format!(
            "{} {} tokens went back to the organization.",
            crate::web::kit::format::number(line.tokens),
            line.kind.label().to_lowercase()
        ),
    )?;
    Ok(htmx::redirect(
        &req,
        &paths::TEAM_BUDGET.with_id(team_id).to_string(),
    ))
}
