//! Builders for the rows a story starts from (users, organizations, memberships, with any flag),
//! and read-backs of the rows a request changed. The only file naming `guildhall::models`.
//!
//! ```ignore
//! let grace = app.user("grace@acme.test").named("Grace", "Hopper").create().await;
//! let org = app.org("Acme").owned_by(&owner).create().await;
//! let ada = app.user("ada@acme.test")
//!     .joins(Membership::new(org, OrgRole::Member).subscriber())
//!     .create()
//!     .await;
//! ```

use std::sync::LazyLock;

use diesel_async::{AsyncConnection, RunQueryDsl};
use guildhall::domain::OrganizationFields;
use guildhall::domain::{
    OrgId, OrgRole, PlatformRole, TeamId, TeamRole, TeamStatus, UserId, UserStatus, password,
};
use guildhall::models::memberships::{self, NewMembership};
use guildhall::models::org_oauth_settings::{self as oauth, OAuthSettings};
use guildhall::models::organizations::{self, Organization};
use guildhall::models::teams;
use guildhall::models::users::{self, NewUser, User, UserChanges};
use secrecy::SecretString;

use super::app::TestApp;

/// Every user the builders make signs in with this.
pub const PASSWORD: &str = "correct horse battery staple";

/// The argon2 hash of `PASSWORD`, made once per process: argon2 is slow on purpose, and a story
/// with thirty users would otherwise spend most of its time hashing the same password.
static PASSWORD_HASH: LazyLock<String> = LazyLock::new(|| {
    password::hash(&SecretString::from(PASSWORD.to_owned())).expect("hash the test password")
});

async fn password_hash() -> &'static str {
    // The first call hashes on a blocking thread, as the application does.
    tokio::task::spawn_blocking(|| LazyLock::force(&PASSWORD_HASH).as_str())
        .await
        .expect("hashing task")
}

/// A user a test made, with what it takes to sign in as them.
pub struct TestUser {
    pub id: UserId,
    pub email: String,
    pub password: String,
}

impl TestUser {
    /// Someone the test did not create (by the CLI, by seeding), known by email and password.
    pub fn existing(email: &str, password: &str) -> TestUser {
        TestUser {
            id: UserId(0),
            email: email.to_owned(),
            password: password.to_owned(),
        }
    }
}

/// A user's place in an organization, with the subscription flags.
#[derive(Debug, Clone, Copy)]
pub struct Membership {
    org: OrgId,
    role: OrgRole,
    subscriber: bool,
    subscriber_admin: bool,
}

impl Membership {
    pub fn new(org: OrgId, role: OrgRole) -> Membership {
        Membership {
            org,
            role,
            subscriber: false,
            subscriber_admin: false,
        }
    }

    pub fn subscriber(mut self) -> Membership {
        self.subscriber = true;
        self
    }

    pub fn subscriber_admin(mut self) -> Membership {
        self.subscriber_admin = true;
        self
    }

    async fn insert(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        user_id: UserId,
    ) -> diesel::QueryResult<()> {
        memberships::insert(
            conn,
            &NewMembership {
                org_id: self.org,
                user_id,
                role: self.role,
            },
        )
        .await?;
        if self.subscriber || self.subscriber_admin {
            diesel::sql_query(
                "UPDATE memberships SET subscriber = $1, subscriber_admin = $2 \
                 WHERE org_id = $3 AND user_id = $4",
            )
            .bind::<diesel::sql_types::Bool, _>(self.subscriber)
            .bind::<diesel::sql_types::Bool, _>(self.subscriber_admin)
            .bind::<diesel::sql_types::BigInt, _>(self.org.0)
            .bind::<diesel::sql_types::BigInt, _>(user_id.0)
            .execute(conn)
            .await?;
        }
        Ok(())
    }
}

/// A user to create: an active, ordinary user named "Test User" with `PASSWORD` unless told.
#[must_use = "nothing is stored until .create().await"]
pub struct UserBuilder<'a> {
    app: &'a TestApp,
    email: String,
    first_name: String,
    last_name: String,
    platform_role: PlatformRole,
    status: UserStatus,
    with_password: bool,
    memberships: Vec<Membership>,
}

impl UserBuilder<'_> {
    pub fn named(mut self, first_name: &str, last_name: &str) -> Self {
        first_name.clone_into(&mut self.first_name);
        last_name.clone_into(&mut self.last_name);
        self
    }

    pub fn super_admin(mut self) -> Self {
        self.platform_role = PlatformRole::SuperAdmin;
        self
    }

    pub fn disabled(mut self) -> Self {
        self.status = UserStatus::Disabled;
        self
    }

    /// Like an owner added before they were invited: an account without a password yet.
    pub fn without_password(mut self) -> Self {
        self.with_password = false;
        self
    }

    pub fn member_of(self, org: OrgId, role: OrgRole) -> Self {
        self.joins(Membership::new(org, role))
    }

    pub fn joins(mut self, membership: Membership) -> Self {
        self.memberships.push(membership);
        self
    }

    pub async fn create(self) -> TestUser {
        let hash = if self.with_password {
            Some(password_hash().await)
        } else {
            None
        };
        let mut conn = self.app.conn().await;
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let new = NewUser {
                email: &self.email,
                first_name: &self.first_name,
                last_name: &self.last_name,
                password_hash: hash,
                platform_role: self.platform_role,
            };
            let user = users::insert(conn, &new).await?;
            if self.status != UserStatus::Active {
                let changes = UserChanges {
                    status: Some(self.status),
                    ..UserChanges::default()
                };
                users::update(conn, user.id, &changes).await?;
            }
            for membership in &self.memberships {
                membership.insert(conn, user.id).await?;
            }
            Ok(TestUser {
                id: user.id,
                email: user.email,
                password: PASSWORD.to_owned(),
            })
        })
        .await
        .unwrap_or_else(|e| panic!("create user {}: {e}", self.email))
    }
}

/// An organization to create. Its email, domain and slug come from the name ("Acme Robotics" →
/// contact@acme-robotics.test, acme-robotics.test); without `owned_by`, an owner
/// `owner@<slug>.test` is created too (every organization has exactly one owner).
#[must_use = "nothing is stored until .create().await"]
pub struct OrgBuilder<'a> {
    app: &'a TestApp,
    fields: OrganizationFields,
    owner: Option<UserId>,
}

impl OrgBuilder<'_> {
    pub fn owned_by(mut self, owner: &TestUser) -> Self {
        self.owner = Some(owner.id);
        self
    }

    pub fn domain(mut self, domain: Option<&str>) -> Self {
        self.fields.domain = domain.map(str::to_owned);
        self
    }

    /// Only people with an email at the domain can be added.
    pub fn restricted_to_domain(mut self) -> Self {
        self.fields.restrict_to_domain = true;
        self
    }

    pub async fn create(self) -> OrgId {
        let owner = match self.owner {
            Some(owner) => owner,
            None => {
                let slug =
                    self.fields.domain.clone().unwrap_or_else(|| {
                        self.fields.email.trim_start_matches("contact@").to_owned()
                    });
                self.app.user(&format!("owner@{slug}")).create().await.id
            }
        };
        let mut conn = self.app.conn().await;
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            // On the default plan, as the console creates organizations.
            let plan_id = guildhall::models::plans::default_plan_id(conn).await?;
            let org = organizations::insert(conn, &self.fields, plan_id).await?;
            Membership::new(org.id, OrgRole::Owner)
                .insert(conn, owner)
                .await?;
            Ok(org.id)
        })
        .await
        .unwrap_or_else(|e| panic!("create organization {}: {e}", self.fields.name))
    }
}

/// A team to create in an organization, owned by one of its members, with more members.
#[must_use = "nothing is stored until .create().await"]
pub struct TeamBuilder<'a> {
    app: &'a TestApp,
    org: OrgId,
    name: String,
    owner: Option<UserId>,
    members: Vec<(UserId, TeamRole)>,
    deactivated: bool,
}

impl TeamBuilder<'_> {
    pub fn owned_by(mut self, owner: &TestUser) -> Self {
        self.owner = Some(owner.id);
        self
    }

    /// Another member of the organization in the team, with this team role.
    pub fn with(mut self, member: &TestUser, role: TeamRole) -> Self {
        self.members.push((member.id, role));
        self
    }

    pub fn deactivated(mut self) -> Self {
        self.deactivated = true;
        self
    }

    pub async fn create(self) -> TeamId {
        let owner = self.owner.expect("a team needs an owner: .owned_by(&user)");
        let mut conn = self.app.conn().await;
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let team = teams::insert(conn, self.org, &self.name, "", owner).await?;
            for (user_id, role) in &self.members {
                teams::add(conn, self.org, team.id, *user_id, *role).await?;
            }
            if self.deactivated {
                teams::set_status(conn, team.id, TeamStatus::Deactivated, self.app.clock.now())
                    .await?;
            }
            Ok(team.id)
        })
        .await
        .unwrap_or_else(|e| panic!("create team {}: {e}", self.name))
    }
}

impl TestApp {
    /// A team of an organization; see [`TeamBuilder`].
    pub fn team(&self, org: OrgId, name: &str) -> TeamBuilder<'_> {
        TeamBuilder {
            app: self,
            org,
            name: name.to_owned(),
            owner: None,
            members: Vec::new(),
            deactivated: false,
        }
    }

    /// A user with this email; see [`UserBuilder`] for the flags.
    pub fn user(&self, email: &str) -> UserBuilder<'_> {
        UserBuilder {
            app: self,
            email: email.to_owned(),
            first_name: "Test".to_owned(),
            last_name: "User".to_owned(),
            platform_role: PlatformRole::User,
            status: UserStatus::Active,
            with_password: true,
            memberships: Vec::new(),
        }
    }

    /// An organization with this name; see [`OrgBuilder`].
    pub fn org(&self, name: &str) -> OrgBuilder<'_> {
        let slug = name.to_lowercase().replace(' ', "-");
        OrgBuilder {
            app: self,
            fields: OrganizationFields {
                name: name.to_owned(),
                contact_name: "Contact Person".to_owned(),
                address: String::new(),
                zip: String::new(),
                city: String::new(),
                country: "DE".to_owned(),
                phone: String::new(),
                email: format!("contact@{slug}.test"),
                domain: Some(format!("{slug}.test")),
                restrict_to_domain: false,
                allow_subdomains: false,
            },
            owner: None,
        }
    }

    /// Adds an existing user to an organization.
    pub async fn add_membership(&self, user: &TestUser, membership: Membership) {
        let mut conn = self.conn().await;
        membership
            .insert(&mut conn, user.id)
            .await
            .expect("add membership");
    }

    /// The platform's super administrator, root@platform.test.
    pub async fn super_admin(&self) -> TestUser {
        self.user("root@platform.test").super_admin().create().await
    }
}

/// What is stored now, read back to check what a request changed.
impl TestApp {
    pub async fn stored_user(&self, id: UserId) -> User {
        users::find(&mut *self.conn().await, id)
            .await
            .expect("query")
            .expect("the user exists")
    }

    pub async fn stored_org(&self, id: OrgId) -> Organization {
        organizations::find(&mut *self.conn().await, id)
            .await
            .expect("query")
            .expect("the organization exists")
    }

    pub async fn stored_membership(
        &self,
        org: OrgId,
        user: UserId,
    ) -> Option<memberships::Membership> {
        memberships::find(&mut *self.conn().await, org, user)
            .await
            .expect("query")
    }

    pub async fn stored_oauth(&self, org: OrgId) -> Option<OAuthSettings> {
        oauth::find(&mut *self.conn().await, org)
            .await
            .expect("query")
    }
}

#[cfg(test)]
mod tests {
    use guildhall::domain::{PlatformRole, UserStatus};

    use crate::support::{Membership, OrgRole, spawn_app};

    /// The builders store exactly the flags they were given, and the shared hash signs in.
    #[tokio::test]
    async fn builders_store_every_flag_they_are_given() {
        let app = spawn_app().await;
        let owner = app.user("owner@acme.test").create().await;
        let org = app
            .org("Acme Robotics")
            .owned_by(&owner)
            .domain(Some("acme.test"))
            .restricted_to_domain()
            .create()
            .await;
        let ada = app
            .user("ada@acme.test")
            .named("Ada", "Lovelace")
            .joins(Membership::new(org, OrgRole::Admin).subscriber_admin())
            .create()
            .await;
        let root = app
            .user("root@acme.test")
            .super_admin()
            .disabled()
            .without_password()
            .create()
            .await;
        let bob = app.user("bob@acme.test").create().await;
        app.add_membership(&bob, Membership::new(org, OrgRole::Member).subscriber())
            .await;
        let other = app.org("Other Org").create().await;

        let stored = app.stored_user(ada.id).await;
        assert_eq!(
            (stored.first_name.as_str(), stored.last_name.as_str()),
            ("Ada", "Lovelace")
        );
        let stored = app.stored_user(root.id).await;
        assert_eq!(
            (stored.platform_role, stored.status),
            (PlatformRole::SuperAdmin, UserStatus::Disabled)
        );
        let hash = guildhall::models::users::password_hash_of(&mut *app.conn().await, root.id)
            .await
            .expect("query");
        assert_eq!(hash, None);
        let ada_in_acme = app.stored_membership(org, ada.id).await.expect("member");
        assert_eq!(
            (
                ada_in_acme.role,
                ada_in_acme.subscriber,
                ada_in_acme.subscriber_admin
            ),
            (OrgRole::Admin, false, true)
        );
        let acme = app.stored_org(org).await;
        assert_eq!(
            (
                acme.domain.as_deref(),
                acme.restrict_to_domain,
                acme.member_count,
                acme.subscriber_count
            ),
            (Some("acme.test"), true, 3, 1)
        );
        assert_eq!(
            app.number(&format!(
                "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = {other} AND m.role = 'owner' AND u.email = 'owner@other-org.test'"
            ))
            .await,
            1,
            "an organization without a given owner gets one"
        );
        assert_eq!(app.login(&bob).await.status(), 303);
    }
}
