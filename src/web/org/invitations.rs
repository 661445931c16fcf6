//! Invitations on the Members page: the invite form with its dry run ("Check") and commit
//! ("Send invitations"), and the list with Resend and Cancel.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::access::OrgContext;
use crate::domain::{FieldErrors, InvitationId, OrgRole, TeamId};
use crate::error::AppError;
use crate::services::org::invitations::{
    self as service, InvitationRow, InviteChoices, InviteLine, InviteOutcome, InviteRequest,
};
use crate::web::AppState;
use crate::web::kit::{flash, htmx, paths};
use crate::web::org::members::{self, MemberParams, Panel};

/// The invite form as shown: choices, what was typed, and the dry run or report under it.
pub struct InviteForm {
    pub choices: InviteChoices,
    pub emails: String,
    pub role: Option<OrgRole>,
    pub team_ids: Vec<TeamId>,
    pub team_names: String,
    pub errors: FieldErrors,
    pub lines: Vec<InviteLine>,
    /// True when `lines` is the report of invitations sent, false for a dry run.
    pub sent: bool,
}

impl InviteForm {
    pub fn blank(choices: InviteChoices) -> InviteForm {
        InviteForm {
            role: choices.roles.last().copied(),
            choices,
            emails: String::new(),
            team_ids: Vec::new(),
            team_names: String::new(),
            errors: FieldErrors::default(),
            lines: Vec::new(),
            sent: false,
        }
    }

    pub fn role_selected(&self, role: &OrgRole) -> bool {
        self.role == Some(*role)
    }

    pub fn team_selected(&self, team: &TeamId) -> bool {
        self.team_ids.contains(team)
    }

    /// What the report says about a line.
    pub fn outcome_of(&self, line: &InviteLine) -> String {
        line.verdict.describe(self.sent)
    }

    pub fn will_invite(&self) -> usize {
        self.lines.iter().filter(|l| l.verdict.is_invite()).count()
    }
}

#[derive(Template)]
#[template(path = "org/invitations/_form.html")]
struct FormFragment {
    invite: InviteForm,
}

#[derive(Template)]
#[template(path = "org/invitations/_list.html")]
struct ListFragment {
    invitations: Vec<InvitationRow>,
}

fn parse_request(pairs: &[(String, String)]) -> Result<(InviteRequest, bool), AppError> {
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let role: OrgRole = value("role")
        .parse()
        .map_err(|_| AppError::BadRequest("Unknown role."))?;
    let team_ids = pairs
        .iter()
        .filter(|(k, _)| k == "team")
        .map(|(_, v)| v.parse::<i64>().map(TeamId))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| AppError::BadRequest("A team id is not a number."))?;
    let commit = match value("intent") {
        "send" => true,
        "check" | "" => false,
        _ => return Err(AppError::BadRequest("Unknown action.")),
    };
    Ok((
        InviteRequest {
            emails: value("emails").to_owned(),
            role,
            team_ids,
            team_names: value("team_names").to_owned(),
        },
        commit,
    ))
}

pub async fn invite(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (request, commit) = parse_request(&form)?;
    let mut conn = state.pool.get().await?;
    let outcome = service::invite(
        &mut conn,
        &ctx,
        &state.postbox,
        state.clock.now(),
        &request,
        commit,
    )
    .await?;
    let choices = service::choices(&mut conn, &ctx).await?;
    drop(conn);
    let mut invite = InviteForm {
        choices,
        emails: request.emails,
        role: Some(request.role),
        team_ids: request.team_ids,
        team_names: request.team_names,
        errors: FieldErrors::default(),
        lines: Vec::new(),
        sent: false,
    };
    let status = match outcome {
        InviteOutcome::Invalid(errors) => {
            invite.errors = errors;
            StatusCode::UNPROCESSABLE_ENTITY
        }
        InviteOutcome::Planned(lines) => {
            invite.lines = lines;
            StatusCode::OK
        }
        InviteOutcome::Sent(lines) => {
            invite.lines = lines;
            invite.sent = true;
            invite.emails.clear();
            StatusCode::OK
        }
    };
    let sent = invite.sent;
    if htmx::is_htmx(&req) {
        let response = htmx::fragment(&req, status, &FormFragment { invite })?;
        return Ok(if sent {
            htmx::trigger(response, paths::events::INVITATIONS_CHANGED)
        } else {
            response
        });
    }
    let page = members::whole_page(
        &state,
        &ctx,
        &MemberParams::default(),
        Panel::Empty,
        Some(invite),
    )
    .await?;
    htmx::page(&req, status, &page)
}

/// The list of invitations (htmx reloads it when they change); a whole page otherwise.
pub async fn list(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !htmx::is_htmx(&req) {
        return Ok(htmx::redirect(&req, &paths::MEMBERS.path()));
    }
    let invitations =
        service::latest(&mut *state.pool.get().await?, &ctx, state.clock.now()).await?;
    htmx::fragment(&req, StatusCode::OK, &ListFragment { invitations })
}

/// After Resend or Cancel: the refreshed list for htmx, the Members page with a flash otherwise.
async fn after_change(
    req: &HttpRequest,
    ctx: &OrgContext,
    state: &AppState,
    message: String,
) -> Result<HttpResponse, AppError> {
    if htmx::is_htmx(req) {
        let invitations =
            service::latest(&mut *state.pool.get().await?, ctx, state.clock.now()).await?;
        let response = htmx::fragment(req, StatusCode::OK, &ListFragment { invitations })?;
        return Ok(htmx::trigger(response, paths::events::INVITATIONS_CHANGED));
    }
    flash(req, message)?;
    Ok(htmx::redirect(
        req,
        &format!("{}#invitations", paths::MEMBERS.path()),
    ))
}

pub async fn resend(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let invitation = service::resend(
        &mut *state.pool.get().await?,
        &ctx,
        &state.postbox,
        state.clock.now(),
        InvitationId(*path),
    )
    .await?;
    let message = format!(
        "The invitation to {} was sent again with a new link.",
        invitation.email
    );
    after_change(&req, &ctx, &state, message).await
}

pub async fn cancel(
    req: HttpRequest,
    ctx: OrgContext,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let invitation =
        service::cancel(&mut *state.pool.get().await?, &ctx, InvitationId(*path)).await?;
    let message = format!("The invitation to {} was cancelled.", invitation.email);
    after_change(&req, &ctx, &state, message).await
}
