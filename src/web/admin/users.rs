//! `/admin/users`: every user, searchable, filterable by organization (`?org=ID`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::domain::{OrgId, UserId, UserStatus};
use crate::models::organizations;
use crate::models::users::{PersonSearch, UserListQuery};
use crate::services::admin_users::{self as service, UserRow};
use crate::web::admin::Admin;
use crate::web::context::Chrome;
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::listing::{Pager, Paging, query_string};
use crate::web::session::{AppSession, FlashKind};
use crate::web::{AppState, htmx};

#[derive(Debug, Default, Deserialize)]
pub struct UserParams {
    q: Option<String>,
    org: Option<i64>,
    page: Option<i64>,
}

pub struct UserTable {
    pub rows: Vec<UserRow>,
    pub q: String,
    pub org: Option<(OrgId, String)>,
    pub pager: Pager,
    pub self_href: String,
    pub csrf_token: String,
    pub acting_user: UserId,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub table: UserTable,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/_user_table.html")]
pub struct UserTableFragment {
    pub table: UserTable,
}

fn href(q: &str, org: Option<OrgId>, page: i64) -> String {
    let query = query_string(&[
        ("q", q.to_owned()),
        ("org", org.map(|o| o.to_string()).unwrap_or_default()),
        (
            "page",
            if page > 1 {
                page.to_string()
            } else {
                String::new()
            },
        ),
    ]);
    format!("/admin/users?{query}")
}

pub async fn list(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    params: web::Query<UserParams>,
) -> Result<HttpResponse, AppError> {
    let q: String = params
        .q
        .as_deref()
        .unwrap_or_default()
        .trim()
        .chars()
        .take(100)
        .collect();
    let paging = Paging::new(params.page, Some(50));
    let mut conn = state.pool.get().await?;
    let org = match params.org {
        Some(id) => {
            let name = organizations::name_of(&mut conn, OrgId(id))
                .await?
                .ok_or(AppError::NotFound)?;
            Some((OrgId(id), name))
        }
        None => None,
    };
    let search = PersonSearch::parse(&q);
    let query = UserListQuery {
        org_id: org.as_ref().map(|(id, _)| *id),
        search: search.as_ref(),
        offset: paging.offset(),
        limit: paging.per_page,
    };
    let (rows, total) = service::list(&mut conn, &admin.admin, &query).await?;
    let org_id = org.as_ref().map(|(id, _)| *id);
    let pager = Pager::new(paging, rows.len(), total, |page| href(&q, org_id, page));
    let table = UserTable {
        rows,
        self_href: href(&q, org_id, paging.page),
        q,
        org,
        pager,
        csrf_token: admin.signed_in.session.csrf_token()?,
        acting_user: admin.admin.user_id(),
    };
    if htmx::is_htmx(&req) {
        return UserTableFragment { table }.render_with(StatusCode::OK);
    }
    UsersPage {
        chrome: Chrome::new(&admin.signed_in, "users")?,
        table,
    }
    .render_with(StatusCode::OK)
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    #[serde(default)]
    back: String,
}

pub async fn set_status(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let status: UserStatus = form
        .status
        .parse()
        .map_err(|_| AppError::BadRequest("Unknown account status."))?;
    let mut conn = state.pool.get().await?;
    let user =
        service::set_status(&mut conn, &admin.admin, UserId(path.into_inner()), status).await?;
    let message = match status {
        UserStatus::Disabled => format!("{} was disabled and signed out everywhere.", user.email),
        UserStatus::Active => format!("{} was enabled.", user.email),
    };
    admin
        .signed_in
        .session
        .push_flash(FlashKind::Success, message)?;
    // Back to the same list page (only our own paths are accepted).
    let back = if form.back.starts_with("/admin/users") {
        form.back.as_str()
    } else {
        "/admin/users"
    };
    Ok(htmx::redirect(&req, back))
}
