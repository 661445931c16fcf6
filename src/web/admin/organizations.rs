//! `/admin/organizations`: the table (sort, page, search, CSV export) and Add Organization.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::domain::FieldErrors;
use crate::domain::reference::COUNTRIES;
use crate::models::organizations::{ListQuery, Organization, SortColumn};
use crate::models::platform;
use crate::services::organizations::{self as service, OrgInput, SaveOutcome};
use crate::web::admin::Admin;
use crate::web::context::Chrome;
use crate::web::errors::AppError;
use crate::web::htmx::Render;
use crate::web::listing::{PAGE_SIZES, Pager, Paging, Total, query_string};
use crate::web::session::{AppSession, FlashKind};
use crate::web::{AppState, htmx};

/// The table's state, as in the URL: `?q=&sort=&dir=&page=&per_page=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// (URL key, header label, sort column, numeric).
const COLUMNS: [(&str, &str, SortColumn, bool); 11] = [
    ("id", "ID", SortColumn::Id, true),
    ("name", "Organization", SortColumn::Name, false),
    ("users", "Users", SortColumn::Users, true),
    ("contact", "Contact", SortColumn::Contact, false),
    ("phone", "Phone", SortColumn::Phone, false),
    ("email", "Email", SortColumn::Email, false),
    ("domain", "Domain", SortColumn::Domain, false),
    (
        "inference_purchased",
        "Inference purchased",
        SortColumn::InferencePurchased,
        true,
    ),
    (
        "inference_assigned",
        "Inference assigned",
        SortColumn::InferenceAssigned,
        true,
    ),
    (
        "embedding_purchased",
        "Embedding purchased",
        SortColumn::EmbeddingPurchased,
        true,
    ),
    (
        "embedding_assigned",
        "Embedding assigned",
        SortColumn::EmbeddingAssigned,
        true,
    ),
];

/// The state made valid: unknown values fall back to the defaults.
#[derive(Debug, Clone)]
pub struct ListState {
    pub q: String,
    pub sort: &'static str,
    pub descending: bool,
    pub paging: Paging,
}

impl ListState {
    fn from_params(params: &ListParams) -> ListState {
        let sort = COLUMNS
            .iter()
            .map(|(key, ..)| *key)
            .find(|key| params.sort.as_deref() == Some(*key))
            .unwrap_or("name");
        ListState {
            q: params
                .q
                .as_deref()
                .unwrap_or_default()
                .trim()
                .chars()
                .take(100)
                .collect(),
            sort,
            descending: params.dir.as_deref() == Some("desc"),
            paging: Paging::new(params.page, params.per_page),
        }
    }

    fn column(&self) -> SortColumn {
        COLUMNS
            .iter()
            .find(|(key, ..)| *key == self.sort)
            .map_or(SortColumn::Name, |c| c.2)
    }

    pub fn search(&self) -> Option<String> {
        (!self.q.is_empty()).then(|| self.q.to_lowercase())
    }

    pub fn dir(&self) -> &'static str {
        if self.descending { "desc" } else { "asc" }
    }

    /// The query string of this state with another sort or page.
    fn href(&self, path: &str, sort: &str, descending: bool, page: i64) -> String {
        let query = query_string(&[
            ("q", self.q.clone()),
            ("sort", sort.to_owned()),
            ("dir", if descending { "desc" } else { "asc" }.to_owned()),
            (
                "page",
                if page > 1 {
                    page.to_string()
                } else {
                    String::new()
                },
            ),
            (
                "per_page",
                if self.paging.per_page != PAGE_SIZES[0] {
                    self.paging.per_page.to_string()
                } else {
                    String::new()
                },
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

/// The table region that htmx swaps.
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
    fn new(
        rows: Vec<Organization>,
        total: Total,
        state: ListState,
        oauth_enabled: bool,
    ) -> OrgTable {
        let path = "/admin/organizations";
        let headers = COLUMNS
            .iter()
            .map(|(key, label, _, numeric)| {
                let current = state.sort == *key;
                // Numbers sort largest first on the first click; text A to Z.
                let descending = if current { !state.descending } else { *numeric };
                HeaderCell {
                    key,
                    label,
                    href: state.href(path, key, descending, 1),
                    aria_sort: match (current, state.descending) {
                        (false, _) => "none",
                        (true, false) => "ascending",
                        (true, true) => "descending",
                    },
                    numeric: *numeric,
                }
            })
            .collect();
        let pager = Pager::new(state.paging, rows.len(), total, |page| {
            state.href(path, state.sort, state.descending, page)
        });
        let self_href = state.href(path, state.sort, state.descending, state.paging.page);
        let csv_href = state.href("/admin/organizations.csv", state.sort, state.descending, 1);
        OrgTable {
            rows,
            state,
            headers,
            pager,
            self_href,
            csv_href,
            oauth_enabled,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/organizations.html")]
pub struct OrganizationsPage {
    pub chrome: Chrome,
    pub table: OrgTable,
    pub page_sizes: [i64; 3],
    pub oob_state: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/_org_table.html")]
pub struct OrgTableFragment {
    pub table: OrgTable,
    /// Also update the search form's hidden sort fields (out of band).
    pub oob_state: bool,
}

async fn load_table(
    state: &AppState,
    admin: &Admin,
    list: ListState,
) -> Result<OrgTable, AppError> {
    let mut conn = state.pool.get().await?;
    let search = list.search();
    let query = ListQuery {
        search: search.as_deref(),
        sort: list.column(),
        descending: list.descending,
        offset: list.paging.offset(),
        limit: list.paging.per_page,
    };
    let (rows, total) = service::list(&mut conn, &admin.admin, &query).await?;
    let oauth_enabled = platform::settings(&mut conn).await?.oauth_login_enabled;
    Ok(OrgTable::new(rows, total, list, oauth_enabled))
}

pub async fn list(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let table = load_table(&state, &admin, ListState::from_params(&params)).await?;
    if htmx::is_htmx(&req) {
        return OrgTableFragment {
            table,
            oob_state: true,
        }
        .render_with(StatusCode::OK);
    }
    let page = OrganizationsPage {
        chrome: Chrome::new(&admin.signed_in, "organizations")?,
        table,
        page_sizes: PAGE_SIZES,
        oob_state: false,
    };
    page.render_with(StatusCode::OK)
}

/// Every organization matching the current search, in the current order, as CSV.
pub async fn export_csv(
    admin: Admin,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let list = ListState::from_params(&params);
    let mut conn = state.pool.get().await?;
    let search = list.search();
    let query = ListQuery {
        search: search.as_deref(),
        sort: list.column(),
        descending: list.descending,
        offset: 0,
        limit: 1_000_000,
    };
    let (rows, _) = service::list(&mut conn, &admin.admin, &query).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write = |writer: &mut csv::Writer<Vec<u8>>, record: &[String]| {
        writer
            .write_record(record)
            .map_err(|e| AppError::Internal(e.into()))
    };
    let header: Vec<String> = [
        "id",
        "name",
        "users",
        "contact",
        "phone",
        "email",
        "domain",
        "country",
        "inference_purchased",
        "inference_assigned",
        "embedding_purchased",
        "embedding_assigned",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    write(&mut writer, &header)?;
    for org in rows {
        let record = [
            org.id.to_string(),
            spreadsheet_safe(&org.name),
            org.member_count.to_string(),
            spreadsheet_safe(&org.contact_name),
            spreadsheet_safe(&org.phone),
            spreadsheet_safe(&org.email),
            org.domain.unwrap_or_default(),
            org.country,
            org.inference_purchased.to_string(),
            org.inference_assigned.to_string(),
            org.embedding_purchased.to_string(),
            org.embedding_assigned.to_string(),
        ];
        write(&mut writer, &record)?;
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

/// A cell a spreadsheet would run as a formula gets a leading apostrophe.
fn spreadsheet_safe(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The Add Organization form as shown.
pub struct OrgForm {
    pub csrf_token: String,
    pub input: OrgInput,
    pub errors: FieldErrors,
}

impl OrgForm {
    pub fn countries(&self) -> &'static [(&'static str, &'static str)] {
        COUNTRIES
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/new_org.html")]
pub struct NewOrgPage {
    pub chrome: Chrome,
    pub form: OrgForm,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/_new_org_dialog.html")]
pub struct NewOrgDialog {
    pub form: OrgForm,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/_new_org_form.html")]
pub struct NewOrgForm {
    pub form: OrgForm,
}

pub async fn new_form(req: HttpRequest, admin: Admin) -> Result<HttpResponse, AppError> {
    let form = OrgForm {
        csrf_token: admin.signed_in.session.csrf_token()?,
        input: OrgInput::default(),
        errors: FieldErrors::default(),
    };
    if htmx::is_htmx(&req) {
        return NewOrgDialog { form }.render_with(StatusCode::OK);
    }
    let page = NewOrgPage {
        chrome: Chrome::new(&admin.signed_in, "organizations")?,
        form,
    };
    page.render_with(StatusCode::OK)
}

#[derive(Template)]
#[template(path = "admin/_created.html")]
struct CreatedFragment<'a> {
    name: &'a str,
}

pub async fn create(
    req: HttpRequest,
    admin: Admin,
    state: web::Data<AppState>,
    form: web::Form<OrgInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    match service::create(&mut conn, &admin.admin, &input).await? {
        SaveOutcome::Saved(org) => {
            if htmx::is_htmx(&req) {
                // Close the dialog, announce the new organization, and refresh the table.
                return Ok(HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .insert_header(("HX-Retarget", "#modal-root"))
                    .insert_header(("HX-Reswap", "innerHTML"))
                    .insert_header(("HX-Trigger", "orgs-changed"))
                    .body(CreatedFragment { name: &org.name }.render()?));
            }
            admin
                .signed_in
                .session
                .push_flash(FlashKind::Success, format!("{} was created.", org.name))?;
            Ok(htmx::redirect(&req, "/admin/organizations"))
        }
        SaveOutcome::Invalid(errors) => {
            let form = OrgForm {
                csrf_token: admin.signed_in.session.csrf_token()?,
                input,
                errors,
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            if htmx::is_htmx(&req) {
                return NewOrgForm { form }.render_with(status);
            }
            let page = NewOrgPage {
                chrome: Chrome::new(&admin.signed_in, "organizations")?,
                form,
            };
            Ok(page.render_with(status)?)
        }
    }
}
