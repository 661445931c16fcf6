//! The super administrator's list of every user, and enabling or disabling an account.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::SuperAdmin;
use crate::db::paging::{Paging, Total};
use crate::domain::{OrgId, UserId, UserStatus};
use crate::error::{AppError, Denied};
use crate::models::memberships::{self, UserOrganization};
use crate::models::users::{self, PersonSearch, User, UserChanges, UserListQuery};
use crate::models::{audit, organizations, sessions};

pub struct UserRow {
    pub user: User,
    pub organizations: Vec<UserOrganization>,
}

/// A page of the user list.
pub struct UserPage {
    pub rows: Vec<UserRow>,
    pub total: Total,
    /// The organization filtered by, with its name.
    pub org: Option<(OrgId, String)>,
}

/// A page of users with their organizations (one query for the page, one for all their
/// memberships), and how many match in all.
#[tracing::instrument(skip(conn, _admin))]
pub async fn list(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    org_id: Option<OrgId>,
    search: &str,
    paging: Paging,
) -> Result<UserPage, AppError> {
    let org = match org_id {
        Some(id) => Some((
            id,
            organizations::name_and_member_count(conn, id)
                .await?
                .ok_or(AppError::NotFound)?,
        )),
        None => None,
    };
    let search = PersonSearch::parse(search);
    let query = UserListQuery {
        org: org
            .as_ref()
            .map(|(id, (_, count))| (*id, i64::from(*count))),
        search: search.as_ref(),
        offset: paging.offset(),
        limit: paging.per_page,
    };
    // A search counts ten pages beyond this one at most.
    let (page, total) = users::list(conn, &query, query.offset + 10 * query.limit).await?;
    let ids: Vec<UserId> = page.iter().map(|u| u.id).collect();
    let mut by_user: HashMap<UserId, Vec<UserOrganization>> = HashMap::new();
    for (user_id, org) in memberships::organizations_of_users(conn, &ids).await? {
        by_user.entry(user_id).or_default().push(org);
    }
    let rows = page
        .into_iter()
        .map(|user| UserRow {
            organizations: by_user.remove(&user.id).unwrap_or_default(),
            user,
        })
        .collect();
    Ok(UserPage {
        rows,
        total,
        org: org.map(|(id, (name, _))| (id, name)),
    })
}

/// Disables (ending every session at once) or re-enables an account.
#[tracing::instrument(skip(conn, admin))]
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    user_id: UserId,
    status: UserStatus,
) -> Result<User, AppError> {
    if user_id == admin.user_id() && status == UserStatus::Disabled {
        return Err(Denied("You cannot disable your own account.").into());
    }
    let user = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let before = users::find(conn, user_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let changes = UserChanges {
                status: Some(status),
                ..Default::default()
            };
            let user = users::update(conn, user_id, &changes).await?;
            if status == UserStatus::Disabled {
                sessions::delete_for_user(conn, user_id).await?;
            }
            let action = match status {
                UserStatus::Disabled => "user.disabled",
                UserStatus::Active => "user.enabled",
            };
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!({ "status": before.status.as_str() })),
                after: Some(serde_json::json!({ "status": status.as_str() })),
                ..admin.actor().audit(action, &user.email)
            };
            audit::record(conn, &entry).await?;
            Ok(user)
        })
        .await?;
    Ok(user)
}
