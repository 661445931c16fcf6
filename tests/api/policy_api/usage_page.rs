//! The Usage page (owners and admins) and one's own usage on the Account page, read from the
//! daily sums the policy API keeps; the CSV is what the page shows.

use serde_json::json;

use super::{ORG_KEYS, PERSONAL_KEYS, call, create_key, open_for_calls, signed_in};
use crate::org::acme;
use crate::support::spawn_app;

const PAGE: &str = "/settings/org/usage";

fn report(id: &str, endpoint: &str, model: &str, tokens: u64, at: &str) -> serde_json::Value {
    json!({ "idempotency_key": id, "endpoint": endpoint, "model": model,
            "input_tokens": tokens, "output_tokens": 0, "at": at })
}

#[tokio::test]
async fn owners_see_usage_by_day_endpoint_model_and_member_and_download_it() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let today = app.clock.now();
    let yesterday = (today - chrono::Duration::days(1)).to_rfc3339();
    let today = today.to_rfc3339();
    let mia = signed_in(&app, &acme.member).await;
    let mias = create_key(&mia, ORG_KEYS, "CI", "none").await;
    let max = signed_in(&app, &acme.other_member).await;
    let maxs = create_key(&max, ORG_KEYS, "CI", "none").await;
    for (key, records) in [
        (
            &mias,
            vec![
                report("1", "chat_completions", "gpt-4o", 100, &yesterday),
                report("2", "chat_completions", "gpt-4o", 50, &today),
            ],
        ),
        (
            &maxs,
            vec![report(
                "1",
                "embeddings",
                "text-embedding-3-large",
                30,
                &today,
            )],
        ),
    ] {
        let answer = call(&app, "/api/v1/usage", key, &json!({ "records": records })).await;
        assert_eq!(answer.status(), 200, "{}", answer.text());
    }

    let olive = signed_in(&app, &acme.owner).await;
    let page = olive.get(PAGE).await;
    assert_eq!(page.status(), 200);
    let html = page.html();
    assert_eq!(
        html.rows("#usage-holders"),
        [
            ["member@acme.test", "2", "150"],
            ["other-member@acme.test", "1", "30"]
        ]
    );
    assert_eq!(
        html.rows("#usage-endpoints")[0],
        ["chat_completions", "2", "150"]
    );
    assert_eq!(html.rows("#usage-models").len(), 2);
    assert!(
        html.text("#credits").contains("150 of 1,000"),
        "{}",
        html.text("#credits")
    );
    let desc = html.text("svg[role=img] desc");
    assert!(desc.contains("180 in all"), "{desc}");
    assert_eq!(
        html.count("svg rect.bar"),
        30,
        "one bar per day of the default range"
    );

    // A range of two days: two bars, the same totals; the CSV says what the page says.
    let from = (app.clock.now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let until = app.clock.now().format("%Y-%m-%d").to_string();
    let narrow = olive
        .get(&format!("{PAGE}?from={from}&until={until}"))
        .await
        .html();
    assert_eq!(narrow.count("svg rect.bar"), 2);
    let csv = olive
        .get(&format!("{PAGE}.csv?from={from}&until={until}"))
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.header("content-type").starts_with("text/csv"));
    let lines: Vec<&str> = csv.text().lines().collect();
    assert_eq!(
        lines[0],
        "breakdown,value,requests,input_tokens,output_tokens"
    );
    assert!(
        lines.contains(&format!("day,{from},1,100,0").as_str()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"member,member@acme.test,2,150,0"),
        "{lines:?}"
    );

    // Bad ranges are refused on the page (the default shown) and in the CSV.
    let bad = olive
        .get(&format!("{PAGE}?from={until}&until={from}"))
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.html().field_error("usage-range-from").is_some());
    assert_eq!(
        olive
            .get(&format!("{PAGE}.csv?from=2000-01-01&until={until}"))
            .await
            .status(),
        422
    );
    assert_eq!(olive.get(&format!("{PAGE}?from=%00")).await.status(), 422);

    // Members read their own usage on the Account page, not the organization's.
    assert_eq!(mia.get(PAGE).await.status(), 403);
    assert_eq!(mia.get(&format!("{PAGE}.csv")).await.status(), 403);
    let own = mia.get("/settings/account").await.html();
    assert_eq!(own.rows("#usage-holders"), [["Acme", "2", "150"]]);
}

#[tokio::test]
async fn personal_usage_stays_on_the_account_page() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let mia = signed_in(&app, &acme.member).await;
    mia.get("/settings/account").await;
    let key = create_key(&mia, PERSONAL_KEYS, "Side project", "none").await;
    let answer = call(
        &app,
        "/api/v1/usage",
        &key,
        &report(
            "p1",
            "chat_completions",
            "claude-sonnet-4",
            42,
            &app.clock.now().to_rfc3339(),
        ),
    )
    .await;
    assert_eq!(answer.status(), 200, "{}", answer.text());
    let own = mia.get("/settings/account").await.html();
    assert_eq!(own.rows("#usage-holders"), [["Personal", "1", "42"]]);
    let olive = signed_in(&app, &acme.owner).await;
    let org = olive.get(PAGE).await.html();
    assert!(
        !org.has("#usage-holders"),
        "no member used the organization's keys"
    );
    assert_eq!(
        app.number(&format!(
            "SELECT inference_used FROM organizations WHERE id = {}",
            acme.org
        ))
        .await,
        0,
        "a personal key never spends an organization's tokens"
    );
}

#[tokio::test]
async fn members_usage_over_any_range_matches_the_calls_made_in_it() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let now = app.clock.now();
    let mia = signed_in(&app, &acme.member).await;
    let mias = create_key(&mia, ORG_KEYS, "CI", "none").await;
    let max = signed_in(&app, &acme.other_member).await;
    let maxs = create_key(&max, ORG_KEYS, "CI", "none").await;
    // Calls on days either side of month boundaries, so ranges cut months in every way.
    for (key, days_ago) in [
        (&mias, [0, 1, 3, 9, 17, 26, 31, 34]),
        (&maxs, [0, 2, 5, 14, 29, 30, 33, 34]),
    ] {
        let records: Vec<_> = days_ago
            .iter()
            .map(|ago| {
                let at = (now - chrono::Duration::days(*ago)).to_rfc3339();
                report(
                    &format!("{ago}"),
                    "chat_completions",
                    "gpt-4o",
                    10 + *ago as u64,
                    &at,
                )
            })
            .collect();
        let answer = call(&app, "/api/v1/usage", key, &json!({ "records": records })).await;
        assert_eq!(answer.status(), 200, "{}", answer.text());
    }
    let olive = signed_in(&app, &acme.owner).await;
    let today = now.date_naive();
    for (from_ago, until_ago) in [
        (34, 0),
        (29, 0),
        (31, 1),
        (20, 3),
        (2, 0),
        (34, 30),
        (16, 15),
    ] {
        let from = today - chrono::Duration::days(from_ago);
        let until = today - chrono::Duration::days(until_ago);
        let page = olive
            .get(&format!("{PAGE}?from={from}&until={until}"))
            .await;
        assert_eq!(page.status(), 200, "{from} {until}");
        let mut shown = page.html().rows("#usage-holders");
        shown.sort();
        let mut expected = Vec::new();
        for (email, id) in [
            ("member@acme.test", acme.member.id),
            ("other-member@acme.test", acme.other_member.id),
        ] {
            let calls = app
                .number(&format!(
                    "SELECT count(*) FROM usage_records WHERE user_id = {id} \
                     AND (at AT TIME ZONE 'UTC')::date BETWEEN '{from}' AND '{until}'"
                ))
                .await;
            let tokens = app
                .number(&format!(
                    "SELECT coalesce(sum(input_tokens), 0) FROM usage_records WHERE user_id = {id} \
                     AND (at AT TIME ZONE 'UTC')::date BETWEEN '{from}' AND '{until}'"
                ))
                .await;
            if calls > 0 {
                expected.push(vec![
                    email.to_owned(),
                    calls.to_string(),
                    tokens.to_string(),
                ]);
            }
        }
        assert_eq!(shown, expected, "{from} to {until}");
    }
}
