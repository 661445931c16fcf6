//! `/settings/org/security`: the IP allowlist, endpoint restrictions and what report-only rules
//! would have denied, with "Why was this denied?" (owners and admins). A change that would
//! start denying keys in use stops at a confirmation page naming them. Plain forms and links:
//! the page works the same without JavaScript.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::OrgContext;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::policy::Trace;
use crate::services::api_keys::ApiKey;
use crate::services::org::security::{
    self as service, Change, ExplainForm, Explained, Impact, IpEntryForm, RestrictionForm,
    RuleAction, SecurityView,
};
use crate::web::AppState;
use crate::web::kit::paths::{self, Route};
use crate::web::kit::{flash, htmx};

/// The forms of the page as typed, with their errors.
#[derive(Default)]
struct Forms {
    ip: IpEntryForm,
    ip_errors: FieldErrors,
    restriction: RestrictionForm,
    restriction_errors: FieldErrors,
    explain: ExplainForm,
    explain_errors: FieldErrors,
    /// The trace of the call tested, with its key.
    explained: Option<(Box<ApiKey>, Trace)>,
}

#[derive(Template)]
#[template(path = "org/security/page.html")]
struct SecurityPage {
    view: SecurityView,
    forms: Forms,
}

impl SecurityPage {
    fn endpoint_options(&self) -> Vec<(&str, &str)> {
        self.view
            .endpoints
            .iter()
            .map(|(name, label)| (name.as_str(), label.as_str()))
            .collect()
    }

    fn endpoint_label<'a>(&'a self, name: &'a str) -> &'a str {
        self.view
            .endpoints
            .iter()
            .find(|(n, _)| n == name)
            .map_or(name, |(_, label)| label.as_str())
    }

    fn allows(&self, name: &str) -> bool {
        self.forms.restriction.endpoints.iter().any(|e| e == name)
    }
}

#[derive(Template)]
#[template(path = "org/security/_explain.html")]
struct ExplainFragment {
    forms: Forms,
}

async fn security_page(
    req: &HttpRequest,
    ctx: &OrgContext,
    state: &AppState,
    status: StatusCode,
    forms: Forms,
) -> Result<HttpResponse, AppError> {
    let view = service::view(&mut *state.pool.get().await?, ctx).await?;
    htmx::page(req, status, &SecurityPage { view, forms })
}

pub async fn page(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    security_page(&req, &ctx, &state, StatusCode::OK, Forms::default()).await
}

#[derive(Deserialize)]
pub struct ExplainQuery {
    #[serde(default)]
    key: String,
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    team: String,
}

/// "Why was this denied?": a GET, so the answer has an address to share.
pub async fn explain(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    query: web::Query<ExplainQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let form = ExplainForm {
        key: query.key,
        endpoint: query.endpoint,
        model: query.model,
        ip: query.ip,
        team: query.team,
    };
    let mut conn = state.pool.get().await?;
    let (status, mut forms) =
        match service::explain(&mut conn, &ctx, &form, state.clock.now()).await? {
            Explained::Trace { key, trace } => (
                StatusCode::OK,
                Forms {
                    explained: Some((key, trace)),
                    ..Forms::default()
                },
            ),
            Explained::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Forms {
                    explain_errors: errors,
                    ..Forms::default()
                },
            ),
        };
    forms.explain = form;
    if htmx::is_htmx(&req) {
        return htmx::fragment(&req, status, &ExplainFragment { forms });
    }
    drop(conn);
    security_page(&req, &ctx, &state, status, forms).await
}

#[derive(Template)]
#[template(path = "org/security/confirm.html")]
struct ConfirmPage {
    impact: Impact,
    /// Where the confirmed form posts, and its fields.
    action: String,
    fields: Vec<(String, String)>,
    what: &'static str,
}

/// Saved: back to the page with a message; refused as typed: the page with the errors; or a
/// confirmation naming the keys it would start denying.
async fn answer(
    req: &HttpRequest,
    ctx: &OrgContext,
    state: &AppState,
    change: Change,
    confirm: impl FnOnce(Impact) -> ConfirmPage,
    invalid: impl FnOnce(FieldErrors) -> Forms,
) -> Result<HttpResponse, AppError> {
    match change {
        Change::Saved(message) => {
            flash(req, message)?;
            Ok(htmx::redirect(req, &paths::SECURITY.path()))
        }
        Change::Invalid(errors) => {
            let forms = invalid(errors);
            security_page(req, ctx, state, StatusCode::UNPROCESSABLE_ENTITY, forms).await
        }
        Change::Confirm(impact) => htmx::page(req, StatusCode::OK, &confirm(impact)),
    }
}

fn is_on(value: Option<&String>) -> bool {
    value.is_some_and(|v| v == "on" || v == "yes")
}

/// A form posted with repeated names (the endpoint boxes), as pairs.
fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn text(pairs: &[(String, String)], name: &str) -> String {
    field(pairs, name).cloned().unwrap_or_default()
}

pub async fn add_ip_entry(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    pairs: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let form = IpEntryForm {
        network: text(&pairs, "network"),
        label: text(&pairs, "label"),
        endpoint: text(&pairs, "endpoint"),
        report_only: is_on(field(&pairs, "report_only")),
        confirmed: is_on(field(&pairs, "confirmed")),
    };
    let change = service::add_ip_entry(
        &mut *state.pool.get().await?,
        &ctx,
        &form,
        state.clock.now(),
    )
    .await?;
    let fields = vec![
        ("network".to_owned(), form.network.clone()),
        ("label".to_owned(), form.label.clone()),
        ("endpoint".to_owned(), form.endpoint.clone()),
        (
            "report_only".to_owned(),
            if form.report_only { "on" } else { "" }.to_owned(),
        ),
    ];
    answer(
        &req,
        &ctx,
        &state,
        change,
        |impact| ConfirmPage {
            impact,
            action: paths::SECURITY_IP.path(),
            fields,
            what: "Adding this allowlist entry",
        },
        |errors| Forms {
            ip: form.clone(),
            ip_errors: errors,
            ..Forms::default()
        },
    )
    .await
}

pub async fn set_restriction(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    pairs: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let form = RestrictionForm {
        member: text(&pairs, "member"),
        endpoints: pairs
            .iter()
            .filter(|(k, _)| k == "endpoint")
            .map(|(_, v)| v.clone())
            .collect(),
        report_only: is_on(field(&pairs, "report_only")),
        confirmed: is_on(field(&pairs, "confirmed")),
    };
    let change = service::set_restriction(
        &mut *state.pool.get().await?,
        &ctx,
        &form,
        state.clock.now(),
    )
    .await?;
    let mut fields = vec![
        ("member".to_owned(), form.member.clone()),
        (
            "report_only".to_owned(),
            if form.report_only { "on" } else { "" }.to_owned(),
        ),
    ];
    fields.extend(
        form.endpoints
            .iter()
            .map(|e| ("endpoint".to_owned(), e.clone())),
    );
    answer(
        &req,
        &ctx,
        &state,
        change,
        |impact| ConfirmPage {
            impact,
            action: paths::SECURITY_RESTRICTIONS.path(),
            fields,
            what: "Saving this endpoint restriction",
        },
        |errors| Forms {
            restriction: form.clone(),
            restriction_errors: errors,
            ..Forms::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct ConfirmInput {
    #[serde(default)]
    confirmed: String,
}

/// Removing or enforcing one rule (an IP entry or a restriction).
async fn change_rule(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    id: i64,
    rule: (Route, RuleAction, bool),
    confirmed: bool,
) -> Result<HttpResponse, AppError> {
    let (route, action, is_ip) = rule;
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let change = if is_ip {
        service::change_ip_entry(&mut conn, &ctx, id, action, confirmed, now).await?
    } else {
        service::change_restriction(&mut conn, &ctx, id, action, confirmed, now).await?
    };
    drop(conn);
    let what = match action {
        RuleAction::Remove => "Removing this rule",
        RuleAction::Enforce => "Enforcing this rule",
    };
    answer(
        &req,
        &ctx,
        &state,
        change,
        |impact| ConfirmPage {
            impact,
            action: route.with_id(id).to_string(),
            fields: Vec::new(),
            what,
        },
        |_| Forms::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct SsoInput {
    #[serde(default)]
    required: String,
}

/// Requires members to sign in with SSO, or stops requiring it.
pub async fn set_sso(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    input: web::Form<SsoInput>,
) -> Result<HttpResponse, AppError> {
    let required = input.required == "on";
    let mut conn = state.pool.get().await?;
    if let Err(reason) = service::set_sso_required(&mut conn, &ctx, required).await? {
        return Err(AppError::Unprocessable(reason));
    }
    flash(
        &req,
        if required {
            "Members now sign in with single sign-on only."
        } else {
            "Members may sign in with a password again."
        },
    )?;
    Ok(htmx::redirect(&req, &paths::SECURITY.path()))
}

pub async fn remove_ip_entry(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<ConfirmInput>,
) -> Result<HttpResponse, AppError> {
    let rule = (paths::SECURITY_IP_REMOVE, RuleAction::Remove, true);
    let confirmed = input.confirmed == "yes";
    change_rule(req, ctx, state, *path, rule, confirmed).await
}

pub async fn enforce_ip_entry(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<ConfirmInput>,
) -> Result<HttpResponse, AppError> {
    let rule = (paths::SECURITY_IP_ENFORCE, RuleAction::Enforce, true);
    let confirmed = input.confirmed == "yes";
    change_rule(req, ctx, state, *path, rule, confirmed).await
}

pub async fn remove_restriction(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<ConfirmInput>,
) -> Result<HttpResponse, AppError> {
    let rule = (
        paths::SECURITY_RESTRICTION_REMOVE,
        RuleAction::Remove,
        false,
    );
    let confirmed = input.confirmed == "yes";
    change_rule(req, ctx, state, *path, rule, confirmed).await
}

pub async fn enforce_restriction(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    input: web::Form<ConfirmInput>,
) -> Result<HttpResponse, AppError> {
    let rule = (
        paths::SECURITY_RESTRICTION_ENFORCE,
        RuleAction::Enforce,
        false,
    );
    let confirmed = input.confirmed == "yes";
    change_rule(req, ctx, state, *path, rule, confirmed).await
}
