//! Every state-changing route writes an audit entry. The route table is read from the source
//! (every file under `src/web`), not from a list kept here: each POST route registered there
//! must have a row in `table()` — a recipe (one successful request as someone allowed to make it,
//! through the real app, and the audit action it must write) or an exemption with the reason it
//! changes nothing worth auditing. The test fails, naming the route, when a POST route has no
//! row, when a row names a route that is gone, and when a recipe's request does not succeed or
//! does not write exactly its action.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use guildhall::services::audit::ACTIONS;
use guildhall::web::kit::paths;

use crate::support::smtp::SmtpSink;
use crate::support::{
    OrgId, OrgRole, Role, SignedIn, TeamId, TeamRole, TestApp, TestResponse, TestUser, Visitor,
    spawn_app_with,
};

/// What the route table says about one POST route, by the name of its `paths::` constant.
enum Rule {
    /// The action one successful request writes (one entry or more, and no other action), and
    /// the recipe that sets up what the request needs and hands the request over unsent.
    Audited {
        action: &'static str,
        prepare: Prepare,
    },
    /// Changes nothing worth an audit entry, for this reason.
    Exempt(&'static str),
}

type Prepare = for<'w> fn(&'w World) -> Pin<Box<dyn Future<Output = Request> + 'w>>;

/// A row for a route with a recipe: `audited!("member.role_changed", member_role)`.
macro_rules! audited {
    ($action:literal, $recipe:ident) => {
        Rule::Audited {
            action: $action,
            prepare: |w| Box::pin($recipe(w)),
        }
    };
}

/// Every POST route of `src/web`, with its rule.
fn table() -> Vec<(&'static str, Rule)> {
    use Rule::Exempt;
    vec![
        // Signing in and out, and the session's own state.
        (
            "LOGIN",
            Exempt("signs in: starts a session, changes no data"),
        ),
        (
            "LOGOUT",
            Exempt("signs out: ends a session, changes no data"),
        ),
        (
            "SSO",
            Exempt(
                "starts a sign-in at the organization's identity provider: session only (its \
                 callback, a GET, writes user.created_by_sso when it makes an account)",
            ),
        ),
        (
            "CONFIRM_PASSWORD",
            Exempt("re-enters the password: marks the session, changes no data"),
        ),
        (
            "SWITCH_ORG",
            Exempt("chooses the organization to act in: session only"),
        ),
        (
            "PASSWORD_RESET",
            Exempt(
                "asks for a reset link: nothing changes until the link is used \
                 (PASSWORD_RESET_LINK writes user.password_reset)",
            ),
        ),
        (
            "API_AUTHORIZE",
            Exempt("the policy API's question: answers, changes nothing"),
        ),
        (
            "ORG_AUDIT_VERIFY",
            Exempt(
                "starts a read-only walk of the organization's audit chain: its row holds \
                 only progress",
            ),
        ),
        (
            "ADMIN_AUDIT_VERIFY",
            Exempt("starts a read-only walk of the audit chains: its row holds only progress"),
        ),
        (
            "API_SHARED_USE",
            audited!("organization.shared_use_reported", api_shared_use),
        ),
        (
            "API_USAGE",
            Exempt(
                "usage reports: recorded in usage_records by the thousands a second, \
                 not in the audit log",
            ),
        ),
        // The account pages.
        (
            "ACCOUNT_PROFILE",
            audited!("user.profile_updated", account_profile),
        ),
        (
            "ACCOUNT_PASSWORD",
            audited!("user.password_changed", account_password),
        ),
        (
            "ACCOUNT_ORGANIZATIONS",
            audited!("organization.created", account_organizations),
        ),
        (
            "ACCOUNT_LEAVE_ORG",
            audited!("member.left", account_leave_org),
        ),
        (
            "ACCOUNT_API_KEYS",
            audited!("api_key.created", account_api_keys),
        ),
        (
            "ACCOUNT_API_KEY_REVOKE",
            audited!("api_key.revoked", account_api_key_revoke),
        ),
        (
            "ACCOUNT_API_KEY_ROTATE",
            audited!("api_key.rotated", account_api_key_rotate),
        ),
        (
            "PASSWORD_RESET_LINK",
            audited!("user.password_reset", password_reset_link),
        ),
        // Invitation links.
        (
            "INVITATION_JOIN",
            audited!("invitation.accepted", invitation_join),
        ),
        (
            "INVITATION_REGISTER",
            audited!("invitation.accepted", invitation_register),
        ),
        (
            "INVITATION_SIGN_IN",
            audited!("invitation.accepted", invitation_sign_in),
        ),
        // The organization pages.
        ("LEAVE_ORG", audited!("member.left", leave_org)),
        (
            "TRANSFER_OWNERSHIP",
            audited!("organization.ownership_transferred", transfer_ownership),
        ),
        ("MEMBER_REMOVAL", audited!("member.removed", member_removal)),
        ("MEMBER_ROLE", audited!("member.role_changed", member_role)),
        (
            "MEMBER_DETAILS",
            audited!("member.details_updated", member_details),
        ),
        ("INVITE", audited!("invitation.sent", invite)),
        (
            "INVITATION_RESEND",
            audited!("invitation.resent", invitation_resend),
        ),
        (
            "INVITATION_CANCEL",
            audited!("invitation.cancelled", invitation_cancel),
        ),
        ("TEAMS", audited!("team.created", teams)),
        ("TEAM_ADD", audited!("team.member_added", team_add)),
        ("TEAM_ROLE", audited!("team.member_role_changed", team_role)),
        ("TEAM_REMOVE", audited!("team.member_removed", team_remove)),
        (
            "TEAM_TRANSFER",
            audited!("team.ownership_transferred", team_transfer),
        ),
        (
            "TEAM_DEACTIVATE",
            audited!("team.deactivated", team_deactivate),
        ),
        (
            "TEAM_REACTIVATE",
            audited!("team.reactivated", team_reactivate),
        ),
        ("TEAM_BUDGET", audited!("team.tokens_assigned", team_budget)),
        (
            "TEAM_WITHDRAW",
            audited!("team.tokens_withdrawn", team_withdraw),
        ),
        (
            "SUBSCRIPTION_PLAN",
            audited!("subscription.plan_changed", subscription_plan),
        ),
        (
            "SUBSCRIPTION_SEAT",
            audited!("subscription.seat_granted", subscription_seat),
        ),
        (
            "SUBSCRIPTION_ADMIN",
            audited!("subscription.admin_named", subscription_admin),
        ),
        (
            "SUBSCRIPTION_CANCEL",
            audited!("subscription.cancelled", subscription_cancel),
        ),
        (
            "PROVIDER_KEYS",
            audited!("provider_key.added", provider_keys),
        ),
        (
            "PROVIDER_KEY_ROTATE",
            audited!("provider_key.rotated", provider_key_rotate),
        ),
        (
            "PROVIDER_KEY_REMOVE",
            audited!("provider_key.removed", provider_key_remove),
        ),
        (
            "USAGE_ALERTS",
            audited!("usage.alerts_changed", usage_alerts),
        ),
        (
            "SERVICE_ACCOUNTS",
            audited!("service_account.created", service_accounts),
        ),
        (
            "SECURITY_IP",
            audited!("access_policy.ip_added", security_ip),
        ),
        (
            "SECURITY_IP_REMOVE",
            audited!("access_policy.ip_removed", security_ip_remove),
        ),
        (
            "SECURITY_IP_ENFORCE",
            audited!("access_policy.ip_enforced", security_ip_enforce),
        ),
        (
            "SECURITY_SSO",
            audited!("access_policy.sso_required_changed", security_sso),
        ),
        (
            "SECURITY_RESTRICTIONS",
            audited!("access_policy.restriction_set", security_restrictions),
        ),
        (
            "SECURITY_RESTRICTION_REMOVE",
            audited!(
                "access_policy.restriction_removed",
                security_restriction_remove
            ),
        ),
        (
            "SECURITY_RESTRICTION_ENFORCE",
            audited!(
                "access_policy.restriction_enforced",
                security_restriction_enforce
            ),
        ),
        ("ORG_API_KEYS", audited!("api_key.created", org_api_keys)),
        (
            "ORG_API_KEY_REVOKE",
            audited!("api_key.revoked", org_api_key_revoke),
        ),
        (
            "ORG_API_KEY_ROTATE",
            audited!("api_key.rotated", org_api_key_rotate),
        ),
        // The super administrator's console.
        (
            "ORGANIZATIONS",
            audited!("organization.created", organizations),
        ),
        ("DETAILS", audited!("organization.updated", details)),
        (
            "ASSIGN_USERS",
            audited!("organization.users_assigned", assign_users),
        ),
        (
            "MODEL_ACCESS",
            audited!("organization.models_changed", model_access),
        ),
        ("OAUTH", audited!("organization.oauth_changed", oauth)),
        ("PURCHASES", audited!("purchase.recorded", purchases)),
        (
            "TOKEN_ASSIGNMENTS",
            audited!("tokens.assigned", token_assignments),
        ),
        (
            "SALES_IMPORT",
            audited!("sales_file.imported", sales_import),
        ),
        ("USER_STATUS", audited!("user.disabled", user_status)),
        ("SETTINGS", audited!("platform.settings_changed", settings)),
        ("SETTINGS_PLANS", audited!("plan.created", settings_plans)),
        ("SETTINGS_MODELS", audited!("model.added", settings_models)),
        (
            "SETTINGS_ENDPOINTS",
            audited!("endpoint.added", settings_endpoints),
        ),
    ]
}

#[tokio::test]
async fn every_state_changing_route_writes_an_audit_entry() {
    let (in_source, mut problems) = post_routes_in_source();
    let table = table();

    let mut named = BTreeSet::new();
    for (name, rule) in &table {
        if let Rule::Exempt(reason) = rule
            && reason.trim().is_empty()
        {
            problems.push(format!("paths::{name} is exempt without a reason"));
        }
        if let Rule::Audited { action, .. } = rule
            && !ACTIONS.contains(action)
        {
            problems.push(format!(
                "paths::{name} writes {action}, which services::audit::ACTIONS (the audit \
                 pages' action filter) does not list"
            ));
        }
        if !named.insert(*name) {
            problems.push(format!("paths::{name} has two rows in the table"));
        }
        if !in_source.contains_key(*name) {
            problems.push(format!(
                "paths::{name} is in the table but src/web registers no POST route for it: \
                 remove its row"
            ));
        }
    }
    for (name, file) in &in_source {
        if !named.contains(name.as_str()) {
            problems.push(format!(
                "POST route paths::{name} ({file}) has neither a recipe nor an exemption in \
                 tests/api/audit/every_route.rs: add a recipe (one successful request and the \
                 audit action it writes) or, if it changes nothing worth auditing, an exemption \
                 with the reason"
            ));
        }
    }

    let world = World::start().await;
    for (name, rule) in &table {
        let Rule::Audited { action, prepare } = rule else {
            continue;
        };
        if !in_source.contains_key(*name) {
            continue;
        }
        *world.route.lock().expect("route lock") = name;
        let request = prepare(&world).await;
        let last = world
            .app
            .number("SELECT coalesce(max(id), 0) FROM audit_log")
            .await;
        let response = request.send().await;
        let written = world
            .app
            .string(&format!(
                "SELECT coalesce(string_agg(DISTINCT action, ', ' ORDER BY action), '') \
                 FROM audit_log WHERE id > {last}"
            ))
            .await;
        // SPEC §2: the log says from which IP; the request id ties an entry to the server's
        // log. Whoever acts, signed in or not yet.
        let untraced = world
            .app
            .string(&format!(
                "SELECT coalesce(string_agg(DISTINCT action, ', ' ORDER BY action), '') \
                 FROM audit_log WHERE id > {last} AND (ip IS NULL OR request_id IS NULL)"
            ))
            .await;
        let status = response.status().as_u16();
        if !untraced.is_empty() {
            problems.push(format!(
                "paths::{name}: POST {} wrote [{untraced}] without the request's IP or id",
                request.path
            ));
        }
        if status != 200 && status != 303 {
            problems.push(format!(
                "paths::{name}: POST {} answered {status}, not a success (200 or 303), so its \
                 audit entry could not be checked: {}",
                request.path,
                excerpt(&response)
            ));
        } else if written.is_empty() {
            problems.push(format!(
                "paths::{name}: POST {} wrote no audit entry; it must write {action}",
                request.path
            ));
        } else if written != *action {
            problems.push(format!(
                "paths::{name}: POST {} wrote the audit actions [{written}]; it must write \
                 {action} and no other",
                request.path
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// What a failed response said, shortly.
fn excerpt(response: &TestResponse) -> String {
    let main = response.html().text("main");
    let text = if main.is_empty() {
        response.text().to_owned()
    } else {
        main
    };
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = text.chars().take(300).collect();
    format!("{cut} (location: {:?})", response.location())
}

// ---------------------------------------------------------------------------------------------
// Reading the route table from the source.

/// The POST routes registered under `src/web`, by `paths::` constant name, with the file that
/// registers each; and the problems found (a POST route in a shape this test cannot read, a
/// mutating method other than POST).
fn post_routes_in_source() -> (BTreeMap<String, String>, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/web"), &mut files);
    files.sort();
    let mut routes = BTreeMap::new();
    let mut problems = Vec::new();
    for file in files {
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let source = std::fs::read_to_string(&file).expect("read a source file");
        // Without whitespace, however rustfmt split a registration over lines.
        let text: String = source.split_whitespace().collect();
        let mut recognised = 0;
        // `.route(paths::NAME.pattern, web::post()…)`
        for name in names_after(&text, ".route(paths::") {
            let posts = text
                .matches(&format!(".route(paths::{name}.pattern,web::post()"))
                .count();
            if posts > 0 {
                recognised += posts;
                routes.insert(name, shown.clone());
            }
        }
        // `web::resource(paths::NAME.pattern)….route(web::post()…)` inside one `.service(…)`.
        for (name, chain) in resources(&text) {
            let posts = chain.matches("web::post()").count();
            if posts > 0 {
                recognised += posts;
                routes.insert(name, shown.clone());
            }
        }
        let posts = text.matches("web::post()").count();
        if posts != recognised {
            problems.push(format!(
                "{shown} registers {posts} POST route(s) but this test read only {recognised}: \
                 teach post_routes_in_source() the new shape"
            ));
        }
        for method in [
            "web::put()",
            "web::patch()",
            "web::delete()",
            "web::method(",
        ] {
            if text.contains(method) {
                problems.push(format!(
                    "{shown} registers a route with {method}: this test walks POST routes only; \
                     teach it this method"
                ));
            }
        }
    }
    (routes, problems)
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("read a source folder")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The identifiers that follow each `prefix` in `text`.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Each `web::resource(paths::NAME.pattern)` with the rest of its chain: the text up to the
/// parenthesis that closes the `.service(` it is given to.
fn resources(text: &str) -> Vec<(String, &str)> {
    let prefix = "web::resource(paths::";
    text.match_indices(prefix)
        .filter_map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let chain = rest[name.len()..].strip_prefix(".pattern)")?;
            let mut depth = 1;
            let end = chain
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(chain.len(), |(i, _)| i);
            Some((name, &chain[..end]))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The world the recipes share: one app (with an SMTP sink for the links emails carry), where
// each recipe makes its own people and organizations.

struct World {
    app: TestApp,
    sink: SmtpSink,
    made: AtomicUsize,
    /// The route whose recipe is running, for the messages of a setup that fails.
    route: Mutex<&'static str>,
}

/// The one request a recipe leaves for the test to send (and to watch the audit log around).
struct Request {
    by: Visitor,
    path: String,
    body: Body,
}

enum Body {
    Form(Vec<(&'static str, String)>),
    /// A sales file, as the upload form's multipart body.
    SalesFile(String),
    /// JSON for the policy API, with the bearer token it is sent with.
    Api {
        token: String,
        json: serde_json::Value,
    },
}

impl Request {
    fn form(by: Visitor, path: impl ToString, fields: &[(&'static str, &str)]) -> Request {
        Request {
            by,
            path: path.to_string(),
            body: Body::Form(fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()),
        }
    }

    async fn send(&self) -> TestResponse {
        match &self.body {
            Body::Form(fields) => {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.by.post_form(&self.path, &fields).await
            }
            Body::SalesFile(file) => {
                let token = self.by.csrf_token();
                let boundary = "----guildhallAuditBoundary";
                let body = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n\
                     {token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                     filename=\"sales.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n\
                     --{boundary}--\r\n"
                );
                let request = self
                    .by
                    .client
                    .post(self.by.url(&self.path))
                    .header(
                        "Content-Type",
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(body);
                self.by.send(request).await
            }
            Body::Api { token, json } => {
                let request = self
                    .by
                    .client
                    .post(self.by.url(&self.path))
                    .bearer_auth(token)
                    .json(json);
                self.by.send(request).await
            }
        }
    }
}

impl World {
    async fn start() -> World {
        let sink = SmtpSink::start().await;
        let url = sink.url();
        let app = spawn_app_with(|s| s.smtp_url = Some(url)).await;
        World {
            app,
            sink,
            made: AtomicUsize::new(0),
            route: Mutex::new(""),
        }
    }

    fn route(&self) -> &'static str {
        *self.route.lock().expect("route lock")
    }

    /// A setup step's request must succeed, or the recipe is wrong.
    fn succeeded(&self, response: &TestResponse, what: &str) {
        let status = response.status().as_u16();
        assert!(
            status == 200 || status == 303,
            "paths::{}: setting up, {what} answered {status}: {}",
            self.route(),
            excerpt(response)
        );
    }

    /// A name no other recipe uses: `what-<n>`.
    fn unique(&self, what: &str) -> String {
        format!("{what}-{}", self.made.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// The owner of a new organization (its only member), signed in.
    async fn owner(&self) -> (SignedIn, OrgId) {
        let owner = self.app.signed_in_as(Role::OrgOwner).await;
        let org = owner.org.expect("an organization");
        (owner, org)
    }

    /// Someone new in `org` with `role`.
    async fn member(&self, org: OrgId, role: OrgRole) -> TestUser {
        let email = format!("{}@members.test", self.unique("member"));
        self.app.user(&email).member_of(org, role).create().await
    }

    /// A new super administrator, signed in (so their password was entered just now).
    async fn root(&self) -> SignedIn {
        self.app.signed_in_as(Role::SuperAdmin).await
    }

    /// A new organization made by the builders, for the console to act on.
    async fn org(&self) -> OrgId {
        let name = self.unique("Audit Org");
        self.app.org(&name).create().await
    }

    /// A team of `org` owned by `owner`, with `member` in it as `role`.
    async fn team(
        &self,
        org: OrgId,
        owner: &TestUser,
        member: &TestUser,
        role: TeamRole,
    ) -> TeamId {
        self.app
            .team(org, &self.unique("Team"))
            .owned_by(owner)
            .with(member, role)
            .create()
            .await
    }

    /// Tokens `org` bought, for budgets and assignments to take from.
    async fn buy_tokens(&self, org: OrgId) {
        let reference = self.unique("ref");
        self.app
            .sql(&format!(
                "INSERT INTO token_purchases (org_id, kind, tokens, amount_cents, currency, \
                 purchased_on, reference, source) VALUES \
                 ({org}, 'inference', 1000, 1000, 'EUR', '2026-11-01', '{reference}', 'manual')"
            ))
            .await;
    }

    /// The link (`prefix` and its token) in the newest email to `email`.
    async fn link_mailed_to(&self, email: &str, prefix: &str) -> String {
        for _ in 0..100 {
            let mails = self.sink.received();
            let newest = mails
                .iter()
                .rev()
                .find(|m| m.to.iter().any(|to| to == email) && m.data.contains(prefix));
            if let Some(mail) = newest {
                return mail.link(prefix);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "paths::{}: setting up, no email to {email} with a {prefix} link came",
            self.route()
        );
    }

    /// An invitation to `email` sent through the Members page by the owner of a new
    /// organization; the owner and the link.
    async fn invitation(&self, email: &str) -> (SignedIn, String) {
        let (owner, _) = self.owner().await;
        let sent = owner
            .post_form(
                &paths::INVITE.path(),
                &[("emails", email), ("role", "member"), ("intent", "send")],
            )
            .await;
        self.succeeded(&sent, "sending an invitation");
        let link = self.link_mailed_to(email, "/invitations/").await;
        (owner, link)
    }

    async fn number(&self, query: &str) -> i64 {
        self.app.number(query).await
    }
}

// ---------------------------------------------------------------------------------------------
// The recipes: each sets up what its request needs and returns it unsent.

async fn account_profile(w: &World) -> Request {
    let user = w.app.signed_in_as(Role::PlainUser).await;
    Request::form(
        user.visitor,
        paths::ACCOUNT_PROFILE.path(),
        &[("first_name", "Renamed"), ("last_name", "Person")],
    )
}

async fn account_password(w: &World) -> Request {
    let user = w.app.signed_in_as(Role::PlainUser).await;
    let current = user.user.password.clone();
    Request::form(
        user.visitor,
        paths::ACCOUNT_PASSWORD.path(),
        &[
            ("current_password", &current),
            ("new_password", "a new long passphrase"),
            ("confirm_password", "a new long passphrase"),
        ],
    )
}

async fn account_organizations(w: &World) -> Request {
    let user = w.app.signed_in_as(Role::PlainUser).await;
    let name = w.unique("Own Org");
    Request::form(
        user.visitor,
        paths::ACCOUNT_ORGANIZATIONS.path(),
        &[("name", &name), ("country", "DE")],
    )
}

async fn account_leave_org(w: &World) -> Request {
    let member = w.app.signed_in_as(Role::OrgMember).await;
    let org = member.org.expect("an organization");
    Request::form(member.visitor, paths::ACCOUNT_LEAVE_ORG.with_id(org), &[])
}

/// A plain user, signed in, with a personal API key; the key's id.
async fn with_personal_key(w: &World) -> (SignedIn, i64) {
    let user = w.app.signed_in_as(Role::PlainUser).await;
    let created = user
        .post_form(
            &paths::ACCOUNT_API_KEYS.path(),
            &[("name", "Laptop"), ("lifetime", "none")],
        )
        .await;
    w.succeeded(&created, "creating a personal key");
    let id = w
        .number(&format!(
            "SELECT id FROM api_keys WHERE user_id = {}",
            user.user.id
        ))
        .await;
    (user, id)
}

async fn account_api_keys(w: &World) -> Request {
    let user = w.app.signed_in_as(Role::PlainUser).await;
    Request::form(
        user.visitor,
        paths::ACCOUNT_API_KEYS.path(),
        &[("name", "Laptop"), ("lifetime", "none")],
    )
}

async fn account_api_key_revoke(w: &World) -> Request {
    let (user, id) = with_personal_key(w).await;
    Request::form(user.visitor, paths::ACCOUNT_API_KEY_REVOKE.with_id(id), &[])
}

async fn account_api_key_rotate(w: &World) -> Request {
    let (user, id) = with_personal_key(w).await;
    Request::form(
        user.visitor,
        paths::ACCOUNT_API_KEY_ROTATE.with_id(id),
        &[("overlap", "none")],
    )
}

async fn password_reset_link(w: &World) -> Request {
    let email = format!("{}@nowhere.test", w.unique("forgetful"));
    w.app.user(&email).create().await;
    let visitor = w.app.another_visitor();
    visitor.get(&paths::PASSWORD_RESET.path()).await;
    let asked = visitor
        .post_form(&paths::PASSWORD_RESET.path(), &[("email", &email)])
        .await;
    w.succeeded(&asked, "asking for a reset link");
    let link = w.link_mailed_to(&email, "/password-reset/").await;
    visitor.get(&link).await;
    Request::form(
        visitor,
        link,
        &[
            ("new_password", "a brand new passphrase"),
            ("confirm_password", "a brand new passphrase"),
        ],
    )
}

async fn invitation_join(w: &World) -> Request {
    let email = format!("{}@invitee.test", w.unique("joiner"));
    let invitee = w.app.user(&email).create().await;
    let (_, link) = w.invitation(&email).await;
    let visitor = w.app.another_visitor();
    visitor.login(&invitee).await;
    visitor.get(&link).await;
    Request::form(visitor, format!("{link}/join"), &[])
}

async fn invitation_register(w: &World) -> Request {
    let email = format!("{}@invitee.test", w.unique("newcomer"));
    let (_, link) = w.invitation(&email).await;
    let visitor = w.app.another_visitor();
    visitor.get(&link).await;
    Request::form(
        visitor,
        format!("{link}/register"),
        &[
            ("first_name", "Grace"),
            ("last_name", "Hopper"),
            ("password", "correct horse battery staple"),
            ("confirm_password", "correct horse battery staple"),
        ],
    )
}

async fn invitation_sign_in(w: &World) -> Request {
    let email = format!("{}@invitee.test", w.unique("returning"));
    let invitee = w.app.user(&email).create().await;
    let (_, link) = w.invitation(&email).await;
    let visitor = w.app.another_visitor();
    visitor.get(&link).await;
    Request::form(
        visitor,
        format!("{link}/sign-in"),
        &[("password", &invitee.password)],
    )
}

async fn leave_org(w: &World) -> Request {
    let member = w.app.signed_in_as(Role::OrgMember).await;
    Request::form(member.visitor, paths::LEAVE_ORG.path(), &[])
}

async fn transfer_ownership(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    let heir = w.member(org, OrgRole::Member).await;
    Request::form(
        owner.visitor,
        paths::TRANSFER_OWNERSHIP.path(),
        &[("email", &heir.email)],
    )
}

async fn member_removal(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    let member = w.member(org, OrgRole::Member).await;
    Request::form(
        owner.visitor,
        paths::MEMBER_REMOVAL.path(),
        &[("user", &member.id.to_string())],
    )
}

async fn member_role(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    let member = w.member(org, OrgRole::Member).await;
    Request::form(
        owner.visitor,
        paths::MEMBER_ROLE.with_id(member.id),
        &[("role", "admin")],
    )
}

async fn member_details(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    let member = w.member(org, OrgRole::Member).await;
    Request::form(
        owner.visitor,
        paths::MEMBER_DETAILS.with_id(member.id),
        &[("first_name", "Renamed"), ("last_name", "Member")],
    )
}

async fn invite(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    let email = format!("{}@invitee.test", w.unique("invited"));
    Request::form(
        owner.visitor,
        paths::INVITE.path(),
        &[("emails", &email), ("role", "member"), ("intent", "send")],
    )
}

/// An invitation sent by the owner of a new organization; the owner and its id.
async fn with_invitation(w: &World) -> (SignedIn, i64) {
    let email = format!("{}@invitee.test", w.unique("pending"));
    let (owner, _) = w.invitation(&email).await;
    let id = w
        .number(&format!(
            "SELECT id FROM invitations WHERE email = '{email}'"
        ))
        .await;
    (owner, id)
}

async fn invitation_resend(w: &World) -> Request {
    let (owner, id) = with_invitation(w).await;
    Request::form(owner.visitor, paths::INVITATION_RESEND.with_id(id), &[])
}

async fn invitation_cancel(w: &World) -> Request {
    let (owner, id) = with_invitation(w).await;
    Request::form(owner.visitor, paths::INVITATION_CANCEL.with_id(id), &[])
}

async fn teams(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    let name = w.unique("Team");
    Request::form(
        owner.visitor,
        paths::TEAMS.path(),
        &[("name", &name), ("description", "")],
    )
}

/// The owner of a new organization, owning a team with another member in it as `role`.
async fn with_team(w: &World, role: TeamRole) -> (SignedIn, OrgId, TeamId, TestUser) {
    let (owner, org) = w.owner().await;
    let member = w.member(org, OrgRole::Member).await;
    let team = w.team(org, &owner.user, &member, role).await;
    (owner, org, team, member)
}

async fn team_add(w: &World) -> Request {
    let (owner, org, team, _) = with_team(w, TeamRole::Viewer).await;
    let newcomer = w.member(org, OrgRole::Member).await;
    Request::form(
        owner.visitor,
        paths::TEAM_ADD.with_id(team),
        &[("user", &newcomer.id.to_string())],
    )
}

async fn team_role(w: &World) -> Request {
    let (owner, _, team, member) = with_team(w, TeamRole::Viewer).await;
    Request::form(
        owner.visitor,
        paths::TEAM_ROLE.with_id(team),
        &[("user", &member.id.to_string()), ("role", "moderator")],
    )
}

async fn team_remove(w: &World) -> Request {
    let (owner, _, team, member) = with_team(w, TeamRole::Viewer).await;
    Request::form(
        owner.visitor,
        paths::TEAM_REMOVE.with_id(team),
        &[("user", &member.id.to_string())],
    )
}

async fn team_transfer(w: &World) -> Request {
    let (owner, _, team, member) = with_team(w, TeamRole::Admin).await;
    Request::form(
        owner.visitor,
        paths::TEAM_TRANSFER.with_id(team),
        &[("user", &member.id.to_string())],
    )
}

async fn team_deactivate(w: &World) -> Request {
    let (owner, _, team, _) = with_team(w, TeamRole::Viewer).await;
    Request::form(owner.visitor, paths::TEAM_DEACTIVATE.with_id(team), &[])
}

async fn team_reactivate(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    let team = w
        .app
        .team(org, &w.unique("Archive"))
        .owned_by(&owner.user)
        .deactivated()
        .create()
        .await;
    Request::form(owner.visitor, paths::TEAM_REACTIVATE.with_id(team), &[])
}

async fn team_budget(w: &World) -> Request {
    let (owner, org, team, _) = with_team(w, TeamRole::Viewer).await;
    w.buy_tokens(org).await;
    Request::form(
        owner.visitor,
        paths::TEAM_BUDGET.with_id(team),
        &[("kind", "inference"), ("tokens", "100")],
    )
}

async fn team_withdraw(w: &World) -> Request {
    let (owner, org, team, _) = with_team(w, TeamRole::Viewer).await;
    w.buy_tokens(org).await;
    let funded = owner
        .post_form(
            &paths::TEAM_BUDGET.with_id(team).to_string(),
            &[("kind", "inference"), ("tokens", "100")],
        )
        .await;
    w.succeeded(&funded, "funding a team");
    let line = w
        .number(&format!(
            "SELECT max(id) FROM token_assignments WHERE team_id = {team}"
        ))
        .await;
    Request::form(
        owner.visitor,
        paths::TEAM_WITHDRAW.with_id(team),
        &[("assignment", &line.to_string())],
    )
}

async fn subscription_plan(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    let plan = w.number("SELECT id FROM plans WHERE name = 'Team'").await;
    Request::form(
        owner.visitor,
        paths::SUBSCRIPTION_PLAN.path(),
        &[("plan", &plan.to_string())],
    )
}

async fn subscription_seat(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    let member = w.member(org, OrgRole::Member).await;
    Request::form(
        owner.visitor,
        paths::SUBSCRIPTION_SEAT.path(),
        &[("user", &member.id.to_string()), ("change", "grant")],
    )
}

async fn subscription_admin(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    let admin = w.member(org, OrgRole::Admin).await;
    Request::form(
        owner.visitor,
        paths::SUBSCRIPTION_ADMIN.path(),
        &[("user", &admin.id.to_string()), ("admin", "yes")],
    )
}

async fn subscription_cancel(w: &World) -> Request {
    // The owner alone: cancelling waits for every other member to go.
    let (owner, _) = w.owner().await;
    Request::form(owner.visitor, paths::SUBSCRIPTION_CANCEL.path(), &[])
}

/// The owner of a new organization with a provider key; the key's id.
async fn with_provider_key(w: &World) -> (SignedIn, i64) {
    let (owner, org) = w.owner().await;
    let added = owner
        .post_form(
            &paths::PROVIDER_KEYS.path(),
            &[
                ("provider", "openai"),
                ("label", "Production"),
                ("secret", "sk-audit-walk-FIRST-0001aaaa"),
            ],
        )
        .await;
    w.succeeded(&added, "adding a provider key");
    let id = w
        .number(&format!(
            "SELECT id FROM provider_keys WHERE org_id = {org}"
        ))
        .await;
    (owner, id)
}

async fn provider_keys(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    Request::form(
        owner.visitor,
        paths::PROVIDER_KEYS.path(),
        &[
            ("provider", "openai"),
            ("label", "Production"),
            ("secret", "sk-audit-walk-FIRST-0001aaaa"),
        ],
    )
}

async fn provider_key_rotate(w: &World) -> Request {
    let (owner, id) = with_provider_key(w).await;
    Request::form(
        owner.visitor,
        paths::PROVIDER_KEY_ROTATE.with_id(id),
        &[("secret", "sk-audit-walk-SECOND-0002bbbb")],
    )
}

async fn provider_key_remove(w: &World) -> Request {
    let (owner, id) = with_provider_key(w).await;
    Request::form(owner.visitor, paths::PROVIDER_KEY_REMOVE.with_id(id), &[])
}

async fn usage_alerts(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    Request::form(
        owner.visitor,
        paths::USAGE_ALERTS.path(),
        &[("thresholds", "80")],
    )
}

async fn service_accounts(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    let name = w.unique("Billing sync");
    Request::form(
        owner.visitor,
        paths::SERVICE_ACCOUNTS.path(),
        &[("name", &name), ("role", "member")],
    )
}

const IP_ENTRY: [(&str, &str); 4] = [
    ("network", "198.51.100.0/24"),
    ("label", "Office"),
    ("endpoint", ""),
    ("confirmed", "yes"),
];

/// The owner of a new organization with a report-only IP entry; the entry's id.
async fn with_ip_entry(w: &World) -> (SignedIn, i64) {
    let (owner, org) = w.owner().await;
    let mut fields = IP_ENTRY.to_vec();
    fields.push(("report_only", "on"));
    let added = owner.post_form(&paths::SECURITY_IP.path(), &fields).await;
    w.succeeded(&added, "adding an IP entry");
    let id = w
        .number(&format!(
            "SELECT id FROM ip_allow_entries WHERE org_id = {org}"
        ))
        .await;
    (owner, id)
}

async fn security_ip(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    Request::form(owner.visitor, paths::SECURITY_IP.path(), &IP_ENTRY)
}

async fn security_ip_remove(w: &World) -> Request {
    let (owner, id) = with_ip_entry(w).await;
    Request::form(
        owner.visitor,
        paths::SECURITY_IP_REMOVE.with_id(id),
        &[("confirmed", "yes")],
    )
}

async fn security_ip_enforce(w: &World) -> Request {
    let (owner, id) = with_ip_entry(w).await;
    Request::form(
        owner.visitor,
        paths::SECURITY_IP_ENFORCE.with_id(id),
        &[("confirmed", "yes")],
    )
}

/// The fields of the console's OpenID client form.
const OAUTH_CLIENT: [(&str, &str); 3] = [
    ("issuer_url", "https://login.console.test"),
    ("client_id", "guildhall"),
    ("client_secret", "s3cr3t-value"),
];

async fn security_sso(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    // A super admin gives the organization its OpenID client first.
    w.app
        .sql("UPDATE platform_settings SET oauth_login_enabled = true")
        .await;
    let root = w.root().await;
    let configured = root
        .post_form(&paths::OAUTH.with_id(org).to_string(), &OAUTH_CLIENT)
        .await;
    w.succeeded(&configured, "configuring the organization's OpenID client");
    Request::form(
        owner.visitor,
        paths::SECURITY_SSO.path(),
        &[("required", "on")],
    )
}

const RESTRICTION: [(&str, &str); 3] = [
    ("member", ""),
    ("endpoint", "embeddings"),
    ("confirmed", "yes"),
];

/// The owner of a new organization with a report-only endpoint restriction; its id.
async fn with_restriction(w: &World) -> (SignedIn, i64) {
    let (owner, org) = w.owner().await;
    let mut fields = RESTRICTION.to_vec();
    fields.push(("report_only", "on"));
    let added = owner
        .post_form(&paths::SECURITY_RESTRICTIONS.path(), &fields)
        .await;
    w.succeeded(&added, "adding an endpoint restriction");
    let id = w
        .number(&format!(
            "SELECT id FROM endpoint_restrictions WHERE org_id = {org}"
        ))
        .await;
    (owner, id)
}

async fn security_restrictions(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    Request::form(
        owner.visitor,
        paths::SECURITY_RESTRICTIONS.path(),
        &RESTRICTION,
    )
}

async fn security_restriction_remove(w: &World) -> Request {
    let (owner, id) = with_restriction(w).await;
    Request::form(
        owner.visitor,
        paths::SECURITY_RESTRICTION_REMOVE.with_id(id),
        &[("confirmed", "yes")],
    )
}

async fn security_restriction_enforce(w: &World) -> Request {
    let (owner, id) = with_restriction(w).await;
    Request::form(
        owner.visitor,
        paths::SECURITY_RESTRICTION_ENFORCE.with_id(id),
        &[("confirmed", "yes")],
    )
}

/// The owner of a new organization with an API key of the organization's; the key's id.
async fn with_org_key(w: &World) -> (SignedIn, i64) {
    let (owner, org) = w.owner().await;
    let created = owner
        .post_form(
            &paths::ORG_API_KEYS.path(),
            &[("name", "CI"), ("lifetime", "none")],
        )
        .await;
    w.succeeded(&created, "creating an organization key");
    let id = w
        .number(&format!("SELECT id FROM api_keys WHERE org_id = {org}"))
        .await;
    (owner, id)
}

async fn api_shared_use(w: &World) -> Request {
    let (owner, org) = w.owner().await;
    let json = serde_json::json!({
        "organization_id": org.0,
        "production_workflows": 2, "work_items": 20, "concurrent_jobs": 1,
    });
    Request {
        by: owner.visitor,
        path: paths::API_SHARED_USE.path(),
        body: Body::Api {
            token: crate::support::PLATFORM_TOKEN.to_owned(),
            json,
        },
    }
}

async fn org_api_keys(w: &World) -> Request {
    let (owner, _) = w.owner().await;
    Request::form(
        owner.visitor,
        paths::ORG_API_KEYS.path(),
        &[("name", "CI"), ("lifetime", "none")],
    )
}

async fn org_api_key_revoke(w: &World) -> Request {
    let (owner, id) = with_org_key(w).await;
    Request::form(owner.visitor, paths::ORG_API_KEY_REVOKE.with_id(id), &[])
}

async fn org_api_key_rotate(w: &World) -> Request {
    let (owner, id) = with_org_key(w).await;
    Request::form(
        owner.visitor,
        paths::ORG_API_KEY_ROTATE.with_id(id),
        &[("overlap", "none")],
    )
}

/// The fields of the console's organization forms, for an organization named `name`.
fn org_fields<'a>(name: &'a str, domain: &'a str, owner: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("name", name),
        ("contact_name", "Pat Contact"),
        ("country", "DE"),
        ("email", "hello@console.test"),
        ("domain", domain),
        ("owner_email", owner),
    ]
}

async fn organizations(w: &World) -> Request {
    let root = w.root().await;
    let slug = w.unique("console");
    let owner = format!("owner@{slug}.test");
    w.app.user(&owner).create().await;
    let (name, domain) = (slug.clone(), format!("{slug}.test"));
    Request::form(
        root.visitor,
        paths::ORGANIZATIONS.path(),
        &org_fields(&name, &domain, &owner),
    )
}

async fn details(w: &World) -> Request {
    let root = w.root().await;
    let org = w.org().await;
    let name = w.unique("Renamed Org");
    let domain = format!("{}.test", name.to_lowercase().replace(' ', "-"));
    Request::form(
        root.visitor,
        paths::DETAILS.with_id(org),
        &org_fields(&name, &domain, ""),
    )
}

async fn assign_users(w: &World) -> Request {
    let root = w.root().await;
    let org = w.org().await;
    let email = format!("{}@assigned.test", w.unique("assignee"));
    w.app.user(&email).create().await;
    Request::form(
        root.visitor,
        paths::ASSIGN_USERS.with_id(org),
        &[("emails", &email)],
    )
}

async fn model_access(w: &World) -> Request {
    let root = w.root().await;
    let org = w.org().await;
    let model = w.number("SELECT min(id) FROM models").await;
    Request::form(
        root.visitor,
        paths::MODEL_ACCESS.with_id(org),
        &[("model", &model.to_string())],
    )
}

async fn oauth(w: &World) -> Request {
    w.app
        .sql("UPDATE platform_settings SET oauth_login_enabled = true")
        .await;
    let root = w.root().await;
    let org = w.org().await;
    Request::form(root.visitor, paths::OAUTH.with_id(org), &OAUTH_CLIENT)
}

async fn purchases(w: &World) -> Request {
    let root = w.root().await;
    let org = w.org().await;
    let reference = w.unique("INV");
    Request::form(
        root.visitor,
        paths::PURCHASES.with_id(org),
        &[
            ("kind", "inference"),
            ("tokens", "1000"),
            ("amount", "10.00"),
            ("currency", "EUR"),
            ("purchased_on", "2026-11-02"),
            ("reference", &reference),
        ],
    )
}

async fn token_assignments(w: &World) -> Request {
    let root = w.root().await;
    let org = w.org().await;
    let member = w.member(org, OrgRole::Member).await;
    w.buy_tokens(org).await;
    Request::form(
        root.visitor,
        paths::TOKEN_ASSIGNMENTS.with_id(org),
        &[
            ("member_email", &member.email),
            ("kind", "inference"),
            ("tokens", "100"),
        ],
    )
}

async fn sales_import(w: &World) -> Request {
    let root = w.root().await;
    let org = w.org().await;
    let reference = w.unique("S");
    Request {
        by: root.visitor,
        path: paths::SALES_IMPORT.path(),
        body: Body::SalesFile(format!(
            "organization,kind,tokens,amount,currency,date,reference\n\
             {org},inference,1000,10.00,EUR,2026-10-01,{reference}\n"
        )),
    }
}

async fn user_status(w: &World) -> Request {
    let root = w.root().await;
    let user = w
        .app
        .user(&format!("{}@nowhere.test", w.unique("disabled")))
        .create()
        .await;
    Request::form(
        root.visitor,
        paths::USER_STATUS.with_id(user.id),
        &[("status", "disabled")],
    )
}

async fn settings(w: &World) -> Request {
    let root = w.root().await;
    Request::form(
        root.visitor,
        paths::SETTINGS.path(),
        &[("invitation_ttl_days", "14")],
    )
}

async fn settings_plans(w: &World) -> Request {
    let root = w.root().await;
    let name = w.unique("Plan");
    Request::form(
        root.visitor,
        paths::SETTINGS_PLANS.path(),
        &[
            ("name", &name),
            ("monthly_price", "49.00"),
            ("included_seats", "25"),
            ("extra_seat_price", "4.50"),
            ("workflow_limit", "50"),
            ("work_item_capacity", "100000"),
            ("concurrent_job_limit", "10"),
        ],
    )
}

async fn settings_models(w: &World) -> Request {
    let root = w.root().await;
    let name = w.unique("model");
    Request::form(
        root.visitor,
        paths::SETTINGS_MODELS.path(),
        &[
            ("provider", "audit-ai"),
            ("model_name", &name),
            ("kind", "inference"),
        ],
    )
}

async fn settings_endpoints(w: &World) -> Request {
    let root = w.root().await;
    let name = w.unique("probe").replace('-', "_");
    Request::form(
        root.visitor,
        paths::SETTINGS_ENDPOINTS.path(),
        &[("endpoint_name", &name), ("endpoint_label", "Probe")],
    )
}
