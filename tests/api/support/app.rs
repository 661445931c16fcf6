//! The test harness: a database per test cloned from a migrated template, the app on port 0,
//! an HTTP client with cookies, and builders for users and organizations.

use std::sync::LazyLock;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use guildhall::config::Settings;
use guildhall::db::DbPool;
use guildhall::domain::{OrgId, OrgRole, PlatformRole, UserId, password, random_token};
use guildhall::models::memberships::{self, NewMembership};
use guildhall::models::organizations::{self, OrganizationFields};
use guildhall::models::users::{self, NewUser};
use guildhall::startup::Application;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// The server holding the test databases; `DATABASE_URL`'s server when set.
fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    match url.rsplit_once('/') {
        Some((server, _database)) if server.contains("://") && !server.ends_with('/') => {
            server.to_owned()
        }
        _ => url,
    }
}

fn database_url(name: &str) -> String {
    format!("{}/{name}", server_url())
}

/// Hash of the migrations, so a changed migration gets a fresh template.
static TEMPLATE_NAME: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        hasher.update(path.file_name().expect("name").as_encoded_bytes());
        hasher.update(std::fs::read(path.join("up.sql")).expect("up.sql"));
    }
    let digest = hasher.finalize();
    format!(
        "guildhall_tmpl_{}",
        digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
});

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    #[allow(dead_code)]
    found: i32,
}

/// Creates the migrated template once, across test processes (nextest runs one per test).
async fn ensure_template() {
    let mut admin = AsyncPgConnection::establish(&database_url("postgres"))
        .await
        .expect("connect to postgres");
    admin
        .batch_execute("SELECT pg_advisory_lock(7231)")
        .await
        .expect("lock");
    let exists = diesel::sql_query("SELECT 1 AS found FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(TEMPLATE_NAME.as_str())
        .load::<Found>(&mut admin)
        .await
        .expect("query pg_database");
    if exists.is_empty() {
        let name = TEMPLATE_NAME.as_str();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create template");
        guildhall::db::run_migrations(&database_url(name))
            .await
            .expect("migrate template");
        admin
            .batch_execute(&format!("ALTER DATABASE {name} WITH IS_TEMPLATE true"))
            .await
            .expect("mark template");
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(7231)")
        .await
        .expect("unlock");
}

/// A database of one test, dropped (even after a panic) when the test ends.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        ensure_template().await;
        let name = format!(
            "guildhall_t_{}",
            random_token(9).to_lowercase().replace(['-', '_'], "x")
        );
        let mut admin = AsyncPgConnection::establish(&database_url("postgres"))
            .await
            .expect("connect");
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE {}",
                TEMPLATE_NAME.as_str()
            ))
            .await
            .expect("clone template");
        TestDb { name }
    }

    pub fn url(&self) -> String {
        database_url(&self.name)
    }

    /// Drops the database now (to simulate an outage).
    pub async fn drop_now(&self) {
        let mut admin = AsyncPgConnection::establish(&database_url("postgres"))
            .await
            .expect("connect");
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .expect("drop");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // No async Drop: a thread with its own runtime, joined so the process cannot exit first.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = AsyncPgConnection::establish(&database_url("postgres")).await
                {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestUser {
    pub id: UserId,
    pub email: String,
    pub password: String,
}

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

    pub async fn create_user(&self, email: &str, role: PlatformRole) -> TestUser {
        let hash = tokio::task::spawn_blocking(|| {
            password::hash(&SecretString::from(PASSWORD.to_owned()))
        })
        .await
        .expect("task")
        .expect("hash");
        let mut conn = self.conn().await;
        let new = NewUser {
            email,
            first_name: "Test",
            last_name: "User",
            password_hash: Some(&hash),
            platform_role: role,
        };
        let user = users::insert(&mut conn, &new).await.expect("insert user");
        TestUser {
            id: user.id,
            email: user.email,
            password: PASSWORD.to_owned(),
        }
    }

    pub async fn super_admin(&self) -> TestUser {
        self.create_user("root@platform.test", PlatformRole::SuperAdmin)
            .await
    }

    /// An organization with `owner` as its owner.
    pub async fn create_org(&self, name: &str, owner: &TestUser) -> OrgId {
        let mut conn = self.conn().await;
        let slug = name.to_lowercase().replace(' ', "-");
        let email = format!("contact@{slug}.test");
        let domain = format!("{slug}.test");
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let fields = OrganizationFields {
                name: name.to_owned(),
                contact_name: "Contact Person".to_owned(),
                address: String::new(),
                zip: String::new(),
                city: String::new(),
                country: "DE".to_owned(),
                phone: String::new(),
                email: email.clone(),
                domain: Some(domain.clone()),
                restrict_to_domain: false,
                allow_subdomains: false,
            };
            let org = organizations::insert(conn, &fields, None).await?;
            memberships::insert(
                conn,
                &NewMembership {
                    org_id: org.id,
                    user_id: owner.id,
                    role: OrgRole::Owner,
                },
            )
            .await?;
            Ok(org.id)
        })
        .await
        .expect("create org")
    }

    pub async fn add_member(&self, org_id: OrgId, user: &TestUser, role: OrgRole) {
        let mut conn = self.conn().await;
        memberships::insert(
            &mut conn,
            &NewMembership {
                org_id,
                user_id: user.id,
                role,
            },
        )
        .await
        .expect("add member");
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
