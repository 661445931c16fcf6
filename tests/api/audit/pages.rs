//! Reading the log: who may, what they see, filters, pages in both directions and the CSV.

use super::write_entries;
use crate::org::acme;
use crate::support::{Role, spawn_app};

const PAGE: &str = "/settings/org/audit";

#[tokio::test]
async fn owners_and_admins_read_what_changed_in_their_organization_and_members_get_403() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let other = app.signed_in_as(Role::OrgOwner).await;
    write_entries(
        &app,
        other.org.expect("an organization"),
        3,
        "team.created",
        "x@org.test",
    )
    .await;

    // A real change, made through the console.
    app.login(&acme.owner).await;
    app.get("/settings/org/users").await;
    let changed = app
        .post_htmx(
            &format!("/settings/org/users/{}/role", acme.member.id),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(changed.status(), 200);

    let page = app.get(PAGE).await;
    assert_eq!(page.status(), 200);
    let rows = page.html().rows("#audit-log");
    assert_eq!(rows.len(), 1, "only Acme's entry: {rows:?}");
    let row = &rows[0];
    assert!(
        row[1].starts_with("owner@acme.test") && row[1].ends_with("owner"),
        "{row:?}"
    );
    assert_eq!(row[2], "member.role_changed");
    assert_eq!(row[3], "member@acme.test");
    assert!(
        row[4].starts_with("role") && row[4].ends_with("member → admin"),
        "{row:?}"
    );
    assert!(row[5].starts_with("127.0.0.1"), "the IP: {row:?}");
    let request_id = app
        .string("SELECT request_id FROM audit_log WHERE action = 'member.role_changed'")
        .await;
    assert!(
        request_id.len() >= 8 && row[5].contains(&request_id),
        "{row:?}"
    );

    let admin = crate::policy_api::signed_in(&app, &acme.admin).await;
    assert_eq!(admin.get(PAGE).await.status(), 200);
    let member = crate::policy_api::signed_in(&app, &acme.other_member).await;
    for path in [
        PAGE,
        "/settings/org/audit?from=not-a-date",
        "/settings/org/audit.csv",
    ] {
        let refused = member.get(path).await;
        assert_eq!(refused.status(), 403, "{path}");
        assert!(!refused.text().contains("member.role_changed"), "{path}");
    }
    let refused = member.post_form("/settings/org/audit/verify", &[]).await;
    assert_eq!(refused.status(), 403, "a member starts no walk");
    assert_eq!(
        app.number("SELECT count(*) FROM audit_verifications").await,
        0
    );
    // No entry of another organization, whatever the address asks for.
    let asked = app
        .get(&format!("{PAGE}?org={}", other.org.expect("org").0))
        .await;
    assert_eq!(asked.html().rows("#audit-log").len(), 1);
    assert!(!asked.text().contains("x@org.test"));
}

#[tokio::test]
async fn filters_narrow_the_log_and_pages_walk_it_newest_first_both_ways() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    write_entries(&app, acme.org, 120, "member.role_changed", "ada@acme.test").await;
    write_entries(&app, acme.org, 5, "team.created", "olive@acme.test").await;
    app.login(&acme.owner).await;

    let first = app.get(PAGE).await.html();
    let targets = |html: &crate::support::html::Html| -> Vec<String> {
        html.rows("#audit-log")
            .into_iter()
            .map(|row| row[3].clone())
            .collect()
    };
    let page1 = targets(&first);
    assert_eq!(page1.len(), 50);
    assert_eq!(first.count("a[rel=prev]"), 0, "no newer page");
    let older = first.attr("a[rel=next]", "href").expect("an older page");
    let second = app.get(&older).await.html();
    let page2 = targets(&second);
    assert_eq!(page2.len(), 50);
    assert!(page2.iter().all(|t| !page1.contains(t)), "no entry twice");
    let third = app
        .get(&second.attr("a[rel=next]", "href").expect("a third page"))
        .await
        .html();
    assert_eq!(targets(&third).len(), 25);
    assert_eq!(third.count("a[rel=next]"), 0, "the oldest page");
    // And back: the newer page of the second is the first.
    let back = app
        .get(&second.attr("a[rel=prev]", "href").expect("a newer page"))
        .await
        .html();
    assert_eq!(targets(&back), page1);
    // Newest first: every entry on a page is older than the one above it.
    let times: Vec<String> = first
        .rows("#audit-log")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    let by_action = app.get(&format!("{PAGE}?action=team.created")).await.html();
    assert_eq!(by_action.rows("#audit-log").len(), 5);
    let by_actor = app
        .get(&format!("{PAGE}?actor=OLIVE@acme.test"))
        .await
        .html();
    assert_eq!(by_actor.rows("#audit-log").len(), 5);
    let by_target = app.get(&format!("{PAGE}?target=TARGET-3")).await.html();
    assert_eq!(targets(&by_target), ["target-3", "target-3"]);
    let day = app
        .string("to_char(now() - interval '1 day', 'YYYY-MM-DD')")
        .await;
    let next_day = app.string("to_char(now(), 'YYYY-MM-DD')").await;
    let in_range = app
        .get(&format!(
            "{PAGE}?from={day}&until={next_day}&action=team.created"
        ))
        .await
        .html();
    assert_eq!(in_range.rows("#audit-log").len(), 5);
    let before_range = app.get(&format!("{PAGE}?until=2000-01-01")).await.html();
    assert_eq!(before_range.count("#audit-log"), 0);
    assert!(
        before_range
            .text(".empty-state")
            .contains("No entry matches")
    );
    // The filters go along with the pages.
    let filtered = app
        .get(&format!("{PAGE}?action=member.role_changed"))
        .await
        .html();
    let next = filtered.attr("a[rel=next]", "href").expect("older");
    assert!(next.contains("action=member.role_changed"), "{next}");

    // What cannot be a filter is refused on its field, with what was typed kept.
    let refused = app
        .get(&format!(
            "{PAGE}?from=2026-02-31&action=nothing.done&actor=a%00b"
        ))
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.html();
    assert_eq!(
        html.text("#audit-filters-from-error"),
        "Enter a date as YYYY-MM-DD."
    );
    assert_eq!(
        html.text("#audit-filters-action-error"),
        "Choose an action from the list."
    );
    assert!(html.count("#audit-filters-actor-error") == 1);
    assert_eq!(html.count("#audit-log"), 0);
    // A cursor that is not one is the newest page.
    let junk = app.get(&format!("{PAGE}?before=junk")).await.html();
    assert_eq!(targets(&junk), page1);
}

#[tokio::test]
async fn the_csv_holds_every_entry_of_the_filter_and_no_cell_is_a_formula() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    // More than one batch of 2,000, so the export goes on across batches.
    write_entries(
        &app,
        acme.org,
        2_300,
        "member.role_changed",
        "ada@acme.test",
    )
    .await;
    app.sql(&format!(
        "INSERT INTO audit_log (actor_email, actor_role, action, org_id, target)
         VALUES ('+sum@acme.test', 'admin', 'team.created', {}, '=HYPERLINK(\"http://x\")'),
                ('@who', 'admin', 'team.created', {}, '-1+2')",
        acme.org.0, acme.org.0
    ))
    .await;
    app.login(&acme.owner).await;

    let all = app.get("/settings/org/audit.csv").await;
    assert_eq!(all.status(), 200);
    assert!(all.header("content-type").starts_with("text/csv"));
    let lines = all.text().lines().count();
    assert_eq!(lines, 1 + 2_302, "a header and every entry");

    let formulas = app.get("/settings/org/audit.csv?action=team.created").await;
    let mut reader = csv::Reader::from_reader(formulas.text().as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a record")).collect();
    assert_eq!(records.len(), 2);
    for record in &records {
        for cell in record.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{record:?}");
        }
    }
    assert!(records.iter().any(|r| &r[4] == "'=HYPERLINK(\"http://x\")"));
    assert!(records.iter().any(|r| &r[1] == "'+sum@acme.test"));

    let refused = app.get("/settings/org/audit.csv?from=yesterday").await;
    assert_eq!(refused.status(), 422);
}

#[tokio::test]
async fn super_admins_read_every_organizations_entries_and_narrow_them_to_one() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let other = app.signed_in_as(Role::OrgOwner).await;
    let other_org = other.org.expect("an organization");
    write_entries(&app, acme.org, 2, "team.created", "ada@acme.test").await;
    write_entries(&app, other_org, 3, "team.created", "x@org.test").await;
    let root = app.signed_in_as(Role::SuperAdmin).await;

    let all = root.get("/admin/audit").await;
    assert_eq!(all.status(), 200);
    let rows = all.html().rows("#audit-log");
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().any(|r| r[1] == "Acme"), "{rows:?}");
    let one = root
        .get(&format!("/admin/audit?org={}", other_org.0))
        .await
        .html();
    assert_eq!(one.rows("#audit-log").len(), 3);
    assert_eq!(root.get("/admin/audit?org=abc").await.status(), 422);
    let csv = root
        .get(&format!("/admin/audit.csv?org={}", acme.org.0))
        .await;
    assert_eq!(csv.text().lines().count(), 3);
    assert!(
        csv.text()
            .lines()
            .next()
            .expect("header")
            .contains("organization")
    );

    // Organization owners are not super administrators.
    for path in ["/admin/audit", "/admin/audit.csv"] {
        assert_eq!(other.get(path).await.status(), 403, "{path}");
    }
    other.get("/settings/org/audit").await;
    assert_eq!(
        other.post_form("/admin/audit/verify", &[]).await.status(),
        403
    );
}
