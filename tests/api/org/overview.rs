//! The Organization page: what each role sees, and the reason beside every member the viewer
//! may not act on (the same `can_act_on` the server will use to refuse).

use crate::support::{Membership, OrgRole, spawn_app};

/// (name cell, access cell) of each member row, in order.
fn access_column(html: &crate::support::html::Html) -> Vec<(String, String)> {
    html.all("main table tbody tr")
        .iter()
        .map(|row| {
            let cells: Vec<String> = row
                .select(&scraper::Selector::parse("td").expect("selector"))
                .map(|td| td.text().collect::<String>().trim().to_owned())
                .collect();
            (cells[1].clone(), cells.get(3).cloned().unwrap_or_default())
        })
        .collect()
}

#[tokio::test]
async fn admins_see_why_they_may_not_act_on_the_owner_or_another_admin() {
    let app = spawn_app().await;
    let owner = app.user("owner@acme.test").create().await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    let admin = app
        .user("admin@acme.test")
        .joins(Membership::new(org, OrgRole::Admin))
        .create()
        .await;
    app.user("other-admin@acme.test")
        .joins(Membership::new(org, OrgRole::Admin))
        .create()
        .await;
    let member = app
        .user("member@acme.test")
        .joins(Membership::new(org, OrgRole::Member))
        .create()
        .await;

    app.login(&admin).await;
    let page = app.get("/settings/org").await.html();
    let access = access_column(&page);
    let of = |email: &str| {
        access
            .iter()
            .find(|(e, _)| e == email)
            .map(|(_, a)| a.clone())
            .unwrap_or_default()
    };
    assert!(
        of("owner@acme.test").contains("transfer ownership"),
        "{access:?}"
    );
    assert!(
        of("other-admin@acme.test").contains("below their own role"),
        "{access:?}"
    );
    assert_eq!(
        of("member@acme.test"),
        "You can change or remove this member"
    );
    app.logout().await;

    app.login(&member).await;
    let page = app.get("/settings/org").await.html();
    assert!(
        page.all("main table thead th")
            .iter()
            .all(|th| th.text().collect::<String>() != "Your access"),
        "members see the same list without management controls"
    );
    assert_eq!(page.all("main table tbody tr").len(), 4);
}
