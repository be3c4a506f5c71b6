//! Browsers that have signed in to an account before. After a full sign-in
//! the browser keeps a long-lived, HttpOnly device cookie (a random token;
//! only its hash is stored, per account it signed in to). Such a browser
//! counts its sign-in failures on its own (see `throttle::for_sign_in`), so
//! wrong guesses from anywhere else never keep the owner out. The cookie
//! proves nothing by itself: it opens no session and skips no step.

use sqlx::{Any, AnyConnection, Executor};

use crate::clock::UnixTime;
use crate::secret::Token;
use crate::Result;

/// How long a browser stays known without signing in again.
pub const LIFETIME_SECS: i64 = 365 * 24 * 3600;

/// The device id (the token's hash) when the browser holding `token` has
/// signed in to `user_id` within the lifetime.
pub async fn known<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
    user_id: i64,
    now: UnixTime,
) -> Result<Option<String>> {
    let hash = token.hash();
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT user_id FROM known_device WHERE id_hash = $1 AND user_id = $2 AND last_used_at > $3",
    )
    .bind(&hash)
    .bind(user_id)
    .bind(now - LIFETIME_SECS)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|_| hash))
}

/// Notes that the browser signed in to `user_id`. Returns the token the
/// browser should keep: the one it holds when already known for this
/// person, else a new one (a token planted in the browser by someone else
/// never becomes the person's).
pub async fn remember(
    conn: &mut AnyConnection,
    token: Option<&Token>,
    user_id: i64,
    now: UnixTime,
) -> Result<Token> {
    let held = match token {
        Some(t) => known(&mut *conn, t, user_id, now).await?.map(|_| t.clone()),
        None => None,
    };
    let token = held.unwrap_or_else(Token::generate);
    sqlx::query(
        "INSERT INTO known_device (id_hash, user_id, created_at, last_used_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (id_hash, user_id) DO UPDATE SET last_used_at = $3",
    )
    .bind(token.hash())
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// Forgets browsers that have not signed in for the lifetime.
pub async fn purge_expired<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    now: UnixTime,
) -> Result<u64> {
    let done = sqlx::query("DELETE FROM known_device WHERE last_used_at <= $1")
        .bind(now - LIFETIME_SECS)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}
