//! Each area is fenced by where it is mounted: a route nobody listed is refused like the others.

use guildhall::domain::{OrgRole, PlatformRole};

use crate::helpers::{location, spawn_app};

#[tokio::test]
async fn a_route_under_admin_that_no_list_names_is_refused_to_everyone_but_super_admins() {
    let app = spawn_app().await;
    let owner = app.create_user("owner@acme.test", PlatformRole::User).await;
    let admin = app.create_user("admin@acme.test", PlatformRole::User).await;
    let member = app
        .create_user("member@acme.test", PlatformRole::User)
        .await;
    let org = app.create_org("Acme", &owner).await;
    app.add_member(org, &admin, OrgRole::Admin).await;
    app.add_member(org, &member, OrgRole::Member).await;
    let unnamed = "/admin/a-page-no-access-test-names";

    let visitor = app.another_visitor();
    assert_eq!(location(&visitor.get(unnamed).await), "/login");
    for user in [&owner, &admin, &member] {
        let browser = app.another_visitor();
        browser.login(user).await;
        let response = browser.get(unnamed).await;
        assert_eq!(response.status(), 403, "{}", user.email);
        let page = response.text().await.expect("body");
        assert!(page.contains("Only super administrators"), "{page}");
    }
    let root = app.super_admin().await;
    app.login(&root).await;
    assert_eq!(app.get(unnamed).await.status(), 404);
}

#[tokio::test]
async fn the_organization_area_acts_only_in_an_organization_of_ones_own() {
    let app = spawn_app().await;
    let owner = app.create_user("owner@acme.test", PlatformRole::User).await;
    let member = app
        .create_user("member@acme.test", PlatformRole::User)
        .await;
    let loner = app
        .create_user("loner@example.test", PlatformRole::User)
        .await;
    let org = app.create_org("Acme", &owner).await;
    app.add_member(org, &member, OrgRole::Member).await;

    assert_eq!(location(&app.get("/settings/org").await), "/login");

    let lonely = app.another_visitor();
    lonely.login(&loner).await;
    assert_eq!(
        location(&lonely.get("/settings/org").await),
        "/settings/account"
    );

    app.login(&member).await;
    let page = app.get_html("/settings/org").await;
    assert!(page.contains("<h1>Acme</h1>"), "{page}");
    // Removed between two requests: the next one no longer sees the organization.
    app.sql(&format!(
        "DELETE FROM memberships WHERE org_id = {} AND user_id = {}",
        org.0, member.id.0
    ))
    .await;
    assert_eq!(
        location(&app.get("/settings/org").await),
        "/settings/account"
    );
}

#[tokio::test]
async fn the_api_answers_json_without_sessions_or_csrf() {
    let app = spawn_app().await;
    for (method, path) in [("GET", "/api/v1/anything"), ("POST", "/api/v1/authorize")] {
        let request = match method {
            "GET" => app.client.get(app.url(path)),
            _ => app
                .client
                .post(app.url(path))
                .header("Authorization", "Bearer not-a-key")
                .json(&serde_json::json!({"endpoint": "/v1/chat", "model": "x"})),
        };
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 401, "{method} {path}");
        assert!(response.headers().get("set-cookie").is_none());
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "invalid_api_key");
    }
}
