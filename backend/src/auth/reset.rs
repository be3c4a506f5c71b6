//! Password reset links: requested from the Security tab or "Forgot
//! password?", mailed, valid once for 30 minutes; setting the new password
//! signs out every other session and mails a notice.

use sqlx::{Any, Executor, FromRow};

use crate::audit::{self, EventKind};
use crate::auth::{check_link, password, session};
use crate::clock::{to_clock_time, to_long_date, UnixTime};
use crate::error::LinkProblem;
use crate::mail::templates;
use crate::rate_limit::{self, Limit};
use crate::secret::{Password, Token};
use crate::sync::outbox::Change;
use crate::user::{self, validate};
use crate::{Backend, Error, FieldError, RequestMeta, Result};

/// A reset link is valid for 30 minutes after it is sent.
pub const LINK_LIFETIME_SECS: i64 = vocab::lifetimes::RESET_LINK.secs();
/// Per address: 3 requests per 15 minutes.
pub const PER_ADDRESS: Limit = Limit {
    limit: 3,
    window_secs: 15 * 60,
};
/// Per client IP: 10 requests per 15 minutes.
pub const PER_IP: Limit = Limit {
    limit: 10,
    window_secs: 15 * 60,
};

#[derive(Clone, Debug, FromRow)]
struct ResetRow {
    user_id: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

/// Voids the person's unused reset links.
pub async fn void_unused<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    user_id: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM password_reset WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

async fn issue(conn: &mut sqlx::AnyConnection, user_id: i64, now: UnixTime) -> Result<Token> {
    // Sending a new link voids the earlier ones.
    void_unused(&mut *conn, user_id).await?;
    let token = Token::generate();
    sqlx::query("INSERT INTO password_reset (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token.hash())
        .bind(user_id)
        .bind(now)
        .bind(now + LINK_LIFETIME_SECS)
        .execute(&mut *conn)
        .await?;
    Ok(token)
}

async fn find<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
) -> Result<Option<ResetRow>> {
    Ok(sqlx::query_as(
        "SELECT user_id, expires_at, used_at FROM password_reset WHERE token_hash = $1",
    )
    .bind(token.hash())
    .fetch_optional(ex)
    .await?)
}

/// What the page says after a request, whether or not the address has an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetRequested {
    pub expires_at: UnixTime,
}

impl Backend {
    /// Mails a reset link to `email` if it has an account. The answer, the
    /// work done and the time taken are the same when it has none; only the
    /// mail differs (none is sent).
    pub async fn send_reset_link(&self, email: &str, meta: &RequestMeta) -> Result<ResetRequested> {
        let (_, email_normalized) =
            validate::email(email).map_err(|e| Error::Validation(vec![e]))?;
        let now = self.clock.now();
        if let Some(ip) = &meta.ip {
            rate_limit::hit(&self.db.pool, &format!("reset:ip:{ip}"), PER_IP, now).await?;
        }
        rate_limit::hit(
            &self.db.pool,
            &format!("reset:address:{email_normalized}"),
            PER_ADDRESS,
            now,
        )
        .await?;

        let found = user::store::find_by_email(&self.db.pool, &email_normalized).await?;
        let mut tx = self.db.begin().await?;
        let outcome = match &found {
            Some(user) => {
                let token = issue(&mut tx, user.id, now).await?;
                audit::record(
                    &mut *tx,
                    Some(user.id),
                    EventKind::ResetLinkSent,
                    None,
                    meta,
                    now,
                )
                .await?;
                Some((user.clone(), token))
            }
            None => {
                // One write either way, so the two cases cost the same.
                audit::record(
                    &mut *tx,
                    None,
                    EventKind::ResetRequestedUnknown,
                    None,
                    meta,
                    now,
                )
                .await?;
                None
            }
        };
        tx.commit().await?;

        if let Some((user, token)) = outcome {
            let link = format!(
                "{}/reset-password?token={}",
                self.settings.public_url,
                token.expose()
            );
            let mail = templates::reset_link(
                &self.settings.product_name,
                &user.email,
                &user.first_name,
                &link,
                LINK_LIFETIME_SECS / 60,
                &to_clock_time(now + LINK_LIFETIME_SECS),
            );
            // Mail goes out after the answer so its cost does not tell
            // whether the address has an account.
            self.mailer.send_later(mail);
        }
        Ok(ResetRequested {
            expires_at: now + LINK_LIFETIME_SECS,
        })
    }

    /// Whether a reset token can still be used, without using it.
    pub async fn check_reset_link(&self, raw_token: &str) -> Result<()> {
        let token =
            Token::parse(raw_token.trim()).ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let row = find(&self.db.pool, &token)
            .await?
            .ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        check_link(row.used_at, row.expires_at, self.clock.now()).map_err(Error::LinkRejected)
    }

    /// Sets a new password with a reset link: the link is used up, every
    /// session but `current` ends, and a notice is mailed.
    pub async fn reset_password(
        &self,
        raw_token: &str,
        new_password: &Password,
        current: Option<&Token>,
        meta: &RequestMeta,
    ) -> Result<user::User> {
        let token =
            Token::parse(raw_token.trim()).ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        let row = find(&self.db.pool, &token)
            .await?
            .ok_or(Error::LinkRejected(LinkProblem::Unknown))?;
        check_link(row.used_at, row.expires_at, self.clock.now()).map_err(Error::LinkRejected)?;
        let user = user::store::find_by_id(&self.db.pool, row.user_id)
            .await?
            .ok_or(Error::NotFound)?;
        password::check_policy(
            new_password.expose(),
            &[&user.email, &user.first_name, &user.last_name],
        )
        .map_err(|msg| Error::Validation(vec![FieldError::new("password", msg)]))?;
        let hash = self.passwords.hash(new_password).await?;

        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let used = sqlx::query(
            "UPDATE password_reset SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token.hash())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            // Another request used it, or it expired, since the check above.
            return Err(Error::LinkRejected(LinkProblem::Used));
        }
        user::store::set_password(&mut *tx, user.id, &hash, now).await?;
        let ended_sessions = session::delete_others(&mut *tx, user.id, current).await?;
        let ended = ended_sessions.len();
        // A sign-in that got past the old password must not finish either.
        crate::auth::challenge::store::delete_for_user(&mut *tx, user.id).await?;
        let detail = format!("via reset link; {ended} other session(s) signed out");
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::PasswordChanged,
            Some(&detail),
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::Password, now)
            .await?;
        let user = user::store::find_by_id(&mut *tx, user.id)
            .await?
            .ok_or(Error::NotFound)?;
        tx.commit().await?;
        self.sessions_ended(user.id, &ended_sessions).await;

        let when = format!("{} at {}", to_long_date(now), to_clock_time(now));
        let mail = templates::password_changed(
            &self.settings.product_name,
            &user.email,
            &user.first_name,
            &when,
        );
        if let Err(e) = self.mailer.send(mail).await {
            tracing::error!(user_id = user.id, error = %e, "password change notice not sent");
        }
        Ok(user)
    }
}
