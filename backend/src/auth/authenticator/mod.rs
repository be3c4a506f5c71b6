//! Choosing how a person proves it is them at sign-in: re-entering the
//! password first (`reentry`), enrolling an authenticator app
//! (`enrolment`), recovery codes (`recovery`), and going back to emailed
//! or texted codes, by the person or by support (`switching`). This module
//! holds what the Security tab shows and the check of an app's code at
//! sign-in.

mod enrolment;
mod recovery;
mod reentry;
pub(crate) mod store;
mod switching;

pub use recovery::{looks_like_recovery_code, new_recovery_code, normalize_recovery_code};

use crate::audit::{self, EventKind};
use crate::auth::challenge::MfaMethod;
use crate::auth::totp::{self, TotpSecret};
use crate::clock::UnixTime;
use crate::mail::templates;
use crate::secret::Token;
use crate::user::User;
use crate::{Backend, RequestMeta, Result};

/// Changing the sign-in method needs the password typed within this long.
pub const REAUTH_WINDOW_SECS: i64 = vocab::lifetimes::PASSWORD_REENTRY.secs();
pub const RECOVERY_CODES: usize = vocab::limits::RECOVERY_CODES;

/// What the Security tab shows while an authenticator is being set up.
/// Holds the secret (in three forms), so `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthenticatorSetup {
    /// The setup key in groups of four, for typing into an app.
    pub grouped_key: String,
    pub uri: String,
    pub qr_svg: String,
}

impl std::fmt::Debug for AuthenticatorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthenticatorSetup(<redacted>)")
    }
}

impl AuthenticatorSetup {
    /// The QR code as a `data:` URL for an `<img>`.
    pub fn qr_data_url(&self) -> String {
        use base64::Engine;
        format!(
            "data:image/svg+xml;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(self.qr_svg.as_bytes())
        )
    }
}

/// The sign-in method as the Security tab shows it.
#[derive(Clone, Debug)]
pub struct MfaState {
    pub method: MfaMethod,
    pub password_recent: bool,
    pub setup: Option<AuthenticatorSetup>,
    pub recovery_codes_left: i64,
    /// Whether some unused codes are of the old, short kind (make new ones).
    pub recovery_codes_short: bool,
    /// Whether text messages can be chosen, and why not.
    pub sms: crate::sms::SmsAvailability,
}

impl Backend {
    /// The pending secret of an unfinished setup, still sealed.
    pub(super) async fn stored_pending(&self, user_id: i64) -> Result<Option<String>> {
        Ok(store::find(&self.db.pool, user_id)
            .await?
            .and_then(|row| row.pending_secret))
    }

    pub(super) fn setup_view(&self, user: &User, secret: &TotpSecret) -> AuthenticatorSetup {
        let uri = secret.uri(&self.settings.product_name, &user.email);
        AuthenticatorSetup {
            grouped_key: secret.grouped(),
            qr_svg: TotpSecret::qr_svg(&uri).unwrap_or_default(),
            uri,
        }
    }

    /// The Security tab's view of the sign-in method.
    pub async fn mfa_state(&self, user: &User, session_token: &Token) -> Result<MfaState> {
        let now = self.clock.now();
        let recent = self
            .password_confirmed_at(session_token)
            .await?
            .is_some_and(|t| now - t < REAUTH_WINDOW_SECS);
        // The pending secret is as good as the app itself: it is shown
        // only while the password was typed within the last 10 minutes.
        let pending = if recent {
            self.stored_pending(user.id).await?
        } else {
            None
        };
        let pending = pending
            .map(|stored| self.open_totp(user.id, &stored))
            .transpose()?;
        let codes = store::recovery_codes_left(&self.db.pool, user.id).await?;
        Ok(MfaState {
            method: user.mfa_method,
            password_recent: recent,
            setup: pending.map(|s| self.setup_view(user, &s)),
            recovery_codes_left: codes.unused,
            recovery_codes_short: codes.short_kind > 0,
            sms: crate::sms::availability(user.phone.as_deref(), &self.settings.sms_regions),
        })
    }

    /// Checks an authenticator code or a recovery code for `user` at sign-in.
    /// Returns a description for the audit trail, or None when wrong.
    pub(crate) async fn check_authenticator_factor(
        &self,
        tx: &mut sqlx::AnyConnection,
        user: &User,
        raw: &str,
        meta: &RequestMeta,
        now: UnixTime,
    ) -> Result<Option<&'static str>> {
        if looks_like_recovery_code(raw) {
            let hash = recovery::recovery_hash(raw);
            if !store::use_recovery_code(&mut *tx, user.id, &hash, now).await? {
                return Ok(None);
            }
            audit::record(
                &mut *tx,
                Some(user.id),
                EventKind::RecoveryCodeUsed,
                None,
                meta,
                now,
            )
            .await?;
            let mail = templates::recovery_code_used(
                &self.settings.product_name,
                &user.email,
                &user.first_name,
            );
            self.mailer.send_later(mail);
            return Ok(Some("recovery code"));
        }
        let Some(row) = store::find(&mut *tx, user.id).await? else {
            return Ok(None);
        };
        let Some(stored) = row.secret else {
            return Ok(None);
        };
        let secret = self.open_totp(user.id, &stored)?;
        let Some(step) = totp::verify(&secret, 6, raw, now, row.last_used_step) else {
            return Ok(None);
        };
        // Only a later step may advance the mark: two requests with the same code cannot both pass.
        let advanced = store::advance_step(&mut *tx, user.id, step).await?;
        Ok(advanced.then_some("authenticator app"))
    }
}
