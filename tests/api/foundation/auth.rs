use guildhall::services::auth::ThrottleLimits;

use crate::support::html::Html;
use crate::support::{OrgRole, spawn_app};

#[tokio::test]
async fn the_start_page_sends_a_visitor_to_sign_in() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.location(), "/login");
    let html = app.get("/login").await.html();
    assert_eq!(html.text("label[for=email]"), "Email");
    assert_eq!(html.attr("#email", "type").as_deref(), Some("email"));
    assert_eq!(html.text("label[for=password]"), "Password");
    assert_eq!(html.attr("#password", "type").as_deref(), Some("password"));
    assert!(
        !html
            .value("form input[type=hidden][name=csrf_token]")
            .is_empty()
    );
}

#[tokio::test]
async fn each_role_lands_where_it_works() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    let owner = app.user("owner@acme.test").create().await;
    let loner = app.user("loner@nowhere.test").create().await;
    app.org("Acme").owned_by(&owner).create().await;

    for (user, expected) in [
        (&admin, "/admin/organizations"),
        (&owner, "/settings/org"),
        (&loner, "/settings/account"),
    ] {
        let response = app.login(user).await;
        assert_eq!(
            (response.status().as_u16(), response.location()),
            (303, "/")
        );
        let response = app.get("/").await;
        assert_eq!(response.location(), expected, "{}", user.email);
        assert_eq!(app.get(expected).await.status(), 200, "{}", user.email);
        app.logout().await;
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;

    let wrong = app.login_with(&user.email, "not the password").await;
    let wrong_status = wrong.status();
    let wrong_body = wrong.text();
    let unknown = app.login_with("nobody@acme.test", "not the password").await;
    let unknown_status = unknown.status();
    let unknown_body = unknown.text();

    assert_eq!(wrong_status, 422);
    assert_eq!(unknown_status, 422);
    let wrong_page = Html::parse(wrong_body);
    assert_eq!(
        wrong_page.text("#login-error"),
        "The email or password is not correct."
    );
    let without_email = |body: &str, email: &str| {
        let token = Html::parse(body).value("input[name=csrf_token]");
        body.replace(email, "").replace(&token, "")
    };
    assert_eq!(
        without_email(wrong_body, &user.email),
        without_email(unknown_body, "nobody@acme.test")
    );
    // Still signed out, and the typed email is kept, tied to the error.
    assert_eq!(wrong_page.value("#email"), "ada@acme.test");
    assert_eq!(
        wrong_page.attr("#email", "aria-describedby").as_deref(),
        Some("login-error")
    );
    assert_eq!(app.get("/settings/account").await.location(), "/login");
}

#[tokio::test]
async fn repeated_failures_from_one_address_refuse_it_even_the_right_password() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    for _ in 0..ThrottleLimits::default().per_account_and_address {
        let response = app.login_with("ADA@acme.test", "guess").await;
        assert_eq!(response.status(), 422);
    }
    let response = app.login(&user).await;
    assert_eq!(response.status(), 429);
    let error = response.html().text("#login-error");
    assert!(error.starts_with("Too many failed attempts"), "{error}");
    assert_eq!(app.get("/settings/account").await.location(), "/login");
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_throttled_across_accounts() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    for attempt in 0..ThrottleLimits::default().per_address {
        let email = format!("guess{attempt}@acme.test");
        app.login_with(&email, "guess").await;
    }
    assert_eq!(app.login(&user).await.status(), 429);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_their_open_session_ends() {
    let app = spawn_app().await;
    let owner = app.user("owner@acme.test").create().await;
    app.org("Acme").owned_by(&owner).create().await;
    app.login(&owner).await;
    assert_eq!(app.get("/settings/org").await.status(), 200);

    app.sql(&format!(
        "UPDATE users SET status = 'disabled' WHERE id = {}",
        owner.id
    ))
    .await;

    let response = app.get("/settings/org").await;
    assert_eq!(
        (response.status().as_u16(), response.location()),
        (303, "/login")
    );
    let response = app.login(&owner).await;
    assert_eq!(response.status(), 403);
    let error = response.html().text("#login-error");
    assert!(error.starts_with("This account is disabled"), "{error}");
}

#[tokio::test]
async fn a_member_who_is_removed_loses_the_organization_on_the_next_request() {
    let app = spawn_app().await;
    let org = app.org("Acme").create().await;
    let member = app
        .user("member@acme.test")
        .member_of(org, OrgRole::Member)
        .create()
        .await;
    app.login(&member).await;
    assert_eq!(
        app.get("/settings/org").await.html().text("main h1"),
        "Acme"
    );

    app.sql(&format!(
        "DELETE FROM memberships WHERE user_id = {}",
        member.id
    ))
    .await;

    let response = app.get("/settings/org").await;
    assert_eq!(response.location(), "/settings/account");
}
