//! `/admin/users`: every user, searchable, filterable by organization (`?org=ID`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::SuperAdmin;
use crate::db::paging::Paging;
use crate::domain::{OrgId, UserId, UserStatus, search_text};
use crate::error::AppError;
use crate::services::admin::users::{self as service, UserRow};
use crate::web::AppState;
use crate::web::kit::context::PasswordConfirmed;
use crate::web::kit::listing::{Pager, query_string};
use crate::web::kit::{flash, htmx, is_local_path, paths};

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
    pub acting_user: UserId,
}

#[derive(Template)]
#[template(path = "admin/users/page.html")]
struct UsersPage {
    table: UserTable,
}

#[derive(Template)]
#[template(path = "admin/users/_table.html")]
struct UserTableFragment {
    table: UserTable,
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
    format!("{}?{query}", paths::USERS.path())
}

pub async fn list(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    params: web::Query<UserParams>,
) -> Result<HttpResponse, AppError> {
    let q =
        search_text(params.q.as_deref().unwrap_or_default()).map_err(AppError::Unprocessable)?;
    // 25 rows, like every list of the console.
    let paging = Paging::new(params.page, Some(25));
    let org_id = params.org.map(OrgId);
    let page = service::list(&mut *state.pool.get().await?, &admin, org_id, &q, paging).await?;
    let pager = Pager::new(paging, page.rows.len(), page.total, |n| href(&q, org_id, n));
    let table = UserTable {
        rows: page.rows,
        self_href: href(&q, org_id, paging.page),
        q,
        org: page.org,
        pager,
        acting_user: admin.user_id(),
    };
    htmx::respond(
        &req,
        StatusCode::OK,
        UserTableFragment { table },
        |fragment| UsersPage {
            table: fragment.table,
        },
    )
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    #[serde(default)]
    back: String,
}

pub async fn set_status(
    req: HttpRequest,
    admin: SuperAdmin,
    _confirmed: PasswordConfirmed,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let status: UserStatus = form
        .status
        .parse()
        .map_err(|_| AppError::BadRequest("Unknown account status."))?;
    // Back to the same list page: checked before anything changes.
    let back = match form.back.as_str() {
        "" => paths::USERS.path(),
        back if is_local_path(back) && back.starts_with(&paths::USERS.path()) => back.to_owned(),
        _ => {
            return Err(AppError::BadRequest(
                "The return address is not a page of this console.",
            ));
        }
    };
    let mut conn = state.pool.get().await?;
    let user = service::set_status(&mut conn, &admin, UserId(path.into_inner()), status).await?;
    let message = match status {
        UserStatus::Disabled => format!("{} was disabled and signed out everywhere.", user.email),
        UserStatus::Active => format!("{} was enabled.", user.email),
    };
    flash(&req, message)?;
    Ok(htmx::redirect(&req, &back))
}
