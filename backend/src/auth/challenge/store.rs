//! The `mfa_challenge` table: one pending second step per person, found by
//! the hash of its token. Every claim (a resend, a try) is one conditional
//! statement, so parallel requests cannot get past the limits.

use sqlx::{Any, Executor, FromRow};

use crate::clock::UnixTime;
use crate::secret::Token;
use crate::Result;

#[derive(Clone, Debug, FromRow)]
pub struct ChallengeRow {
    pub user_id: i64,
    pub method: String,
    pub code_hash: Option<String>,
    pub attempts: i64,
    pub sends: i64,
    pub last_sent_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A challenge to open.
pub struct NewChallenge<'a> {
    pub token: &'a Token,
    pub user_id: i64,
    pub method: &'a str,
    /// The hash of the code sent, if one was (not for an authenticator app).
    pub code_hash: Option<String>,
    pub now: UnixTime,
    pub expires_at: UnixTime,
}

pub async fn find<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
) -> Result<Option<ChallengeRow>> {
    Ok(sqlx::query_as(
        "SELECT user_id, method, code_hash, attempts, sends, last_sent_at, created_at, expires_at
         FROM mfa_challenge WHERE id_hash = $1",
    )
    .bind(token.hash())
    .fetch_optional(ex)
    .await?)
}

/// Removes the person's pending challenge: a sign-in that got past a
/// password or a method now changed must not finish.
pub async fn delete_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM mfa_challenge WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Removes the person's pending challenge and every expired one.
pub async fn clear_for<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    now: UnixTime,
) -> Result<()> {
    sqlx::query("DELETE FROM mfa_challenge WHERE user_id = $1 OR expires_at <= $2")
        .bind(user_id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    new: &NewChallenge<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mfa_challenge (id_hash, user_id, method, code_hash, sends, last_sent_at, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.token.hash())
    .bind(new.user_id)
    .bind(new.method)
    .bind(new.code_hash.as_deref())
    .bind(i64::from(new.code_hash.is_some()))
    .bind(new.code_hash.as_ref().map(|_| new.now))
    .bind(new.now)
    .bind(new.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Records a new code sent by `method`, if fewer than `max_sends` were and
/// the last went out no later than `not_after`; false otherwise.
pub async fn claim_resend<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
    code_hash: &str,
    method: &str,
    max_sends: i64,
    not_after: UnixTime,
    now: UnixTime,
) -> Result<bool> {
    let claimed = sqlx::query(
        "UPDATE mfa_challenge SET code_hash = $2, sends = sends + 1, last_sent_at = $3, method = $6
         WHERE id_hash = $1 AND sends < $4 AND (last_sent_at IS NULL OR last_sent_at <= $5)",
    )
    .bind(token.hash())
    .bind(code_hash)
    .bind(now)
    .bind(max_sends)
    .bind(not_after)
    .bind(method)
    .execute(ex)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Claims one of the tries of a live challenge: how many are used with
/// this one, or None when none is left or the challenge has expired.
pub async fn claim_attempt<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
    max_attempts: i64,
    now: UnixTime,
) -> Result<Option<i64>> {
    let claimed: Option<(i64,)> = sqlx::query_as(
        "UPDATE mfa_challenge SET attempts = attempts + 1
         WHERE id_hash = $1 AND attempts < $2 AND expires_at > $3 RETURNING attempts",
    )
    .bind(token.hash())
    .bind(max_attempts)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    Ok(claimed.map(|(n,)| n))
}

/// Deletes the challenge; false when it was gone already.
pub async fn delete<'e, E: Executor<'e, Database = Any>>(ex: E, token: &Token) -> Result<bool> {
    let done = sqlx::query("DELETE FROM mfa_challenge WHERE id_hash = $1")
        .bind(token.hash())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
