//! `POST /api/v1/usage`: every call counted once, whatever the retries, against the
//! organization's tokens; bad reports change nothing.

use serde_json::json;

use super::{ORG_KEYS, authorize, call, create_key, open_for_calls, signed_in, verdict};
use crate::org::acme;
use crate::support::spawn_app;

fn record(id: &str, input: u64, output: u64) -> serde_json::Value {
    json!({
        "idempotency_key": id,
        "endpoint": "chat_completions",
        "model": "gpt-4o",
        "input_tokens": input,
        "output_tokens": output,
    })
}

#[tokio::test]
async fn twenty_concurrent_retries_of_one_report_count_it_once() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;

    let report = record("call-1", 120, 80);
    let answers =
        futures_util::future::join_all((0..20).map(|_| call(&app, "/api/v1/usage", &key, &report)))
            .await;
    let mut recorded = 0;
    for answer in &answers {
        assert_eq!(answer.status(), 200, "{}", answer.text());
        let body: serde_json::Value = serde_json::from_str(answer.text()).expect("JSON");
        recorded += body["recorded"].as_i64().expect("recorded");
        assert_eq!(
            body["recorded"].as_i64().unwrap_or(0) + body["duplicates"].as_i64().unwrap_or(0),
            1
        );
    }
    assert_eq!(recorded, 1, "one of the twenty recorded it");
    assert_eq!(app.number("SELECT count(*) FROM usage_records").await, 1);
    assert_eq!(app.number("SELECT sum(requests) FROM usage_daily").await, 1);
    assert_eq!(
        app.number(&format!(
            "SELECT inference_used FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        200
    );
    let answer = authorize(&app, &key, "chat_completions", "gpt-4o").await;
    assert_eq!(answer["remaining"]["tokens"], json!(800));
}

#[tokio::test]
async fn a_batch_is_recorded_whole_and_usage_reaching_the_purchase_denies_the_next_call() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;

    let batch: Vec<_> = (0..10).map(|i| record(&format!("b-{i}"), 50, 50)).collect();
    let answer = call(&app, "/api/v1/usage", &key, &json!({ "records": batch })).await;
    assert_eq!(answer.status(), 200, "{}", answer.text());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(answer.text()).expect("JSON"),
        json!({ "recorded": 10, "duplicates": 0 })
    );
    // The whole purchase (1,000 inference tokens) is used: the next call is denied.
    assert_eq!(
        verdict(&authorize(&app, &key, "chat_completions", "gpt-4o").await),
        "limit_exceeded"
    );
    // Sent again, in part: nothing new.
    let again: Vec<_> = (5..12).map(|i| record(&format!("b-{i}"), 1, 1)).collect();
    let answer = call(&app, "/api/v1/usage", &key, &json!({ "records": again })).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(answer.text()).expect("JSON"),
        json!({ "recorded": 2, "duplicates": 5 })
    );
    assert_eq!(
        app.number("SELECT sum(requests) FROM usage_daily").await,
        12
    );
}

#[tokio::test]
async fn a_bad_report_is_refused_whole_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;

    let unknown_model = json!({ "records": [record("ok", 1, 1), {
        "idempotency_key": "bad", "endpoint": "chat_completions", "model": "gpt-99",
        "input_tokens": 1, "output_tokens": 1 }] });
    let too_old = json!({ "idempotency_key": "old", "endpoint": "chat_completions",
        "model": "gpt-4o", "input_tokens": 1, "output_tokens": 1, "at": "2000-01-01T00:00:00Z" });
    let negative = json!({ "idempotency_key": "neg", "endpoint": "chat_completions",
        "model": "gpt-4o", "input_tokens": -1, "output_tokens": 1 });
    let too_many =
        json!({ "records": (0..1001).map(|i| record(&i.to_string(), 1, 1)).collect::<Vec<_>>() });
    for body in [
        unknown_model,
        too_old,
        negative,
        too_many,
        json!({ "records": [] }),
    ] {
        let answer = call(&app, "/api/v1/usage", &key, &body).await;
        assert_eq!(answer.status(), 400, "{}", answer.text());
        assert!(answer.text().contains("\"malformed\""), "{}", answer.text());
    }
    let stranger = "ghk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let unknown = call(&app, "/api/v1/usage", stranger, &record("x", 1, 1)).await;
    assert_eq!(unknown.status(), 401);
    assert!(unknown.text().contains("\"key_invalid\""));
    assert_eq!(app.number("SELECT count(*) FROM usage_records").await, 0);
    assert_eq!(
        app.number(&format!(
            "SELECT inference_used FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn owners_and_admins_are_emailed_once_as_usage_reaches_each_threshold() {
    let sink = crate::support::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = crate::support::spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;

    // 790 of 1,000 inference tokens: below 80 %, nobody is told.
    let first = call(&app, "/api/v1/usage", &key, &record("a", 790, 0)).await;
    assert_eq!(first.status(), 200);
    // 810: the owner and both admins hear of 80 %, once, whatever comes next this month.
    call(&app, "/api/v1/usage", &key, &record("b", 20, 0)).await;
    call(&app, "/api/v1/usage", &key, &record("c", 10, 0)).await;
    call(&app, "/api/v1/usage", &key, &record("b", 20, 0)).await;
    let mails = sink.wait_for(3).await;
    let mut to: Vec<String> = mails.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "admin@acme.test",
            "other-admin@acme.test",
            "owner@acme.test"
        ]
    );
    assert!(mails[0].data.contains("80%"), "{}", mails[0].data);

    // An admin raises the first threshold; bad input is refused with the value kept.
    let ada = signed_in(&app, &acme.admin).await;
    ada.get("/settings/org/usage").await;
    let refused = ada
        .post_form("/settings/org/usage/alerts", &[("thresholds", "90, 150")])
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .html()
            .field_error("usage-alerts-thresholds")
            .is_some()
    );
    assert_eq!(refused.html().value("#usage-alerts-thresholds"), "90, 150");
    let saved = ada
        .post_form("/settings/org/usage/alerts", &[("thresholds", "100")])
        .await;
    assert_eq!(saved.status(), 303);
    // The rest of the tokens: 100 % reached, three more emails, then none.
    call(&app, "/api/v1/usage", &key, &record("d", 180, 0)).await;
    call(&app, "/api/v1/usage", &key, &record("e", 5, 0)).await;
    let mails = sink.wait_for(6).await;
    assert!(mails[5].data.contains("100%"), "{}", mails[5].data);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(sink.received().len(), 6);
    // A member may not change the thresholds.
    mia.get("/settings/org/keys").await;
    let forbidden = mia
        .post_form("/settings/org/usage/alerts", &[("thresholds", "50")])
        .await;
    assert_eq!(forbidden.status(), 403);
}
