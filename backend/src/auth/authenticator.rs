//! Choosing how a person proves it is them at sign-in: re-entering the
//! password first (within 10 minutes), enrolling an authenticator app,
//! recovery codes, going back to email codes, and support's fallback.

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::audit::{self, EventKind};
use crate::auth::mfa::MfaMethod;
use crate::auth::throttle;
use crate::auth::totp::{self, TotpSecret};
use crate::clock::{to_clock_time, to_long_date, UnixTime};
use crate::mail::templates;
use crate::secret::{Password, Token};
use crate::sync::outbox::Change;
use crate::user::User;
use crate::{Backend, Error, RequestMeta, Result};

/// Changing the sign-in method needs the password typed within this long.
pub const REAUTH_WINDOW_SECS: i64 = 10 * 60;
pub const RECOVERY_CODES: usize = 10;
/// Letters and digits that cannot be mistaken for one another.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

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

/// Characters in a recovery code: 20 from a 31-letter alphabet make 99
/// bits, out of reach of guessing even with the stored hashes in hand.
const RECOVERY_CODE_LEN: usize = 20;
/// The strength of the codes made now, stored with each.
const RECOVERY_CODE_BITS: i64 = 99;
/// Codes made before 20 characters: 10 characters, about 49 bits. They
/// keep working until replaced; the Security tab asks for new ones.
const SHORT_RECOVERY_CODE_LEN: usize = 10;

/// `xxxxx-xxxxx-xxxxx-xxxxx` from a 31-letter alphabet: about 99 bits.
pub fn new_recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let letters: Vec<char> = (0..RECOVERY_CODE_LEN)
        .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    letters
        .chunks(5)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Lower-case, without spaces or dashes: how codes are compared.
pub fn normalize_recovery_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn recovery_hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalize_recovery_code(code).as_bytes()))
}

/// Whether what was typed looks like a recovery code rather than an app code.
pub fn looks_like_recovery_code(raw: &str) -> bool {
    let n = normalize_recovery_code(raw);
    (n.len() == RECOVERY_CODE_LEN || n.len() == SHORT_RECOVERY_CODE_LEN)
        && n.chars().any(|c| c.is_ascii_alphabetic())
}

impl Backend {
    async fn password_confirmed_at(&self, session_token: &Token) -> Result<Option<UnixTime>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT password_confirmed_at FROM session WHERE id_hash = $1")
                .bind(session_token.hash())
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.and_then(|(t,)| t))
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
        sqlx::query("UPDATE session SET password_confirmed_at = $2 WHERE id_hash = $1")
            .bind(session_token.hash())
            .bind(self.clock.now())
            .execute(&self.db.pool)
            .await?;
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

    /// The pending secret of an unfinished setup, still sealed.
    async fn stored_pending(&self, user_id: i64) -> Result<Option<String>> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(self
            .authenticator_row(&mut conn, user_id)
            .await?
            .and_then(|row| row.pending_secret))
    }

    fn setup_view(&self, user: &User, secret: &TotpSecret) -> AuthenticatorSetup {
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
        let (left, short): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(CASE WHEN bits < 80 THEN 1 END) FROM recovery_code
             WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user.id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(MfaState {
            method: MfaMethod::parse(&user.mfa_method).unwrap_or(MfaMethod::Email),
            password_recent: recent,
            setup: pending.map(|s| self.setup_view(user, &s)),
            recovery_codes_left: left,
            recovery_codes_short: short > 0,
            sms: crate::sms::availability(user.phone.as_deref(), &self.settings.sms_regions),
        })
    }

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
        .bind(self.seal_totp(user.id, &secret))
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

    /// New recovery codes (the old ones stop working); re-entry of the password required.
    pub async fn regenerate_recovery_codes(
        &self,
        user: &User,
        session_token: &Token,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        self.require_recent_password(session_token).await?;
        if user.mfa_method != MfaMethod::Authenticator.as_str() {
            return Err(Error::Conflict(
                "Recovery codes come with an authenticator app.".into(),
            ));
        }
        let now = self.clock.now();
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let mut tx = self.db.begin().await?;
        replace_recovery_codes(&mut tx, user.id, &codes, now).await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::RecoveryCodesRegenerated,
            None,
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

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
        let user = crate::user::store::find_by_id(&self.db.pool, user_id)
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
        sqlx::query(r#"UPDATE "user" SET mfa_method = $3, updated_at = $2 WHERE id = $1"#)
            .bind(user.id)
            .bind(now)
            .bind(method.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM mfa_authenticator WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recovery_code WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        // A pending sign-in that waits for the old method would now wait forever.
        sqlx::query("DELETE FROM mfa_challenge WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
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

    async fn mail_mfa_notice(&self, user: &User, method: &str, now: UnixTime) {
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
            let used = sqlx::query(
                "UPDATE recovery_code SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            )
            .bind(user.id)
            .bind(recovery_hash(raw))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() != 1 {
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
        let Some(row) = self.authenticator_row(&mut *tx, user.id).await? else {
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
        let advanced = sqlx::query(
            "UPDATE mfa_authenticator SET last_used_step = $2 WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)",
        )
        .bind(user.id)
        .bind(step)
        .execute(&mut *tx)
        .await?;
        Ok((advanced.rows_affected() == 1).then_some("authenticator app"))
    }
}

impl Backend {
    /// Whether `user` started an authenticator setup and did not finish it.
    pub async fn has_unfinished_setup(&self, user: &User) -> Result<bool> {
        if user.mfa_method == MfaMethod::Authenticator.as_str() {
            return Ok(false);
        }
        Ok(self.stored_pending(user.id).await?.is_some())
    }
}

async fn replace_recovery_codes(
    tx: &mut sqlx::AnyConnection,
    user_id: i64,
    codes: &[String],
    now: UnixTime,
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_code WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for code in codes {
        sqlx::query(
            "INSERT INTO recovery_code (user_id, code_hash, created_at, bits) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(recovery_hash(code))
        .bind(now)
        .bind(RECOVERY_CODE_BITS)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_readable_and_distinct() {
        let codes: std::collections::HashSet<String> =
            (0..100).map(|_| new_recovery_code()).collect();
        assert_eq!(codes.len(), 100);
        for c in &codes {
            let groups: Vec<&str> = c.split('-').collect();
            assert_eq!(groups.len(), 4, "{c}");
            assert!(groups.iter().all(|g| g.len() == 5), "{c}");
            assert!(c
                .chars()
                .all(|ch| ch == '-' || RECOVERY_ALPHABET.contains(&(ch as u8))));
            assert!(looks_like_recovery_code(c));
        }
        // The strength stored with each code is what the code carries.
        let bits = (RECOVERY_CODE_LEN as f64) * (RECOVERY_ALPHABET.len() as f64).log2();
        assert!(
            bits >= 80.0 && RECOVERY_CODE_BITS == bits.floor() as i64,
            "{bits}"
        );
    }

    #[test]
    fn recovery_codes_compare_loosely() {
        assert_eq!(recovery_hash("abcde-fgh23"), recovery_hash(" ABCDE FGH23 "));
        assert!(
            looks_like_recovery_code("abcde-fgh23"),
            "a code made before 20 letters"
        );
        assert!(looks_like_recovery_code("abcde-fgh23-jkmnp-qrstu"));
        assert!(!looks_like_recovery_code("abcde-fgh23-jkmn"));
        assert!(!looks_like_recovery_code("123456"));
        assert!(!looks_like_recovery_code("1234567890"));
    }
}
