//! The invariants the database itself enforces, tried directly so no code path can skip them.

use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::support::{OrgRole, TestApp, spawn_app};

async fn try_sql(app: &TestApp, statements: &str) -> Result<(), String> {
    let mut conn = app.conn().await;
    let statements = statements.to_owned();
    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        for statement in statements.split(';').filter(|s| !s.trim().is_empty()) {
            diesel::sql_query(statement).execute(conn).await?;
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    let app = spawn_app().await;
    app.user("ada@acme.test").create().await;
    assert!(
        try_sql(&app, "INSERT INTO users (email) VALUES ('ada@acme.test')")
            .await
            .is_err()
    );
    assert!(
        try_sql(&app, "INSERT INTO users (email) VALUES ('Ada@Acme.test')")
            .await
            .is_err(),
        "stored lower-case only"
    );
    assert!(
        try_sql(
            &app,
            "INSERT INTO users (email, platform_role) VALUES ('x@acme.test', 'root')"
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn an_organization_has_exactly_one_owner() {
    let app = spawn_app().await;
    let owner = app.user("owner@acme.test").create().await;
    let org = app.org("Acme").owned_by(&owner).create().await;
    let other = app
        .user("other@acme.test")
        .member_of(org, OrgRole::Member)
        .create()
        .await;

    let second_owner = format!(
        "UPDATE memberships SET role = 'owner' WHERE user_id = {}",
        other.id
    );
    assert!(try_sql(&app, &second_owner).await.is_err(), "two owners");
    let no_owner = format!(
        "UPDATE memberships SET role = 'admin' WHERE user_id = {}",
        owner.id
    );
    assert!(
        try_sql(&app, &no_owner)
            .await
            .expect_err("an ownerless organization")
            .contains("has no owner")
    );
    let remove_owner = format!("DELETE FROM memberships WHERE user_id = {}", owner.id);
    assert!(try_sql(&app, &remove_owner).await.is_err());
    let ownerless_org = "INSERT INTO organizations (name, contact_name, country, email) VALUES ('Empty', 'C', 'DE', 'c@e.test')";
    assert!(try_sql(&app, ownerless_org).await.is_err());
    assert!(
        try_sql(
            &app,
            &format!(
                "UPDATE memberships SET role = 'superuser' WHERE user_id = {}",
                other.id
            )
        )
        .await
        .is_err()
    );

    // A transfer inside one transaction is fine: the check runs at commit.
    let transfer = format!(
        "UPDATE memberships SET role = 'admin' WHERE user_id = {}; UPDATE memberships SET role = 'owner' WHERE user_id = {}",
        owner.id, other.id
    );
    try_sql(&app, &transfer).await.expect("transfer");
}

#[tokio::test]
async fn member_counts_follow_the_memberships() {
    let app = spawn_app().await;
    let org = app.org("Acme").create().await;
    let admin = app
        .user("admin@acme.test")
        .member_of(org, OrgRole::Admin)
        .create()
        .await;
    let member = app
        .user("member@acme.test")
        .member_of(org, OrgRole::Member)
        .create()
        .await;
    app.sql(&format!(
        "UPDATE memberships SET subscriber = true WHERE user_id = {}",
        member.id
    ))
    .await;
    app.sql(&format!(
        "DELETE FROM memberships WHERE user_id = {}",
        admin.id
    ))
    .await;

    let org = app.stored_org(org).await;
    assert_eq!(
        (org.member_count, org.admin_count, org.subscriber_count),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn the_audit_log_is_append_only() {
    let app = spawn_app().await;
    try_sql(
        &app,
        "INSERT INTO audit_log (actor_role, action) VALUES ('system', 'test.entry')",
    )
    .await
    .expect("insert");
    assert!(
        try_sql(&app, "UPDATE audit_log SET action = 'rewritten'")
            .await
            .is_err()
    );
    assert!(try_sql(&app, "DELETE FROM audit_log").await.is_err());
    assert!(try_sql(&app, "TRUNCATE audit_log").await.is_err());
}

#[derive(diesel::QueryableByName)]
struct ColumnInfo {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

/// Column names of a Diesel table in declaration order, read from the SQL it generates.
fn declared(query: impl diesel::query_builder::QueryFragment<diesel::pg::Pg>) -> Vec<String> {
    let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
    let select = sql.split(" FROM ").next().unwrap_or_default();
    select
        .split(", ")
        .map(|c| {
            c.rsplit('.')
                .next()
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned()
        })
        .collect()
}

/// schema.rs is written by hand: this fails when it and the migrations drift apart.
#[tokio::test]
async fn schema_rs_matches_the_migrations() {
    use diesel::{QueryDsl, Table};
    use guildhall::db::schema::*;
    let app = spawn_app().await;
    let mut conn = app.conn().await;
    let columns: Vec<ColumnInfo> = diesel::sql_query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' ORDER BY table_name, ordinal_position",
    )
    .load(&mut conn)
    .await
    .expect("columns");
    let tables = [
        (
            "api_endpoints",
            declared(api_endpoints::table.select(api_endpoints::table::all_columns())),
        ),
        (
            "api_keys",
            declared(api_keys::table.select(api_keys::table::all_columns())),
        ),
        (
            "endpoint_restriction_allows",
            declared(
                endpoint_restriction_allows::table
                    .select(endpoint_restriction_allows::table::all_columns()),
            ),
        ),
        (
            "endpoint_restrictions",
            declared(
                endpoint_restrictions::table.select(endpoint_restrictions::table::all_columns()),
            ),
        ),
        (
            "ip_allow_entries",
            declared(ip_allow_entries::table.select(ip_allow_entries::table::all_columns())),
        ),
        (
            "key_denials",
            declared(key_denials::table.select(key_denials::table::all_columns())),
        ),
        (
            "policy_reports",
            declared(policy_reports::table.select(policy_reports::table::all_columns())),
        ),
        (
            "usage_alerts_sent",
            declared(usage_alerts_sent::table.select(usage_alerts_sent::table::all_columns())),
        ),
        (
            "usage_member_daily",
            declared(usage_member_daily::table.select(usage_member_daily::table::all_columns())),
        ),
        (
            "password_resets",
            declared(password_resets::table.select(password_resets::table::all_columns())),
        ),
        (
            "usage_member_monthly",
            declared(
                usage_member_monthly::table.select(usage_member_monthly::table::all_columns()),
            ),
        ),
        (
            "usage_org_daily",
            declared(usage_org_daily::table.select(usage_org_daily::table::all_columns())),
        ),
        (
            "usage_daily",
            declared(usage_daily::table.select(usage_daily::table::all_columns())),
        ),
        (
            "usage_records",
            declared(usage_records::table.select(usage_records::table::all_columns())),
        ),
        (
            "audit_chain",
            declared(audit_chain::table.select(audit_chain::table::all_columns())),
        ),
        (
            "audit_verifications",
            declared(audit_verifications::table.select(audit_verifications::table::all_columns())),
        ),
        (
            "audit_log",
            declared(audit_log::table.select(audit_log::table::all_columns())),
        ),
        (
            "invitation_teams",
            declared(invitation_teams::table.select(invitation_teams::table::all_columns())),
        ),
        (
            "invitations",
            declared(invitations::table.select(invitations::table::all_columns())),
        ),
        (
            "login_failures",
            declared(login_failures::table.select(login_failures::table::all_columns())),
        ),
        (
            "memberships",
            declared(memberships::table.select(memberships::table::all_columns())),
        ),
        (
            "models",
            declared(models::table.select(models::table::all_columns())),
        ),
        (
            "org_models",
            declared(org_models::table.select(org_models::table::all_columns())),
        ),
        (
            "org_oauth_settings",
            declared(org_oauth_settings::table.select(org_oauth_settings::table::all_columns())),
        ),
        (
            "organizations",
            declared(organizations::table.select(organizations::table::all_columns())),
        ),
        (
            "outbox",
            declared(outbox::table.select(outbox::table::all_columns())),
        ),
        (
            "plans",
            declared(plans::table.select(plans::table::all_columns())),
        ),
        (
            "provider_key_rotations",
            declared(
                provider_key_rotations::table.select(provider_key_rotations::table::all_columns()),
            ),
        ),
        (
            "provider_keys",
            declared(provider_keys::table.select(provider_keys::table::all_columns())),
        ),
        (
            "platform_counters",
            declared(platform_counters::table.select(platform_counters::table::all_columns())),
        ),
        (
            "platform_settings",
            declared(platform_settings::table.select(platform_settings::table::all_columns())),
        ),
        (
            "sessions",
            declared(sessions::table.select(sessions::table::all_columns())),
        ),
        (
            "subscription_changes",
            declared(
                subscription_changes::table.select(subscription_changes::table::all_columns()),
            ),
        ),
        (
            "team_members",
            declared(team_members::table.select(team_members::table::all_columns())),
        ),
        (
            "teams",
            declared(teams::table.select(teams::table::all_columns())),
        ),
        (
            "token_assignments",
            declared(token_assignments::table.select(token_assignments::table::all_columns())),
        ),
        (
            "token_purchases",
            declared(token_purchases::table.select(token_purchases::table::all_columns())),
        ),
        (
            "used_form_tokens",
            declared(used_form_tokens::table.select(used_form_tokens::table::all_columns())),
        ),
        (
            "users",
            declared(users::table.select(users::table::all_columns())),
        ),
    ];
    let in_database: std::collections::BTreeSet<&str> =
        columns.iter().map(|c| c.table_name.as_str()).collect();
    assert_eq!(
        in_database,
        tables.iter().map(|(t, _)| *t).collect(),
        "tables in schema.rs vs the database"
    );
    for (table, declared) in tables {
        let expected: Vec<String> = columns
            .iter()
            .filter(|c| c.table_name == table)
            .map(|c| c.column_name.clone())
            .collect();
        assert_eq!(declared, expected, "columns of {table}");
    }
}
