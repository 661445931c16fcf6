//! Calls made for a team: the key's holder must be in the team, and the team's token budget
//! (tokens assigned to it) holds them as well as the organization's purchased tokens.

use serde_json::{Value, json};

use super::{ORG_KEYS, call, create_key, open_for_calls, signed_in, verdict};
use crate::org::acme;
use crate::support::TestApp;

/// A team of the organization with `owner` as its owner and `member` in it, holding
/// `inference` tokens of the organization's; its id.
async fn team_with_budget(
    app: &TestApp,
    org: crate::support::OrgId,
    name: &str,
    owner: i64,
    member: Option<i64>,
    inference: i64,
) -> i64 {
    // A team is never without its owner: both in one statement.
    app.sql(&format!(
        "WITH team AS (INSERT INTO teams (org_id, name) VALUES ({org}, '{name}') RETURNING id) \
         INSERT INTO team_members (team_id, org_id, user_id, role) \
         SELECT id, {org}, {owner}, 'owner' FROM team"
    ))
    .await;
    let team = app
        .number(&format!("SELECT id FROM teams WHERE name = '{name}'"))
        .await;
    if let Some(member) = member {
        app.sql(&format!(
            "INSERT INTO team_members (team_id, org_id, user_id, role) VALUES \
             ({team}, {org}, {member}, 'member')"
        ))
        .await;
    }
    app.sql(&format!(
        "INSERT INTO token_assignments (org_id, kind, tokens, team_id) \
         VALUES ({org}, 'inference', {inference}, {team})"
    ))
    .await;
    team
}

async fn ask(app: &TestApp, key: &str, team: Option<i64>) -> Value {
    let answer = call(
        app,
        "/api/v1/authorize",
        key,
        &json!({ "endpoint": "chat_completions", "model": "gpt-4o", "team": team }),
    )
    .await;
    assert_eq!(answer.status(), 200, "{}", answer.text());
    serde_json::from_str(answer.text()).expect("JSON")
}

fn used(key: &str, tokens: i64, team: i64) -> Value {
    json!({ "idempotency_key": key, "endpoint": "chat_completions", "model": "gpt-4o",
            "input_tokens": tokens, "output_tokens": 0, "team": team })
}

#[tokio::test]
async fn a_call_for_a_team_is_held_to_its_budget_and_its_members() {
    let sink = crate::support::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = crate::support::spawn_app_with(|s| s.smtp_url = Some(url.clone())).await;
    let acme = acme(&app).await;
    open_for_calls(&app, acme.org).await;
    let owner = acme.owner.id.0;
    let data = team_with_budget(&app, acme.org, "Data", owner, Some(acme.member.id.0), 100).await;
    let others = team_with_budget(&app, acme.org, "Ops", owner, None, 100).await;
    let globex_owner = app.user("owner@globex.test").create().await;
    let globex = app.org("Globex").owned_by(&globex_owner).create().await;
    open_for_calls(&app, globex).await;
    let theirs = team_with_budget(&app, globex, "Theirs", globex_owner.id.0, None, 1).await;
    let mia = signed_in(&app, &acme.member).await;
    let key = create_key(&mia, ORG_KEYS, "CI", "none").await;

    let allowed = ask(&app, &key, Some(data)).await;
    assert_eq!(verdict(&allowed), "allow");
    assert_eq!(
        allowed["remaining"]["tokens"],
        json!(100),
        "the team's budget is the smaller"
    );
    assert_eq!(
        ask(&app, &key, None).await["remaining"]["tokens"],
        json!(1000)
    );
    for team in [others, theirs, 999_999] {
        assert_eq!(
            verdict(&ask(&app, &key, Some(team)).await),
            "team_not_allowed",
            "{team}"
        );
    }

    // Usage for a team the holder is not in is refused whole.
    let refused = call(
        &app,
        "/api/v1/usage",
        &key,
        &json!({ "records": [used("r-1", 10, data), used("r-2", 10, others)] }),
    )
    .await;
    assert_eq!(refused.status(), 400, "{}", refused.text());
    assert_eq!(app.number("SELECT count(*) FROM usage_records").await, 0);

    // 100 tokens used for Data: its budget is spent; the organization still has 900.
    let reported = call(&app, "/api/v1/usage", &key, &used("r-3", 100, data)).await;
    assert_eq!(reported.status(), 200, "{}", reported.text());
    assert_eq!(
        app.number(&format!(
            "SELECT inference_used FROM teams WHERE id = {data}"
        ))
        .await,
        100
    );
    let denied = ask(&app, &key, Some(data)).await;
    assert_eq!(verdict(&denied), "limit_exceeded");
    assert!(
        denied["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Data")
    );
    assert_eq!(verdict(&ask(&app, &key, None).await), "allow");
    // "Why was this denied?" says the same, and links to the team's budget.
    let ada = signed_in(&app, &acme.admin).await;
    ada.get("/settings/org/security").await;
    let explained = ada
        .get(&format!(
            "/settings/org/security/explain?key={}&endpoint=chat_completions&model=gpt-4o\
             &ip=127.0.0.1&team={data}",
            &key[..16]
        ))
        .await
        .html();
    assert!(
        explained
            .text("#explain-result h3")
            .starts_with("Denied: limit_exceeded")
    );
    assert_eq!(
        explained.attr(".trace-failed a", "href"),
        Some(format!("/settings/org/teams/{data}/budget"))
    );
    let bad_team = ada
        .get(&format!(
            "/settings/org/security/explain?key={}&endpoint=chat_completions&model=gpt-4o\
             &ip=127.0.0.1&team=Data",
            &key[..16]
        ))
        .await;
    assert_eq!(bad_team.status(), 422);
    assert!(bad_team.html().field_error("explain-form-team").is_some());

    // Owners and admins hear of the team's 80 % and 100 %, once each.
    let mails = sink.wait_for(6).await;
    assert!(
        mails
            .iter()
            .all(|m| m.data.contains("Team Data of Acme has used")),
        "{:?}",
        mails.iter().map(|m| &m.data).collect::<Vec<_>>()
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 6);

    // More tokens assigned: the next call for the team is allowed again.
    app.sql(&format!(
        "INSERT INTO token_assignments (org_id, kind, tokens, team_id) \
         VALUES ({}, 'inference', 50, {data})",
        acme.org
    ))
    .await;
    assert_eq!(
        ask(&app, &key, Some(data)).await["remaining"]["tokens"],
        json!(50)
    );
}
