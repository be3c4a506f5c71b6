//! Enrolling an authenticator app: a new secret each time setup starts,
//! shown only within the re-entry window, and active once the app's first
//! code is typed back.

use super::recovery::replace_recovery_codes;
use super::{AuthenticatorSetup, RECOVERY_CODES};
use crate::audit::{self, EventKind};
use crate::auth::challenge::MfaMethod;
use crate::auth::totp::{self, TotpSecret};
use crate::secret::Token;
use crate::sync::outbox::Change;
use crate::user::User;
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
        sqlx::query(
            "INSERT INTO mfa_authenticator (user_id, pending_secret, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET pending_secret = $2, updated_at = $3",
        )
        .bind(user.id)
        .bind(self.seal_totp(user.id, &secret)?)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(self.setup_view(user, &secret))
    }

    pub async fn cancel_authenticator_setup(&self, user: &User) -> Result<()> {
        sqlx::query("UPDATE mfa_authenticator SET pending_secret = NULL WHERE user_id = $1")
            .bind(user.id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
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
        let activated = sqlx::query(
            "UPDATE mfa_authenticator SET secret = pending_secret, pending_secret = NULL, last_used_step = $2, updated_at = $3
             WHERE user_id = $1 AND pending_secret = $4",
        )
        .bind(user.id)
        .bind(step)
        .bind(now)
        .bind(&stored)
        .execute(&mut *tx)
        .await?;
        if activated.rows_affected() != 1 {
            return Err(Error::Conflict(
                "The setup changed meanwhile. Start it again.".into(),
            ));
        }
        sqlx::query(
            r#"UPDATE "user" SET mfa_method = 'authenticator', updated_at = $2 WHERE id = $1"#,
        )
        .bind(user.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
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
