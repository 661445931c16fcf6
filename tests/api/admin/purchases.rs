//! Purchases and token assignments: totals kept on the organization, assigned never above purchased.

use crate::support::{OrgId, OrgRole, TestApp, spawn_app};

async fn console() -> (TestApp, OrgId) {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let org = app.org("Acme").create().await;
    app.user("member@acme.test")
        .member_of(org, OrgRole::Member)
        .create()
        .await;
    app.login(&root).await;
    (app, org)
}

fn purchase<'a>(
    kind: &'a str,
    tokens: &'a str,
    reference: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("kind", kind),
        ("tokens", tokens),
        ("amount", "1,250.00"),
        ("currency", "eur"),
        ("purchased_on", "2026-11-02"),
        ("reference", reference),
    ]
}

async fn totals(app: &TestApp, org: OrgId) -> Vec<i64> {
    let mut values = Vec::new();
    for column in [
        "inference_purchased",
        "inference_assigned",
        "embedding_purchased",
        "embedding_assigned",
    ] {
        values.push(
            app.number(&format!(
                "SELECT {column} FROM organizations WHERE id = {org}"
            ))
            .await,
        );
    }
    values
}

#[tokio::test]
async fn recording_purchases_updates_the_totals_shown_everywhere() {
    let (app, org) = console().await;
    let path = format!("/admin/organizations/{org}/purchases");
    app.post_form(&path, &purchase("inference", "1,000,000", "INV-1"))
        .await;
    app.post_form(&path, &purchase("embedding", "250000", "INV-2"))
        .await;
    assert_eq!(totals(&app, org).await, [1_000_000, 0, 250_000, 0]);

    let page = app.get(&path).await.html();
    let flashes = page.texts("#alerts .alert");
    assert!(
        !flashes.is_empty() && flashes.iter().all(|f| f == "The purchase was recorded."),
        "{flashes:?}"
    );
    let inv1 = page
        .rows("#purchases")
        .into_iter()
        .find(|row| row[4] == "INV-1")
        .expect("INV-1 in the history");
    assert_eq!(
        inv1[..5],
        [
            "2026-11-02",
            "Inference",
            "1,000,000",
            "1,250.00 EUR",
            "INV-1"
        ]
    );
    assert_eq!(
        page.rows("#token-totals"),
        [["1,000,000", "0", "1,000,000"], ["250,000", "0", "250,000"]],
        "purchased, assigned, unassigned by kind"
    );
    let table = app.get("/admin/organizations").await.html();
    let acme = &table.rows("#organizations")[0];
    assert_eq!(
        (acme[2].as_str(), &acme[8..12]),
        (
            "Acme",
            &["1,000,000", "0", "250,000", "0"].map(String::from)[..]
        ),
        "name, then inference and embedding purchased and assigned"
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'purchase.recorded'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_bad_or_repeated_purchase_is_refused_with_reasons() {
    let (app, org) = console().await;
    let path = format!("/admin/organizations/{org}/purchases");
    app.post_form(&path, &purchase("inference", "1000", "INV-1"))
        .await;

    let repeated = app
        .post_form(&path, &purchase("inference", "5000", "INV-1"))
        .await;
    assert_eq!(repeated.status(), 422);
    assert_eq!(
        repeated.html().field_error("purchase-reference").as_deref(),
        Some("A purchase with this reference is already recorded.")
    );

    let bad = app
        .post_form(
            &path,
            &[
                ("kind", "gold"),
                ("tokens", "-5"),
                ("amount", "ten"),
                ("currency", "EURO"),
                ("purchased_on", "2026-13-01"),
                ("reference", ""),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.html();
    let errors = html.field_errors("#record-purchase");
    let expected = [
        ("purchase-kind", "Choose inference or embedding."),
        ("purchase-tokens", "Enter a number of tokens above zero."),
        ("purchase-amount", "Enter an amount like 1250.00."),
        ("purchase-currency", "ISO 4217"),
        ("purchase-purchased_on", "Enter a date as YYYY-MM-DD."),
        ("purchase-reference", "Enter the reference"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:?}");
    for ((field, message), (expected_field, expected_message)) in errors.iter().zip(expected) {
        assert_eq!(field, expected_field);
        assert!(message.contains(expected_message), "{field}: {message}");
    }
    assert_eq!(html.value("#purchase-amount"), "ten", "input kept");
    assert!(
        html.field_errors("#assign-tokens").is_empty(),
        "the other form is not flagged"
    );
    assert_eq!(totals(&app, org).await, [1000, 0, 0, 0]);
}

#[tokio::test]
async fn tokens_are_assigned_to_members_only_and_never_above_purchased() {
    let (app, org) = console().await;
    let purchases = format!("/admin/organizations/{org}/purchases");
    let assignments = format!("/admin/organizations/{org}/assignments");
    app.post_form(&purchases, &purchase("inference", "1000", "INV-1"))
        .await;

    let ok = app
        .post_form(
            &assignments,
            &[
                ("member_email", "member@acme.test"),
                ("kind", "inference"),
                ("tokens", "600"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(totals(&app, org).await, [1000, 600, 0, 0]);

    let over = app
        .post_form(
            &assignments,
            &[
                ("member_email", "member@acme.test"),
                ("kind", "inference"),
                ("tokens", "401"),
            ],
        )
        .await;
    assert_eq!(over.status(), 422);
    let error = over.html().field_error("assignment-tokens");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("Only purchased tokens can be assigned")),
        "{error:?}"
    );
    let no_embedding = app
        .post_form(
            &assignments,
            &[
                ("member_email", "member@acme.test"),
                ("kind", "embedding"),
                ("tokens", "1"),
            ],
        )
        .await;
    assert_eq!(no_embedding.status(), 422);
    app.user("stranger@else.test").create().await;
    let stranger = app
        .post_form(
            &assignments,
            &[
                ("member_email", "stranger@else.test"),
                ("kind", "inference"),
                ("tokens", "1"),
            ],
        )
        .await;
    assert_eq!(stranger.status(), 422);
    assert_eq!(
        stranger
            .html()
            .field_error("assignment-member_email")
            .as_deref(),
        Some("No member of this organization has this email.")
    );
    assert_eq!(totals(&app, org).await, [1000, 600, 0, 0]);
}

#[tokio::test]
async fn concurrent_assignments_cannot_overshoot_the_purchase() {
    let (app, org) = console().await;
    app.post_form(
        &format!("/admin/organizations/{org}/purchases"),
        &purchase("inference", "1000", "INV-1"),
    )
    .await;
    let token = app.csrf_token();
    let path = app.url(&format!("/admin/organizations/{org}/assignments"));
    // 20 requests of 100 tokens each against 1,000 purchased: at most 10 can succeed.
    let requests = (0..20).map(|_| {
        app.client
            .post(&path)
            .header("X-CSRF-Token", &token)
            .form(&[
                ("member_email", "member@acme.test"),
                ("kind", "inference"),
                ("tokens", "100"),
            ])
            .send()
    });
    let responses = futures_util::future::join_all(requests).await;
    let accepted = responses
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|r| r.status() == 303))
        .count();
    assert_eq!(accepted, 10);
    assert_eq!(totals(&app, org).await, [1000, 1000, 0, 0]);
    assert_eq!(
        app.number("SELECT sum(tokens) FROM token_assignments")
            .await,
        1000
    );
}
