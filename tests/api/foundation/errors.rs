use crate::support::{Role, spawn_app};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/login", "/static/app.css", "/no/such/page", "/healthz"] {
        let response = app.get(path).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
    }
}

#[tokio::test]
async fn an_unknown_address_gets_the_not_found_page_or_an_alert_for_htmx() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let html = response.html();
    assert_eq!(html.text("main h1"), "Not Found");
    assert_eq!(html.text("main a[href='/']"), "Go to the start page");

    let response = app
        .send(
            app.client
                .get(app.url("/no/such/page"))
                .header("HX-Request", "true"),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers().get("HX-Retarget").expect("retarget"),
        "#alerts"
    );
    assert!(!response.text().contains("<html"));
}

#[tokio::test]
async fn the_vendored_assets_are_served_from_the_binary() {
    let app = spawn_app().await;
    let htmx = app.get("/static/vendor/htmx.min.js").await;
    assert_eq!(htmx.status(), 200);
    assert!(
        htmx.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/javascript")
    );
    assert!(htmx.text().contains("htmx"));
    assert_eq!(app.get("/static/nothing.js").await.status(), 404);
    let login = app.get_html("/login").await;
    assert!(
        !login.contains("http://") && !login.contains("https://"),
        "pages load nothing from other hosts"
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.db.drop_now().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn with_the_database_down_a_signed_in_user_gets_the_unavailable_page() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(Role::PlainUser).await;

    app.db.drop_now().await;

    let response = ada.get("/settings/account").await;
    assert_eq!(response.status(), 503);
    let html = response.text();
    assert!(html.contains("temporarily unavailable"), "{html}");
    let response = ada
        .send(
            ada.client
                .get(ada.url("/settings/account"))
                .header("HX-Request", "true"),
        )
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("HX-Retarget").expect("retarget"),
        "#alerts"
    );
}

#[tokio::test]
async fn with_the_database_down_a_visitor_gets_the_unavailable_page() {
    let app = spawn_app().await;
    app.get("/login").await;
    app.db.drop_now().await;
    // The sign-in page itself needs no database (a visitor has no session)...
    assert_eq!(app.get("/login").await.status(), 200);
    // ...signing in does.
    let response = app
        .login_with("ada@acme.test", "a password of some length")
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.text().contains("temporarily unavailable"));
}

#[tokio::test]
async fn a_form_sent_as_something_else_is_refused_as_the_senders_doing_not_ours() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(Role::OrgOwner).await;
    owner.get("/settings/org/audit").await;
    let response = owner
        .send(
            owner
                .client
                .post(owner.url("/settings/org/audit/verify"))
                .header("X-CSRF-Token", owner.csrf_token())
                .header("Content-Type", "text/plain")
                .body("org="),
        )
        .await;
    assert_eq!(response.status(), 415);
    let message = response.html().text("main");
    assert!(
        message.contains("not a form this address takes"),
        "{message}"
    );
    assert!(!message.contains("our side"), "{message}");
    assert_eq!(
        app.number("SELECT count(*) FROM audit_verifications").await,
        0
    );
}
