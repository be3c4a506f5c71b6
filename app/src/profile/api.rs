//! Server functions of the Profile tab and the avatar's non-upload actions
//! (the upload itself is a multipart endpoint of the server, `/api/avatar`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::api::{AvatarInfo, Me};
use crate::error::{AppError, FieldMessage};

/// What the form needs besides the person: the country picker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSetup {
    /// (ISO code, "United Kingdom (+44)"), by name.
    pub countries: Vec<(String, String)>,
    /// Preselected: the stored phone's country, else the browser's locale.
    pub country: String,
}

/// Live feedback while typing: every problem, and the phone as it will be saved.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileCheck {
    pub errors: Vec<FieldMessage>,
    pub phone_formatted: Option<String>,
}

#[server(endpoint = "profile/setup", input = crate::wire::Form)]
pub async fn profile_form_setup() -> Result<ProfileSetup, AppError> {
    use crate::ssr::*;
    use backend::user::phone;
    let user = require_user().await?;
    let country = user
        .phone
        .as_deref()
        .and_then(phone::region_of)
        .or_else(|| {
            accept_language()
                .as_deref()
                .and_then(phone::country_from_accept_language)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "US".into());
    let countries = phone::countries()
        .iter()
        .map(|c| {
            (
                c.code.to_string(),
                format!("{} (+{})", c.name, c.calling_code),
            )
        })
        .collect();
    Ok(ProfileSetup { countries, country })
}

/// Checks the form as the person types; saves nothing. The same rules run
/// again on save.
#[server(endpoint = "profile/check", input = crate::wire::Form)]
pub async fn check_profile(
    first_name: String,
    last_name: String,
    phone: String,
    country: String,
) -> Result<ProfileCheck, AppError> {
    use crate::ssr::*;
    use backend::user::profile;
    require_user().await?;
    let edit = profile::ProfileEdit {
        first_name,
        last_name,
        phone,
        country,
        version: 0,
    };
    Ok(match profile::check(&edit) {
        Ok(ok) => ProfileCheck {
            errors: vec![],
            phone_formatted: ok.phone.map(|p| p.international),
        },
        Err(errors) => ProfileCheck {
            errors: errors
                .into_iter()
                .map(|f| FieldMessage {
                    field: f.field,
                    message: f.message,
                })
                .collect(),
            phone_formatted: None,
        },
    })
}

/// Saves names and phone; refused with a conflict when `version` is stale.
#[server(endpoint = "profile/update", input = crate::wire::Form)]
pub async fn update_profile(
    first_name: String,
    last_name: String,
    #[server(default)] phone: String,
    #[server(default)] country: String,
    version: i64,
) -> Result<Me, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let edit = backend::user::profile::ProfileEdit {
        first_name,
        last_name,
        phone,
        country,
        version,
    };
    let updated = backend
        .update_profile(&user, &edit, &request_meta())
        .await
        .map_err(to_app_error)?;
    Me::load(&backend, &updated).await
}

#[server(endpoint = "avatar/remove", input = crate::wire::Form)]
pub async fn remove_avatar() -> Result<AvatarInfo, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let view = backend
        .remove_avatar(&user, &request_meta())
        .await
        .map_err(to_app_error)?;
    Ok(AvatarInfo::from_view(view))
}

/// Initials on `color` instead of a picture.
#[server(endpoint = "avatar/generated", input = crate::wire::Form)]
pub async fn use_generated_avatar(color: String) -> Result<AvatarInfo, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    let view = backend
        .use_generated_avatar(&user, &color, &request_meta())
        .await
        .map_err(to_app_error)?;
    Ok(AvatarInfo::from_view(view))
}

/// A platform the person signs in to through Atrium, for the "Platforms"
/// card: its name, since when, and whether their latest change reached it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformView {
    pub name: String,
    /// "Since 3 December 2026".
    pub since: String,
    /// "Up to date", "Sending your latest change", "Retrying since 10:42 UTC"…
    pub status: String,
    /// The latest change has not reached it (retrying or failed).
    pub behind: bool,
}

#[server(endpoint = "profile/platforms", input = crate::wire::Form)]
pub async fn platforms() -> Result<Vec<PlatformView>, AppError> {
    use crate::ssr::*;
    use backend::clock::{to_clock_time, to_long_date};
    use backend::sync::status::SyncState;
    let backend = backend()?;
    let user = require_user().await?;
    let list = backend.platform_sync(user.id).await.map_err(to_app_error)?;
    Ok(list
        .into_iter()
        .map(|p| {
            let (status, behind) = match p.state {
                SyncState::UpToDate => ("Up to date".to_string(), false),
                SyncState::Sending => ("Sending your latest change".to_string(), false),
                SyncState::Retrying { since } => {
                    (format!("Retrying since {}", to_clock_time(since)), true)
                }
                SyncState::Failed { since } => (
                    format!(
                        "Your change of {} did not reach it; support can send it again",
                        to_long_date(since)
                    ),
                    true,
                ),
                SyncState::NotSubscribed => (
                    "Signs you in; does not receive profile changes".to_string(),
                    false,
                ),
            };
            PlatformView {
                name: p.name,
                since: format!("Since {}", to_long_date(p.first_used_at)),
                status,
                behind,
            }
        })
        .collect())
}
