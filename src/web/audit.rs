//! The audit log pages: `/settings/org/audit` (owners and admins, their organization) and
//! `/admin/audit` (super admins, every entry). Both show the same table, filters, CSV and
//! Verify button; the handlers in `org::audit` and `admin::audit` only say whose entries.
//! The filters and the page are in the address, so a view can be shared and works without
//! JavaScript.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::{StreamExt, stream};
use serde::Deserialize;

use crate::domain::{FieldErrors, OrgId};
use crate::error::AppError;
use crate::services::audit::{
    self as service, AuditFilter, AuditPage, Cursor, EntryView, Reader, Side, Typed, Verification,
    WalkState, cursor_text, parse_cursor,
};
use crate::web::AppState;
use crate::web::kit::format::csv_text;
use crate::web::kit::htmx;
use crate::web::kit::listing::query_string;
use crate::web::kit::paths::{self, Route};

/// The addresses of one of the two pages.
#[derive(Debug, Clone, Copy)]
pub struct Pages {
    pub page: Route,
    pub csv: Route,
    pub verify: Route,
    /// One walk's progress.
    pub verification: Route,
    /// The super admin's page: every organization, with an organization filter.
    pub platform: bool,
}

pub const ORG_PAGES: Pages = Pages {
    page: paths::ORG_AUDIT,
    csv: paths::ORG_AUDIT_CSV,
    verify: paths::ORG_AUDIT_VERIFY,
    verification: paths::ORG_AUDIT_VERIFICATION,
    platform: false,
};

pub const PLATFORM_PAGES: Pages = Pages {
    page: paths::ADMIN_AUDIT,
    csv: paths::ADMIN_AUDIT_CSV,
    verify: paths::ADMIN_AUDIT_VERIFY,
    verification: paths::ADMIN_AUDIT_VERIFICATION,
    platform: true,
};

/// The address's query: the filters, and the page as a cursor either side.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    /// The organization's id (super admins only).
    #[serde(default)]
    org: String,
    before: Option<String>,
    after: Option<String>,
    /// A walk along the chains whose progress the page shows.
    verification: Option<String>,
}

/// The Verify form: the organization whose chain a super admin walks (empty: every chain).
#[derive(Debug, Default, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    org: String,
}

impl AuditQuery {
    fn typed(&self) -> Typed<'_> {
        Typed {
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            from: &self.from,
            until: &self.until,
        }
    }

    /// The filters checked, the chosen organization and the cursor; or the fields' errors.
    fn parse(&self, pages: Pages) -> Result<Asked, FieldErrors> {
        let filter = service::parse_filter(&self.typed());
        let org = match self.org.trim() {
            "" => Ok(None),
            _ if !pages.platform => Ok(None),
            typed => typed
                .parse::<i64>()
                .map(|id| Some(OrgId(id)))
                .map_err(|_| ()),
        };
        match (filter, org) {
            (Ok(filter), Ok(org)) => Ok(Asked {
                filter,
                org,
                cursor: self.cursor(),
            }),
            (filter, org) => {
                let mut errors = filter.err().unwrap_or_default();
                if org.is_err() {
                    errors.add("org", "Enter an organization's ID (a number).");
                }
                Err(errors)
            }
        }
    }

    fn cursor(&self) -> Option<(Side, Cursor)> {
        let side = |typed: &Option<String>, side| {
            typed.as_deref().and_then(parse_cursor).map(|c| (side, c))
        };
        side(&self.before, Side::Older).or_else(|| side(&self.after, Side::Newer))
    }

    /// The filters as a query string (no cursor), for links and the CSV.
    fn filters(&self, pages: Pages) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("actor", self.actor.trim().to_owned()),
            ("action", self.action.trim().to_owned()),
            ("target", self.target.trim().to_owned()),
            ("from", self.from.trim().to_owned()),
            ("until", self.until.trim().to_owned()),
        ];
        if pages.platform {
            pairs.push(("org", self.org.trim().to_owned()));
        }
        pairs
    }

    fn href(&self, route: Route, pages: Pages, cursor: Option<(&'static str, Cursor)>) -> String {
        let mut pairs = self.filters(pages);
        if let Some((name, cursor)) = cursor {
            pairs.push((name, cursor_text(cursor)));
        }
        let query = query_string(&pairs);
        if query.is_empty() {
            route.path()
        } else {
            format!("{}?{query}", route.path())
        }
    }
}

/// What the address asks for, checked.
struct Asked {
    filter: AuditFilter,
    /// The organization a super admin chose.
    org: Option<OrgId>,
    cursor: Option<(Side, Cursor)>,
}

/// The table region: entries, or why there are none, and the links either side.
pub struct EntryTable {
    pub entries: Vec<EntryView>,
    pub platform: bool,
    pub filtered: bool,
    pub newer_href: Option<String>,
    pub older_href: Option<String>,
    pub newest_href: Option<String>,
}

#[derive(Template)]
#[template(path = "audit/page.html")]
struct AuditPageView<'a> {
    pages: Pages,
    query: &'a AuditQuery,
    actions: &'static [&'static str],
    errors: FieldErrors,
    table: EntryTable,
    csv_href: String,
    verify_href: String,
    verdict: Option<VerdictView>,
    /// Only fragments announce (the page's status region starts empty).
    announce: Option<String>,
}

/// A walk as the page shows it: its progress while it runs (polled by htmx, refreshed by a
/// link without JavaScript), then its verdict.
pub struct VerdictView {
    pub verification: Verification,
    /// The progress region alone (htmx polls it).
    pub status_href: String,
    /// The page with this walk's progress (the link without JavaScript).
    pub page_href: String,
}

impl VerdictView {
    fn of(verification: Verification, pages: Pages) -> VerdictView {
        // The super admin's page keeps the organization whose chain is walked.
        let org = match verification.org {
            Some(org) if pages.platform => format!("org={org}&"),
            _ => String::new(),
        };
        VerdictView {
            status_href: pages.verification.with_id(verification.id).to_string(),
            page_href: format!(
                "{}?{org}verification={}",
                pages.page.path(),
                verification.id
            ),
            verification,
        }
    }

    /// One sentence for screen readers.
    fn announcement(&self) -> String {
        match &self.verification.state {
            WalkState::Running => "Verifying the log.".to_owned(),
            WalkState::Interrupted | WalkState::Failed => {
                "The verification stopped before it finished. Verify again.".to_owned()
            }
            WalkState::Finished(verdict) if verdict.problem.is_some() => {
                "Verification finished: the audit log has been tampered with.".to_owned()
            }
            WalkState::Finished(_) => "Verification finished: the audit log is intact.".to_owned(),
        }
    }

    pub fn running(&self) -> bool {
        self.verification.state == WalkState::Running
    }
}

#[derive(Template)]
#[template(path = "audit/_entries.html")]
struct EntriesFragment {
    table: EntryTable,
}

#[derive(Template)]
#[template(path = "audit/_verdict.html")]
struct VerdictFragment {
    verdict: Option<VerdictView>,
    /// What the status region says for screen readers: at the start and at the end only.
    announce: Option<String>,
}

/// The page (or, for htmx, the table): the entries the address asks for.
pub async fn show(
    req: &HttpRequest,
    state: &AppState,
    reader: &Reader,
    pages: Pages,
    query: &AuditQuery,
) -> Result<HttpResponse, AppError> {
    let verdict = match query.verification.as_deref().map(str::parse::<i64>) {
        Some(Ok(id)) => {
            let mut conn = state.pool.get().await?;
            let walk = service::verification(&mut conn, reader, id, state.clock.now()).await?;
            Some(VerdictView::of(walk, pages))
        }
        Some(Err(_)) => return Err(AppError::NotFound),
        None => None,
    };
    render(req, state, reader, pages, query, verdict).await
}

/// Starts a walk along the chains the reader may see (or joins the one running): for htmx
/// its progress region, else the page showing it. The walk runs in the background, so a log of
/// millions shows how far it has got instead of holding the request.
pub async fn verify(
    req: &HttpRequest,
    state: &AppState,
    reader: &Reader,
    pages: Pages,
    form: &VerifyForm,
) -> Result<HttpResponse, AppError> {
    let org = match form.org.trim() {
        "" => None,
        _ if !pages.platform => None,
        typed => Some(OrgId(typed.parse().map_err(|_| {
            AppError::Unprocessable("Enter an organization's ID (a number).")
        })?)),
    };
    let id = service::start_verification(&state.pool, &state.clock, reader, org).await?;
    // Most logs are walked in well under a second: wait that long for the verdict itself, so
    // a small log needs no second look (with or without JavaScript).
    for _ in 0..10 {
        let mut conn = state.pool.get().await?;
        let walk = service::verification(&mut conn, reader, id, state.clock.now()).await?;
        if walk.state != WalkState::Running {
            break;
        }
        drop(conn);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    show_walk(req, state, reader, pages, id, true).await
}

/// A walk's progress or verdict: the region alone for htmx (polled), else the page showing it.
pub async fn verification(
    req: &HttpRequest,
    state: &AppState,
    reader: &Reader,
    pages: Pages,
    id: i64,
) -> Result<HttpResponse, AppError> {
    show_walk(req, state, reader, pages, id, false).await
}

async fn show_walk(
    req: &HttpRequest,
    state: &AppState,
    reader: &Reader,
    pages: Pages,
    id: i64,
    just_started: bool,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let walk = service::verification(&mut conn, reader, id, state.clock.now()).await?;
    let view = VerdictView::of(walk, pages);
    if htmx::is_htmx(req) {
        // Screen readers hear the start and the end, not every tick of the progress.
        let announce = (just_started || !view.running()).then(|| view.announcement());
        let fragment = VerdictFragment {
            verdict: Some(view),
            announce,
        };
        return htmx::fragment(req, StatusCode::OK, &fragment);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", view.page_href))
        .finish())
}

async fn render(
    req: &HttpRequest,
    state: &AppState,
    reader: &Reader,
    pages: Pages,
    query: &AuditQuery,
    verdict: Option<VerdictView>,
) -> Result<HttpResponse, AppError> {
    let (status, errors, page) = match query.parse(pages) {
        Ok(asked) => {
            let mut conn = state.pool.get().await?;
            let page =
                service::page(&mut conn, reader, asked.filter, asked.org, asked.cursor).await?;
            (StatusCode::OK, FieldErrors::default(), page)
        }
        Err(errors) => {
            // Refused filters: the fields keep what was typed, with their errors, and no
            // entries are shown (the reader's right to the page is still checked).
            reader.check()?;
            let nothing = AuditPage {
                entries: Vec::new(),
                newer: None,
                older: None,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, errors, nothing)
        }
    };
    let table = EntryTable {
        platform: pages.platform,
        filtered: query.filters(pages).iter().any(|(_, v)| !v.is_empty()),
        newer_href: page
            .newer
            .map(|c| query.href(pages.page, pages, Some(("after", c)))),
        older_href: page
            .older
            .map(|c| query.href(pages.page, pages, Some(("before", c)))),
        newest_href: page.newer.map(|_| query.href(pages.page, pages, None)),
        entries: page.entries,
    };
    if htmx::is_htmx(req) && errors.is_empty() {
        return htmx::fragment(req, status, &EntriesFragment { table });
    }
    let view = AuditPageView {
        pages,
        query,
        actions: service::ACTIONS,
        errors,
        csv_href: query.href(pages.csv, pages, None),
        verify_href: pages.verify.path(),
        table,
        verdict,
        announce: None,
    };
    htmx::page(req, status, &view)
}

/// The entries the filters select, as CSV, streamed a batch at a time (an export of millions
/// never sits in memory); no cell starts a spreadsheet formula.
pub async fn csv(
    state: web::Data<AppState>,
    reader: Reader,
    pages: Pages,
    query: &AuditQuery,
) -> Result<HttpResponse, AppError> {
    let Asked { filter, org, .. } = query
        .parse(pages)
        .map_err(|_| AppError::Unprocessable("Correct the filters on the page first."))?;
    // The first batch is read before answering, so a refusal is a refusal, not a broken file.
    let first = service::batch(
        &mut *state.pool.get().await?,
        &reader,
        filter.clone(),
        org,
        None,
    )
    .await?;
    let header = csv_line(&header_row(pages.platform));
    let start = (Some(first), None::<Cursor>, false);
    let body = stream::unfold(start, move |(batch, after, done)| {
        let state = state.clone();
        let filter = filter.clone();
        let reader = reader.clone();
        async move {
            if done {
                return None;
            }
            let batch = match batch {
                Some(batch) => batch,
                None => match state.pool.get().await {
                    Ok(mut conn) => {
                        match service::batch(&mut conn, &reader, filter, org, after).await {
                            Ok(batch) => batch,
                            Err(error) => return Some((Err(error), (None, after, true))),
                        }
                    }
                    Err(error) => return Some((Err(error.into()), (None, after, true))),
                },
            };
            let last = batch.last().map(|view| Cursor {
                at: view.entry.at,
                id: view.entry.id,
            });
            let done = (batch.len() as i64) < service::BATCH;
            let mut text = String::new();
            for view in &batch {
                text.push_str(&csv_line(&entry_row(view, pages.platform)));
            }
            Some((Ok(web::Bytes::from(text)), (None, last.or(after), done)))
        }
    });
    let body = stream::once(async move { Ok::<_, AppError>(web::Bytes::from(header)) }).chain(body);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"audit-log.csv\"",
        ))
        .streaming(body))
}

fn header_row(platform: bool) -> Vec<String> {
    let mut row = vec![
        "time_utc",
        "actor",
        "role",
        "action",
        "target",
        "changes",
        "ip",
        "request_id",
    ];
    if platform {
        row.insert(1, "organization");
    }
    row.into_iter().map(str::to_owned).collect()
}

fn entry_row(view: &EntryView, platform: bool) -> Vec<String> {
    let entry = &view.entry;
    let changes = view
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.field,
                c.before.as_deref().unwrap_or("—"),
                c.after.as_deref().unwrap_or("—")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut row = vec![
        entry.at.format("%Y-%m-%d %H:%M:%S").to_string(),
        entry.actor_email.clone(),
        entry.actor_role.clone(),
        entry.action.clone(),
        entry.target.clone(),
        changes,
        entry.ip.clone().unwrap_or_default(),
        entry.request_id.clone().unwrap_or_default(),
    ];
    if platform {
        row.insert(1, view.org_name.clone().unwrap_or_default());
    }
    row
}

/// One CSV record, every cell neutralised.
fn csv_line(cells: &[String]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(cells.iter().map(|cell| csv_text(cell)));
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}
