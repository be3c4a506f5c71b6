//! Server functions for choosing how a person proves it is them at sign-in.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// An authenticator enrolment in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupView {
    /// The setup key in groups of four.
    pub key: String,
    /// The QR code of the otpauth:// URI, as a data: URL.
    pub qr: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaView {
    #[serde(with = "crate::wire::word")]
    pub method: vocab::MfaMethod,
    /// Whether the password was entered in the last 10 minutes.
    pub password_recent: bool,
    pub setup: Option<SetupView>,
    pub recovery_codes_left: i64,
    /// Whether the unused codes include short ones from before 20
    /// characters: the tab asks for new ones.
    pub recovery_codes_short: bool,
    /// Why text messages cannot be chosen; None when they can.
    pub sms_unavailable: Option<String>,
    /// The masked number a texted confirmation code was sent to, while it
    /// waits to be typed back (and the password is recent).
    pub sms_pending: Option<String>,
    /// Recovery codes made by a form post without JavaScript, shown once.
    pub new_recovery_codes: Option<Vec<String>>,
}

#[server(endpoint = "security/mfa", input = crate::wire::Form)]
pub async fn mfa_state() -> Result<MfaView, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    let state = backend
        .mfa_state(&user, &token)
        .await
        .map_err(to_app_error)?;
    let sms_pending = if state.password_recent {
        backend
            .pending_sms_setup(&user, backend.now())
            .await
            .map_err(to_app_error)?
    } else {
        None
    };
    Ok(MfaView {
        method: state.method,
        password_recent: state.password_recent,
        setup: state.setup.map(|s| SetupView {
            key: s.grouped_key.clone(),
            qr: s.qr_data_url(),
        }),
        recovery_codes_left: state.recovery_codes_left,
        recovery_codes_short: state.recovery_codes_short,
        sms_unavailable: state.sms.reason(),
        sms_pending,
        new_recovery_codes: take_held_codes(),
    })
}

/// Re-enters the password, allowing a change of method for 10 minutes.
#[server(endpoint = "security/confirm-password", input = crate::wire::Form)]
pub async fn confirm_password(password: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    let password = backend::secret::Password::new(password);
    backend
        .confirm_password(&user, &token, &password, &request_meta())
        .await
        .map_err(to_app_error)
}

#[server(endpoint = "security/start-authenticator", input = crate::wire::Form)]
pub async fn start_authenticator() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    backend
        .start_authenticator_setup(&user, &token)
        .await
        .map_err(to_app_error)
        .map(|_| ())
}

#[server(endpoint = "security/cancel-authenticator", input = crate::wire::Form)]
pub async fn cancel_authenticator() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, _) = require_session().await?;
    backend
        .cancel_authenticator_setup(&user)
        .await
        .map_err(to_app_error)
}

/// Ends enrolment with the app's first code; returns the recovery codes, once.
#[server(endpoint = "security/confirm-authenticator", input = crate::wire::Form)]
pub async fn confirm_authenticator(code: String) -> Result<Vec<String>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    let codes = backend
        .confirm_authenticator(&user, &token, &code, &request_meta())
        .await
        .map_err(to_app_error)?;
    hold_codes_for_next_page(&codes);
    Ok(codes)
}

/// New recovery codes; the old ones stop working.
#[server(endpoint = "security/regenerate-recovery-codes", input = crate::wire::Form)]
pub async fn regenerate_recovery_codes() -> Result<Vec<String>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    let codes = backend
        .regenerate_recovery_codes(&user, &token, &request_meta())
        .await
        .map_err(to_app_error)?;
    hold_codes_for_next_page(&codes);
    Ok(codes)
}

#[server(endpoint = "security/use-email", input = crate::wire::Form)]
pub async fn use_email_codes() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    backend
        .use_email_codes(&user, &token, &request_meta())
        .await
        .map_err(to_app_error)
}

/// Texts a code to the phone on the profile, to confirm the number before
/// text messages become the sign-in method.
#[server(endpoint = "security/start-sms", input = crate::wire::Form)]
pub async fn start_sms() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    backend
        .start_sms_setup(&user, &token)
        .await
        .map_err(to_app_error)
        .map(|_| ())
}

/// The texted code typed back: text messages become the sign-in method.
#[server(endpoint = "security/confirm-sms", input = crate::wire::Form)]
pub async fn confirm_sms(code: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, token) = require_session().await?;
    backend
        .confirm_sms_setup(&user, &token, &code, &request_meta())
        .await
        .map_err(to_app_error)
}

#[server(endpoint = "security/cancel-sms", input = crate::wire::Form)]
pub async fn cancel_sms() -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let (user, _) = require_session().await?;
    backend.cancel_sms_setup(&user).await.map_err(to_app_error)
}
