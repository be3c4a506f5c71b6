//! The authenticator's tables: `mfa_authenticator` (one row per person:
//! the app's secret and a pending one during setup, both sealed, and the
//! last time step a code was accepted for) and `recovery_code` (hashes of
//! unused and used codes, with the strength each carries).

use sqlx::{Any, Executor, FromRow};

use crate::clock::UnixTime;
use crate::Result;

/// A person's authenticator row as stored (secrets still sealed).
#[derive(FromRow)]
pub(crate) struct AuthenticatorRow {
    pub secret: Option<String>,
    pub last_used_step: Option<i64>,
    pub pending_secret: Option<String>,
}

/// A row holding a secret or a pending one, for re-sealing.
#[derive(FromRow)]
pub(crate) struct SealedSecrets {
    pub user_id: i64,
    pub secret: Option<String>,
    pub pending_secret: Option<String>,
}

/// Which of a row's two secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Active,
    Pending,
}

pub(crate) async fn find<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<Option<AuthenticatorRow>> {
    Ok(sqlx::query_as(
        "SELECT secret, last_used_step, pending_secret FROM mfa_authenticator WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(ex)
    .await?)
}

/// Stores a new pending secret, replacing an earlier one; the active secret
/// (if any) stays until the new one is confirmed.
pub(crate) async fn set_pending<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    sealed: &str,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mfa_authenticator (user_id, pending_secret, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET pending_secret = $2, updated_at = $3",
    )
    .bind(user_id)
    .bind(sealed)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub(crate) async fn clear_pending<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<()> {
    sqlx::query("UPDATE mfa_authenticator SET pending_secret = NULL WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Makes the pending secret the active one, if it is still `checked` (the
/// one the code was checked against). Returns false when a cancel or a new
/// setup came in between.
pub(crate) async fn activate_pending<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    checked: &str,
    step: i64,
    now: UnixTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE mfa_authenticator SET secret = pending_secret, pending_secret = NULL, last_used_step = $2, updated_at = $3
         WHERE user_id = $1 AND pending_secret = $4",
    )
    .bind(user_id)
    .bind(step)
    .bind(now)
    .bind(checked)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks `step` used. Only a later step may advance the mark, so two
/// requests with the same code cannot both pass: returns false for the
/// second.
pub(crate) async fn advance_step<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    step: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE mfa_authenticator SET last_used_step = $2 WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn delete<'e, E: Executor<'e, Database = Any>>(ex: E, user_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM mfa_authenticator WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// The rows with a secret not sealed under the key `current_like` (a LIKE
/// pattern) names.
pub(crate) async fn not_sealed_under<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    current_like: &str,
) -> Result<Vec<SealedSecrets>> {
    Ok(sqlx::query_as(
        "SELECT user_id, secret, pending_secret FROM mfa_authenticator
         WHERE (secret IS NOT NULL AND secret NOT LIKE $1)
            OR (pending_secret IS NOT NULL AND pending_secret NOT LIKE $1)",
    )
    .bind(current_like)
    .fetch_all(ex)
    .await?)
}

/// Every row holding a secret or a pending one.
pub(crate) async fn all_sealed<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> Result<Vec<SealedSecrets>> {
    Ok(sqlx::query_as(
        "SELECT user_id, secret, pending_secret FROM mfa_authenticator
         WHERE secret IS NOT NULL OR pending_secret IS NOT NULL",
    )
    .fetch_all(ex)
    .await?)
}

/// Replaces a stored secret by `sealed` if it is still `was`. Returns
/// whether it was.
pub(crate) async fn reseal<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    slot: Slot,
    was: &str,
    sealed: &str,
) -> Result<bool> {
    let sql = match slot {
        Slot::Active => {
            "UPDATE mfa_authenticator SET secret = $1 WHERE user_id = $2 AND secret = $3"
        }
        Slot::Pending => {
            "UPDATE mfa_authenticator SET pending_secret = $1 WHERE user_id = $2 AND pending_secret = $3"
        }
    };
    let done = sqlx::query(sql)
        .bind(sealed)
        .bind(user_id)
        .bind(was)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many unused recovery codes the person has.
#[derive(Clone, Copy, Debug, FromRow)]
pub(crate) struct RecoveryCodesLeft {
    pub unused: i64,
    /// Of those, codes of the old, short kind.
    pub short_kind: i64,
}

pub(crate) async fn recovery_codes_left<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<RecoveryCodesLeft> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*) AS unused, COUNT(CASE WHEN bits < 80 THEN 1 END) AS short_kind FROM recovery_code
         WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(ex)
    .await?)
}

/// Uses the unused code with this hash. Returns false when there is none
/// (wrong, or used already: a code works once).
pub(crate) async fn use_recovery_code<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    code_hash: &str,
    now: UnixTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_code SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn delete_recovery_codes<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_code WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Replaces every recovery code of the person with these hashes, each of
/// `bits` strength.
pub(crate) async fn replace_recovery_code_hashes(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    code_hashes: &[String],
    bits: i64,
    now: UnixTime,
) -> Result<()> {
    delete_recovery_codes(&mut *conn, user_id).await?;
    for hash in code_hashes {
        sqlx::query(
            "INSERT INTO recovery_code (user_id, code_hash, created_at, bits) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .bind(bits)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
