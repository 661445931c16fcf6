//! The span of every request, for the logs: the default fields but the path of an invitation
//! or password reset link, whose last segment is a live token and must never reach a log line.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

use crate::web::kit::paths;

pub struct RedactedSpans;

/// The path and query as logged: an invitation or password reset link's token is replaced.
pub fn logged_target(path_and_query: &str) -> String {
    for link in [paths::INVITATION, paths::PASSWORD_RESET_LINK] {
        let prefix = link.pattern.trim_end_matches("{id}");
        if let Some(rest) = path_and_query.strip_prefix(prefix) {
            let after_token = rest.find(['/', '?']).map_or("", |i| &rest[i..]);
            return format!("{prefix}[token]{after_token}");
        }
    }
    path_and_query.to_owned()
}

impl RootSpanBuilder for RedactedSpans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let target = logged_target(request.uri().path_and_query().map_or("", |p| p.as_str()));
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_default(),
            http.target = %target,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::logged_target;

    #[test]
    fn invitation_tokens_never_reach_the_log() {
        assert_eq!(
            logged_target("/invitations/abcDEF123_-"),
            "/invitations/[token]"
        );
        assert_eq!(
            logged_target("/invitations/abcDEF123/register"),
            "/invitations/[token]/register"
        );
        assert_eq!(
            logged_target("/invitations/abc?x=1"),
            "/invitations/[token]?x=1"
        );
        assert_eq!(
            logged_target("/password-reset/abcDEF123_-"),
            "/password-reset/[token]"
        );
        assert_eq!(logged_target("/password-reset"), "/password-reset");
        assert_eq!(
            logged_target("/settings/org/users?q=ada"),
            "/settings/org/users?q=ada"
        );
    }
}
