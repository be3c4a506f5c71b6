//! Server functions of accounts. Each authenticates, lets the backend
//! authorise (one rule table, `vocab::may`), and maps the result.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use vocab::Role;

/// One of the signed-in person's memberships.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipInfo {
    pub account_id: i64,
    pub account_name: String,
    #[serde(with = "crate::wire::word")]
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    #[serde(with = "crate::wire::word")]
    pub role: Role,
    pub since: String,
    pub is_me: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub id: i64,
    pub email: String,
    #[serde(with = "crate::wire::word")]
    pub role: Role,
    pub invited_by: String,
    pub sent: String,
    pub expires: String,
}

/// What the account page shows. `invitations` is `None` for people who may
/// not invite; the page asks `vocab::may` with `my_role` so it offers only
/// what the server will allow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: i64,
    pub name: String,
    #[serde(with = "crate::wire::word")]
    pub my_role: Role,
    pub members: Vec<MemberInfo>,
    pub invitations: Option<Vec<PendingInvitation>>,
}

#[cfg(feature = "ssr")]
impl MembershipInfo {
    pub fn from_backend(m: backend::account::store::Membership) -> Self {
        MembershipInfo {
            account_id: m.account_id,
            account_name: m.account_name,
            role: m.role,
        }
    }
}

/// The signed-in person's accounts with their role in each.
#[server(endpoint = "accounts/mine", input = crate::wire::Form)]
pub async fn my_accounts() -> Result<Vec<MembershipInfo>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let list = backend.memberships(user.id).await.map_err(to_app_error)?;
    Ok(list.into_iter().map(MembershipInfo::from_backend).collect())
}

/// Creates an account owned by the signed-in person; returns its id.
#[server(endpoint = "accounts/create", input = crate::wire::Form)]
pub async fn create_account(name: String) -> Result<i64, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let id = backend
        .create_account(&user, &name, &request_meta())
        .await
        .map_err(|e| {
            let err = to_app_error(e);
            return_to_page_on_error("/accounts", "/api/accounts/create", &err);
            err
        })?;
    leptos_axum::redirect(&format!("/accounts/{id}"));
    Ok(id)
}

#[server(endpoint = "accounts/get", input = crate::wire::Form)]
pub async fn load_account(account_id: i64) -> Result<AccountView, AppError> {
    use crate::ssr::*;
    use backend::clock::to_long_date;
    let backend = backend()?;
    let user = require_user().await?;
    let d = backend
        .account_detail(&user, account_id)
        .await
        .map_err(to_app_error)?;
    Ok(AccountView {
        id: d.account.id,
        name: d.account.name,
        my_role: d.my_role,
        members: d
            .members
            .into_iter()
            .map(|m| MemberInfo {
                is_me: m.user_id == user.id,
                user_id: m.user_id,
                name: format!("{} {}", m.first_name, m.last_name),
                email: m.email,
                role: m.role,
                since: to_long_date(m.since),
            })
            .collect(),
        invitations: d.invitations.map(|list| {
            list.into_iter()
                .map(|i| PendingInvitation {
                    id: i.id,
                    email: i.email,
                    role: i.role,
                    invited_by: i.invited_by.unwrap_or_else(|| "a former member".into()),
                    sent: to_long_date(i.created_at),
                    expires: to_long_date(i.expires_at),
                })
                .collect()
        }),
    })
}

#[server(endpoint = "accounts/invite", input = crate::wire::Form)]
pub async fn invite_member(
    account_id: i64,
    email: String,
    role: String,
) -> Result<String, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    backend
        .invite(&user, account_id, &email, &role, &request_meta())
        .await
        .map_err(to_app_error)?;
    Ok(email.trim().to_string())
}

#[server(endpoint = "accounts/revoke-invitation", input = crate::wire::Form)]
pub async fn revoke_invitation(account_id: i64, invitation_id: i64) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    backend
        .revoke_invitation(&user, account_id, invitation_id, &request_meta())
        .await
        .map_err(to_app_error)
}

#[server(endpoint = "accounts/change-role", input = crate::wire::Form)]
pub async fn change_role(account_id: i64, user_id: i64, role: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    backend
        .change_role(&user, account_id, user_id, &role, &request_meta())
        .await
        .map_err(to_app_error)
}

/// Removes a member, or (for one's own id) leaves the account.
#[server(endpoint = "accounts/remove-member", input = crate::wire::Form)]
pub async fn remove_member(account_id: i64, user_id: i64) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    backend
        .remove_member(&user, account_id, user_id, &request_meta())
        .await
        .map_err(to_app_error)
}

/// Hands the account to another member, confirmed with the Owner's password.
#[server(endpoint = "accounts/transfer", input = crate::wire::Form)]
pub async fn transfer_ownership(
    account_id: i64,
    user_id: i64,
    password: String,
) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let password = backend::secret::Password::new(password);
    backend
        .transfer_ownership(&user, account_id, user_id, &password, &request_meta())
        .await
        .map_err(to_app_error)
}
