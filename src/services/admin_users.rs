//! The super administrator's list of every user, and enabling or disabling an account.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::domain::{UserId, UserStatus};
use crate::models::memberships::{self, UserOrganization};
use crate::models::users::{self, User, UserChanges, UserListQuery};
use crate::models::{audit, sessions};
use crate::services::SuperAdmin;
use crate::web::errors::AppError;
use crate::web::listing::Total;

pub struct UserRow {
    pub user: User,
    pub organizations: Vec<UserOrganization>,
}

/// A page of users with their organizations (one query for the page, one for all their
/// memberships), and how many match in all.
pub async fn list(
    conn: &mut AsyncPgConnection,
    _admin: &SuperAdmin,
    query: &UserListQuery<'_>,
) -> Result<(Vec<UserRow>, Total), AppError> {
    // A search counts ten pages beyond this one at most.
    let (page, total) = users::list(conn, query, query.offset + 10 * query.limit).await?;
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
    Ok((rows, total))
}

/// Disables (ending every session at once) or re-enables an account.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    user_id: UserId,
    status: UserStatus,
) -> Result<User, AppError> {
    if user_id == admin.user_id() && status == UserStatus::Disabled {
        return Err(AppError::Forbidden("You cannot disable your own account."));
    }
    let user = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let before = users::find(conn, user_id)
                .await?
                .ok_or(diesel::result::Error::NotFound)?;
            let user = users::update(
                conn,
                user_id,
                &UserChanges {
                    status: Some(status),
                    ..Default::default()
                },
            )
            .await?;
            if status == UserStatus::Disabled {
                sessions::delete_for_user(conn, user_id).await?;
            }
            let entry = audit::NewAuditEntry {
                before: Some(serde_json::json!({ "status": before.status.as_str() })),
                after: Some(serde_json::json!({ "status": status.as_str() })),
                ..admin.actor().audit(
                    if status == UserStatus::Disabled {
                        "user.disabled"
                    } else {
                        "user.enabled"
                    },
                    &user.email,
                )
            };
            audit::record(conn, &entry).await?;
            Ok(user)
        })
        .await?;
    Ok(user)
}
