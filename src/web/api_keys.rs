//! The API key screens both areas share: the list and Create form (on the organization's Keys
//! page and on the Account page), the page that shows a new key once, and a key's own page
//! (its recent denials, Rotate, Revoke). Each area's handlers pass their scope and addresses.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::api_key::{Lifetime, Overlap};
use crate::domain::{FieldErrors, UserId};
use crate::error::AppError;
use crate::policy::{Rule, Verdict};
use crate::services::api_keys::{
    self as service, IssueOutcome, Issued, KeyDetail, KeysView, RotateOutcome, Scope,
};
use crate::web::AppState;
use crate::web::kit::paths::{self, Route};
use crate::web::kit::{flash, htmx};

/// The addresses of one area's key screens.
#[derive(Clone, Copy)]
pub struct KeyPaths {
    /// The page listing the keys.
    pub list: Route,
    pub create: Route,
    pub key: Route,
    pub revoke: Route,
    pub rotate: Route,
}

pub const ORG_KEYS: KeyPaths = KeyPaths {
    list: paths::PROVIDER_KEYS,
    create: paths::ORG_API_KEYS,
    key: paths::ORG_API_KEY,
    revoke: paths::ORG_API_KEY_REVOKE,
    rotate: paths::ORG_API_KEY_ROTATE,
};

pub const PERSONAL_KEYS: KeyPaths = KeyPaths {
    list: paths::ACCOUNT_PAGE,
    create: paths::ACCOUNT_API_KEYS,
    key: paths::ACCOUNT_API_KEY,
    revoke: paths::ACCOUNT_API_KEY_REVOKE,
    rotate: paths::ACCOUNT_API_KEY_ROTATE,
};

/// The Create key form as typed.
#[derive(Default)]
pub struct NewKeyForm {
    pub name: String,
    pub lifetime: String,
    /// Whose key: empty for the one creating it, or a service account's id.
    pub holder: String,
    /// For owners and admins of an organization with service accounts: `(id, name)` of each,
    /// offered as holders besides themselves.
    pub holders: Vec<(String, String)>,
    pub errors: FieldErrors,
}

impl NewKeyForm {
    pub fn lifetimes(&self) -> Vec<(&'static str, &'static str)> {
        Lifetime::ALL
            .iter()
            .map(|l| (l.as_str(), l.label()))
            .collect()
    }
}

/// Which page of the keys list (`?keys_page=`).
#[derive(Debug, Default, Deserialize)]
pub struct KeysPageQuery {
    #[serde(default)]
    keys_page: Option<String>,
    /// The holder to choose in the Create form (a service account just created).
    #[serde(default)]
    pub holder: Option<String>,
}

impl KeysPageQuery {
    /// The page asked for; anything that is not a page number is the first.
    pub fn page(&self) -> i64 {
        self.keys_page
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
    }
}

/// The keys list and the Create form, as a page section.
pub struct KeysSection {
    pub view: KeysView,
    pub form: NewKeyForm,
    pub paths: KeyPaths,
    /// Personal keys say they never reach an organization.
    pub personal: bool,
}

impl KeysSection {
    pub async fn load(
        state: &AppState,
        scope: Scope<'_>,
        paths: KeyPaths,
        form: NewKeyForm,
        page: i64,
    ) -> Result<KeysSection, AppError> {
        let now = state.clock.now();
        let mut conn = state.pool.get().await?;
        let view = service::list(&mut conn, scope, page, now).await?;
        let holders = service::service_accounts_as_holders(&mut conn, scope).await?;
        Ok(KeysSection {
            view,
            form: NewKeyForm { holders, ..form },
            paths,
            personal: matches!(scope, Scope::Personal(_)),
        })
    }
}

#[derive(Deserialize)]
pub struct NewKeyInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    lifetime: String,
    #[serde(default)]
    holder: String,
}

/// What the Create form's POST came to: the new key's page, or the form to show again.
pub enum Created {
    Shown(HttpResponse),
    Invalid(NewKeyForm),
}

pub async fn create(
    req: &HttpRequest,
    state: &AppState,
    scope: Scope<'_>,
    paths: KeyPaths,
    input: NewKeyInput,
) -> Result<Created, AppError> {
    // Anything but empty or a number is a forged holder: nobody to find.
    let holder = match input.holder.as_str() {
        "" => None,
        id => Some(UserId(id.parse().map_err(|_| AppError::NotFound)?)),
    };
    let mut conn = state.pool.get().await?;
    let outcome = service::create(
        &mut conn,
        scope,
        &input.name,
        &input.lifetime,
        holder,
        state.clock.now(),
    )
    .await?;
    match outcome {
        IssueOutcome::Issued(issued) => Ok(Created::Shown(shown_once(req, issued, paths, false)?)),
        IssueOutcome::Invalid(errors) => Ok(Created::Invalid(NewKeyForm {
            name: input.name,
            lifetime: input.lifetime,
            holder: input.holder,
            holders: Vec::new(),
            errors,
        })),
    }
}

#[derive(Template)]
#[template(path = "api_keys/issued.html")]
struct IssuedPage {
    issued: Issued,
    paths: KeyPaths,
    rotated: bool,
}

/// The one response that carries a key: never stored by a browser or proxy, never cached.
fn shown_once(
    req: &HttpRequest,
    issued: Issued,
    paths: KeyPaths,
    rotated: bool,
) -> Result<HttpResponse, AppError> {
    let mut response = htmx::page(
        req,
        StatusCode::OK,
        &IssuedPage {
            issued,
            paths,
            rotated,
        },
    )?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "api_keys/key.html")]
struct KeyPage {
    detail: KeyDetail,
    paths: KeyPaths,
    overlap_error: Option<String>,
}

impl KeyPage {
    fn overlaps(&self) -> Vec<(&'static str, &'static str)> {
        Overlap::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect()
    }
}

pub async fn key_page(
    req: &HttpRequest,
    state: &AppState,
    scope: Scope<'_>,
    paths: KeyPaths,
    key_id: i64,
) -> Result<HttpResponse, AppError> {
    let detail = service::find(&mut *state.pool.get().await?, scope, key_id).await?;
    htmx::page(
        req,
        StatusCode::OK,
        &KeyPage {
            detail,
            paths,
            overlap_error: None,
        },
    )
}

pub async fn revoke(
    req: &HttpRequest,
    state: &AppState,
    scope: Scope<'_>,
    paths: KeyPaths,
    key_id: i64,
) -> Result<HttpResponse, AppError> {
    let name = service::revoke(
        &mut *state.pool.get().await?,
        scope,
        key_id,
        state.clock.now(),
    )
    .await?;
    flash(
        req,
        format!("The key “{name}” was revoked: calls with it are denied from now on."),
    )?;
    Ok(htmx::redirect(req, &paths.list.path()))
}

#[derive(Deserialize)]
pub struct RotateInput {
    #[serde(default)]
    overlap: String,
}

pub async fn rotate(
    req: &HttpRequest,
    state: &AppState,
    scope: Scope<'_>,
    paths: KeyPaths,
    key_id: i64,
    input: RotateInput,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    match service::rotate(&mut conn, scope, key_id, &input.overlap, state.clock.now()).await? {
        RotateOutcome::Rotated(issued) => shown_once(req, issued, paths, true),
        RotateOutcome::Invalid(errors) => {
            let detail = service::find(&mut conn, scope, key_id).await?;
            htmx::page(
                req,
                StatusCode::UNPROCESSABLE_ENTITY,
                &KeyPage {
                    detail,
                    paths,
                    overlap_error: errors.get("overlap").map(str::to_owned),
                },
            )
        }
    }
}

/// The class a trace step is drawn with.
pub fn verdict_class(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::WouldDeny => "would-deny",
        Verdict::Failed(_) => "failed",
        Verdict::NotReached => "not-reached",
    }
}

pub fn verdict_label(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Passed => "Passed".to_owned(),
        Verdict::WouldDeny => "Would deny (report only)".to_owned(),
        Verdict::Failed(reason) => format!("Denied: {}", reason.code()),
        Verdict::NotReached => "Not reached".to_owned(),
    }
}

/// Where the rule a step stands on is edited, when the organization edits it.
pub fn rule_link(rule: &Option<Rule>) -> Option<String> {
    match (*rule)? {
        // The trace is shown on the key's page or beside a link to it.
        Rule::Key(_) => None,
        Rule::IpEntry(id) => Some(format!("{}#ip-entry-{id}", paths::SECURITY.path())),
        Rule::Restriction(id) => Some(format!("{}#restriction-{id}", paths::SECURITY.path())),
        Rule::Credits => Some(paths::SUBSCRIPTION.path()),
        Rule::TeamBudget(id) => Some(paths::TEAM_BUDGET.with_id(id).to_string()),
        Rule::ModelAccess => None,
    }
}

pub fn rule_label(rule: &Option<Rule>) -> &'static str {
    let Some(rule) = rule else { return "" };
    match rule {
        Rule::Key(_) => "",
        Rule::IpEntry(_) => "Edit the IP allowlist",
        Rule::Restriction(_) => "Edit the endpoint restriction",
        Rule::Credits => "Plan and limits",
        Rule::TeamBudget(_) => "The team's budget",
        Rule::ModelAccess => "Model access is set by the platform's administrators",
    }
}
