//! Server functions for signing up, in and out, and verifying an email.
//! Each authenticates where needed, calls one backend service and maps the result.

mod events;
mod password;
mod sign_in;
mod sign_up;

pub use events::*;
pub use password::*;
pub use sign_in::*;
pub use sign_up::*;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use vocab::MfaMethod;

/// The signed-in person as pages show them. Contains nothing secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// Stored form, E.164 (`+447700900123`).
    pub phone: Option<String>,
    /// Shown form (`+44 7700 900123`).
    pub phone_display: Option<String>,
    /// The phone's country (ISO 3166), to preselect the picker.
    pub phone_region: Option<String>,
    pub email_verified: bool,
    /// e.g. "27 November 2026"
    pub member_since: String,
    pub password_changed: String,
    /// The active second factor.
    #[serde(with = "crate::wire::word")]
    pub mfa_method: MfaMethod,
    /// The profile version a save must be based on.
    pub version: i64,
    pub avatar: AvatarInfo,
    /// Accounts the person belongs to, with their role in each.
    pub memberships: Vec<crate::accounts::api::MembershipInfo>,
    /// Open invitations waiting for an answer (the menu's badge).
    pub invitation_count: usize,
    /// Has the global Support role (shows the console link).
    pub is_support: bool,
}

/// A person's avatar: a picture (by content hash) or initials on a colour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarInfo {
    pub hash: Option<String>,
    pub color: Option<String>,
    /// The last crop of the picture: x, y, size in upright-original pixels,
    /// rotation in degrees clockwise.
    pub crop: Option<(u32, u32, u32, u16)>,
}

impl AvatarInfo {
    /// The picture at `size` px (512, 128 or 64), if there is one.
    pub fn url(&self, size: u32) -> Option<String> {
        self.hash.as_ref().map(|h| format!("/avatars/{h}/{size}"))
    }
}

impl Me {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Up to two letters: the first of the first and of the last name.
    pub fn initials(&self) -> String {
        [&self.first_name, &self.last_name]
            .iter()
            .filter_map(|n| n.chars().next())
            .flat_map(char::to_uppercase)
            .collect()
    }
}

#[cfg(feature = "ssr")]
impl AvatarInfo {
    pub fn from_view(v: backend::avatar::service::AvatarView) -> Self {
        AvatarInfo {
            hash: v.hash,
            color: v.color,
            crop: v.crop.map(|c| (c.x, c.y, c.size, c.rotation)),
        }
    }
}

#[cfg(feature = "ssr")]
impl Me {
    /// The page view of `u`, with their avatar looked up.
    pub async fn load(backend: &backend::Backend, u: &backend::user::User) -> Result<Me, AppError> {
        use crate::ssr::to_app_error;
        use backend::user::phone;
        let avatar = backend.avatar_view(u.id).await.map_err(to_app_error)?;
        let memberships = backend.memberships(u.id).await.map_err(to_app_error)?;
        let invitation_count = backend
            .received_invitation_count(u)
            .await
            .map_err(to_app_error)?;
        let is_support = backend.is_support(u.id).await.map_err(to_app_error)?;
        Ok(Me {
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            phone_display: u.phone.as_deref().map(phone::display),
            phone_region: u.phone.as_deref().and_then(phone::region_of),
            email_verified: u.email_verified_at.is_some(),
            member_since: backend::clock::to_long_date(u.created_at),
            password_changed: backend::clock::to_long_date(u.password_changed_at),
            mfa_method: u.mfa_method,
            version: u.version,
            avatar: AvatarInfo::from_view(avatar),
            memberships: memberships
                .into_iter()
                .map(crate::accounts::api::MembershipInfo::from_backend)
                .collect(),
            invitation_count,
            is_support,
        })
    }
}

/// The signed-in person, or `None` when there is no live session.
#[server(endpoint = "session/me", input = crate::wire::Form)]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    match signed_in().await? {
        Some((user, _)) => Ok(Some(Me::load(&backend, &user).await?)),
        None => Ok(None),
    }
}
