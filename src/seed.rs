//! Data sets: `seed-demo`, a small believable organization set to click through, and
//! `seed-bench`, a large deterministic one for benchmarks.

use diesel_async::{AsyncConnection, RunQueryDsl};
use secrecy::SecretString;

use crate::access::Actor;
use crate::db::DbPool;
use crate::domain::OrganizationFields;
use crate::domain::{OrgRole, PlatformRole, TeamRole, password};
use crate::models::audit;
use crate::models::memberships::{self, NewMembership};
use crate::models::organizations;
use crate::models::plans;
use crate::models::subscriptions::{self, ChangeReason};
use crate::models::teams;
use crate::models::users::{self, NewUser};

/// Every demo account signs in with this password (printed by `seed-demo`; demo data only).
pub const DEMO_PASSWORD: &str = "guildhall-demo";
pub const DEMO_SUPER_ADMIN: &str = "admin@guildhall.example";

struct DemoOrg {
    name: &'static str,
    contact: &'static str,
    city: &'static str,
    country: &'static str,
    domain: &'static str,
    /// (first name, last name, role), the first one the owner.
    people: &'static [(&'static str, &'static str, OrgRole)],
}

const DEMO_ORGS: &[DemoOrg] = &[
    DemoOrg {
        name: "Northwind Robotics",
        contact: "Amara Okafor",
        city: "Hamburg",
        country: "DE",
        domain: "northwind.example",
        people: &[
            ("Amara", "Okafor", OrgRole::Owner),
            ("Jonas", "Becker", OrgRole::Admin),
            ("Lena", "Vogel", OrgRole::Member),
            ("Mateo", "Rossi", OrgRole::Member),
            ("Priya", "Nair", OrgRole::Member),
        ],
    },
    DemoOrg {
        name: "Helios Analytics",
        contact: "Sofia Lindqvist",
        city: "Stockholm",
        country: "SE",
        domain: "helios.example",
        people: &[
            ("Sofia", "Lindqvist", OrgRole::Owner),
            ("Erik", "Holm", OrgRole::Admin),
            ("Noor", "Haddad", OrgRole::Admin),
            ("Oscar", "Berg", OrgRole::Member),
        ],
    },
    DemoOrg {
        name: "Bluebird Health",
        contact: "Daniel Kim",
        city: "Toronto",
        country: "CA",
        domain: "bluebird.example",
        people: &[
            ("Daniel", "Kim", OrgRole::Owner),
            ("Grace", "Liu", OrgRole::Member),
            ("Tomás", "García", OrgRole::Member),
        ],
    },
];

/// Creates the demo data unless it is already there; returns the sign-in emails it created
/// (empty when it was already present).
pub async fn seed_demo(pool: &DbPool) -> anyhow::Result<Vec<(String, String)>> {
    let mut conn = pool.get().await?;
    if users::find_by_email(&mut conn, DEMO_SUPER_ADMIN)
        .await?
        .is_some()
    {
        return Ok(Vec::new());
    }
    let hash = tokio::task::spawn_blocking(|| {
        password::hash(&SecretString::from(DEMO_PASSWORD.to_owned()))
    })
    .await??;
    let actor = Actor::system();
    let created = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let mut created = Vec::new();
            let admin = NewUser {
                email: DEMO_SUPER_ADMIN,
                first_name: "Ada",
                last_name: "Admin",
                password_hash: Some(&hash),
                platform_role: PlatformRole::SuperAdmin,
            };
            users::insert(conn, &admin).await?;
            created.push((
                DEMO_SUPER_ADMIN.to_owned(),
                "super administrator".to_owned(),
            ));
            for demo in DEMO_ORGS {
                let fields = OrganizationFields {
                    name: demo.name.to_owned(),
                    contact_name: demo.contact.to_owned(),
                    address: String::new(),
                    zip: String::new(),
                    city: demo.city.to_owned(),
                    country: demo.country.to_owned(),
                    phone: String::new(),
                    email: format!("contact@{}", demo.domain),
                    domain: Some(demo.domain.to_owned()),
                    restrict_to_domain: false,
                    allow_subdomains: false,
                };
                let plan_id = plans::default_plan_id(conn).await?;
                let org = organizations::insert(conn, &fields, plan_id).await?;
                let mut people = Vec::new();
                for (first, last, role) in demo.people {
                    let email = format!(
                        "{}.{}@{}",
                        ascii_lower(first),
                        ascii_lower(last),
                        demo.domain
                    );
                    let new_user = NewUser {
                        email: &email,
                        first_name: first,
                        last_name: last,
                        password_hash: Some(&hash),
                        platform_role: PlatformRole::User,
                    };
                    let user = users::insert(conn, &new_user).await?;
                    memberships::insert(
                        conn,
                        &NewMembership {
                            org_id: org.id,
                            user_id: user.id,
                            role: *role,
                        },
                    )
                    .await?;
                    people.push(user.id);
                    created.push((
                        email,
                        format!("{} of {}", role.label().to_lowercase(), demo.name),
                    ));
                }
                // Two teams: Research, owned by the organization's owner, with everyone in it in
                // each team role; Support, owned by the last person, with the owner as viewer.
                let research = teams::insert(
                    conn,
                    org.id,
                    "Research",
                    "Models, evaluations and papers",
                    people[0],
                )
                .await?;
                let roles = [
                    TeamRole::Admin,
                    TeamRole::Moderator,
                    TeamRole::Member,
                    TeamRole::Viewer,
                ];
                for (user_id, role) in people[1..].iter().zip(roles.iter().cycle()) {
                    teams::add(conn, org.id, research.id, *user_id, *role).await?;
                }
                if let [owner, .., last] = people.as_slice() {
                    let support = teams::insert(
                        conn,
                        org.id,
                        "Support",
                        "Answers customers within a day",
                        *last,
                    )
                    .await?;
                    teams::add(conn, org.id, support.id, *owner, TeamRole::Viewer).await?;
                }
                // Everyone holds a seat; some of the shared limits are in use.
                for user_id in &people {
                    subscriptions::set_seat(conn, org.id, *user_id, true).await?;
                }
                subscriptions::record(conn, org.id, ChangeReason::Seats, org.created_at).await?;
                subscriptions::report_use(conn, org.id, 3, 1_250, 1).await?;
                demo_usage(conn, org.id, &people, org.created_at).await?;
                let entry = audit::NewAuditEntry {
                    org_id: Some(org.id),
                    ..actor.audit("organization.created", demo.name)
                };
                audit::record(conn, &entry).await?;
            }
            Ok(created)
        })
        .await?;
    Ok(created)
}

/// Every model allowed, and for each person an API key with a month of calls, so the Usage
/// page and the keys' last use have something to show.
async fn demo_usage(
    conn: &mut diesel_async::AsyncPgConnection,
    org_id: crate::domain::OrgId,
    people: &[crate::domain::UserId],
    now: chrono::DateTime<chrono::Utc>,
) -> diesel::QueryResult<()> {
    use crate::models::{ai_models, api_keys, org_models, usage};
    let catalogue: Vec<i64> = ai_models::catalogue(conn)
        .await?
        .iter()
        .map(|m| m.id)
        .collect();
    org_models::set_allowed_models(conn, org_id, &catalogue).await?;
    let calls = [
        ("chat_completions", "gpt-4o"),
        ("chat_completions", "claude-sonnet-4"),
        ("embeddings", "text-embedding-3-large"),
    ];
    for (n, user_id) in people.iter().enumerate() {
        let key = crate::domain::api_key::IssuedKey::generate();
        let hash = key.hash();
        let new = api_keys::NewApiKey {
            org_id: Some(org_id),
            user_id: *user_id,
            name: "Demo key",
            prefix: key.prefix(),
            secret_hash: &hash,
            created_by: *user_id,
            created_at: now - chrono::Duration::days(31),
            expires_at: None,
            rotated_from: None,
        };
        let key_id = api_keys::insert(conn, &new).await?;
        let made: Vec<usage::NewUsage> = (0..30i64)
            .flat_map(|day| (0..(1 + (day + n as i64) % 4)).map(move |i| (day, i)))
            .map(|(day, i)| {
                let (endpoint, model) = calls[((day + i) % 3) as usize];
                usage::NewUsage {
                    idempotency_key: format!("demo-{day}-{i}"),
                    endpoint: endpoint.to_owned(),
                    model: model.to_owned(),
                    input_tokens: 400 + 37 * ((day * 7 + i) % 20),
                    output_tokens: if endpoint == "embeddings" {
                        0
                    } else {
                        150 + 11 * (day % 9)
                    },
                    at: now - chrono::Duration::days(day) - chrono::Duration::minutes(i * 17),
                    team_id: None,
                }
            })
            .collect();
        usage::record(conn, key_id, &made).await?;
    }
    demo_service_account(conn, org_id, people, now).await
}

/// A service account with a key a person made, and a week of its calls.
async fn demo_service_account(
    conn: &mut diesel_async::AsyncPgConnection,
    org_id: crate::domain::OrgId,
    people: &[crate::domain::UserId],
    now: chrono::DateTime<chrono::Utc>,
) -> diesel::QueryResult<()> {
    use crate::models::{api_keys, memberships, usage, users};
    let Some(creator) = people.first() else {
        return Ok(());
    };
    let email = format!("nightlyexport.{}@service-accounts.invalid", org_id.0);
    let account = users::insert_service_account(conn, org_id, "Nightly export", &email).await?;
    memberships::insert(
        conn,
        &memberships::NewMembership {
            org_id,
            user_id: account.id,
            role: crate::domain::OrgRole::Member,
        },
    )
    .await?;
    let key = crate::domain::api_key::IssuedKey::generate();
    let hash = key.hash();
    let key_id = api_keys::insert(
        conn,
        &api_keys::NewApiKey {
            org_id: Some(org_id),
            user_id: account.id,
            name: "Warehouse export",
            prefix: key.prefix(),
            secret_hash: &hash,
            created_by: *creator,
            created_at: now - chrono::Duration::days(8),
            expires_at: None,
            rotated_from: None,
        },
    )
    .await?;
    let made: Vec<usage::NewUsage> = (0..7i64)
        .map(|day| usage::NewUsage {
            idempotency_key: format!("export-{day}"),
            endpoint: "chat_completions".to_owned(),
            model: "gpt-4o".to_owned(),
            input_tokens: 2_000 + 100 * day,
            output_tokens: 800,
            at: now - chrono::Duration::days(day) - chrono::Duration::hours(2),
            team_id: None,
        })
        .collect();
    usage::record(conn, key_id, &made).await?;
    Ok(())
}

fn ascii_lower(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'á' => 'a',
            'í' => 'i',
            'é' => 'e',
            other => other.to_ascii_lowercase(),
        })
        .collect()
}

/// The super administrator of the benchmark data; every bench account uses `BENCH_PASSWORD`.
pub const BENCH_SUPER_ADMIN: &str = "bench-admin@bench.example";
pub const BENCH_PASSWORD: &str = "guildhall-bench";
/// The API key the benchmark calls the policy API with: held by organization 1's owner.
pub const BENCH_API_KEY: &str = "ghk_bbbbbbbbbbbb_benchbenchbenchbenchbenchbenchbenchbenchben";
/// Sizes of the few very large organizations (ids 1 to 5), when there are users enough.
const LARGE_ORGS: [i64; 5] = [20_000, 5_000, 5_000, 5_000, 5_000];

pub struct BenchSummary {
    pub organizations: i64,
    pub users: i64,
    pub memberships: i64,
    pub largest_org_id: i64,
}

/// Creates `orgs` organizations and `users` users (about 1.25 memberships each, organization 1
/// with 20,000 members when there are users enough), generated inside PostgreSQL so it takes
/// seconds. Deterministic: the same arguments give the same data.
pub async fn seed_bench(
    pool: &DbPool,
    orgs: i64,
    users: i64,
) -> anyhow::Result<Option<BenchSummary>> {
    use diesel_async::SimpleAsyncConnection;
    anyhow::ensure!(
        orgs >= 1 && users >= orgs,
        "--users must be at least --orgs (every organization needs an owner)"
    );
    let mut conn = pool.get().await?;
    if users::find_by_email(&mut conn, BENCH_SUPER_ADMIN)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let existing: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT organizations + users FROM platform_counters)",
    ))
    .get_result(&mut conn)
    .await?;
    anyhow::ensure!(
        existing == 0,
        "seed-bench fills an empty database; point DATABASE_URL at a new one"
    );
    let hash = tokio::task::spawn_blocking(|| {
        password::hash(&SecretString::from(BENCH_PASSWORD.to_owned()))
    })
    .await??;
    let large_total: i64 = LARGE_ORGS.iter().sum();
    let use_large = orgs > LARGE_ORGS.len() as i64 && users >= large_total * 3;
    // User g's first organization: the large ones take the first users, the rest round-robin.
    let (large_orgs, large_users) = if use_large {
        (LARGE_ORGS.len() as i64, large_total)
    } else {
        (0, 0)
    };
    let first_org = format!(
        "CASE {large} ELSE {large_orgs} + 1 + ((g - {large_users} - 1) % ({orgs} - {large_orgs})) END",
        large = if use_large {
            let mut bounds = Vec::new();
            let mut upper = 0;
            for (i, size) in LARGE_ORGS.iter().enumerate() {
                upper += size;
                bounds.push(format!("WHEN g <= {upper} THEN {}", i + 1));
            }
            bounds.join(" ")
        } else {
            "WHEN false THEN 0".to_owned()
        }
    );
    // Five million calls at the default size, fewer for a small data set.
    let usage = (users * 25).min(5_000_000);
    let audit = (users * 10).min(2_000_000);
    let script = format!(
        r#"
        BEGIN;
        INSERT INTO organizations (id, name, contact_name, city, country, phone, email, domain, plan_id)
        SELECT g,
               (ARRAY['Northwind','Helios','Bluebird','Acme','Globex','Initech','Umbrella','Stark','Wayne','Tyrell','Cyberdyne','Soylent'])[1 + g % 12]
                 || ' ' || (ARRAY['Labs','Robotics','Analytics','Health','Systems','Logistics','Foods','Energy','Media','Capital'])[1 + (g / 12) % 10]
                 || ' ' || g,
               (ARRAY['Amara Okafor','Jonas Becker','Sofia Lindqvist','Daniel Kim','Priya Nair','Mateo Rossi','Grace Liu','Noor Haddad'])[1 + g % 8],
               (ARRAY['Hamburg','Stockholm','Toronto','Lyon','Osaka','Austin','Nairobi','Lisbon'])[1 + g % 8],
               (ARRAY['DE','SE','CA','FR','JP','US','KE','PT'])[1 + g % 8],
               '+1 555 ' || lpad((g % 10000)::text, 4, '0'),
               'contact@org' || g || '.bench.example',
               'org' || g || '.bench.example',
               (SELECT min(id) FROM plans)
        FROM generate_series(1, {orgs}) g;
        SELECT setval(pg_get_serial_sequence('organizations', 'id'), {orgs});

        INSERT INTO users (email, first_name, last_name, password_hash, platform_role)
        SELECT 'user' || g || '@org' || ({first_org}) || '.bench.example',
               (ARRAY['Ada','Alan','Grace','Linus','Margaret','Dennis','Barbara','Ken','Frances','John','Radia','Tim'])[1 + g % 12],
               (ARRAY['Lovelace','Turing','Hopper','Torvalds','Hamilton','Ritchie','Liskov','Thompson','Allen','Backus','Perlman','Berners'])[1 + (g / 12) % 12] || g,
               '{hash}', 'user'
        FROM generate_series(1, {users}) g;

        -- Every user in their first organization; every fourth user in a second one too.
        CREATE TEMPORARY TABLE bench_users AS SELECT id, row_number() OVER (ORDER BY id) AS g FROM users;
        INSERT INTO memberships (org_id, user_id, role, subscriber)
        SELECT ({first_org}), id, CASE WHEN g % 10 = 1 THEN 'admin' ELSE 'member' END, g % 3 = 0
        FROM bench_users;
        INSERT INTO memberships (org_id, user_id, role)
        SELECT 1 + (g * 7919) % {orgs}, id, 'member' FROM bench_users WHERE g % 4 = 0
        ON CONFLICT DO NOTHING;
        -- The earliest member of each organization owns it.
        UPDATE memberships m SET role = 'owner'
        FROM (SELECT org_id, min(user_id) AS user_id FROM memberships GROUP BY org_id) first
        WHERE m.org_id = first.org_id AND m.user_id = first.user_id;

        INSERT INTO token_purchases (org_id, kind, tokens, amount_cents, currency, purchased_on, reference, source)
        SELECT o, k, 1000000 * (1 + (o * 31 + length(k)) % 50), 10000 * (1 + o % 50), 'EUR',
               DATE '2026-01-01' + (o % 300), 'bench-' || o || '-' || k, 'import'
        FROM generate_series(1, {orgs}) o, unnest(ARRAY['inference', 'embedding']) k;
        INSERT INTO token_assignments (org_id, kind, tokens, user_id)
        SELECT m.org_id, 'inference', 1000 * (1 + m.org_id % 500), m.user_id FROM memberships m WHERE m.role = 'owner';

        -- Teams: 500 in the first organization, of 5 to 2,000 members (team 1, which its owner
        -- owns, the largest); three in every other organization.
        INSERT INTO teams (org_id, name, description)
        SELECT 1, (ARRAY['Research','Platform','Support','Design','Sales','Data','Security','Operations'])[1 + t % 8] || ' ' || t,
               'Bench team ' || t
        FROM generate_series(1, 500) t;
        INSERT INTO teams (org_id, name)
        SELECT o, n FROM generate_series(2, {orgs}) o, unnest(ARRAY['Research', 'Support', 'Design']) n;
        CREATE TEMPORARY TABLE first_org_members AS
            SELECT user_id, row_number() OVER (ORDER BY user_id) - 1 AS rn FROM memberships WHERE org_id = 1;
        CREATE TEMPORARY TABLE first_org_teams AS
            SELECT id, t, LEAST(CASE WHEN t = 1 THEN 2000 ELSE 5 + (t * 37) % 400 END,
                                (SELECT count(*) FROM first_org_members)) AS size
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS t FROM teams WHERE org_id = 1) numbered;
        INSERT INTO team_members (team_id, org_id, user_id, role)
        SELECT ft.id, 1, m.user_id,
               CASE WHEN k = 0 THEN 'owner' WHEN k % 20 = 1 THEN 'admin' WHEN k % 7 = 2 THEN 'viewer' ELSE 'member' END
        FROM first_org_teams ft
        CROSS JOIN LATERAL generate_series(0, ft.size - 1) k
        JOIN first_org_members m ON m.rn = ((ft.t - 1) * 997 + k) % (SELECT count(*) FROM first_org_members);
        INSERT INTO team_members (team_id, org_id, user_id, role)
        SELECT t.id, t.org_id, m.user_id, CASE WHEN m.role = 'owner' THEN 'owner' ELSE 'member' END
        FROM teams t JOIN memberships m ON m.org_id = t.org_id
        WHERE t.org_id <> 1 AND (m.role = 'owner' OR (t.name = 'Research' AND m.user_id % 3 = 0));

        -- Subscriptions: each started with its organization, with some shared limits in use.
        INSERT INTO subscription_changes (org_id, effective_at, reason, plan_name, monthly_price_cents,
                                          included_seats, extra_seat_price_cents, seats, active)
        SELECT o.id, o.created_at, 'started', p.name, p.monthly_price_cents, p.included_seats,
               p.extra_seat_price_cents, o.subscriber_count, true
        FROM organizations o JOIN plans p ON p.id = o.plan_id;
        UPDATE organizations SET workflows_in_use = id % 8, work_items_in_use = (id * 37) % 9000,
                                 jobs_running = id % 4;

        -- API keys: one for each of the first 1,000 members of organization 1, one for every
        -- other organization's owner, and the bench's own for organization 1's owner. Every
        -- organization may call every model of the catalogue.
        INSERT INTO org_models (org_id, model_id) SELECT o.id, m.id FROM organizations o CROSS JOIN models m;
        INSERT INTO api_keys (org_id, user_id, name, prefix, secret_hash, created_by, created_at)
        SELECT org_id, user_id, 'Bench key', lpad(to_hex(row_number() OVER (ORDER BY org_id, user_id)), 12, '0'),
               sha256(('bench-' || org_id || '-' || user_id)::bytea), user_id, now() - interval '100 days'
        FROM ((SELECT org_id, user_id FROM memberships WHERE org_id = 1 ORDER BY user_id LIMIT 1000)
              UNION ALL (SELECT org_id, user_id FROM memberships WHERE role = 'owner' AND org_id <> 1)) holders;
        INSERT INTO api_keys (org_id, user_id, name, prefix, secret_hash, created_by, created_at)
        SELECT 1, user_id, 'Bench gateway key', 'bbbbbbbbbbbb', sha256('{BENCH_API_KEY}'::bytea), user_id, now()
        FROM memberships WHERE org_id = 1 AND role = 'owner';

        -- Usage: {usage} calls over the last 90 days, spread over the keys (organization 1's
        -- thousand keys take about a tenth), summed per day as the policy API does.
        CREATE TEMPORARY TABLE bench_keys AS
            SELECT id, org_id, user_id, row_number() OVER (ORDER BY id) - 1 AS k FROM api_keys;
        INSERT INTO usage_records (key_id, idempotency_key, org_id, user_id, endpoint, model,
                                   input_tokens, output_tokens, at)
        SELECT k.id, 'bench-' || g, k.org_id, k.user_id,
               (ARRAY['chat_completions', 'chat_completions', 'embeddings'])[1 + g % 3],
               (ARRAY['gpt-4o', 'claude-sonnet-4', 'text-embedding-3-large'])[1 + g % 3],
               100 + g % 900, CASE WHEN g % 3 = 2 THEN 0 ELSE 50 + g % 400 END,
               now() - make_interval(days => (g / 7) % 90, mins => g % 1440)
        FROM generate_series(0, {usage} - 1) g
        JOIN bench_keys k ON k.k = g % (SELECT count(*) FROM bench_keys);
        INSERT INTO usage_daily (key_id, day, endpoint, model, org_id, user_id, requests,
                                 input_tokens, output_tokens)
        SELECT key_id, (at AT TIME ZONE 'UTC')::date, endpoint, model, min(org_id), min(user_id),
               count(*), sum(input_tokens), sum(output_tokens)
        FROM usage_records GROUP BY 1, 2, 3, 4;
        INSERT INTO usage_org_daily
        SELECT org_id, day, endpoint, model, sum(requests), sum(input_tokens), sum(output_tokens)
        FROM usage_daily WHERE org_id IS NOT NULL GROUP BY 1, 2, 3, 4;
        INSERT INTO usage_member_daily
        SELECT org_id, day, user_id, sum(requests), sum(input_tokens), sum(output_tokens)
        FROM usage_daily WHERE org_id IS NOT NULL GROUP BY 1, 2, 3;
        INSERT INTO usage_member_monthly
        SELECT org_id, date_trunc('month', day)::date, user_id, sum(requests), sum(input_tokens),
               sum(output_tokens)
        FROM usage_member_daily GROUP BY 1, 2, 3;
        UPDATE organizations o SET
            inference_used = least(u.inference, o.inference_purchased / 2),
            embedding_used = least(u.embedding, o.embedding_purchased / 2)
        FROM (SELECT org_id,
                     sum(input_tokens + output_tokens) FILTER (WHERE endpoint = 'chat_completions') AS inference,
                     sum(input_tokens + output_tokens) FILTER (WHERE endpoint = 'embeddings') AS embedding
              FROM usage_daily GROUP BY org_id) u
        WHERE o.id = u.org_id;
        -- (Used tokens are capped at half of those bought, so the bench's calls are allowed.)

        -- Audit log: {audit} entries over the last year, half of them organization 1's (its
        -- first hundred members acting), the rest spread over every organization; each is
        -- linked into its organization's chain as the transaction commits.
        CREATE TEMPORARY TABLE bench_actors AS
            SELECT m.user_id, u.email, row_number() OVER (ORDER BY m.user_id) - 1 AS k
            FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = 1 ORDER BY m.user_id LIMIT 100;
        INSERT INTO audit_log (at, actor_user_id, actor_email, actor_role, action, org_id, target,
                               before, after, ip, request_id)
        SELECT now() - make_interval(secs => ({audit} - g) * 31536000.0 / {audit}),
               a.user_id, a.email, 'admin',
               (ARRAY['member.role_changed', 'team.member_added', 'invitation.sent',
                      'api_key.created', 'access_policy.ip_added'])[1 + g % 5],
               CASE WHEN g % 2 = 0 THEN 1 ELSE 1 + (g / 2) % {orgs} END,
               'member' || (g % 5000) || '@bench.example',
               jsonb_build_object('role', 'member'), jsonb_build_object('role', 'admin'),
               '10.0.' || (g % 200) || '.' || (g % 250), md5(g::text)
        FROM generate_series(1, {audit}) g
        JOIN bench_actors a ON a.k = g % (SELECT count(*) FROM bench_actors);

        INSERT INTO users (email, first_name, last_name, password_hash, platform_role)
        VALUES ('{BENCH_SUPER_ADMIN}', 'Bench', 'Admin', '{hash}', 'super_admin');
        COMMIT;
        "#
    );
    conn.batch_execute(&script).await?;
    // Sets the visibility map too, so the list pages get index-only scans from the start.
    conn.batch_execute("VACUUM ANALYZE").await?;
    let (organizations, users_count) = diesel::select((
        diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT count(*) FROM organizations)"),
        diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT count(*) FROM users)"),
    ))
    .get_result::<(i64, i64)>(&mut conn)
    .await?;
    let memberships: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM memberships)",
    ))
    .get_result(&mut conn)
    .await?;
    Ok(Some(BenchSummary {
        organizations,
        users: users_count,
        memberships,
        largest_org_id: 1,
    }))
}
