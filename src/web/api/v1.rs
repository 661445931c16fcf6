//! `/api/v1`: `authorize` (may this key make this call?), `usage` (record what calls used) and,
//! for the platform only, `shared-use` (what an organization has in use against its plan's
//! shared limits).

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::access::PlatformCaller;
use crate::domain::OrgId;
use crate::domain::api_key::PresentedKey;
use crate::policy::Reason;
use crate::services::policy::{self as service, Asked, NewUsage, Reported};
use crate::services::shared_use::{self, SharedUse, SharedUseReported};
use crate::web::AppState;
use crate::web::api::{ApiError, bearer, not_taken, read_json};
use crate::web::kit::{client_ip, origin};

/// Calls one usage report may carry.
pub const MAX_BATCH: usize = 1_000;
/// Longest endpoint, model or idempotency key accepted.
const MAX_NAME: usize = 200;
/// Reports of calls older than this are refused (the month is billed).
const OLDEST_REPORT: Duration = Duration::days(35);
/// Clocks disagree a little; a report from further in the future is refused.
const CLOCK_SKEW: Duration = Duration::minutes(5);
/// Tokens one call may report.
const MAX_TOKENS: u64 = 1_000_000_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// An endpoint of the catalogue, e.g. `chat_completions`.
    pub endpoint: String,
    /// A model of the catalogue, e.g. `gpt-4o`.
    pub model: String,
    /// The team the call is made for (its id): the call then also needs the key's holder in
    /// that team and the team's token budget left.
    #[serde(default)]
    pub team: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Allow,
    Deny,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeResponse {
    pub decision: DecisionKind,
    /// On deny: why, as a stable code: key_invalid (unknown and revoked alike), key_expired,
    /// org_inactive, ip_not_allowed, endpoint_not_allowed, model_not_allowed, limit_exceeded,
    /// team_not_allowed (a team that is not one of the holder's active teams).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "ip_not_allowed")]
    pub reason: Option<Reason>,
    /// On deny: the deciding check's explanation (for key_invalid, nothing that tells an
    /// unknown key from a revoked one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// On allow: the key's organization (absent for a personal key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// On allow with an organization's key: the tokens left of the model's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Remaining>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Remaining {
    /// `inference` or `embedding`: the model's kind.
    #[schema(value_type = String, example = "inference")]
    pub kind: crate::domain::TokenKind,
    pub tokens: i64,
}

/// Checks a name the gateway sends: printable, not empty, not long.
fn check_name(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control) {
        return Err(format!(
            "`{field}` is 1 to {MAX_NAME} printable characters."
        ));
    }
    Ok(())
}

/// One call more, if the key's bucket allows; a key is known by its prefix before anything
/// is looked up (malformed ones share one bucket).
fn within_rate(state: &AppState, key: &str) -> Result<(), ApiError> {
    let bucket = PresentedKey::parse(key).map_or("malformed", |k| k.prefix());
    state
        .api_rate
        .take(bucket, Instant::now())
        .map_err(ApiError::rate_limited)
}

/// May this key make this call? The checks run in order (key, organization, IP allowlist,
/// endpoint restrictions, model access, limits); the first that fails decides.
#[utoipa::path(
    post,
    path = "/api/v1/authorize",
    request_body = AuthorizeRequest,
    responses(
        (status = 200, description = "The decision: allow, or deny with a reason", body = AuthorizeResponse),
        (status = 400, description = "A body this endpoint does not take (code malformed)", body = ErrorBody),
        (status = 401, description = "No `Authorization: Bearer` header (code unauthenticated)", body = ErrorBody),
        (status = 413, description = "A body over 16 KiB (code too_large)", body = ErrorBody),
        (status = 429, description = "The key calls faster than allowed (code rate_limited, with Retry-After)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let key = bearer(&req).unwrap_or_default();
    within_rate(&state, key)?;
    let body: AuthorizeRequest = read_json(&req, payload, 16 * 1024).await?;
    check_name("endpoint", &body.endpoint)
        .and_then(|()| check_name("model", &body.model))
        .map_err(ApiError::malformed)?;
    let asked = Asked {
        endpoint: &body.endpoint,
        model: &body.model,
        team: body.team,
        ip: client_ip(&req, &state.settings.trusted_proxies),
    };
    let answer = service::authorize(
        &state.pool,
        &state.policy_cache,
        key,
        &asked,
        state.clock.now(),
    )
    .await?;
    let response = match answer.trace.denial() {
        Some((reason, step)) => AuthorizeResponse {
            decision: DecisionKind::Deny,
            reason: Some(reason),
            message: Some(match reason {
                Reason::KeyInvalid => "The key is unknown or no longer valid.".to_owned(),
                _ => step.detail.clone(),
            }),
            organization_id: None,
            user_id: None,
            remaining: None,
        },
        None => AuthorizeResponse {
            decision: DecisionKind::Allow,
            reason: None,
            message: None,
            organization_id: answer.key.as_ref().and_then(|k| k.org_id).map(|o| o.0),
            user_id: answer.key.as_ref().map(|k| k.user_id.0),
            remaining: answer
                .remaining
                .map(|(kind, tokens)| Remaining { kind, tokens }),
        },
    };
    Ok(HttpResponse::Ok().json(response))
}

/// One call as reported.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageRecord {
    /// Unique per key: a report sent again with the same value is counted once.
    pub idempotency_key: String,
    pub endpoint: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// When the call was made (default: when the report arrives).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// The team the call was made for, as asked of `authorize`: its tokens count against the
    /// team's budget too.
    #[serde(default)]
    pub team: Option<i64>,
}

/// Many calls of the key in one report (1 to 1,000).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageBatch {
    pub records: Vec<UsageRecord>,
}

/// A usage report: one call, or a batch. (`usage` tells them apart by the `records` field,
/// to name the field a malformed body gets wrong.)
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum UsageReport {
    One(UsageRecord),
    Batch(UsageBatch),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageResponse {
    /// Calls recorded now.
    pub recorded: i64,
    /// Calls that had been recorded before (retries), counted once.
    pub duplicates: i64,
}

/// Records what calls made with the key used. Each call carries an idempotency key: a report
/// sent again counts nothing twice. A key revoked or expired since still has its calls
/// recorded; an unknown key is refused.
#[utoipa::path(
    post,
    path = "/api/v1/usage",
    request_body = UsageReport,
    responses(
        (status = 200, description = "Recorded (and repeats counted once)", body = UsageResponse),
        (status = 400, description = "A malformed report, or a call outside the catalogue: nothing recorded (code malformed)", body = ErrorBody),
        (status = 401, description = "No bearer key (code unauthenticated), or an unknown key (code key_invalid)", body = ErrorBody),
        (status = 413, description = "A body over the limit (1 MiB by default; code too_large)", body = ErrorBody),
        (status = 429, description = "The key calls faster than allowed (code rate_limited, with Retry-After)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn usage(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let key = bearer(&req).unwrap_or_default();
    within_rate(&state, key)?;
    let body: serde_json::Value =
        read_json(&req, payload, state.settings.body_limits.api_bytes).await?;
    let records = parse_usage(body)?;
    let reported = records.len() as i64;
    let calls = to_calls(records, state.clock.now())?;
    let now = state.clock.now();
    match service::record_usage(
        &state.pool,
        &state.policy_cache,
        &state.postbox,
        key,
        &calls,
        now,
    )
    .await?
    {
        Reported::Recorded { new } => Ok(HttpResponse::Ok().json(UsageResponse {
            recorded: new,
            duplicates: reported - new,
        })),
        Reported::UnknownKey => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "key_invalid",
            "The key is unknown or its secret does not match.",
        )),
        Reported::Refused { index, message } => {
            Err(ApiError::malformed(format!("Record {index}: {message}")))
        }
    }
}

/// A single record, or `{"records": [...]}` with 1 to `MAX_BATCH` of them.
fn parse_usage(body: serde_json::Value) -> Result<Vec<UsageRecord>, ApiError> {
    let records = if body.get("records").is_some() {
        serde_json::from_value::<UsageBatch>(body)
            .map_err(not_taken)?
            .records
    } else {
        vec![serde_json::from_value::<UsageRecord>(body).map_err(not_taken)?]
    };
    if records.is_empty() || records.len() > MAX_BATCH {
        return Err(ApiError::malformed(format!(
            "A report carries 1 to {MAX_BATCH} records."
        )));
    }
    Ok(records)
}

fn to_calls(records: Vec<UsageRecord>, now: DateTime<Utc>) -> Result<Vec<NewUsage>, ApiError> {
    let mut seen = std::collections::HashSet::new();
    let mut calls = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let refuse = |message: &str| ApiError::malformed(format!("Record {index}: {message}"));
        for (field, value) in [
            ("idempotency_key", &record.idempotency_key),
            ("endpoint", &record.endpoint),
            ("model", &record.model),
        ] {
            check_name(field, value).map_err(|message| refuse(&message))?;
        }
        if record.input_tokens > MAX_TOKENS || record.output_tokens > MAX_TOKENS {
            return Err(refuse("a call reports at most 10^12 tokens each way."));
        }
        let at = record.at.unwrap_or(now);
        if at < now - OLDEST_REPORT || at > now + CLOCK_SKEW {
            return Err(refuse(
                "`at` is within the last 35 days and not in the future.",
            ));
        }
        // A batch repeating itself counts the call once, as a retry would.
        if !seen.insert(record.idempotency_key.clone()) {
            continue;
        }
        calls.push(NewUsage {
            idempotency_key: record.idempotency_key,
            endpoint: record.endpoint,
            model: record.model,
            input_tokens: record.input_tokens as i64,
            output_tokens: record.output_tokens as i64,
            at,
            team_id: record.team,
        });
    }
    Ok(calls)
}

/// What an organization has in use now against its plan's shared limits, as the platform
/// counts it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedUseRequest {
    pub organization_id: i64,
    /// Workflows deployed to production now.
    #[schema(maximum = 2147483647)]
    pub production_workflows: u32,
    /// Work items held now.
    #[schema(maximum = 2147483647)]
    pub work_items: u32,
    /// Jobs running now.
    #[schema(maximum = 2147483647)]
    pub concurrent_jobs: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SharedUseResponse {
    pub organization_id: i64,
    /// Each shared limit: what the plan allows and what is in use now.
    pub limits: Vec<SharedLimit>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SharedLimit {
    /// `production_workflows`, `work_items` or `concurrent_jobs`.
    pub name: String,
    pub in_use: i32,
    /// What the plan allows (0: the plan allows none, or the organization has no plan).
    pub limit: i32,
}

/// For the platform only: reports what an organization has in use now against its plan's
/// shared limits (figures, not increments: a retry changes nothing). It takes the token
/// configured as `GUILDHALL_PLATFORM_TOKEN`, never an organization's key: the figures decide
/// which plans the organization fits. Owners and admins are emailed as use reaches their
/// alert thresholds of each limit, once a month each.
#[utoipa::path(
    post,
    path = "/api/v1/shared-use",
    request_body = SharedUseRequest,
    responses(
        (status = 200, description = "Recorded: each limit with its use now", body = SharedUseResponse),
        (status = 400, description = "A body this endpoint does not take (code malformed)", body = ErrorBody),
        (status = 401, description = "No bearer token (code unauthenticated), or not the platform's (code token_invalid)", body = ErrorBody),
        (status = 403, description = "The organization is cancelled: nothing recorded (code org_inactive)", body = ErrorBody),
        (status = 404, description = "No such organization (code not_found)", body = ErrorBody),
        (status = 413, description = "A body over 16 KiB (code too_large)", body = ErrorBody),
    ),
    security(("platform_token" = []))
)]
pub async fn shared_use(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let platform = PlatformCaller::check(
        bearer(&req).unwrap_or_default(),
        state.settings.platform_token.as_ref(),
        origin(&req, &state.settings.trusted_proxies),
    )
    .map_err(|denied| ApiError::new(StatusCode::UNAUTHORIZED, "token_invalid", denied.0))?;
    let body: SharedUseRequest = read_json(&req, payload, 16 * 1024).await?;
    let figure = |field: &str, value: u32| {
        i32::try_from(value)
            .map_err(|_| ApiError::malformed(format!("`{field}` is at most {}.", i32::MAX)))
    };
    let figures = SharedUse {
        workflows: figure("production_workflows", body.production_workflows)?,
        work_items: figure("work_items", body.work_items)?,
        jobs: figure("concurrent_jobs", body.concurrent_jobs)?,
    };
    let org_id = OrgId(body.organization_id);
    let reported = shared_use::report(
        &state.pool,
        &state.postbox,
        &platform,
        org_id,
        figures,
        state.clock.now(),
    )
    .await?;
    match reported {
        SharedUseReported::Recorded(limits) => Ok(HttpResponse::Ok().json(SharedUseResponse {
            organization_id: org_id.0,
            limits: limits
                .into_iter()
                .map(|l| SharedLimit {
                    name: l.key.to_owned(),
                    in_use: l.used,
                    limit: l.limit,
                })
                .collect(),
        })),
        SharedUseReported::NoSuchOrganization => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No organization has this id.",
        )),
        SharedUseReported::OrganizationInactive => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "org_inactive",
            "The organization is cancelled: nothing was recorded.",
        )),
    }
}

/// Every error: `{"error": {"code", "message"}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable: malformed, unauthenticated, key_invalid, token_invalid, org_inactive, too_large,
    /// rate_limited, not_found, unavailable, internal.
    code: String,
    message: String,
}

/// The OpenAPI 3 document of `/api/v1`, generated from the types above.
#[derive(OpenApi)]
#[openapi(
    info(title = "Guildhall policy API", version = "1"),
    paths(authorize, usage, shared_use),
    modifiers(&BearerKey)
)]
pub struct ApiDocument;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // The platform's own token (`GUILDHALL_PLATFORM_TOKEN`), for `shared-use`.
        components.add_security_scheme(
            "platform_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /api/v1/openapi.json`: no key needed to read how to call.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDocument::openapi())
}
