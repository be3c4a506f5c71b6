//! Turning texted sign-in codes on: the number on the profile first proves
//! it reaches the person, with a code texted to it and typed back within 10
//! minutes (5 tries). Until then the current method stays on.

use sha2::{Digest, Sha256};

use crate::auth::challenge::{new_code, MfaMethod};
use crate::clock::UnixTime;
use crate::secret::Token;
use crate::sms::{mask_phone, SmsAvailability};
use crate::user::User;
use crate::{Backend, Error, RequestMeta, Result};

/// How long a texted confirmation code works.
pub const SMS_CONFIRM_LIFETIME_SECS: i64 = vocab::lifetimes::SMS_CONFIRMATION.secs();
/// Wrong codes that end a confirmation.
const MAX_ATTEMPTS: i64 = 5;

#[derive(sqlx::FromRow)]
struct PendingRow {
    phone: String,
    salt: String,
    code_hash: String,
}

fn hash(salt: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}:{code}").as_bytes()))
}

impl Backend {
    /// The number texts may go to now, or why none can.
    fn textable_number(&self, user: &User) -> Result<String> {
        match crate::sms::availability(user.phone.as_deref(), &self.settings.sms_regions) {
            SmsAvailability::Available { e164 } => Ok(e164),
            other => Err(Error::Conflict(format!(
                "Text messages cannot be used: {}",
                other.reason().unwrap_or_default()
            ))),
        }
    }

    /// Texts a confirmation code to the phone on the profile; returns the
    /// number, masked, for "We texted a code to •••• 0132". Starting again
    /// sends a new code (the earlier one stops working), within the
    /// hourly text caps.
    pub async fn start_sms_setup(&self, user: &User, session_token: &Token) -> Result<String> {
        self.require_recent_password(session_token).await?;
        if user.mfa_method == MfaMethod::Sms {
            return Err(Error::Conflict(
                "Text messages are already how you sign in.".into(),
            ));
        }
        let number = self.textable_number(user)?;
        let now = self.clock.now();
        self.claim_text(user.id, &number, now).await?;
        let code = new_code();
        let salt = Token::generate();
        sqlx::query(
            "INSERT INTO sms_confirmation (user_id, phone, salt, code_hash, attempts, created_at, expires_at)
             VALUES ($1, $2, $3, $4, 0, $5, $6)
             ON CONFLICT (user_id) DO UPDATE SET phone = $2, salt = $3, code_hash = $4,
                attempts = 0, created_at = $5, expires_at = $6",
        )
        .bind(user.id)
        .bind(&number)
        .bind(salt.expose())
        .bind(hash(salt.expose(), &code))
        .bind(now)
        .bind(now + SMS_CONFIRM_LIFETIME_SECS)
        .execute(&self.db.pool)
        .await?;
        let body = format!(
            "{} code to turn on sign-in by text message: {code}. It works for {}. If you did not ask for it, ignore this text.",
            self.settings.product_name,
            vocab::lifetimes::SMS_CONFIRMATION,
        );
        self.sms.send(&number, &body).await.map_err(|e| {
            tracing::error!(user_id = user.id, error = %e, "confirmation code not texted");
            Error::Conflict("The text message could not be sent. Try again in a moment.".into())
        })?;
        Ok(mask_phone(&number))
    }

    /// The masked number a confirmation code waits for, if one does.
    pub async fn pending_sms_setup(&self, user: &User, now: UnixTime) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT phone FROM sms_confirmation WHERE user_id = $1 AND expires_at > $2 AND attempts < $3",
        )
        .bind(user.id)
        .bind(now)
        .bind(MAX_ATTEMPTS)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(|(phone,)| mask_phone(&phone)))
    }

    pub async fn cancel_sms_setup(&self, user: &User) -> Result<()> {
        sqlx::query("DELETE FROM sms_confirmation WHERE user_id = $1")
            .bind(user.id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Checks the texted code; when right, and the profile still has the
    /// number it went to, text messages become the sign-in method (other
    /// sessions end, as with any method change).
    pub async fn confirm_sms_setup(
        &self,
        user: &User,
        session_token: &Token,
        raw_code: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.require_recent_password(session_token).await?;
        let code: String = raw_code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::field(
                "code",
                "Enter the 6-digit code from the text message.",
            ));
        }
        let now = self.clock.now();
        // One of the five tries is claimed before the code is compared, so
        // parallel guesses cannot get more between them.
        let claimed: Option<PendingRow> = sqlx::query_as(
            "UPDATE sms_confirmation SET attempts = attempts + 1
             WHERE user_id = $1 AND attempts < $2 AND expires_at > $3
             RETURNING phone, salt, code_hash",
        )
        .bind(user.id)
        .bind(MAX_ATTEMPTS)
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = claimed else {
            return Err(Error::Conflict(
                "That code has expired or was tried too often. Send a new one.".into(),
            ));
        };
        if hash(&row.salt, &code) != row.code_hash {
            return Err(Error::field("code", "That code is not right."));
        }
        if self.textable_number(user).ok().as_deref() != Some(row.phone.as_str()) {
            self.cancel_sms_setup(user).await?;
            return Err(Error::Conflict(
                "The phone number on your profile changed since the code was sent. Send a new one."
                    .into(),
            ));
        }
        self.cancel_sms_setup(user).await?;
        self.switch_to_code_method(
            user,
            MfaMethod::Sms,
            "chosen by you, number confirmed",
            Some(session_token),
            meta,
        )
        .await
    }
}

/// Forgets confirmations whose code has expired.
pub async fn purge_expired(pool: &sqlx::AnyPool, now: UnixTime) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sms_confirmation WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
