//! The hash chains: an entry altered, deleted or slipped in behind the database's back (as its
//! owner, with the triggers off) is named by Verify and by `guildhall audit-verify`.

use super::write_entries;
use crate::foundation::cli::guildhall;
use crate::org::acme;
use crate::support::{Role, Visitor, spawn_app};

const VERIFY: &str = "/settings/org/audit/verify";

/// Presses Verify as a browser without JavaScript does (on the page first, for its form's
/// token) and reads the verdict, refreshing while the walk shows its progress.
async fn verified(visitor: &Visitor, page: &str, verify: &str, org: &str) -> String {
    visitor.get(page).await;
    let fields: Vec<(&str, &str)> = if org.is_empty() {
        Vec::new()
    } else {
        vec![("org", org)]
    };
    let started = visitor.post_form(verify, &fields).await;
    assert_eq!(started.status(), 303, "{}", started.text());
    let shown = started.location().to_owned();
    assert!(shown.contains("verification="), "{shown}");
    if !org.is_empty() {
        assert!(
            shown.contains(&format!("?org={org}&")),
            "the page keeps the organization: {shown}"
        );
    }
    for _ in 0..50 {
        let verdict = visitor.get(&shown).await.html().text("#audit-verdict");
        if !verdict.contains("Verifying the log") {
            return verdict;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the walk did not finish in 5 s");
}

async fn verified_here(visitor: &Visitor) -> String {
    verified(visitor, "/settings/org/audit", VERIFY, "").await
}

/// Runs statements as the database's owner, in one transaction.
async fn as_owner(app: &crate::support::TestApp, statements: &str) {
    use diesel_async::SimpleAsyncConnection;
    let mut conn = app.conn().await;
    conn.batch_execute(statements).await.expect("statements");
}

/// Runs SQL as the database's owner with the append-only triggers off.
async fn behind_the_triggers_back(app: &crate::support::TestApp, statement: &str) {
    as_owner(
        app,
        &format!(
            "BEGIN;
         ALTER TABLE audit_log DISABLE TRIGGER USER;
         {statement};
         ALTER TABLE audit_log ENABLE TRIGGER USER;
         COMMIT;"
        ),
    )
    .await;
}

#[tokio::test]
async fn verify_names_the_first_entry_altered_deleted_or_slipped_in() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    write_entries(&app, acme.org, 10, "member.role_changed", "ada@acme.test").await;
    app.login(&acme.owner).await;

    let intact = verified_here(&app).await;
    assert!(intact.contains("intact: 10 entries checked"), "{intact}");
    let (ok, output) = guildhall(&app.db.url(), &["audit-verify"], "");
    assert!(ok && output.contains("intact"), "{output}");

    // Altered: the fourth entry's target.
    let fourth = app
        .number("SELECT id FROM audit_log WHERE target = 'target-4'")
        .await;
    behind_the_triggers_back(
        &app,
        &format!("UPDATE audit_log SET target = 'nobody' WHERE id = {fourth}"),
    )
    .await;
    let verdict = verified_here(&app).await;
    assert!(
        verdict.contains(&format!("Entry #{fourth} was changed after it was written"))
            && verdict.contains("3 entries before it are intact"),
        "{verdict}"
    );
    let (ok, output) = guildhall(&app.db.url(), &["audit-verify"], "");
    assert!(
        !ok && output.contains(&format!("Entry #{fourth} was changed")),
        "{output}"
    );
    // Even changing it back to what it said mends nothing the hash did not see: it verifies.
    behind_the_triggers_back(
        &app,
        &format!("UPDATE audit_log SET target = 'target-4' WHERE id = {fourth}"),
    )
    .await;
    assert!(verified_here(&app).await.contains("intact"));

    // Deleted: the seventh.
    let seventh = app
        .number("SELECT id FROM audit_log WHERE target = 'target-7'")
        .await;
    behind_the_triggers_back(&app, &format!("DELETE FROM audit_log WHERE id = {seventh}")).await;
    let verdict = verified_here(&app).await;
    assert!(
        verdict.contains(&format!("Entry #{seventh} was deleted")),
        "{verdict}"
    );
}

#[tokio::test]
async fn an_entry_slipped_in_without_its_link_is_named() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    write_entries(&app, acme.org, 3, "member.role_changed", "ada@acme.test").await;
    // `replica` switches every trigger off, the linking one too.
    as_owner(
        &app,
        &format!(
            "BEGIN; SET LOCAL session_replication_role = replica;
         INSERT INTO audit_log (actor_email, actor_role, action, org_id, target)
         VALUES ('forger@acme.test', 'owner', 'member.removed', {}, 'nobody');
         COMMIT;",
            acme.org.0
        ),
    )
    .await;
    let forged = app
        .number("SELECT id FROM audit_log WHERE actor_email = 'forger@acme.test'")
        .await;
    app.login(&acme.owner).await;
    let verdict = verified_here(&app).await;
    assert!(
        verdict.contains(&format!("Entry #{forged} was inserted outside the chain")),
        "{verdict}"
    );
    let (ok, output) = guildhall(
        &app.db.url(),
        &["audit-verify", "--org", &acme.org.0.to_string()],
        "",
    );
    assert!(
        !ok && output.contains(&format!("Entry #{forged}")),
        "{output}"
    );
}

#[tokio::test]
async fn each_organization_verifies_its_own_chain_and_super_admins_every_chain() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let other = app.signed_in_as(Role::OrgOwner).await;
    let other_org = other.org.expect("an organization");
    write_entries(&app, acme.org, 4, "team.created", "ada@acme.test").await;
    write_entries(&app, other_org, 6, "team.created", "x@org.test").await;
    let broken = app
        .number(&format!(
            "SELECT max(id) FROM audit_log WHERE org_id = {}",
            other_org.0
        ))
        .await;
    behind_the_triggers_back(
        &app,
        &format!("UPDATE audit_log SET actor_role = 'owner' WHERE id = {broken}"),
    )
    .await;

    // Acme's chain is whole; the other organization's is not, and Acme is not told of it.
    app.login(&acme.owner).await;
    let verdict = verified_here(&app).await;
    assert!(verdict.contains("intact: 4 entries"), "{verdict}");
    let theirs = verified_here(&other).await;
    assert!(
        theirs.contains(&format!("Entry #{broken} was changed")),
        "{theirs}"
    );
    let root = app.signed_in_as(Role::SuperAdmin).await;
    let everything = verified(&root, "/admin/audit", "/admin/audit/verify", "").await;
    assert!(
        everything.contains(&format!("Entry #{broken}")),
        "{everything}"
    );
    let acme_id = acme.org.0.to_string();
    let only_acme = verified(&root, "/admin/audit", "/admin/audit/verify", &acme_id).await;
    assert!(only_acme.contains("intact: 4 entries"), "{only_acme}");
}

#[tokio::test]
async fn concurrent_writers_never_fork_a_chain_and_links_cannot_be_changed() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let writers =
        (0..20).map(|_| write_entries(&app, acme.org, 5, "team.created", "ada@acme.test"));
    futures_util::future::join_all(writers).await;
    assert_eq!(
        app.number(&format!(
            "SELECT count(DISTINCT position) FROM audit_chain WHERE chain = {}",
            acme.org.0
        ))
        .await,
        100
    );
    app.login(&acme.owner).await;
    let verdict = verified_here(&app).await;
    assert!(verdict.contains("intact: 100 entries"), "{verdict}");

    let mut conn = app.conn().await;
    for statement in [
        "UPDATE audit_chain SET hash = prev_hash",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_chain",
    ] {
        let refused =
            diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut conn).await;
        let error = refused.expect_err(statement).to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
}

#[tokio::test]
async fn pressing_verify_with_htmx_answers_the_region_and_says_the_verdict_once() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    write_entries(&app, acme.org, 2, "member.role_changed", "ada@acme.test").await;
    app.login(&acme.owner).await;
    app.get("/settings/org/audit").await;
    let answer = app
        .send(
            app.client
                .post(app.url(VERIFY))
                .header("HX-Request", "true")
                .header("X-CSRF-Token", app.csrf_token())
                .form(&[("org", "")]),
        )
        .await;
    assert_eq!(answer.status(), 200, "{}", answer.text());
    let html = answer.html();
    assert!(html.text("#audit-verdict").contains("intact: 2 entries"));
    assert_eq!(
        html.attr("#audit-verdict-status", "hx-swap-oob").as_deref(),
        Some("true")
    );
    assert_eq!(
        html.text("#audit-verdict-status"),
        "Verification finished: the audit log is intact."
    );
}

#[tokio::test]
async fn a_walk_shows_its_progress_to_its_organization_only_and_a_silent_one_as_interrupted() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    write_entries(&app, acme.org, 3, "member.role_changed", "ada@acme.test").await;
    app.login(&acme.owner).await;
    assert!(verified_here(&app).await.contains("intact: 3 entries"));
    let finished = app.number("SELECT max(id) FROM audit_verifications").await;

    // Another organization's owner: neither the walk's region nor the page with it.
    let other = app.signed_in_as(Role::OrgOwner).await;
    let region = format!("/settings/org/audit/verifications/{finished}");
    assert_eq!(other.get(&region).await.status(), 404);
    let page = format!("/settings/org/audit?verification={finished}");
    assert_eq!(other.get(&page).await.status(), 404);

    // A walk whose server went away an hour ago says so, and how far it got.
    let org = acme.org.0;
    app.sql(&format!(
        "INSERT INTO audit_verifications (org_id, started_at, total, checked, beat_at) \
         VALUES ({org}, now() - interval '1 hour', 100, 40, now() - interval '1 hour')"
    ))
    .await;
    let silent = app.number("SELECT max(id) FROM audit_verifications").await;
    let shown = app
        .get(&format!("/settings/org/audit?verification={silent}"))
        .await
        .html()
        .text("#audit-verdict");
    assert!(
        shown.contains("stopped before it finished, after 40 entries"),
        "{shown}"
    );

    // One that stopped on a database error says that, at once.
    app.sql(&format!(
        "INSERT INTO audit_verifications (org_id, started_at, total, checked, beat_at, \
         finished_at, failed) VALUES ({org}, now(), 100, 60, now(), now(), true)"
    ))
    .await;
    let failed = app.number("SELECT max(id) FROM audit_verifications").await;
    let shown = app
        .get(&format!("/settings/org/audit?verification={failed}"))
        .await
        .html()
        .text("#audit-verdict");
    assert!(
        shown.contains("stopped on an error before it finished, after 60 entries"),
        "{shown}"
    );

    // A walk still running: htmx polls its region, which shows how far it has got; pressing
    // Verify again joins it instead of starting another.
    app.sql(&format!(
        "INSERT INTO audit_verifications (org_id, started_at, total, checked, beat_at) \
         VALUES ({org}, now(), 5000, 2000, now() + interval '1 minute')"
    ))
    .await;
    let running = app.number("SELECT max(id) FROM audit_verifications").await;
    let polled = app
        .send(
            app.client
                .get(app.url(&format!("/settings/org/audit/verifications/{running}")))
                .header("HX-Request", "true"),
        )
        .await;
    let fragment = polled.html();
    assert_eq!(
        fragment.attr("#audit-verdict", "hx-trigger").as_deref(),
        Some("every 1s")
    );
    assert_eq!(
        fragment.attr("#audit-progress", "value").as_deref(),
        Some("2000")
    );
    assert!(
        fragment
            .text("#audit-verdict")
            .contains("2,000 of 5,000 entries checked so far"),
        "{}",
        fragment.text("#audit-verdict")
    );
    // The start is said to screen readers once, out of band, not at every tick.
    assert_eq!(fragment.count("#audit-verdict-status"), 0);
    app.get("/settings/org/audit").await;
    let joined = app.post_form(VERIFY, &[]).await;
    assert!(
        joined
            .location()
            .ends_with(&format!("?verification={running}")),
        "{}",
        joined.location()
    );
    assert_eq!(
        app.number("SELECT count(*) FROM audit_verifications").await,
        4,
        "no second walk of the same chain"
    );
}
