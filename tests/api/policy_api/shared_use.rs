//! `POST /api/v1/shared-use`: the platform reports what an organization has in use against its
//! plan's shared limits (Standard: 10 production workflows, 10,000 work items, 5 concurrent
//! jobs) with an owner's or admin's organization key; owners and admins are alerted once per
//! limit, threshold and month; anyone else's key changes nothing.

use serde_json::{Value, json};

use super::{ORG_KEYS, PERSONAL_KEYS, call, create_key, signed_in};
use crate::org::acme;
use crate::support::{OrgId, TestApp, smtp::SmtpSink, spawn_app, spawn_app_with};

const SHARED_USE: &str = "/api/v1/shared-use";

fn figures(workflows: i64, work_items: i64, jobs: i64) -> Value {
    json!({
        "production_workflows": workflows,
        "work_items": work_items,
        "concurrent_jobs": jobs,
    })
}

async fn in_use(app: &TestApp, org: OrgId) -> i64 {
    app.number(&format!(
        "SELECT workflows_in_use * 1000000 + work_items_in_use * 10 + jobs_running \
         FROM organizations WHERE id = {org}"
    ))
    .await
}

#[tokio::test]
async fn an_admins_key_reports_shared_use_and_managers_hear_of_each_threshold_once() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    let acme = acme(&app).await;
    let ada = signed_in(&app, &acme.admin).await;
    let key = create_key(&ada, ORG_KEYS, "Platform", "none").await;

    // 7 of 10 workflows: below 80 %, recorded and shown, nobody told.
    let answer = call(&app, SHARED_USE, &key, &figures(7, 100, 1)).await;
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
    let owner = signed_in(&app, &acme.owner).await;
    let page = owner.get("/settings/org/subscription").await.html();
    assert!(
        page.text("#limits-heading + p + ul")
            .contains("7 of 10 in use"),
        "{}",
        page.text("#limits-heading + p + ul")
    );

    let usage = owner.get("/settings/org/usage").await.html();
    assert!(
        usage
            .text("#plan-limits")
            .contains("Production workflows in use 7 of 10"),
        "{}",
        usage.text("#plan-limits")
    );

    // 8 workflows and 4 jobs: 80 % of two limits, each told to the owner and both admins once,
    // however often the platform says it again.
    for _ in 0..3 {
        let again = call(&app, SHARED_USE, &key, &figures(8, 100, 4)).await;
        assert_eq!(again.status(), 200, "{}", again.text());
    }
    let mails = sink.wait_for(6).await;
    let mut told: Vec<(String, bool)> = mails
        .iter()
        .map(|m| (m.to[0].clone(), m.data.contains("production workflows")))
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
    assert!(mails.iter().all(|m| m.data.contains("80%")));
    assert!(
        mails
            .iter()
            .any(|m| m.readable().contains("8 of the 10 the plan allows")),
        "{}",
        mails[0].readable()
    );

    // The whole limit reached: 100 % told once more; a report of the same figures is quiet.
    call(&app, SHARED_USE, &key, &figures(10, 100, 4)).await;
    call(&app, SHARED_USE, &key, &figures(10, 100, 4)).await;
    let mails = sink.wait_for(9).await;
    assert!(mails[8].data.contains("100%"), "{}", mails[8].data);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(sink.received().len(), 9);

    // Only reports that changed a figure are in the audit log, each naming the key's holder
    // and what was in use before and after.
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action = 'organization.shared_use_reported' \
             AND actor_email = 'admin@acme.test' AND actor_role = 'admin'"
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
async fn members_personal_revoked_expired_or_outside_keys_and_bad_figures_change_nothing() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let ada = signed_in(&app, &acme.admin).await;
    let admin_key = create_key(&ada, ORG_KEYS, "Platform", "none").await;
    let monthly_key = create_key(&ada, ORG_KEYS, "Monthly", "30d").await;
    assert_eq!(
        call(&app, SHARED_USE, &admin_key, &figures(3, 30, 3))
            .await
            .status(),
        200
    );
    let before = in_use(&app, acme.org).await;

    let mia = signed_in(&app, &acme.member).await;
    let members = create_key(&mia, ORG_KEYS, "Mine", "none").await;
    let personal = create_key(&ada, PERSONAL_KEYS, "Own", "none").await;
    for (key, status, code) in [
        (members.as_str(), 403, "forbidden"),
        (personal.as_str(), 403, "forbidden"),
        ("ghk_0123456789ab_notakey", 401, "key_invalid"),
    ] {
        let refused = call(&app, SHARED_USE, key, &figures(9, 90, 0)).await;
        assert_eq!(refused.status(), status, "{}", refused.text());
        let body: Value = serde_json::from_str(refused.text()).expect("JSON");
        assert_eq!(body["error"]["code"], json!(code), "{body}");
    }

    for bad in [
        figures(-1, 0, 0),
        figures(2_147_483_648, 0, 0),
        json!({"production_workflows": 1, "work_items": 1}),
        json!({"production_workflows": 1, "work_items": 1, "concurrent_jobs": 1, "org_id": 2}),
        json!("nine"),
    ] {
        let refused = call(&app, SHARED_USE, &admin_key, &bad).await;
        assert_eq!(refused.status(), 400, "{bad}: {}", refused.text());
    }
    let missing_key = app
        .send(
            app.client
                .post(app.url(SHARED_USE))
                .json(&figures(9, 90, 0)),
        )
        .await;
    assert_eq!(missing_key.status(), 401);

    // The IP allowlist holds reports as it holds calls: an entry for chat completions only
    // does not, one for every endpoint does (the tests call from 127.0.0.1).
    app.sql(&format!(
        "INSERT INTO ip_allow_entries (org_id, network, label, endpoint, created_at) VALUES \
         ({org}, '203.0.113.0/24', 'Gateway', 'chat_completions', now())",
        org = acme.org
    ))
    .await;
    let scoped = call(&app, SHARED_USE, &admin_key, &figures(3, 30, 3)).await;
    assert_eq!(scoped.status(), 200, "{}", scoped.text());
    app.sql(&format!(
        "INSERT INTO ip_allow_entries (org_id, network, label, created_at) VALUES \
         ({org}, '203.0.113.0/24', 'Office', now())",
        org = acme.org
    ))
    .await;
    let outside = call(&app, SHARED_USE, &admin_key, &figures(9, 90, 0)).await;
    assert_eq!(outside.status(), 403, "{}", outside.text());
    assert!(
        outside.text().contains("ip_not_allowed"),
        "{}",
        outside.text()
    );
    app.sql("DELETE FROM ip_allow_entries").await;

    // An admin's key past its expiry, and one revoked: refused with their own codes.
    app.clock.advance(chrono::Duration::days(31));
    let expired = call(&app, SHARED_USE, &monthly_key, &figures(9, 90, 0)).await;
    assert_eq!(expired.status(), 401);
    assert!(expired.text().contains("key_expired"), "{}", expired.text());
    app.sql("UPDATE api_keys SET revoked_at = now() WHERE name = 'Platform'")
        .await;
    let revoked = call(&app, SHARED_USE, &admin_key, &figures(9, 90, 0)).await;
    assert_eq!(revoked.status(), 401);
    assert!(revoked.text().contains("key_invalid"), "{}", revoked.text());

    assert_eq!(in_use(&app, acme.org).await, before, "nothing changed");
    assert_eq!(
        app.number(
            "SELECT count(*) FROM audit_log WHERE action = 'organization.shared_use_reported'"
        )
        .await,
        1
    );
}
