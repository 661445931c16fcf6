//! Platform settings, plans, the model catalogue and the OAuth dialog.

use crate::support::html::Html;
use crate::support::{TestApp, spawn_app};

async fn console() -> TestApp {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    app.login(&root).await;
    app
}

#[tokio::test]
async fn platform_settings_save_and_bad_values_are_refused() {
    let app = console().await;
    let response = app
        .post_form(
            "/admin/settings",
            &[
                ("single_org_per_account", "on"),
                ("invitation_ttl_days", "14"),
            ],
        )
        .await;
    assert_eq!(response.location(), "/admin/settings");
    assert_eq!(app.number("SELECT count(*) FROM platform_settings WHERE single_org_per_account AND NOT oauth_login_enabled AND invitation_ttl_days = 14").await, 1);
    let page = app.get("/admin/settings").await.html();
    assert_eq!(
        (
            page.is_checked("#settings-single_org_per_account"),
            page.is_checked("#settings-oauth_login_enabled"),
            page.value("#settings-invitation_ttl_days")
        ),
        (true, false, "14".to_owned()),
        "the form shows what was saved"
    );

    let response = app
        .post_form("/admin/settings", &[("invitation_ttl_days", "365")])
        .await;
    assert_eq!(response.status(), 422);
    let page = response.html();
    assert_eq!(
        page.field_errors("#platform-settings"),
        [(
            "settings-invitation_ttl_days".to_owned(),
            "Enter a number of days from 1 to 90.".to_owned()
        )]
    );
    assert_eq!(page.value("#settings-invitation_ttl_days"), "365");
    assert_eq!(
        app.number("SELECT invitation_ttl_days FROM platform_settings")
            .await,
        14
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE action = 'platform.settings_changed'")
            .await,
        1
    );
}

#[tokio::test]
async fn plans_and_models_are_added_to_their_catalogues() {
    let app = console().await;
    let plan = [
        ("name", "Scale"),
        ("monthly_price", "49.00"),
        ("included_seats", "25"),
        ("extra_seat_price", "4.50"),
        ("workflow_limit", "50"),
        ("work_item_capacity", "100000"),
        ("concurrent_job_limit", "10"),
    ];
    assert_eq!(
        app.post_form("/admin/settings/plans", &plan)
            .await
            .location(),
        "/admin/settings"
    );
    assert_eq!(app.number("SELECT count(*) FROM plans WHERE name = 'Scale' AND monthly_price_cents = 4900 AND extra_seat_price_cents = 450").await, 1);
    let again = app.post_form("/admin/settings/plans", &plan).await;
    assert_eq!(again.status(), 422);
    assert_eq!(
        again.html().field_error("plan-name").as_deref(),
        Some("A plan with this name exists.")
    );

    let model = [
        ("provider", "Azure-OpenAI"),
        ("model_name", "gpt-4.1"),
        ("kind", "inference"),
    ];
    assert_eq!(
        app.post_form("/admin/settings/models", &model)
            .await
            .location(),
        "/admin/settings"
    );
    assert_eq!(
        app.number(
            "SELECT count(*) FROM models WHERE provider = 'azure-openai' AND name = 'gpt-4.1'"
        )
        .await,
        1
    );
    let bad = app
        .post_form(
            "/admin/settings/models",
            &[
                ("provider", "bad provider!"),
                ("model_name", ""),
                ("kind", "audio"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.html();
    let provider = page.field_error("model-provider").unwrap_or_default();
    assert!(
        provider.starts_with("Use lower-case letters, digits and hyphens"),
        "{provider}"
    );
    assert_eq!(
        page.field_error("model-kind").as_deref(),
        Some("Choose inference or embedding.")
    );
    assert!(page.field_error("model-model_name").is_some());
}

#[tokio::test]
async fn the_oauth_dialog_is_offered_only_when_oauth_login_is_enabled() {
    let app = console().await;
    let org = app.org("Acme").create().await;
    let path = format!("/admin/organizations/{org}/oauth");
    assert!(!app.get_html("/admin/organizations").await.contains(&path));
    assert_eq!(app.get(&path).await.status(), 403);

    app.sql("UPDATE platform_settings SET oauth_login_enabled = true")
        .await;
    assert!(app.get_html("/admin/organizations").await.contains(&path));
    let missing = app
        .post_htmx(
            &path,
            &[
                ("issuer_url", "http://insecure.test"),
                ("client_id", ""),
                ("client_secret", ""),
            ],
        )
        .await;
    assert_eq!(missing.status(), 422);
    let form = missing.html();
    let errors = form.field_errors("#oauth-form");
    let fields: Vec<&str> = errors.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        fields,
        ["oauth-issuer_url", "oauth-client_id", "oauth-client_secret"]
    );
    let error = |field: &str| form.field_error(field).unwrap_or_default();
    assert!(error("oauth-issuer_url").starts_with("Enter the issuer"));
    assert!(error("oauth-client_id").starts_with("Enter the client id"));
    assert_eq!(error("oauth-client_secret"), "Enter the client secret.");

    let saved = app
        .post_htmx(
            &path,
            &[
                ("issuer_url", "https://login.acme.test"),
                ("client_id", "guildhall"),
                ("client_secret", "s3cr3t-value"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200);
    let shown = app.get_html(&path).await;
    let form = Html::parse(&shown);
    assert_eq!(form.value("#oauth-issuer_url"), "https://login.acme.test");
    assert!(
        form.text("label[for=oauth-client_secret]")
            .contains("a secret is stored")
    );
    assert_eq!(form.value("#oauth-client_secret"), "");
    assert!(
        !shown.contains("s3cr3t-value"),
        "the secret is never shown back"
    );
    assert_eq!(app.number("SELECT count(*) FROM org_oauth_settings WHERE position('s3cr3t-value'::bytea IN client_secret_sealed) > 0").await, 0, "sealed at rest");
    assert_eq!(
        app.number("SELECT count(*) FROM audit_log WHERE after::text LIKE '%s3cr3t%'")
            .await,
        0,
        "not in the audit log"
    );

    // A blank secret keeps the stored one, and it still opens under the master key.
    app.post_htmx(
        &path,
        &[
            ("issuer_url", "https://login2.acme.test"),
            ("client_id", "guildhall"),
            ("client_secret", ""),
        ],
    )
    .await;
    let stored = app.stored_oauth(org).await.expect("settings");
    assert_eq!(stored.issuer_url, "https://login2.acme.test");
}
