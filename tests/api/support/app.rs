//! The app on port 0 with its own database, and visitors: HTTP clients with their own cookies.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use guildhall::config::Settings;
use guildhall::db::DbPool;
use guildhall::domain::random_token;
use guildhall::startup::Application;

use super::builders::TestUser;
use super::db::TestDb;

/// A running app with its database, and a default visitor (a browser-like client with cookies).
pub struct TestApp {
    pub pool: DbPool,
    pub db: TestDb,
    pub visitor: Visitor,
}

impl std::ops::Deref for TestApp {
    type Target = Visitor;
    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

/// Someone with their own cookie jar: another browser, another device, an attacker.
pub struct Visitor {
    pub address: String,
    pub client: reqwest::Client,
}

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
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create().await;
    let mut settings = test_settings(db.url());
    configure(&mut settings);
    let app = Application::build(settings).await.expect("build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        pool,
        db,
        visitor: Visitor {
            address,
            client: new_client(),
        },
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

/// The `csrf_token` hidden field of a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a csrf_token field on the page") + marker.len();
    html[start..].split('"').next().expect("token").to_owned()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl Visitor {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    /// A CSRF token of this client's session, read from a page the way a browser gets it.
    pub async fn csrf_token(&self) -> String {
        let signed_in = self.get("/settings/account").await;
        let html = if signed_in.status() == 200 {
            signed_in.text().await.expect("body")
        } else {
            self.get_html("/login").await
        };
        csrf_in(&html)
    }

    /// POSTs a form with this session's CSRF token, as a plain browser form would.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .form(&fields)
            .send()
            .await
            .expect("POST")
    }

    /// POSTs a form the way htmx does: token in the header, `HX-Request: true`.
    pub async fn post_htmx(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        self.client
            .post(self.url(path))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token)
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    pub async fn login(&self, user: &TestUser) -> reqwest::Response {
        self.post_form(
            "/login",
            &[("email", &user.email), ("password", &user.password)],
        )
        .await
    }

    pub async fn logout(&self) -> reqwest::Response {
        self.post_form("/logout", &[]).await
    }
}

impl TestApp {
    /// A second, independent visitor of the same app.
    pub fn another_visitor(&self) -> Visitor {
        Visitor {
            address: self.visitor.address.clone(),
            client: new_client(),
        }
    }

    pub async fn conn(&self) -> guildhall::db::DbConn {
        self.pool.get().await.expect("a connection")
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

    /// Runs SQL against the test database (to set up states no page can reach, like old sessions).
    pub async fn sql(&self, statement: &str) {
        let mut conn = self.conn().await;
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .expect("sql");
    }
}
