//! Server-side sessions. The browser holds a 256-bit random token; the table
//! holds its SHA-256. A session ends after an idle timeout or at its absolute
//! lifetime, whichever comes first, or when its row is deleted (sign-out).

use sqlx::{Any, Executor, FromRow};

use crate::clock::UnixTime;
use crate::secret::Token;
use crate::{RequestMeta, Result};

/// Only write `last_seen_at` when it is at least this stale, so that a busy
/// page does not turn every request into a write.
pub const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    pub idle_secs: i64,
    pub absolute_secs: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct SessionRow {
    pub user_id: i64,
    /// How the sign-in was proven, as OpenID Connect `amr` values ("pwd mfa").
    pub amr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl SessionRow {
    /// Live while idle for less than the idle timeout and before its absolute end.
    pub fn is_live(&self, idle_secs: i64, now: UnixTime) -> bool {
        now < self.expires_at && now - self.last_seen_at < idle_secs
    }
}

/// Starts a session for `user_id` and returns the token for the cookie.
/// `password_at` is when the password was typed for this sign-in; `amr`
/// how it was proven (`oidc::amr_for`).
pub async fn create<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    lifetimes: Lifetimes,
    meta: &RequestMeta,
    password_at: UnixTime,
    amr: &str,
    now: UnixTime,
) -> Result<Token> {
    let token = Token::generate();
    sqlx::query(
        "INSERT INTO session (id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, password_confirmed_at, amr)
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token.hash())
    .bind(user_id)
    .bind(now)
    .bind(now + lifetimes.absolute_secs)
    .bind(meta.ip.as_deref())
    .bind(meta.user_agent.as_deref().map(|s| s.chars().take(512).collect::<String>()))
    .bind(password_at)
    .bind(amr)
    .execute(ex)
    .await?;
    Ok(token)
}

pub async fn find<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
) -> Result<Option<SessionRow>> {
    find_by_hash(ex, &token.hash()).await
}

/// A session by the hash of its token (as grants and logs hold it).
pub async fn find_by_hash<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id_hash: &str,
) -> Result<Option<SessionRow>> {
    Ok(sqlx::query_as(
        "SELECT user_id, amr, created_at, last_seen_at, expires_at FROM session WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(ex)
    .await?)
}

pub async fn touch<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
    now: UnixTime,
) -> Result<()> {
    sqlx::query("UPDATE session SET last_seen_at = $2 WHERE id_hash = $1")
        .bind(token.hash())
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// When the password was last typed in this session (at sign-in or to
/// confirm a sensitive change), if ever.
pub async fn password_confirmed_at<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
) -> Result<Option<UnixTime>> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT password_confirmed_at FROM session WHERE id_hash = $1")
            .bind(token.hash())
            .fetch_optional(ex)
            .await?;
    Ok(row.and_then(|(t,)| t))
}

/// Records that the password was typed again in this session.
pub async fn confirm_password<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
    now: UnixTime,
) -> Result<()> {
    sqlx::query("UPDATE session SET password_confirmed_at = $2 WHERE id_hash = $1")
        .bind(token.hash())
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn delete<'e, E: Executor<'e, Database = Any>>(ex: E, token: &Token) -> Result<bool> {
    let done = sqlx::query("DELETE FROM session WHERE id_hash = $1")
        .bind(token.hash())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every session of `user_id` except `keep` (the browser making the
/// change). Returns the ended sessions' hashes, for `Backend::sessions_ended`.
pub async fn delete_others<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    keep: Option<&Token>,
) -> Result<Vec<String>> {
    let keep_hash = keep.map(Token::hash).unwrap_or_default();
    let ended: Vec<(String,)> = sqlx::query_as(
        "DELETE FROM session WHERE user_id = $1 AND id_hash <> $2 RETURNING id_hash",
    )
    .bind(user_id)
    .bind(keep_hash)
    .fetch_all(ex)
    .await?;
    Ok(ended.into_iter().map(|(h,)| h).collect())
}

/// Removes sessions that can no longer be used; run from time to time.
pub async fn purge_expired<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    idle_secs: i64,
    now: UnixTime,
) -> Result<u64> {
    let done = sqlx::query("DELETE FROM session WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(now - idle_secs)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(created: i64, seen: i64, expires: i64) -> SessionRow {
        SessionRow {
            user_id: 1,
            amr: "pwd mfa".into(),
            created_at: created,
            last_seen_at: seen,
            expires_at: expires,
        }
    }

    #[test]
    fn idle_timeout_counts_from_last_request() {
        let s = row(0, 1_000, 100_000);
        assert!(s.is_live(1_800, 1_000 + 1_799));
        assert!(!s.is_live(1_800, 1_000 + 1_800));
    }

    #[test]
    fn absolute_lifetime_ends_even_an_active_session() {
        let s = row(0, 43_199, 43_200);
        assert!(s.is_live(1_800, 43_199));
        assert!(!s.is_live(1_800, 43_200));
    }
}
