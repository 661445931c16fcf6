//! `POST /api/v1/shared-use`: the platform, with its own token, reports what an organization
//! has in use against its plan's shared limits (Standard: 10 production workflows, 10,000 work
//! items, 5 concurrent jobs). Owners and admins are alerted once per limit, threshold and
//! month. No key an organization holds may set the figures: they decide which plans it fits.

use serde_json::{Value, json};

use super::{ORG_KEYS, call, create_key, signed_in};
use crate::org::acme;
use crate::support::{
    OrgId, PLATFORM_TOKEN, TestApp, TestResponse, smtp::SmtpSink, spawn_app, spawn_app_with,
};

const SHARED_USE: &str = "/api/v1/shared-use";

fn figures(org: OrgId, workflows: i64, work_items: i64, jobs: i64) -> Value {
    json!({
        "organization_id": org.0,
        "production_workflows": workflows,
        "work_items": work_items,
        "concurrent_jobs": jobs,
    })
}

/// A report sent with the platform's token.
async fn report(app: &TestApp, body: &Value) -> TestResponse {
    call(app, SHARED_USE, PLATFORM_TOKEN, body).await
}

/// A refusal with its status and stable code.
fn assert_refused(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status(), status, "{}", response.text());
    let body: Value = serde_json::from_str(response.text()).expect("JSON");
    assert_eq!(body["error"]["code"], json!(code), "{body}");
}

async fn in_use(app: &TestApp, org: OrgId) -> i64 {
    app.number(&format!(
        "SELECT workflows_in_use * 1000000 + work_items_in_use * 10 + jobs_running \
         FROM organizations WHERE id = {org}"
    ))
    .await
}

#[tokio::test]
async fn the_platform_reports_shared_use_and_managers_hear_of_each_threshold_once() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    let acme = acme(&app).await;
    let globex_owner = app.user("owner@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&globex_owner).create().await;
    let globex_before = in_use(&app, globex).await;

    // 7 of 10 workflows: below 80 %, recorded and shown, nobody told.
    let answer = report(&app, &figures(acme.org, 7, 100, 1)).await;
    assert_eq!(answer.status(), 200, "{}", answer.text());
    let body: Value = serde_json::from_str(answer.text()).expect("JSON");
    assert_eq!(body["organization_id"], json!(acme.org.0));
    assert_eq!(
        body["limits"],
        json!([
            {"name": "production_workflows", "in_use": 7, "limit": 10},
            {"name": "work_items", "in_use": 100, "limit": 10000},
            {"name": "concurrent_jobs", "in_use": 1, "limit": 5},
        ])
    );
    assert_eq!(
        in_use(&app, globex).await,
        globex_before,
        "another organization's figures stay"
    );
    let owner = signed_in(&app, &acme.owner).await;
    let page = owner.get("/settings/org/subscription").await.html();
    let limits = page.text("#limits-heading + p + ul");
    assert!(limits.contains("7 of 10 in use"), "{limits}");
    let usage = owner.get("/settings/org/usage").await.html();
    let plan_limits = usage.text("#plan-limits");
    assert!(
        plan_limits.contains("Production workflows in use 7 of 10"),
        "{plan_limits}"
    );

    // 8 workflows and 4 jobs: 80 % of two limits, each told to the owner and both admins once,
    // however often the platform says it again.
    for _ in 0..3 {
        let again = report(&app, &figures(acme.org, 8, 100, 4)).await;
        assert_eq!(again.status(), 200, "{}", again.text());
    }
    let mails = sink.wait_for(6).await;
    let mut told: Vec<(String, bool)> = mails
        .iter()
        .map(|m| {
            (
                m.to[0].clone(),
                m.readable().contains("production workflows"),
            )
        })
        .collect();
    told.sort();
    assert_eq!(
        told,
        [
            ("admin@acme.test".to_owned(), false),
            ("admin@acme.test".to_owned(), true),
            ("other-admin@acme.test".to_owned(), false),
            ("other-admin@acme.test".to_owned(), true),
            ("owner@acme.test".to_owned(), false),
            ("owner@acme.test".to_owned(), true),
        ]
    );
    for mail in &mails {
        let text = mail.readable();
        assert!(text.contains("80%"), "{text}");
        assert!(text.contains("/settings/org/subscription"), "{text}");
    }
    assert!(
        mails
            .iter()
            .any(|m| m.readable().contains("8 of the 10 the plan allows")),
        "{}",
        mails[0].readable()
    );

    // The whole limit reached: 100 % told once more; a report of the same figures is quiet.
    report(&app, &figures(acme.org, 10, 100, 4)).await;
    report(&app, &figures(acme.org, 10, 100, 4)).await;
    let mails = sink.wait_for(9).await;
    assert!(
        mails[8].readable().contains("100%"),
        "{}",
        mails[8].readable()
    );
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(sink.received().len(), 9);

    // Only reports that changed a figure are in the audit log, by the platform, with what was
    // in use before and after.
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action = 'organization.shared_use_reported' \
             AND actor_email = 'platform' AND actor_role = 'system' AND target = 'Acme'"
        )
        .await,
        3
    );
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action = 'organization.shared_use_reported' \
             AND before ->> 'production_workflows' = '8' AND after ->> 'production_workflows' = '10'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn only_the_platforms_token_reports_and_bad_reports_change_nothing() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let before = in_use(&app, acme.org).await;

    // An owner's own key, even one of an admin service account, is not the platform: an
    // organization must not lower its figures to fit a cheaper plan.
    let olive = signed_in(&app, &acme.owner).await;
    let owners_key = create_key(&olive, ORG_KEYS, "Mine", "none").await;
    let almost = format!("{}x", &PLATFORM_TOKEN[..PLATFORM_TOKEN.len() - 1]);
    for token in [owners_key.as_str(), almost.as_str(), "short"] {
        let refused = call(&app, SHARED_USE, token, &figures(acme.org, 0, 0, 0)).await;
        assert_refused(&refused, 401, "token_invalid");
    }
    let no_token = app
        .send(
            app.client
                .post(app.url(SHARED_USE))
                .json(&figures(acme.org, 0, 0, 0)),
        )
        .await;
    assert_refused(&no_token, 401, "unauthenticated");

    for bad in [
        figures(acme.org, -1, 0, 0),
        figures(acme.org, 2_147_483_648, 0, 0),
        json!({"organization_id": acme.org.0, "production_workflows": 1, "work_items": 1}),
        json!({"organization_id": acme.org.0, "production_workflows": 1, "work_items": 1,
               "concurrent_jobs": 1, "plan": "Business"}),
        json!({"production_workflows": 1, "work_items": 1, "concurrent_jobs": 1}),
        json!("nine"),
    ] {
        assert_refused(&report(&app, &bad).await, 400, "malformed");
    }
    let unknown = report(&app, &figures(OrgId(9_999_999), 1, 1, 1)).await;
    assert_refused(&unknown, 404, "not_found");

    // A cancelled organization runs nothing: its figures stay, and nobody is told to upgrade.
    app.sql(&format!(
        "UPDATE organizations SET status = 'cancelled', cancelled_at = now() WHERE id = {}",
        acme.org
    ))
    .await;
    let cancelled = report(&app, &figures(acme.org, 9, 90, 5)).await;
    assert_refused(&cancelled, 403, "org_inactive");

    assert_eq!(in_use(&app, acme.org).await, before, "nothing changed");
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action = 'organization.shared_use_reported'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn without_a_configured_token_nobody_reports() {
    let app = spawn_app_with(|s| s.platform_token = None).await;
    let acme = acme(&app).await;
    let refused = report(&app, &figures(acme.org, 1, 1, 1)).await;
    assert_refused(&refused, 401, "token_invalid");
    assert!(
        refused.text().contains("GUILDHALL_PLATFORM_TOKEN"),
        "{}",
        refused.text()
    );
}
