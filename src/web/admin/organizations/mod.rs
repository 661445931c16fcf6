//! `/admin/organizations`: the table (sort, page, search, CSV export), Add Organization, and
//! each organization's Manage dialog, purchases and OAuth settings.

mod columns;
mod form;
pub mod manage;
pub mod new;
pub mod oauth;
pub mod purchases;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::SuperAdmin;
use crate::db::paging::{PAGE_SIZES, Paging};
use crate::domain::search_text;
use crate::error::AppError;
use crate::services::admin::organizations::{self as service, ListQuery, Organization, SortColumn};
use crate::web::AppState;
use crate::web::kit::listing::{Pager, query_string};
use crate::web::kit::{htmx, paths};
use columns::{COLUMNS, Column, table_columns};

/// The table's state, as in the URL: `?q=&sort=&dir=&page=&per_page=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// The state made valid: unknown values fall back to the defaults.
#[derive(Clone)]
pub struct ListState {
    pub q: String,
    pub column: &'static Column,
    pub descending: bool,
    pub paging: Paging,
}

impl ListState {
    fn from_params(params: &ListParams) -> Result<ListState, AppError> {
        let by_key = |key: Option<&str>| table_columns().find(|c| Some(c.key) == key);
        Ok(ListState {
            q: search_text(params.q.as_deref().unwrap_or_default())
                .map_err(AppError::Unprocessable)?,
            column: by_key(params.sort.as_deref())
                .or_else(|| by_key(Some("name")))
                .unwrap_or(&COLUMNS[0]),
            descending: params.dir.as_deref() == Some("desc"),
            paging: Paging::new(params.page, params.per_page),
        })
    }

    pub fn sort(&self) -> &'static str {
        self.column.key
    }

    fn sort_column(&self) -> SortColumn {
        self.column.sort.unwrap_or(SortColumn::Name)
    }

    pub fn search(&self) -> Option<String> {
        (!self.q.is_empty()).then(|| self.q.to_lowercase())
    }

    pub fn dir(&self) -> &'static str {
        if self.descending { "desc" } else { "asc" }
    }

    /// The address of this state with another sort or page.
    fn href(&self, path: &str, sort: &str, descending: bool, page: i64) -> String {
        let or_blank = |keep: bool, value: String| if keep { value } else { String::new() };
        let query = query_string(&[
            ("q", self.q.clone()),
            ("sort", sort.to_owned()),
            ("dir", if descending { "desc" } else { "asc" }.to_owned()),
            ("page", or_blank(page > 1, page.to_string())),
            (
                "per_page",
                or_blank(
                    self.paging.per_page != PAGE_SIZES[0],
                    self.paging.per_page.to_string(),
                ),
            ),
        ]);
        format!("{path}?{query}")
    }
}

pub struct HeaderCell {
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    pub aria_sort: &'static str,
    pub numeric: bool,
}

/// The table region that htmx swaps, with the export link that follows its state.
pub struct OrgTable {
    pub rows: Vec<Organization>,
    pub state: ListState,
    pub headers: Vec<HeaderCell>,
    pub pager: Pager,
    pub self_href: String,
    pub csv_href: String,
    pub oauth_enabled: bool,
}

impl OrgTable {
    fn new(page: service::OrgTablePage, state: ListState) -> OrgTable {
        let path = paths::ORGANIZATIONS.path();
        let headers = table_columns()
            .map(|column| {
                let current = std::ptr::eq(column, state.column);
                // Numbers sort largest first on the first click; text A to Z.
                let descending = if current {
                    !state.descending
                } else {
                    column.numeric
                };
                HeaderCell {
                    key: column.key,
                    label: column.label,
                    href: state.href(&path, column.key, descending, 1),
                    aria_sort: match (current, state.descending) {
                        (false, _) => "none",
                        (true, false) => "ascending",
                        (true, true) => "descending",
                    },
                    numeric: column.numeric,
                }
            })
            .collect();
        let pager = Pager::new(state.paging, page.rows.len(), page.total, |n| {
            state.href(&path, state.sort(), state.descending, n)
        });
        let self_href = state.href(&path, state.sort(), state.descending, state.paging.page);
        let csv_href = state.href(
            &paths::ORGANIZATIONS_CSV.path(),
            state.sort(),
            state.descending,
            1,
        );
        OrgTable {
            rows: page.rows,
            state,
            headers,
            pager,
            self_href,
            csv_href,
            oauth_enabled: page.oauth_enabled,
        }
    }

    /// The columns of a row's data cells, in header order (the Actions cell comes after the
    /// first).
    pub fn columns(&self) -> impl Iterator<Item = &'static Column> {
        table_columns()
    }
}

#[derive(Template)]
#[template(path = "admin/organizations/page.html")]
struct OrganizationsPage {
    table: OrgTable,
    page_sizes: [i64; 3],
    oob_state: bool,
}

#[derive(Template)]
#[template(path = "admin/organizations/_table.html")]
struct OrgTableFragment {
    table: OrgTable,
    /// Also update the search form's hidden sort fields (out of band).
    oob_state: bool,
}

pub async fn list(
    req: HttpRequest,
    admin: SuperAdmin,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let list = ListState::from_params(&params)?;
    let search = list.search();
    let query = ListQuery {
        search: search.as_deref(),
        sort: list.sort_column(),
        descending: list.descending,
        offset: list.paging.offset(),
        limit: list.paging.per_page,
    };
    let page = service::list(&mut *state.pool.get().await?, &admin, &query).await?;
    let fragment = OrgTableFragment {
        table: OrgTable::new(page, list),
        oob_state: true,
    };
    htmx::respond(&req, StatusCode::OK, fragment, |fragment| {
        OrganizationsPage {
            table: fragment.table,
            page_sizes: PAGE_SIZES,
            oob_state: false,
        }
    })
}

/// Every organization matching the current search, in the current order, as CSV.
pub async fn export_csv(
    admin: SuperAdmin,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let list = ListState::from_params(&params)?;
    let search = list.search();
    let rows = service::export(
        &mut *state.pool.get().await?,
        &admin,
        search.as_deref(),
        list.sort_column(),
        list.descending,
    )
    .await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| AppError::Internal(e.into());
    writer
        .write_record(COLUMNS.iter().map(|c| c.key))
        .map_err(csv_error)?;
    for org in &rows {
        writer
            .write_record(COLUMNS.iter().map(|c| c.csv(org)))
            .map_err(csv_error)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("CSV: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"organizations.csv\"",
        ))
        .body(body))
}
