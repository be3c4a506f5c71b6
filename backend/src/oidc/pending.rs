//! A platform sign-in waiting while the person signs in to Atrium. The
//! browser keeps only a random id in an HttpOnly cookie; the authorization
//! request and the time it was sent to sign-in stay in the database, so a
//! browser can neither forge the time (which decides whether a sign-in is
//! fresh enough for `prompt=login`) nor edit the request.

use crate::clock::UnixTime;
use crate::oidc::platform;
use crate::secret::Token;
use crate::{Backend, Result};

/// The pending platform sign-in lasts as long as a sign-in's second step.
pub const PENDING_LIFETIME_SECS: i64 = 10 * 60;

/// What `/oauth/resume` continues with.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingAuthorization {
    pub client_id: String,
    /// The authorization request's query string, checked again on resume.
    pub query: String,
    /// When the request was sent to sign-in: a session at least this new
    /// satisfies `prompt=login` and `max_age`.
    pub issued_at: UnixTime,
}

impl Backend {
    /// Keeps `query` (an authorization request of `client_id`) for this
    /// browser's sign-in; the returned id goes in its cookie.
    pub async fn save_pending_authorization(&self, client_id: &str, query: &str) -> Result<Token> {
        let now = self.clock.now();
        let id = Token::generate();
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM oidc_pending WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_pending (id_hash, client_id, query, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.hash())
        .bind(client_id)
        .bind(query)
        .bind(now)
        .bind(now + PENDING_LIFETIME_SECS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The request waiting under `id`, unless it has expired.
    pub async fn pending_authorization(&self, id: &Token) -> Result<Option<PendingAuthorization>> {
        Ok(sqlx::query_as(
            "SELECT client_id, query, issued_at FROM oidc_pending WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id.hash())
        .bind(self.clock.now())
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// Forgets the request under `id` (it was answered).
    pub async fn drop_pending_authorization(&self, id: &Token) -> Result<()> {
        sqlx::query("DELETE FROM oidc_pending WHERE id_hash = $1")
            .bind(id.hash())
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// The platform's name for a sign-in page, when `client_id` is registered.
    pub async fn platform_name(&self, client_id: &str) -> Result<Option<String>> {
        Ok(platform::find(&self.db.pool, client_id)
            .await?
            .map(|p| p.name))
    }
}
