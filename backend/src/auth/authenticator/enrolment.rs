//! Enrolling an authenticator app: a new secret each time setup starts,
//! shown only within the re-entry window, and active once the app's first
//! code is typed back.

use super::recovery::replace_recovery_codes;
use super::store;
use super::{AuthenticatorSetup, RECOVERY_CODES};
use crate::audit::{self, EventKind};
use crate::auth::challenge::MfaMethod;
use crate::auth::totp::{self, TotpSecret};
use crate::secret::Token;
use crate::sync::outbox::Change;
use crate::user::{self, User};
use crate::{Backend, Error, RequestMeta, Result};

use super::recovery::new_recovery_code;

impl Backend {
    /// Starts the enrolment of an authenticator app with a new secret each
    /// time (a key shown earlier, perhaps on another screen, stops working);
    /// the current method stays active meanwhile.
    pub async fn start_authenticator_setup(
        &self,
        user: &User,
        session_token: &Token,
    ) -> Result<AuthenticatorSetup> {
        self.require_recent_password(session_token).await?;
        let now = self.clock.now();
        let secret = TotpSecret::generate();
        store::set_pending(
            &self.db.pool,
            user.id,
            &self.seal_totp(user.id, &secret)?,
            now,
        )
        .await?;
        Ok(self.setup_view(user, &secret))
    }

    pub async fn cancel_authenticator_setup(&self, user: &User) -> Result<()> {
        store::clear_pending(&self.db.pool, user.id).await
    }

    /// Ends enrolment with the first code from the app: the authenticator
    /// becomes the sign-in method and ten recovery codes are returned, once.
    pub async fn confirm_authenticator(
        &self,
        user: &User,
        session_token: &Token,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        self.require_recent_password(session_token).await?;
        let stored = self
            .stored_pending(user.id)
            .await?
            .ok_or_else(|| Error::Conflict("Start the authenticator setup first.".into()))?;
        let pending = self.open_totp(user.id, &stored)?;
        let now = self.clock.now();
        let step = totp::verify(&pending, 6, code, now, None).ok_or_else(|| {
            Error::field(
                "code",
                "That code is not right. Check the time on your phone and enter the newest code.",
            )
        })?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let mut tx = self.db.begin().await?;
        // Only the secret the code was checked against may become active (a
        // cancel or a new setup in between leaves nothing to confirm).
        if !store::activate_pending(&mut *tx, user.id, &stored, step, now).await? {
            return Err(Error::Conflict(
                "The setup changed meanwhile. Start it again.".into(),
            ));
        }
        user::store::set_mfa_method(&mut *tx, user.id, MfaMethod::Authenticator, now).await?;
        replace_recovery_codes(&mut tx, user.id, &codes, now).await?;
        // Whoever signed in elsewhere under the old method must prove it again.
        let ended_sessions =
            crate::auth::session::delete_others(&mut *tx, user.id, Some(session_token)).await?;
        let ended = ended_sessions.len();
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::MfaChanged,
            Some(&format!(
                "authenticator; {ended} other session(s) signed out"
            )),
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::SignInMethod, now)
            .await?;
        tx.commit().await?;
        self.sessions_ended(user.id, &ended_sessions).await;
        self.mail_mfa_notice(user, "an authenticator app", now)
            .await;
        Ok(codes)
    }

    /// Whether `user` started an authenticator setup and did not finish it.
    pub async fn has_unfinished_setup(&self, user: &User) -> Result<bool> {
        if user.mfa_method == MfaMethod::Authenticator {
            return Ok(false);
        }
        Ok(self.stored_pending(user.id).await?.is_some())
    }
}
