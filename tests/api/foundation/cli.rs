//! The `guildhall` binary's subcommands, run as a user would run them.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::html::Html;
use crate::support::{TestDb, TestUser, spawn_app_with};

fn guildhall(database_url: &str, args: &[&str], stdin: &str) -> (bool, String) {
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
