//! The `guildhall` binary's subcommands, run as a user would run them.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::html::Html;
use crate::support::{TestDb, TestUser, spawn_app_with};

pub fn guildhall(database_url: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guildhall"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("GUILDHALL_SECRET", guildhall_test_key(64))
        .env("GUILDHALL_MASTER_KEY", guildhall_test_key(32))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run guildhall");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn guildhall_test_key(len: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(vec![7u8; len])
}

#[tokio::test]
async fn create_superadmin_reads_the_password_from_standard_input() {
    let db = TestDb::create().await;
    let (ok, output) = guildhall(
        &db.url(),
        &["create-superadmin", "--email", "Root@Example.test"],
        "a long enough password\n",
    );
    assert!(ok, "{output}");
    assert!(
        output.contains("root@example.test is a super administrator."),
        "{output}"
    );

    let (ok, output) = guildhall(
        &db.url(),
        &["create-superadmin", "--email", "short@example.test"],
        "short\n",
    );
    assert!(
        !ok && output.contains("Use at least 12 characters"),
        "{output}"
    );

    let url = db.url();
    let app = spawn_app_with(|settings| settings.database_url = url).await;
    let root = TestUser::existing("root@example.test", "a long enough password");
    app.login(&root).await;
    assert_eq!(app.get("/admin/organizations").await.status(), 200);
}

#[tokio::test]
async fn seed_demo_creates_data_once_and_prints_how_to_sign_in() {
    let db = TestDb::create().await;
    let (ok, first) = guildhall(&db.url(), &["seed-demo"], "");
    assert!(ok, "{first}");
    assert!(
        first.contains("admin@guildhall.example") && first.contains(guildhall::seed::DEMO_PASSWORD),
        "{first}"
    );
    let (ok, second) = guildhall(&db.url(), &["seed-demo"], "");
    assert!(ok && second.contains("already present"), "{second}");

    let url = db.url();
    let app = spawn_app_with(|settings| settings.database_url = url).await;
    let owner = TestUser::existing(
        "amara.okafor@northwind.example",
        guildhall::seed::DEMO_PASSWORD,
    );
    app.login(&owner).await;
    let page = app.get_html("/settings/org").await;
    assert_eq!(Html::parse(&page).text("main h1"), "Northwind Robotics");
    assert!(page.contains("Jonas Becker"), "{page}");
}

#[tokio::test]
async fn seed_demo_refuses_to_run_in_production() {
    let db = TestDb::create().await;
    let output = Command::new(env!("CARGO_BIN_EXE_guildhall"))
        .arg("seed-demo")
        .env("DATABASE_URL", db.url())
        .env("GUILDHALL_ENV", "production")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run guildhall");
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("GUILDHALL_ENV=production"), "{said}");
    assert_eq!(said.lines().count(), 1, "one clear line: {said}");
    let pool = guildhall::db::build_pool(&db.url(), 1).expect("pool");
    let users = guildhall::models::users::find_by_email(
        &mut pool.get().await.expect("a connection"),
        "admin@guildhall.example",
    )
    .await;
    assert!(!matches!(users, Ok(Some(_))), "no demo account was made");
}

#[tokio::test]
async fn rotate_master_key_reseals_the_stored_keys_under_the_key_read_from_standard_input() {
    use guildhall::crypto::{self, SealedIn};
    use guildhall::domain::OrgId;
    let db = TestDb::create().await;
    let (ok, output) = guildhall(&db.url(), &["migrate"], "");
    assert!(ok, "{output}");
    let old_key = vec![7u8; 32];
    let new_key = vec![9u8; 32];
    let pool = guildhall::db::build_pool(&db.url(), 1).expect("pool");
    let mut conn = pool.get().await.expect("a connection");
    {
        use diesel_async::RunQueryDsl;
        // One statement, so the one-owner check at commit sees the owner.
        diesel::sql_query(
            "WITH owner AS (INSERT INTO users (email, first_name, last_name) \
                            VALUES ('owner@acme.test', 'Olive', 'Owner') RETURNING id), \
                  org AS (INSERT INTO organizations (id, name, contact_name, country, email) \
                          VALUES (41, 'Acme', 'Olive', 'DE', 'contact@acme.test') RETURNING id) \
             INSERT INTO memberships (org_id, user_id, role) SELECT org.id, owner.id, 'owner' FROM org, owner",
        )
        .execute(&mut conn)
        .await
        .expect("an organization");
    }
    let org = OrgId(41);
    let id = guildhall::models::provider_keys::next_id(&mut conn)
        .await
        .expect("an id");
    let context = SealedIn::ProviderKey(org, id).context();
    let sealed = crypto::seal(&old_key, b"sk-live-value-1234", &context).expect("seal");
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO provider_keys (id, org_id, provider, label, secret_sealed, last_four, created_at) \
             VALUES ({id}, 41, 'openai', 'Production', decode('{}', 'hex'), '1234', now())",
            sealed.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ))
        .execute(&mut conn)
        .await
        .expect("a key");
    }

    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&new_key);
    let (ok, output) = guildhall(&db.url(), &["rotate-master-key"], &format!("{encoded}\n"));
    assert!(ok, "{output}");
    assert!(
        output
            .contains("Re-encrypted 1 provider keys, 0 OAuth client secrets and 0 queued emails."),
        "{output}"
    );
    assert!(
        output.contains("Set GUILDHALL_MASTER_KEY to the new key"),
        "{output}"
    );
    let stored = guildhall::models::provider_keys::sealed_value(&mut conn, org, id)
        .await
        .expect("query")
        .expect("the key");
    assert_eq!(
        crypto::open(&new_key, &stored, &context).expect("opens with the new key"),
        b"sk-live-value-1234"
    );
    assert!(
        !output.contains("sk-live-value"),
        "the value is never printed"
    );

    // Run again with the old key configured: nothing opens, nothing changes, one clear line.
    let (ok, output) = guildhall(&db.url(), &["rotate-master-key"], &format!("{encoded}\n"));
    assert!(!ok);
    assert!(
        output.contains("provider key")
            && output.contains("does not open under the current master key"),
        "{output}"
    );
    let (ok, output) = guildhall(&db.url(), &["rotate-master-key"], "not base64!\n");
    assert!(!ok);
    assert!(
        output.contains("the new master key is not valid base64"),
        "{output}"
    );
}

#[tokio::test]
async fn rotate_master_key_refuses_to_run_while_a_console_serves_the_database() {
    let app = crate::support::spawn_app().await;
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let (ok, output) = guildhall(
        &app.db.url(),
        &["rotate-master-key"],
        &format!("{encoded}\n"),
    );
    assert!(!ok, "{output}");
    assert!(
        output.contains("a console is serving this database") && output.lines().count() == 1,
        "{output}"
    );
}
