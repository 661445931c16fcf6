//! The hash chains: an entry altered, deleted or slipped in behind the database's back (as its
//! owner, with the triggers off) is named by Verify and by `guildhall audit-verify`.

use super::write_entries;
use crate::foundation::cli::guildhall;
use crate::org::acme;
use crate::support::{Role, spawn_app};

const VERIFY: &str = "/settings/org/audit/verify";

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

    let intact = app.get(VERIFY).await;
    assert_eq!(intact.status(), 200);
    assert!(
        intact
            .html()
            .text("#audit-verdict")
            .contains("intact: 10 entries checked"),
        "{}",
        intact.html().text("#audit-verdict")
    );
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
    let verdict = app.get(VERIFY).await.html().text("#audit-verdict");
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
    assert!(
        app.get(VERIFY)
            .await
            .html()
            .text("#audit-verdict")
            .contains("intact")
    );

    // Deleted: the seventh.
    let seventh = app
        .number("SELECT id FROM audit_log WHERE target = 'target-7'")
        .await;
    behind_the_triggers_back(&app, &format!("DELETE FROM audit_log WHERE id = {seventh}")).await;
    let verdict = app.get(VERIFY).await.html().text("#audit-verdict");
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
    let verdict = app.get(VERIFY).await.html().text("#audit-verdict");
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
    let verdict = app.get(VERIFY).await.html().text("#audit-verdict");
    assert!(verdict.contains("intact: 4 entries"), "{verdict}");
    let theirs = other.get(VERIFY).await.html().text("#audit-verdict");
    assert!(
        theirs.contains(&format!("Entry #{broken} was changed")),
        "{theirs}"
    );
    let root = app.signed_in_as(Role::SuperAdmin).await;
    let everything = root
        .get("/admin/audit/verify")
        .await
        .html()
        .text("#audit-verdict");
    assert!(
        everything.contains(&format!("Entry #{broken}")),
        "{everything}"
    );
    let only_acme = root
        .get(&format!("/admin/audit/verify?org={}", acme.org.0))
        .await
        .html()
        .text("#audit-verdict");
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
    let verdict = app.get(VERIFY).await.html().text("#audit-verdict");
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
