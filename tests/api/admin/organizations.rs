//! The Organizations table, Add Organization and the Manage dialog, through HTTP.

use crate::support::html::{Html, volatile_parts};
use crate::support::{OrgId, OrgRole, TestApp, TestUser, spawn_app};

/// A signed-in super administrator and `n` organizations "Org 01".. with a growing member count.
async fn console_with_orgs(n: usize) -> (TestApp, Vec<OrgId>) {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let mut orgs = Vec::new();
    for i in 1..=n {
        let owner = app
            .user(&format!("owner{i:02}@org{i:02}.test"))
            .create()
            .await;
        orgs.push(
            app.org(&format!("Org {i:02}"))
                .owned_by(&owner)
                .create()
                .await,
        );
    }
    app.login(&root).await;
    (app, orgs)
}

/// The organization names in table order (the table's third column).
fn names_in(html: &str) -> Vec<String> {
    Html::parse(html).texts("#organizations tbody td:nth-child(3)")
}

fn valid_org<'a>(name: &'a str, domain: &'a str, owner: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("name", name),
        ("contact_name", "Pat Contact"),
        ("country", "DE"),
        ("email", "hello@acme.test"),
        ("domain", domain),
        ("owner_email", owner),
    ]
}

#[tokio::test]
async fn the_table_sorts_by_any_column_and_pages() {
    let (app, orgs) = console_with_orgs(30).await;
    // Org 03 gets two extra members, so it leads when sorted by users.
    for i in 0..2 {
        app.user(&format!("m{i}@org03.test"))
            .member_of(orgs[2], OrgRole::Member)
            .create()
            .await;
    }

    let first = names_in(&app.get_html("/admin/organizations").await);
    assert_eq!(first.len(), 25);
    assert_eq!(first[0], "Org 01");
    let descending = names_in(
        &app.get_html("/admin/organizations?sort=name&dir=desc")
            .await,
    );
    assert_eq!(descending[0], "Org 30");
    let by_users = names_in(
        &app.get_html("/admin/organizations?sort=users&dir=desc")
            .await,
    );
    assert_eq!(by_users[0], "Org 03");
    let page_two = app.get_html("/admin/organizations?page=2").await;
    assert_eq!(
        names_in(&page_two),
        ["Org 26", "Org 27", "Org 28", "Org 29", "Org 30"]
    );
    let page_two = Html::parse(&page_two);
    assert_eq!(
        page_two.text(".pager-status"),
        "Showing 26–30 of 30 · page 2 of 2"
    );
    assert_eq!(
        page_two.texts(".pager [aria-disabled=true]"),
        ["Next page"],
        "the last page has no next page"
    );
    // Unknown values fall back to the defaults instead of failing.
    let fallback = app
        .get("/admin/organizations?sort=password&dir=sideways&page=-4&per_page=7")
        .await;
    assert_eq!(fallback.status(), 200);
    assert_eq!(names_in(fallback.text())[0], "Org 01");
    // Every sortable column answers.
    for column in [
        "id",
        "contact",
        "phone",
        "email",
        "domain",
        "inference_purchased",
        "inference_assigned",
        "embedding_purchased",
        "embedding_assigned",
    ] {
        let response = app
            .get(&format!("/admin/organizations?sort={column}&dir=desc"))
            .await;
        assert_eq!(response.status(), 200, "{column}");
    }
}

#[tokio::test]
async fn search_finds_by_name_domain_or_email_and_says_when_nothing_matches() {
    let (app, _) = console_with_orgs(3).await;
    assert_eq!(
        names_in(&app.get_html("/admin/organizations?q=org+02").await),
        ["Org 02"]
    );
    assert_eq!(
        names_in(&app.get_html("/admin/organizations?q=ORG-03.TEST").await),
        ["Org 03"]
    );
    let none = app.get("/admin/organizations?q=%25").await.html();
    assert_eq!(
        none.text("#org-table .empty-state"),
        "No organization matches “%”.",
        "a LIKE wildcard is searched as text"
    );
    assert_eq!(none.count("#organizations"), 0);
}

#[tokio::test]
async fn htmx_gets_the_table_fragment_and_a_plain_request_the_page() {
    let (app, _) = console_with_orgs(2).await;
    let response = app
        .get_htmx("/admin/organizations?sort=name&dir=desc")
        .await;
    assert_eq!(response.headers().get("vary").expect("vary"), "HX-Request");
    let fragment = response.text();
    assert!(fragment.starts_with("<div id=\"org-table\""), "{fragment}");
    assert!(!fragment.contains("<html"));
    let html = response.html();
    assert_eq!(names_in(fragment), ["Org 02", "Org 01"]);
    assert_eq!(
        (
            html.attr("#org-list-state", "hx-swap-oob").as_deref(),
            html.value("#org-list-state input[name=sort]"),
            html.value("#org-list-state input[name=dir]")
        ),
        (Some("true"), "name".to_owned(), "desc".to_owned()),
        "the search form's sort fields are updated too"
    );
    // A browser's history restore asks for the whole page.
    let restore = app
        .send(
            app.client
                .get(app.url("/admin/organizations"))
                .header("HX-Request", "true")
                .header("HX-History-Restore-Request", "true"),
        )
        .await;
    assert!(restore.text().contains("<html"));
}

#[tokio::test]
async fn csv_export_follows_the_search_and_order_and_defuses_formulas() {
    let (app, orgs) = console_with_orgs(3).await;
    app.sql(&format!(
        "UPDATE organizations SET contact_name = '=HYPERLINK(\"x\")' WHERE id = {}",
        orgs[0]
    ))
    .await;
    let response = app.get("/admin/organizations.csv?sort=name&dir=desc").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/csv")
    );
    let csv = response.text();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,name,users,contact"));
    assert!(
        lines[1].contains("Org 03") && lines[3].contains("Org 01"),
        "{csv}"
    );
    assert!(lines[3].contains("'=HYPERLINK"), "{csv}");
    let filtered = app.get("/admin/organizations.csv?q=org+02").await;
    assert_eq!(filtered.text().lines().count(), 2);
}

#[tokio::test]
async fn add_organization_requires_its_fields_and_keeps_the_input() {
    let (app, _) = console_with_orgs(0).await;
    let response = app
        .post_htmx(
            "/admin/organizations",
            &[
                ("name", ""),
                ("contact_name", "Pat"),
                ("country", "XX"),
                ("email", "not-an-email"),
                ("phone", "call me"),
                ("owner_email", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let form = response.text();
    assert!(form.starts_with("<form id=\"new-org\""), "{form}");
    // Each message sits beside its own field and is tied to it; no other field is flagged.
    let html = response.html();
    let errors = html.field_errors("#new-org");
    let fields: Vec<&str> = errors.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        fields,
        [
            "new-org-name",
            "new-org-email",
            "new-org-phone",
            "new-org-country",
            "new-org-owner_email"
        ]
    );
    let error = |field: &str| html.field_error(field).unwrap_or_default();
    assert_eq!(error("new-org-name"), "This field is required.");
    assert!(error("new-org-country").starts_with("Choose a country from the list"));
    assert_eq!(
        error("new-org-email"),
        "Enter an email address like name@example.com."
    );
    assert_eq!(
        error("new-org-phone"),
        "Use digits, spaces and + - ( ) only."
    );
    assert_eq!(error("new-org-owner_email"), "Enter an email address.");
    assert_eq!(
        (
            html.value("#new-org-contact_name"),
            html.value("#new-org-email"),
            html.value("#new-org-phone")
        ),
        (
            "Pat".to_owned(),
            "not-an-email".to_owned(),
            "call me".to_owned()
        ),
        "input kept"
    );
    // The whole fragment, for review when its markup changes (the countries list folded).
    let mut filters = volatile_parts();
    filters.push((
        r#"(<option value="[A-Z]{2}" >[^<]*</option>)+"#,
        "[the other countries]",
    ));
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("add_organization_form_with_errors", form);
    });
    assert_eq!(app.number("SELECT count(*) FROM organizations").await, 0);

    // Without JavaScript, the whole page comes back with the same errors.
    let page = app
        .post_form(
            "/admin/organizations",
            &[
                ("name", ""),
                ("contact_name", ""),
                ("country", ""),
                ("email", ""),
                ("owner_email", ""),
            ],
        )
        .await;
    assert_eq!(page.status(), 422);
    let page = page.html();
    assert_eq!(page.text("main h1"), "Add organization");
    assert_eq!(
        page.field_error("new-org-name").as_deref(),
        Some("This field is required.")
    );
}

#[tokio::test]
async fn add_organization_creates_it_with_its_owner() {
    let (app, _) = console_with_orgs(0).await;
    let existing = app.user("pat@acme.test").create().await;

    let response = app
        .post_htmx(
            "/admin/organizations",
            &valid_org("Acme", "Acme.TEST", "PAT@acme.test"),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("HX-Trigger").expect("trigger"),
        "orgs-changed"
    );
    assert_eq!(
        response.html().texts("#alerts[hx-swap-oob] .alert-success"),
        ["Acme was created."]
    );
    let org = app
        .number("SELECT id FROM organizations WHERE name = 'Acme'")
        .await;
    assert_eq!(app.number(&format!("SELECT count(*) FROM memberships WHERE org_id = {org} AND user_id = {} AND role = 'owner'", existing.id)).await, 1);
    assert_eq!(
        app.number(
            "SELECT count(*) FROM organizations WHERE domain = 'acme.test' AND country = 'DE'"
        )
        .await,
        1
    );
    assert_eq!(app.number("SELECT count(*) FROM audit_log WHERE action = 'organization.created' AND actor_role = 'super_admin'").await, 1);

    // An owner without an account gets one (without a password until they are invited).
    let response = app
        .post_form(
            "/admin/organizations",
            &valid_org("Globex", "", "new.owner@globex.test"),
        )
        .await;
    assert_eq!(response.location(), "/admin/organizations");
    assert_eq!(app.number("SELECT count(*) FROM users WHERE email = 'new.owner@globex.test' AND password_hash IS NULL").await, 1);
    let page = app.get("/admin/organizations").await;
    assert_eq!(page.html().texts("#alerts .alert"), ["Globex was created."]);
    assert_eq!(names_in(page.text()), ["Acme", "Globex"]);
}

#[tokio::test]
async fn domains_are_unique_whatever_their_case_and_never_public() {
    let (app, _) = console_with_orgs(0).await;
    app.post_form(
        "/admin/organizations",
        &valid_org("Acme", "acme.test", "a@acme.test"),
    )
    .await;
    for (domain, message) in [
        (
            "ACME.test",
            "Another organization already uses this domain.",
        ),
        ("gmail.com", "public email provider"),
        ("not a domain", "Enter a domain name like example.com."),
    ] {
        let response = app
            .post_htmx(
                "/admin/organizations",
                &valid_org("Second", domain, "b@acme.test"),
            )
            .await;
        assert_eq!(response.status(), 422, "{domain}");
        let error = response.html().field_error("new-org-domain");
        assert!(
            error.as_deref().is_some_and(|e| e.contains(message)),
            "{domain}: {error:?}"
        );
    }
    assert_eq!(app.number("SELECT count(*) FROM organizations").await, 1);
}

#[tokio::test]
async fn the_single_organization_policy_names_itself_not_the_other_organization() {
    let (app, orgs) = console_with_orgs(1).await;
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;
    let response = app
        .post_htmx(
            "/admin/organizations",
            &valid_org("Second", "", "owner01@org01.test"),
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text();
    let error = response.html().field_error("new-org-owner_email");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("single-organization-per-account policy")),
        "{error:?}"
    );
    assert!(
        !body.contains("Org 01"),
        "the other organization is not revealed"
    );
    assert_eq!(
        app.number("SELECT count(*) FROM organizations").await,
        orgs.len() as i64
    );
}

#[tokio::test]
async fn the_details_tab_saves_with_the_same_checks() {
    let (app, orgs) = console_with_orgs(2).await;
    let path = format!("/admin/organizations/{}/details", orgs[0]);
    let mut fields = valid_org("Org 01 Renamed", "org-01.test", "");
    let response = app.post_htmx(&path, &fields).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.html().texts("#org-details .alert"),
        ["The details were saved."]
    );
    assert_eq!(
        app.number("SELECT count(*) FROM organizations WHERE name = 'Org 01 Renamed'")
            .await,
        1
    );

    fields[4] = ("domain", "ORG-02.test");
    let response = app.post_htmx(&path, &fields).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.html().field_error("org-details-domain").as_deref(),
        Some("Another organization already uses this domain.")
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM organizations WHERE id = {} AND domain = 'org-01.test'",
            orgs[0]
        ))
        .await,
        1
    );
    let missing = app
        .post_form(
            "/admin/organizations/999999/details",
            &valid_org("X", "", ""),
        )
        .await;
    assert_eq!(missing.status(), 404);
}

async fn members_of(app: &TestApp, org: OrgId) -> i64 {
    app.number(&format!(
        "SELECT count(*) FROM memberships WHERE org_id = {org}"
    ))
    .await
}

#[tokio::test]
async fn assign_users_adds_registered_users_and_reports_the_rest() {
    let (app, orgs) = console_with_orgs(1).await;
    let ada = app.user("ada@acme.test").create().await;
    app.user("bob@acme.test")
        .member_of(orgs[0], OrgRole::Member)
        .create()
        .await;
    let path = format!("/admin/organizations/{}/assign", orgs[0]);

    let response = app
        .post_htmx(
            &path,
            &[(
                "emails",
                "ADA@acme.test\n\nbob@acme.test\nnobody@acme.test\nada@acme.test",
            )],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.html();
    assert_eq!(
        html.text("#assign-summary"),
        "1 assigned, 1 already members, 1 without an account."
    );
    assert_eq!(
        html.texts("#assign-report tbody td:nth-child(3)"),
        [
            "Assigned",
            "Already a member: skipped",
            "No account with this email: skipped",
            "Listed twice: counted once"
        ]
    );
    assert_eq!(
        html.texts("#assign-report tbody td:nth-child(1)"),
        ["1", "3", "4", "5"],
        "line numbers count the blank line"
    );
    assert_eq!(app.number(&format!("SELECT count(*) FROM memberships WHERE org_id = {} AND user_id = {} AND role = 'member'", orgs[0], ada.id)).await, 1);
    assert_eq!(members_of(&app, orgs[0]).await, 3);
    assert_eq!(
        app.number(&format!(
            "SELECT member_count FROM organizations WHERE id = {}",
            orgs[0]
        ))
        .await,
        3
    );
}

#[tokio::test]
async fn an_invalid_batch_changes_nothing() {
    let (app, orgs) = console_with_orgs(1).await;
    app.user("ada@acme.test").create().await;
    let path = format!("/admin/organizations/{}/assign", orgs[0]);

    let response = app
        .post_htmx(
            &path,
            &[("emails", "ada@acme.test\nnot an email\n<script>@x")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text();
    let html = response.html();
    assert!(
        html.text("#assign-summary")
            .starts_with("Nothing was assigned")
    );
    // Every line is reported, the good one with what it would have done.
    assert_eq!(
        html.texts("#assign-report tbody td:nth-child(3)"),
        [
            "Would be assigned",
            "Enter an email address like name@example.com.",
            "Enter an email address like name@example.com."
        ]
    );
    assert_eq!(
        html.texts("#assign-report tbody td:nth-child(2)")[2],
        "<script>@x"
    );
    assert!(
        body.contains("<td>&#60;script&#62;@x</td>"),
        "the line is shown as text: {body}"
    );
    // The dry run of the same paste changes nothing either, and says the same.
    let check = app
        .post_htmx(&path, &[("emails", "ada@acme.test"), ("intent", "check")])
        .await;
    assert_eq!(check.status(), 200);
    assert!(
        check
            .html()
            .text("#assign-summary")
            .starts_with("Check: 1 would be assigned")
    );
    assert_eq!(
        response.html().text("#assign-users-emails"),
        "ada@acme.test not an email <script>@x",
        "the pasted text is kept"
    );
    assert_eq!(members_of(&app, orgs[0]).await, 1);

    let too_many: String = (0..101).map(|i| format!("user{i}@acme.test\n")).collect();
    let response = app.post_htmx(&path, &[("emails", &too_many)]).await;
    assert_eq!(response.status(), 422);
    let alert = response.html().text("#assign-users > .alert-error");
    assert!(
        alert.contains("at most 100 email addresses at once; this batch has 101"),
        "{alert}"
    );
    // A 10,000-line paste is larger than any form may be: refused with the limit, unread.
    let huge: String = (0..10_000)
        .map(|i| format!("user{i}@acme.test\n"))
        .collect();
    let refused = app.post_htmx(&path, &[("emails", &huge)]).await;
    assert_eq!(refused.status(), 413);
    assert!(refused.text().contains("64 KiB"), "{}", refused.text());
    assert_eq!(members_of(&app, orgs[0]).await, 1);
}

#[tokio::test]
async fn assign_users_respects_the_policy_and_the_domain_restriction() {
    let (app, orgs) = console_with_orgs(2).await;
    let outsider = app.user("eve@elsewhere.test").create().await;
    let insider = app.user("ann@org-01.test").create().await;
    app.sql(&format!(
        "UPDATE organizations SET restrict_to_domain = true WHERE id = {}",
        orgs[0]
    ))
    .await;
    let path = format!("/admin/organizations/{}/assign", orgs[0]);

    let response = app
        .post_htmx(&path, &[("emails", "ann@org-01.test\neve@elsewhere.test")])
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().contains("domain (org-01.test)"));
    assert_eq!(members_of(&app, orgs[0]).await, 1, "nothing half-done");

    let response = app
        .post_htmx(
            &path,
            &[
                ("emails", "ann@org-01.test\neve@elsewhere.test"),
                ("override_domain", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(members_of(&app, orgs[0]).await, 3);

    // With one organization per account, someone already in Org 01 cannot join Org 02.
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;
    let response = app
        .post_htmx(
            &format!("/admin/organizations/{}/assign", orgs[1]),
            &[("emails", &outsider.email)],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text();
    assert!(body.contains("single-organization-per-account policy") && !body.contains("Org 01"));
    let _ = insider;
}

#[tokio::test]
async fn concurrent_batches_cannot_break_the_single_organization_policy() {
    let (app, orgs) = console_with_orgs(8).await;
    let target: TestUser = app.user("sought@after.test").create().await;
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;
    let token = app.csrf_token();
    let requests = orgs.iter().map(|org| {
        app.client
            .post(app.url(&format!("/admin/organizations/{org}/assign")))
            .header("X-CSRF-Token", &token)
            .header("HX-Request", "true")
            .form(&[("emails", target.email.as_str())])
            .send()
    });
    let responses = futures_util::future::join_all(requests).await;
    let accepted = responses
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|r| r.status() == 200))
        .count();
    assert_eq!(accepted, 1);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE user_id = {}",
            target.id
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn the_models_tab_saves_the_allowlist_in_one_request() {
    let (app, orgs) = console_with_orgs(1).await;
    let ids: Vec<i64> = vec![
        app.number("SELECT min(id) FROM models").await,
        app.number("SELECT max(id) FROM models").await,
    ];
    let path = format!("/admin/organizations/{}/models", orgs[0]);
    let (a, b) = (ids[0].to_string(), ids[1].to_string());
    let response = app.post_htmx(&path, &[("model", &a), ("model", &b)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM org_models WHERE org_id = {}",
            orgs[0]
        ))
        .await,
        2
    );
    let tab = app
        .get(&format!(
            "/admin/organizations/{}/manage?tab=models",
            orgs[0]
        ))
        .await
        .html();
    let mut checked: Vec<String> = tab
        .all("#org-models input[name=model][checked]")
        .iter()
        .map(|input| input.value().attr("value").unwrap_or_default().to_owned())
        .collect();
    checked.sort();
    let mut saved = [a.clone(), b.clone()];
    saved.sort();
    assert_eq!(checked, saved, "exactly the two saved are checked");

    let response = app
        .post_htmx(&path, &[("model", &a), ("model", "999999")])
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM org_models WHERE org_id = {}",
            orgs[0]
        ))
        .await,
        2,
        "unchanged"
    );
    app.post_htmx(&path, &[]).await;
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM org_models WHERE org_id = {}",
            orgs[0]
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn the_manage_dialog_is_a_page_without_javascript_and_a_dialog_with_it() {
    let (app, orgs) = console_with_orgs(1).await;
    let path = format!("/admin/organizations/{}/manage", orgs[0]);
    let page = app.get(&path).await.html();
    assert_eq!(page.text("main h1"), "Manage Org 01");
    assert_eq!(page.text("nav.tabs a[aria-current=page]"), "Details");
    let dialog = app.get_htmx(&path).await;
    assert!(dialog.text().starts_with("<dialog"), "{}", dialog.text());
    let html = dialog.html();
    assert_eq!(
        html.attr("dialog", "aria-labelledby").as_deref(),
        Some("manage-title")
    );
    assert_eq!(html.text("dialog #manage-title"), "Manage Org 01");
    let body = app
        .send(
            app.client
                .get(app.url(&format!("{path}?tab=users")))
                .header("HX-Request", "true")
                .header("HX-Target", "manage-body"),
        )
        .await;
    assert!(body.text().starts_with("<div id=\"manage-body\""));
    assert!(body.html().has("#manage-body #assign-users"));
    assert_eq!(
        app.get("/admin/organizations/424242/manage").await.status(),
        404
    );
}

#[tokio::test]
async fn twenty_concurrent_creations_for_one_new_owner_leave_them_in_one_organization() {
    let app = crate::support::spawn_app().await;
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;
    let root = app.signed_in_as(crate::support::Role::SuperAdmin).await;
    let names: Vec<String> = (0..20).map(|n| format!("Racing Org {n:02}")).collect();
    let forms: Vec<[(&str, &str); 5]> = names
        .iter()
        .map(|name| {
            [
                ("name", name.as_str()),
                ("contact_name", "Contact"),
                ("country", "DE"),
                ("email", "contact@racing.test"),
                ("owner_email", "new.owner@racing.test"),
            ]
        })
        .collect();
    let answers = futures_util::future::join_all(
        forms
            .iter()
            .map(|form| root.post_form("/admin/organizations", form)),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 422),
        "{statuses:?}"
    );
    assert_eq!(
        app.number("SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'new.owner@racing.test'")
            .await,
        1
    );
    assert_eq!(
        app.number("SELECT count(*) FROM users WHERE email = 'new.owner@racing.test'")
            .await,
        1
    );
}

#[tokio::test]
async fn racing_creation_and_assignment_for_one_person_still_leave_them_in_one_organization() {
    let app = crate::support::spawn_app().await;
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;
    let root = app.signed_in_as(crate::support::Role::SuperAdmin).await;
    let existing = app.org("Existing Org").create().await;
    for round in 0..5 {
        let email = format!("contested{round}@racing.test");
        app.user(&email).create().await;
        let name = format!("Contested Org {round}");
        let create = [
            ("name", name.as_str()),
            ("contact_name", "Contact"),
            ("country", "DE"),
            ("email", "contact@racing.test"),
            ("owner_email", email.as_str()),
        ];
        let assign_path = format!("/admin/organizations/{existing}/assign");
        let assign = [("emails", email.as_str())];
        let (created, assigned) = tokio::join!(
            root.post_form("/admin/organizations", &create),
            root.post_form(&assign_path, &assign),
        );
        assert!(
            [303, 422].contains(&created.status().as_u16()),
            "{}",
            created.status()
        );
        assert!(
            [200, 303, 422].contains(&assigned.status().as_u16()),
            "{}",
            assigned.status()
        );
        let memberships = app
            .number(&format!(
                "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = '{email}'"
            ))
            .await;
        assert_eq!(memberships, 1, "round {round}: {email}");
    }
}

/// The domain join now locks the person, then the organization, as assignments do: side by side
/// they neither deadlock nor leave the person in two organizations. (The race this closes is
/// narrow: without the lock this test did not catch it in 60 rounds, so the lock order, the same
/// as every other join's, is the guarantee; this guards the order against deadlocks.)
#[tokio::test]
async fn a_first_sign_in_joining_by_domain_beside_an_assignment_leaves_one_organization() {
    let app = crate::support::spawn_app().await;
    app.sql("UPDATE platform_settings SET single_org_per_account = true")
        .await;
    let root = app.signed_in_as(crate::support::Role::SuperAdmin).await;
    let existing = app.org("Existing Org").create().await;
    let owner = app.user("boss@elsewhere.test").create().await;
    app.org("Domain Org")
        .domain(Some("domainjoin.test"))
        .owned_by(&owner)
        .create()
        .await;
    for round in 0..10 {
        let email = format!("contested{round}@domainjoin.test");
        let person = app.user(&email).create().await;
        let visitor = app.another_visitor();
        visitor.get("/login").await;
        let assign_path = format!("/admin/organizations/{existing}/assign");
        let assign = [("emails", email.as_str())];
        let credentials = [
            ("email", email.as_str()),
            ("password", person.password.as_str()),
        ];
        let (signed_in, assigned) = tokio::join!(
            visitor.post_form("/login", &credentials),
            root.post_form(&assign_path, &assign),
        );
        assert_eq!(signed_in.status(), 303, "round {round}");
        assert!(
            [200, 303, 422].contains(&assigned.status().as_u16()),
            "{}",
            assigned.status()
        );
        let memberships = app
            .number(&format!(
                "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE u.email = '{email}'"
            ))
            .await;
        assert_eq!(memberships, 1, "round {round}: {email}");
    }
}

#[tokio::test]
async fn concurrent_creations_naming_one_new_owner_never_fail_on_the_unique_email() {
    let app = crate::support::spawn_app().await;
    let root = app.signed_in_as(crate::support::Role::SuperAdmin).await;
    let names: Vec<String> = (0..20).map(|n| format!("Sibling Org {n:02}")).collect();
    let forms: Vec<[(&str, &str); 5]> = names
        .iter()
        .map(|name| {
            [
                ("name", name.as_str()),
                ("contact_name", "Contact"),
                ("country", "DE"),
                ("email", "contact@siblings.test"),
                ("owner_email", "shared.owner@siblings.test"),
            ]
        })
        .collect();
    let answers = futures_util::future::join_all(
        forms
            .iter()
            .map(|form| root.post_form("/admin/organizations", form)),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(
        app.number("SELECT count(*) FROM users WHERE email = 'shared.owner@siblings.test'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_same_add_organization_form_submitted_twice_creates_once() {
    let app = crate::support::spawn_app().await;
    let root = app.signed_in_as(crate::support::Role::SuperAdmin).await;
    let form = root.get("/admin/organizations/new").await.html();
    let token = form.value("input[name=form_token]");
    assert!(!token.is_empty(), "the form carries a one-time token");
    assert_eq!(
        form.attr("form#new-org", "hx-disabled-elt").as_deref(),
        Some("find button[type=submit]"),
        "the button is disabled while the request is in flight"
    );
    let fields = [
        ("name", "Twice Org"),
        ("contact_name", "Contact"),
        ("country", "DE"),
        ("email", "contact@twice.test"),
        ("owner_email", "owner@twice.test"),
        ("form_token", token.as_str()),
    ];
    // A double click: two at once, then a resent POST.
    let (first, second) = tokio::join!(
        root.post_form("/admin/organizations", &fields),
        root.post_form("/admin/organizations", &fields)
    );
    assert_eq!(
        (first.status(), second.status()),
        (
            303.try_into().expect("status"),
            303.try_into().expect("status")
        )
    );
    assert_eq!(
        root.post_form("/admin/organizations", &fields)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.number("SELECT count(*) FROM organizations WHERE name = 'Twice Org'")
            .await,
        1
    );
    // A new form gets a new token and creates again.
    let other = root
        .get("/admin/organizations/new")
        .await
        .html()
        .value("input[name=form_token]");
    assert_ne!(other, token);
}

#[tokio::test]
async fn a_cancelled_organization_takes_no_assigned_users() {
    let (app, orgs) = console_with_orgs(1).await;
    let ada = app.user("ada@acme.test").create().await;
    app.sql(&format!(
        "UPDATE organizations SET status = 'cancelled', cancelled_at = now() WHERE id = {}",
        orgs[0]
    ))
    .await;
    let response = app
        .post_htmx(
            &format!("/admin/organizations/{}/assign", orgs[0]),
            &[("emails", ada.email.as_str()), ("intent", "assign")],
        )
        .await;
    assert_eq!(
        response.html().text("#assign-users .alert-error"),
        "This organization's subscription is cancelled: it takes no new members."
    );
    assert_eq!(
        app.number(&format!(
            "SELECT count(*) FROM memberships WHERE user_id = {}",
            ada.id
        ))
        .await,
        0
    );
}
