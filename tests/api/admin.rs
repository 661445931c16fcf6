use guildhall::domain::{OrgRole, PlatformRole};

use crate::helpers::{location, spawn_app};

#[tokio::test]
async fn a_super_admin_sees_the_organizations() {
    let app = spawn_app().await;
    let admin = app.super_admin().await;
    let owner = app.create_user("owner@acme.test", PlatformRole::User).await;
    app.create_org("Acme Robotics", &owner).await;
    app.login(&admin).await;

    let response = app.get("/admin/organizations").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("Acme Robotics"));
    assert!(html.contains("aria-current=\"page\">Organizations"));
}

#[tokio::test]
async fn nobody_else_may_open_the_organizations_page() {
    let app = spawn_app().await;
    let owner = app.create_user("owner@acme.test", PlatformRole::User).await;
    let admin = app.create_user("admin@acme.test", PlatformRole::User).await;
    let org = app.create_org("Acme Robotics", &owner).await;
    app.add_member(org, &admin, OrgRole::Admin).await;

    assert_eq!(location(&app.get("/admin/organizations").await), "/login");
    for user in [&owner, &admin] {
        app.login(user).await;
        let response = app.get("/admin/organizations").await;
        assert_eq!(response.status(), 403, "{}", user.email);
        let html = response.text().await.expect("body");
        assert!(html.contains("Only super administrators can open this page."));
        assert!(!html.contains("Acme Robotics"));
        app.logout().await;
    }
}
