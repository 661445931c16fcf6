use crate::support::{Role, TestResponse, spawn_app, spawn_app_with};

fn set_cookie(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn session_cookie(response: &TestResponse) -> Option<String> {
    set_cookie(response, "guildhall_session")
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_cookies_are_http_only_same_site_and_not_secure_over_http() {
    let app = spawn_app().await;
    let page = app.get("/login").await;
    assert!(session_cookie(&page).is_none(), "a visitor gets no session");
    let visitor = set_cookie(&page, "guildhall_csrf").expect("the visitor's CSRF cookie");
    assert!(
        visitor.contains("HttpOnly") && visitor.contains("SameSite=Strict"),
        "{visitor}"
    );
    assert!(!visitor.contains("Secure"), "{visitor}");
    let user = app.user("ada@acme.test").create().await;
    let signed_in = app.login(&user).await;
    let cookie = session_cookie(&signed_in).expect("a session cookie at sign-in");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn the_cookies_are_secure_when_the_console_is_served_over_https() {
    let app =
        spawn_app_with(|settings| settings.base_url = "https://console.example".to_owned()).await;
    let page = app.get("/login").await;
    let visitor = set_cookie(&page, "guildhall_csrf").expect("cookie");
    assert!(visitor.contains("Secure"), "{visitor}");
    let user = app.user("ada@acme.test").create().await;
    let cookie = session_cookie(&app.login(&user).await).expect("cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn signing_in_renews_the_session_and_the_old_cookie_stays_anonymous() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    // Whatever the visitor held before signing in (their CSRF cookie, no session)...
    let before =
        cookie_value(&set_cookie(&app.get("/login").await, "guildhall_csrf").expect("cookie"));

    let response = app.login(&user).await;
    let after = cookie_value(&session_cookie(&response).expect("a new cookie at sign-in"));
    assert_ne!(before, after);

    // Someone who planted or copied the pre-login cookie does not get the signed-in session.
    let attacker = app.another_visitor();
    let with_cookie = |cookie: &str| {
        attacker
            .client
            .get(app.url("/settings/account"))
            .header("Cookie", cookie)
    };
    let response = attacker.send(with_cookie(&before)).await;
    assert_eq!(response.location(), "/login");
    let response = attacker.send(with_cookie(&after)).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_cookie_copied_before_sign_out_is_refused_afterwards() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    let signed_in = cookie_value(&session_cookie(&app.login(&user).await).expect("cookie"));

    let response = app.logout().await;
    assert_eq!(response.location(), "/login?signed_out=1");
    assert_eq!(
        app.get("/login?signed_out=1")
            .await
            .html()
            .text("main .alert-success"),
        "You have signed out."
    );

    let thief = app.another_visitor();
    let replay = thief
        .send(
            thief
                .client
                .get(app.url("/settings/account"))
                .header("Cookie", &signed_in),
        )
        .await;
    assert_eq!(
        (replay.status().as_u16(), replay.location()),
        (303, "/login")
    );
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    let phone = app.another_visitor();
    phone.login(&user).await;
    assert_eq!(phone.get("/settings/account").await.status(), 200);
    app.login(&user).await;

    let response = app
        .post_form(
            "/settings/account/password",
            &[
                ("current_password", &user.password),
                ("new_password", "a brand new secret"),
                ("confirm_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(response.location(), "/settings/account");
    let page = app.get("/settings/account").await.html();
    assert_eq!(
        page.texts("#alerts .alert"),
        ["Your password was changed. Other devices have been signed out."],
        "the changing session continues"
    );

    assert_eq!(phone.get("/settings/account").await.location(), "/login");
    // The new password works, the old one does not.
    app.logout().await;
    assert_eq!(app.login(&user).await.status(), 422);
    let response = app.login_with(&user.email, "a brand new secret").await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    assert_eq!(ada.get("/settings/account").await.status(), 200);

    app.clock.advance(chrono::Duration::hours(3));

    assert_eq!(ada.get("/settings/account").await.location(), "/login");
}

#[tokio::test]
async fn a_session_expires_twelve_hours_after_sign_in_even_when_active() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;

    // Active all along: a request every 25 minutes, so only the absolute limit can end it.
    for _ in 0..28 {
        app.clock.advance(chrono::Duration::minutes(25));
        assert_eq!(ada.get("/settings/account").await.status(), 200);
    }
    app.clock.advance(chrono::Duration::minutes(25));

    assert_eq!(ada.get("/settings/account").await.location(), "/login");
}

#[tokio::test]
async fn a_super_administrators_session_is_shorter() {
    let app = spawn_app().await;
    let member = app.signed_in_as(Role::OrgMember).await;
    let root = app.signed_in_as(Role::SuperAdmin).await;

    // Idle: 16 minutes end the super administrator's session, not the member's.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(member.get("/settings/account").await.status(), 200);
    assert_eq!(root.get("/admin/organizations").await.location(), "/login");

    // Absolute: eight hours, however active.
    let root = app.signed_in_as(Role::SuperAdmin).await;
    for _ in 0..48 {
        app.clock.advance(chrono::Duration::minutes(10));
        assert_eq!(root.get("/admin/organizations").await.status(), 200);
    }
    app.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(root.get("/admin/organizations").await.location(), "/login");
    assert_eq!(
        member.get("/settings/account").await.location(),
        "/login",
        "idle 8 h"
    );
}

#[tokio::test]
async fn the_user_read_with_the_session_is_never_written_back_into_it() {
    let app = spawn_app().await;
    let user = app.user("ada@acme.test").create().await;
    app.login(&user).await;
    // A change that saves the session (a flash message), minutes later (last_seen moves too).
    app.clock.advance(chrono::Duration::minutes(20));
    let saved = app
        .post_form(
            "/settings/account/profile",
            &[("first_name", "Ada"), ("last_name", "Lovelace")],
        )
        .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(app.get("/settings/account").await.status(), 200);
    assert_eq!(app.number("SELECT count(*) FROM sessions").await, 1);
    assert_eq!(
        app.number("SELECT count(*) FROM sessions WHERE state ? 'current_user'")
            .await,
        0
    );
    // The name shown comes from the database, not from anything the session kept.
    app.sql("UPDATE users SET first_name = 'Augusta' WHERE email = 'ada@acme.test'")
        .await;
    let page = app.get("/settings/account").await.html();
    let name: String = page.one("nav.account-menu summary").text().collect();
    assert_eq!(name.trim(), "Augusta Lovelace");
}

/// Twenty requests of one session at once, the first in a while: all are served and the
/// session is recorded as seen, so it lives on (the write skips a row another one is writing).
#[tokio::test]
async fn many_requests_of_one_session_at_once_all_keep_it_alive() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;
    app.clock.advance(chrono::Duration::minutes(25));
    let requests = (0..20).map(|_| ada.get("/settings/account"));
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Seen 25 minutes in: another 25 minutes later it is still within the 30-minute idle limit.
    app.clock.advance(chrono::Duration::minutes(25));
    assert_eq!(ada.get("/settings/account").await.status(), 200);
}
