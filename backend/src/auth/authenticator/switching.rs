//! Going back to emailed or texted codes: chosen by the person (password
//! re-entered), or by Global Technical Support as the seed's fallback.
//! Either way the authenticator and recovery codes go, other sessions end,
//! and the person is mailed.

use super::store;
use crate::audit::{self, EventKind};
use crate::auth::challenge::{self, MfaMethod};
use crate::clock::{to_clock_time, to_long_date, UnixTime};
use crate::mail::templates;
use crate::secret::Token;
use crate::sync::outbox::Change;
use crate::user::{self, User};
use crate::{Backend, Error, RequestMeta, Result};

impl Backend {
    /// Back to email codes, chosen by the person (password re-entered).
    pub async fn use_email_codes(
        &self,
        user: &User,
        session_token: &Token,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.require_recent_password(session_token).await?;
        self.switch_to_code_method(
            user,
            MfaMethod::Email,
            "chosen by you",
            Some(session_token),
            meta,
        )
        .await
    }

    /// The seed's fallback: a person who lost their authenticator asks Global
    /// Technical Support, who switch their sign-in method to email. No
    /// password is needed; the change is audited and mailed like any other.
    pub async fn support_switch_mfa_to_email(
        &self,
        user_id: i64,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let user = user::store::find_by_id(&self.db.pool, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        let why = format!("by Global Technical Support ({reason})");
        // Every session ends: the person is not the one making the change.
        self.switch_to_code_method(&user, MfaMethod::Email, &why, None, meta)
            .await
    }

    /// Makes emailed or texted codes the method, forgetting any authenticator,
    /// and ends every session of the person but `keep` (the browser making
    /// the change, if it is theirs).
    pub(crate) async fn switch_to_code_method(
        &self,
        user: &User,
        method: MfaMethod,
        why: &str,
        keep: Option<&Token>,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        user::store::set_mfa_method(&mut *tx, user.id, method, now).await?;
        store::delete(&mut *tx, user.id).await?;
        store::delete_recovery_codes(&mut *tx, user.id).await?;
        // A pending sign-in that waits for the old method would now wait forever.
        challenge::store::delete_for_user(&mut *tx, user.id).await?;
        let ended_sessions = crate::auth::session::delete_others(&mut *tx, user.id, keep).await?;
        let ended = ended_sessions.len();
        let detail = format!(
            "{}, {why}; {ended} other session(s) signed out",
            method.as_str()
        );
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::MfaChanged,
            Some(&detail),
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::SignInMethod, now)
            .await?;
        tx.commit().await?;
        self.sessions_ended(user.id, &ended_sessions).await;
        let words = if method == MfaMethod::Sms {
            "a code texted to your phone"
        } else {
            "a code sent to your email"
        };
        self.mail_mfa_notice(user, words, now).await;
        Ok(())
    }

    pub(super) async fn mail_mfa_notice(&self, user: &User, method: &str, now: UnixTime) {
        let when = format!("{} at {}", to_long_date(now), to_clock_time(now));
        let mail = templates::mfa_changed(
            &self.settings.product_name,
            &user.email,
            &user.first_name,
            method,
            &when,
        );
        if let Err(e) = self.mailer.send(mail).await {
            tracing::error!(user_id = user.id, error = %e, "sign-in method notice not sent");
        }
    }
}
