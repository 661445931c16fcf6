//! `/settings/org/users`: the Members page. The table swaps in place as you search and page
//! (state in the URL); the side panel shows a member's details, a removal preview and its
//! receipt; a role dropdown swaps its row. Without JavaScript every one of these is a plain
//! link, GET form or POST that answers with a whole page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::{self, OrgContext, Permission};
use crate::db::paging::Paging;
use crate::domain::{FieldErrors, OrgRole, PersonName, UserId, search_text};
use crate::error::AppError;
use crate::services::account::ProfileChange;
use crate::services::org::invitations::{self as invitation_service, InvitationRow, InviteChoices};
use crate::services::org::members::{
    self as service, Counters, MemberRow, Removal, RemovalOutcome,
};
use crate::web::AppState;
use crate::web::kit::listing::{Pager, query_string};
use crate::web::kit::{flash, htmx, paths};
use crate::web::org::invitations::InviteForm;

#[derive(Debug, Default, Deserialize)]
pub struct MemberParams {
    q: Option<String>,
    page: Option<i64>,
}

/// The table region: rows, search, pager, and what the viewer may do.
pub struct MemberTable {
    pub rows: Vec<MemberRow>,
    pub q: String,
    pub pager: Pager,
    pub self_href: String,
    /// The roles the viewer may give (empty for members: no controls at all).
    pub roles: Vec<OrgRole>,
}

impl MemberTable {
    pub fn manages(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// What the side panel shows.
pub enum Panel {
    Empty,
    Detail(Box<DetailView>),
    Removal(Vec<Removal>),
    Receipt(RemovalOutcome),
}

pub struct DetailView {
    pub row: MemberRow,
    pub first_name: String,
    pub last_name: String,
    pub errors: FieldErrors,
    pub saved: bool,
}

impl DetailView {
    fn of(row: MemberRow) -> DetailView {
        DetailView {
            first_name: row.user.first_name.clone(),
            last_name: row.user.last_name.clone(),
            row,
            errors: FieldErrors::default(),
            saved: false,
        }
    }
}

#[derive(Template)]
#[template(path = "org/members/page.html")]
pub struct MembersPage {
    pub org_name: String,
    pub counters: Counters,
    pub table: MemberTable,
    pub panel: Panel,
    /// For owners and admins: the invite form and the invitations.
    pub invite: Option<InviteForm>,
    pub invitations: Vec<InvitationRow>,
}

/// The table for htmx, with the counters swapped out of band (a removal changed them).
#[derive(Template)]
#[template(path = "org/members/_table_fragment.html")]
struct TableFragment {
    table: MemberTable,
    counters: Counters,
}

/// A row after its role changed, with the counters out of band (the admins count moved).
#[derive(Template)]
#[template(path = "org/members/_row_fragment.html")]
struct RowFragment<'a> {
    row: &'a MemberRow,
    roles: &'a [OrgRole],
    counters: Counters,
}

#[derive(Template)]
#[template(path = "org/members/_panel.html")]
struct PanelFragment {
    panel: Panel,
    roles: Vec<OrgRole>,
}

fn href(q: &str, page: i64) -> String {
    let page = if page > 1 {
        page.to_string()
    } else {
        String::new()
    };
    let query = query_string(&[("q", q.to_owned()), ("page", page)]);
    if query.is_empty() {
        paths::MEMBERS.path()
    } else {
        format!("{}?{query}", paths::MEMBERS.path())
    }
}

async fn table(
    state: &AppState,
    ctx: &OrgContext,
    params: &MemberParams,
) -> Result<(MemberTable, String, Counters), AppError> {
    let q =
        search_text(params.q.as_deref().unwrap_or_default()).map_err(AppError::Unprocessable)?;
    let paging = Paging::new(params.page, Some(25));
    let page = service::list(&mut *state.pool.get().await?, ctx, &q, paging).await?;
    let pager = Pager::new(paging, page.rows.len(), page.total, |n| href(&q, n));
    let table = MemberTable {
        rows: page.rows,
        self_href: href(&q, paging.page),
        q,
        pager,
        roles: access::roles_to_give(ctx),
    };
    Ok((table, page.org_name, page.counters))
}

/// The whole page around a panel (and, for owners and admins, an invite form).
pub async fn whole_page(
    state: &AppState,
    ctx: &OrgContext,
    params: &MemberParams,
    panel: Panel,
    invite: Option<InviteForm>,
) -> Result<MembersPage, AppError> {
    let (table, org_name, counters) = table(state, ctx, params).await?;
    let manages_invitations = access::require(ctx, Permission::ManageInvitations).is_ok();
    let (invite, invitations) = if manages_invitations {
        let mut conn = state.pool.get().await?;
        let choices: InviteChoices = invitation_service::choices(&mut conn, ctx).await?;
        let invitations = invitation_service::latest(&mut conn, ctx, state.clock.now()).await?;
        let invite = invite.unwrap_or_else(|| InviteForm::blank(choices));
        (Some(invite), invitations)
    } else {
        (None, Vec::new())
    };
    Ok(MembersPage {
        org_name,
        counters,
        table,
        panel,
        invite,
        invitations,
    })
}

pub async fn list(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    params: web::Query<MemberParams>,
) -> Result<HttpResponse, AppError> {
    if htmx::is_htmx(&req) && htmx::target(&req) == Some(paths::targets::MEMBER_TABLE) {
        let (table, _, counters) = table(&state, &ctx, &params).await?;
        return htmx::fragment(&req, StatusCode::OK, &TableFragment { table, counters });
    }
    let page = whole_page(&state, &ctx, &params, Panel::Empty, None).await?;
    htmx::page(&req, StatusCode::OK, &page)
}

/// The side panel for htmx, or the Members page with the panel open.
async fn panel_response(
    req: &HttpRequest,
    state: &AppState,
    ctx: &OrgContext,
    status: StatusCode,
    panel: Panel,
) -> Result<HttpResponse, AppError> {
    if htmx::is_htmx(req) {
        let fragment = PanelFragment {
            panel,
            roles: access::roles_to_give(ctx),
        };
        return htmx::fragment(req, status, &fragment);
    }
    let page = whole_page(state, ctx, &MemberParams::default(), panel, None).await?;
    htmx::page(req, status, &page)
}

pub async fn detail(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let row = service::member(&mut *state.pool.get().await?, &ctx, UserId(*path)).await?;
    panel_response(
        &req,
        &state,
        &ctx,
        StatusCode::OK,
        Panel::Detail(Box::new(DetailView::of(row))),
    )
    .await
}

/// Exactly the fields of the form: anything else (a forged `subscriber`, say) is refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailsInput {
    first_name: String,
    last_name: String,
    /// Checked by the CSRF middleware; named so that `deny_unknown_fields` lets it through.
    #[serde(default, rename = "csrf_token")]
    _csrf_token: String,
}

pub async fn update_details(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<DetailsInput>,
) -> Result<HttpResponse, AppError> {
    let user_id = UserId(*path);
    let mut conn = state.pool.get().await?;
    let mut errors = FieldErrors::default();
    let first_name = errors.check("first_name", PersonName::parse(&form.first_name));
    let last_name = errors.check("last_name", PersonName::parse(&form.last_name));
    let (Some(first_name), Some(last_name)) = (first_name, last_name) else {
        let row = service::member(&mut conn, &ctx, user_id).await?;
        access::can_act_on(&ctx, row.membership.role).into_result()?;
        let view = DetailView {
            first_name: form.first_name.clone(),
            last_name: form.last_name.clone(),
            errors,
            saved: false,
            row,
        };
        return panel_response(
            &req,
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            Panel::Detail(Box::new(view)),
        )
        .await;
    };
    let change = ProfileChange {
        first_name,
        last_name,
    };
    let row = service::update_names(&mut conn, &ctx, user_id, change).await?;
    if htmx::is_htmx(&req) {
        let mut view = DetailView::of(row);
        view.saved = true;
        let response = panel_response(
            &req,
            &state,
            &ctx,
            StatusCode::OK,
            Panel::Detail(Box::new(view)),
        )
        .await?;
        return Ok(htmx::trigger(response, paths::events::MEMBERS_CHANGED));
    }
    flash(
        &req,
        format!("The details of {} were saved.", row.user.email),
    )?;
    Ok(htmx::redirect(
        &req,
        &paths::MEMBER.with_id(user_id).to_string(),
    ))
}

#[derive(Deserialize)]
pub struct RoleInput {
    role: String,
}

pub async fn change_role(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<RoleInput>,
) -> Result<HttpResponse, AppError> {
    let role: OrgRole = form
        .role
        .parse()
        .map_err(|_| AppError::BadRequest("Unknown role."))?;
    let (row, counters) =
        service::change_role(&mut *state.pool.get().await?, &ctx, UserId(*path), role).await?;
    if htmx::is_htmx(&req) {
        let roles = access::roles_to_give(&ctx);
        let fragment = RowFragment {
            row: &row,
            roles: &roles,
            counters,
        };
        return htmx::fragment(&req, StatusCode::OK, &fragment);
    }
    flash(
        &req,
        format!("{} is now {}.", row.user.email, row.membership.role.label()),
    )?;
    Ok(htmx::redirect(&req, &paths::MEMBERS.path()))
}

/// The members picked for removal: `user` once per member, from the query or the form.
fn picked(pairs: &[(String, String)]) -> Result<Vec<UserId>, AppError> {
    pairs
        .iter()
        .filter(|(key, _)| key == "user")
        .map(|(_, value)| {
            value
                .parse::<i64>()
                .map(UserId)
                .map_err(|_| AppError::BadRequest("A member id is not a number."))
        })
        .collect()
}

pub async fn removal_preview(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| AppError::BadRequest("The selection could not be read."))?;
    let ids = picked(&pairs)?;
    let removals = service::removal_preview(&mut *state.pool.get().await?, &ctx, &ids).await?;
    panel_response(&req, &state, &ctx, StatusCode::OK, Panel::Removal(removals)).await
}

pub async fn remove(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let ids = picked(&form)?;
    let outcome =
        service::remove(&mut *state.pool.get().await?, &ctx, &ids, state.clock.now()).await?;
    let (status, removed) = match &outcome {
        RemovalOutcome::Removed(_) => (StatusCode::OK, true),
        RemovalOutcome::Refused(_) => (StatusCode::CONFLICT, false),
    };
    let response = panel_response(&req, &state, &ctx, status, Panel::Receipt(outcome)).await?;
    Ok(if removed {
        htmx::trigger(response, paths::events::MEMBERS_CHANGED)
    } else {
        response
    })
}
