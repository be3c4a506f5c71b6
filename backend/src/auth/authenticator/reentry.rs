//! Re-entering the password: a sensitive change needs it typed within
//! `REAUTH_WINDOW_SECS`, and wrong ones are throttled and audited.

use super::REAUTH_WINDOW_SECS;
use crate::audit::{self, EventKind};
use crate::auth::{session, throttle};
use crate::clock::UnixTime;
use crate::secret::{Password, Token};
use crate::user::User;
use crate::{Backend, Error, RequestMeta, Result};

impl Backend {
    pub(super) async fn password_confirmed_at(
        &self,
        session_token: &Token,
    ) -> Result<Option<UnixTime>> {
        session::password_confirmed_at(&self.db.pool, session_token).await
    }

    pub(crate) async fn require_recent_password(&self, session_token: &Token) -> Result<()> {
        let now = self.clock.now();
        match self.password_confirmed_at(session_token).await? {
            Some(t) if now - t < REAUTH_WINDOW_SECS => Ok(()),
            _ => Err(Error::ReauthRequired),
        }
    }

    /// Re-enters the password in this session, opening the 10-minute window
    /// in which the sign-in method can be changed. Wrong passwords count in
    /// the person's password-check bucket (`check_password`).
    pub async fn confirm_password(
        &self,
        user: &User,
        session_token: &Token,
        password: &Password,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.check_password(user, password, "password re-entry", meta)
            .await?;
        session::confirm_password(&self.db.pool, session_token, self.clock.now()).await?;
        Ok(())
    }

    /// Checks the signed-in person's password before a sensitive change.
    /// Wrong passwords are throttled in the person's own password-check
    /// bucket (never their sign-in) and audited (`why` says where), so a
    /// stolen session cannot guess it here without limit.
    pub(crate) async fn check_password(
        &self,
        user: &User,
        password: &Password,
        why: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.clock.now();
        let claim =
            match throttle::claim(&self.db, &throttle::for_password_check(user.id), now).await? {
                Ok(claim) => claim,
                Err(wait) => {
                    return Err(Error::RateLimited {
                        retry_after_secs: wait as u64,
                    })
                }
            };
        if !self.passwords.verify(password, &user.password_hash).await? {
            claim.keep();
            audit::record(
                &self.db.pool,
                Some(user.id),
                EventKind::SignInFailed,
                Some(why),
                meta,
                now,
            )
            .await?;
            return Err(Error::field("password", "That password is not right."));
        }
        throttle::release(&mut *self.db.pool.acquire().await?, claim).await?;
        Ok(())
    }
}
