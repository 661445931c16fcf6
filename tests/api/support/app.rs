//! The app on port 0 with its own database, and visitors: browser-like clients with their own
//! cookies that remember the CSRF token of the last page they were shown, as a browser does.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use guildhall::clock::Clock;
use guildhall::config::Settings;
use guildhall::db::{DbConn, DbPool};
use guildhall::domain::random_token;
use guildhall::startup::Application;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::builders::TestUser;
use super::db::TestDb;
use super::html::Html;
use super::{OrgId, OrgRole};

/// The platform's token every test app is configured with (`GUILDHALL_PLATFORM_TOKEN`).
pub const PLATFORM_TOKEN: &str = "test-platform-token-0123456789abcdef";

/// The settings of a test app; the one place they are written.
pub fn test_settings(database_url: String) -> Settings {
    Settings {
        database_url,
        bind: "127.0.0.1:0".to_owned(),
        base_url: "http://127.0.0.1".to_owned(),
        secret: guildhall::domain::random_bytes(64).into(),
        master_key: guildhall::domain::random_bytes(32).into(),
        smtp_url: None,
        mail_dir: std::env::temp_dir().join(format!("guildhall-mail-{}", random_token(6))),
        mail_from: "Guildhall <no-reply@guildhall.test>".to_owned(),
        trusted_proxies: Vec::new(),
        database_pool_size: 4,
        password_hashes_at_once: 4,
        password_wait_ms: 2_000,
        body_limits: guildhall::config::BodyLimits::default(),
        session_limits: guildhall::config::SessionLimits::default(),
        throttle: guildhall::services::auth::ThrottleLimits::default(),
        outbox: guildhall::services::outbox::OutboxPace {
            poll_ms: 100,
            retry_base_ms: 200,
        },
        api_calls_per_key_per_second: 1_000,
        platform_token: Some(secrecy::SecretString::from(PLATFORM_TOKEN)),
        statement_limits: guildhall::db::StatementLimits {
            statement_timeout_ms: 10_000,
            lock_timeout_ms: 5_000,
        },
    }
}

/// A running app with its database, and a default visitor (a browser-like client with cookies).
pub struct TestApp {
    pub pool: DbPool,
    /// The app's clock, stopped at the start: tests move it instead of waiting.
    pub clock: Clock,
    pub db: TestDb,
    pub visitor: Visitor,
    /// The master key the app seals secrets with (a second instance needs the same).
    pub master_key: Vec<u8>,
    /// The app's policy cache, to wait until it has heard a change made behind its back.
    pub policy_cache: std::sync::Arc<guildhall::services::policy_cache::PolicyCache>,
    /// How many people `signed_in_as` has made, so each gets their own email and organization.
    people: AtomicUsize,
}

impl std::ops::Deref for TestApp {
    type Target = Visitor;
    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create().await;
    let mut settings = test_settings(db.url());
    configure(&mut settings);
    let master_key = settings.master_key_bytes();
    let clock = Clock::fixed_now();
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool.clone();
    let policy_cache = app.policy_cache.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        pool,
        policy_cache,
        clock,
        db,
        visitor: Visitor::new(&address),
        master_key,
        people: AtomicUsize::new(0),
    }
}

/// A response read in full: status, headers and body, any number of times.
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl TestResponse {
    pub async fn read(response: reqwest::Response) -> TestResponse {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("the response body");
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header as text; empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Where a redirect points; empty when it is not one.
    pub fn location(&self) -> &str {
        self.header("location")
    }

    pub fn text(&self) -> &str {
        &self.body
    }

    pub fn html(&self) -> Html {
        Html::parse(&self.body)
    }

    fn is_html(&self) -> bool {
        self.header("content-type").starts_with("text/html")
    }

    /// The CSRF token a browser would take from this page: the `<meta name="csrf-token">` of
    /// signed-in pages, or the `csrf_token` field of a form (the sign-in page).
    fn csrf_token(&self) -> Option<String> {
        if !self.is_html() || !self.body.contains("csrf") {
            return None;
        }
        let html = self.html();
        let first = |css: &str, attribute: &str| {
            html.all(css)
                .into_iter()
                .find_map(|e| e.value().attr(attribute).map(str::to_owned))
        };
        first("meta[name=csrf-token]", "content")
            .or_else(|| first("input[name=csrf_token]", "value"))
    }
}

/// Someone with their own cookie jar: another browser, another device, an attacker. Like a
/// browser, a visitor posts forms with the CSRF token of the last page it was shown; it never
/// fetches a page behind the test's back to get one.
pub struct Visitor {
    pub address: String,
    pub client: reqwest::Client,
    csrf_token: Mutex<Option<String>>,
}

impl Visitor {
    pub fn new(address: &str) -> Visitor {
        Visitor {
            address: address.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .expect("client"),
            csrf_token: Mutex::new(None),
        }
    }

    /// The same browser on another address (its cookies go along).
    pub fn with_client(address: &str, client: reqwest::Client) -> Visitor {
        Visitor {
            address: address.to_owned(),
            client,
            csrf_token: Mutex::new(None),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.address)
        }
    }

    /// Sends a request built by hand (own headers, a stale or missing token) and reads the
    /// answer; a page in it updates the token this visitor remembers.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        let response = TestResponse::read(request.send().await.expect("send the request")).await;
        if let Some(token) = response.csrf_token() {
            *self.csrf_token.lock().expect("token lock") = Some(token);
        }
        response
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.client.get(self.url(path))).await
    }

    /// The body of a page, as text.
    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.body
    }

    /// A GET the way htmx makes it (`HX-Request: true`).
    pub async fn get_htmx(&self, path: &str) -> TestResponse {
        self.send(self.client.get(self.url(path)).header("HX-Request", "true"))
            .await
    }

    /// A GET the way htmx makes it for one region (`HX-Target`), which answers with that region.
    pub async fn get_htmx_target(&self, path: &str, target: &str) -> TestResponse {
        self.send(
            self.client
                .get(self.url(path))
                .header("HX-Request", "true")
                .header("HX-Target", target),
        )
        .await
    }

    /// The CSRF token of the last page this visitor was shown.
    pub fn csrf_token(&self) -> String {
        self.csrf_token
            .lock()
            .expect("token lock")
            .clone()
            .expect("no CSRF token yet: open a page (or sign in) before posting a form")
    }

    /// POSTs a form with the token of the last page shown, as a plain browser form does.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf_token();
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token));
        self.send(self.client.post(self.url(path)).form(&fields))
            .await
    }

    /// POSTs a form the way htmx does: token in the header, `HX-Request: true`.
    pub async fn post_htmx(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf_token();
        self.send(
            self.client
                .post(self.url(path))
                .header("HX-Request", "true")
                .header("X-CSRF-Token", token)
                .form(fields),
        )
        .await
    }

    /// Follows redirects as a browser does, until a page is shown.
    async fn follow(&self, response: &TestResponse) {
        let mut location = response.location().to_owned();
        for _ in 0..5 {
            if location.is_empty() {
                return;
            }
            location = self.get(&location).await.location().to_owned();
        }
        panic!("more than five redirects from {}", response.location());
    }

    /// Opens the sign-in page, submits the form and, when it redirects, lands where the browser
    /// would (taking the new session's token from that page). Returns the form's answer.
    pub async fn login_with(&self, email: &str, password: &str) -> TestResponse {
        self.get("/login").await;
        let response = self
            .post_form("/login", &[("email", email), ("password", password)])
            .await;
        self.follow(&response).await;
        response
    }

    pub async fn login(&self, user: &TestUser) -> TestResponse {
        self.login_with(&user.email, &user.password).await
    }

    /// Signs out and lands on the sign-in page, as the browser would. Returns the form's answer.
    pub async fn logout(&self) -> TestResponse {
        let response = self.post_form("/logout", &[]).await;
        self.follow(&response).await;
        response
    }
}

/// Who a story is about, for `signed_in_as`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    SuperAdmin,
    OrgOwner,
    OrgAdmin,
    OrgMember,
    /// An account in no organization.
    PlainUser,
}

/// A visitor signed in as a new user, with the user and (for organization roles) their
/// organization.
pub struct SignedIn {
    pub visitor: Visitor,
    pub user: TestUser,
    pub org: Option<OrgId>,
}

impl std::ops::Deref for SignedIn {
    type Target = Visitor;
    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

impl TestApp {
    /// A second, independent visitor of the same app.
    pub fn another_visitor(&self) -> Visitor {
        Visitor::new(&self.visitor.address)
    }

    /// A new person with `role`, signed in through the real sign-in form in their own browser.
    /// The n-th call makes `root<n>@platform.test`, `user<n>@nowhere.test`, or
    /// `owner|admin|member@org-<n>.test` in a new organization "Org <n>".
    pub async fn signed_in_as(&self, role: Role) -> SignedIn {
        let n = self.people.fetch_add(1, Ordering::SeqCst) + 1;
        let in_org = |who: &str| format!("{who}@org-{n}.test");
        let (user, org) = match role {
            Role::SuperAdmin => {
                let email = format!("root{n}@platform.test");
                (self.user(&email).super_admin().create().await, None)
            }
            Role::PlainUser => {
                let email = format!("user{n}@nowhere.test");
                (self.user(&email).create().await, None)
            }
            Role::OrgOwner | Role::OrgAdmin | Role::OrgMember => {
                let owner = self.user(&in_org("owner")).create().await;
                let org = self
                    .org(&format!("Org {n}"))
                    .owned_by(&owner)
                    .create()
                    .await;
                let user = match role {
                    Role::OrgAdmin => {
                        self.user(&in_org("admin"))
                            .member_of(org, OrgRole::Admin)
                            .create()
                            .await
                    }
                    Role::OrgMember => {
                        self.user(&in_org("member"))
                            .member_of(org, OrgRole::Member)
                            .create()
                            .await
                    }
                    _ => owner,
                };
                (user, Some(org))
            }
        };
        let visitor = self.another_visitor();
        let response = visitor.login(&user).await;
        assert_eq!(response.status(), 303, "signing in as {role:?}");
        SignedIn { visitor, user, org }
    }

    pub async fn conn(&self) -> DbConn {
        self.pool.get().await.expect("a connection")
    }

    /// A single text from SQL (an address the app made up, say).
    pub async fn string(&self, query: &str) -> String {
        #[derive(QueryableByName)]
        struct Text {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        let mut conn = self.conn().await;
        let rows: Vec<Text> = diesel::sql_query(format!("SELECT ({query})::text AS t"))
            .load(&mut conn)
            .await
            .expect("text query");
        rows[0].t.clone()
    }

    /// A single number from SQL (counts, totals), to check what a request changed.
    pub async fn number(&self, query: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Number {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn().await;
        let rows: Vec<Number> = diesel::sql_query(format!("SELECT ({query})::bigint AS n"))
            .load(&mut conn)
            .await
            .expect("number query");
        rows[0].n
    }

    /// Runs SQL against the test database (to set up states no page can reach, like old
    /// sessions), then waits until the app has heard the policy notifications it caused, as a
    /// console change does.
    pub async fn sql(&self, statement: &str) {
        let mut conn = self.conn().await;
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .expect("sql");
        self.policy_cache
            .sync(&mut conn)
            .await
            .expect("the app hears policy notifications");
    }
}
