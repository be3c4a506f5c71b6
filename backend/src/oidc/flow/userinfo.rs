//! Userinfo and the subject: who a token names, as a platform sees them.

use crate::clock::UnixTime;
use crate::oidc::PersonClaims;
use crate::secret::Token;
use crate::user;
use crate::{Backend, Result};

/// The stable, opaque subject of `user_id`, made on first use.
pub async fn subject_of(
    ex: &mut sqlx::AnyConnection,
    user_id: i64,
    now: UnixTime,
) -> Result<String> {
    sqlx::query(
        "INSERT INTO oidc_subject (user_id, sub, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(&Token::generate().expose()[..22])
    .bind(now)
    .execute(&mut *ex)
    .await?;
    let (sub,): (String,) = sqlx::query_as("SELECT sub FROM oidc_subject WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *ex)
        .await?;
    Ok(sub)
}

impl Backend {
    /// The userinfo answer for a live access token: `sub` and the claims its
    /// scope allows. `None` for an unknown or expired token.
    pub async fn userinfo(&self, raw_access_token: &str) -> Result<Option<(String, PersonClaims)>> {
        let Some(token) = Token::parse(raw_access_token) else {
            return Ok(None);
        };
        let now = self.clock.now();
        // Only while the Atrium session it came from is live.
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT t.user_id, t.scope FROM oidc_token t JOIN session s ON s.id_hash = t.session_hash
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2
               AND s.expires_at > $2 AND s.last_seen_at > $3",
        )
        .bind(token.hash())
        .bind(now)
        .bind(now - self.lifetimes().idle_secs)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((user_id, scope)) = row else {
            return Ok(None);
        };
        let Some(user) = user::store::find_by_id(&self.db.pool, user_id).await? else {
            return Ok(None);
        };
        let mut conn = self.db.pool.acquire().await?;
        let sub = subject_of(&mut conn, user_id, now).await?;
        let avatar = crate::avatar::store::find(&mut *conn, user_id).await?;
        Ok(Some((
            sub,
            PersonClaims::of(
                &user,
                avatar.as_ref().map(|a| a.hash.as_str()),
                &scope,
                &self.settings.public_url,
            ),
        )))
    }
}
