//! Data sets: `seed-demo`, a small believable organization set to click through.

use diesel_async::AsyncConnection;
use secrecy::SecretString;

use crate::db::DbPool;
use crate::domain::{OrgRole, PlatformRole, password};
use crate::models::audit;
use crate::models::memberships::{self, NewMembership};
use crate::models::organizations::{self, NewOrganization};
use crate::models::users::{self, NewUser};
use crate::services::Actor;

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
                let org_email = format!("contact@{}", demo.domain);
                let new_org = NewOrganization {
                    name: demo.name,
                    contact_name: demo.contact,
                    address: "",
                    zip: "",
                    city: demo.city,
                    country: demo.country,
                    phone: "",
                    email: &org_email,
                    domain: Some(demo.domain),
                };
                let org = organizations::insert(conn, &new_org).await?;
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
                    created.push((
                        email,
                        format!("{} of {}", role.label().to_lowercase(), demo.name),
                    ));
                }
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
