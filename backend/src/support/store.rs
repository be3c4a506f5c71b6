//! Support's tables: who has the role (`support_staff`), the requests
//! people send (`support_request`), email changes waiting for their link
//! (`email_change`); and the console's person search.

use sqlx::{Any, Executor, FromRow};

use super::{SupportRequest, UserSummary};
use crate::clock::UnixTime;
use crate::secret::Token;
use crate::Result;

pub async fn is_staff<'e, E: Executor<'e, Database = Any>>(ex: E, user_id: i64) -> Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT user_id FROM support_staff WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(ex)
            .await?;
    Ok(row.is_some())
}

/// Gives `user_id` the role; false when they had it already.
pub async fn grant<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    now: UnixTime,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO support_staff (user_id, granted_at) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// People whose address or name matches the `LIKE` pattern (escaped with
/// `\`), 25 at most.
pub async fn search<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    pattern: &str,
) -> Result<Vec<UserSummary>> {
    Ok(sqlx::query_as(
        r#"SELECT id, first_name, last_name, email FROM "user"
           WHERE email_normalized LIKE $1 ESCAPE '\'
              OR name_search LIKE $1 ESCAPE '\'
           ORDER BY email_normalized LIMIT 25"#,
    )
    .bind(pattern)
    .fetch_all(ex)
    .await?)
}

/// A request to file.
pub struct NewRequest<'a> {
    /// The person with the address, if anyone has it.
    pub user_id: Option<i64>,
    /// Where to answer.
    pub email: &'a str,
    pub topic: &'a str,
    pub message: &'a str,
    /// Filed signed in (the address proved), or only typed.
    pub signed_in: bool,
}

/// Files `request`, open; its id.
pub async fn insert_request<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    request: &NewRequest<'_>,
    now: UnixTime,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO support_request (user_id, email, topic, message, status, created_at, signed_in)
         VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
    )
    .bind(request.user_id)
    .bind(request.email)
    .bind(request.topic)
    .bind(request.message)
    .bind(now)
    .bind(i64::from(request.signed_in))
    .fetch_one(ex)
    .await?;
    Ok(id)
}

/// Open requests, oldest first.
pub async fn open_requests<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> Result<Vec<SupportRequest>> {
    Ok(sqlx::query_as(
        r#"SELECT r.id, r.user_id, u.first_name, u.last_name, r.email, r.topic, r.message, r.created_at, r.signed_in
           FROM support_request r LEFT JOIN "user" u ON u.id = r.user_id
           WHERE r.status = 'open' ORDER BY r.created_at, r.id"#,
    )
    .fetch_all(ex)
    .await?)
}

/// Whose a request is and whether it is still open.
#[derive(FromRow)]
pub struct RequestState {
    pub user_id: Option<i64>,
    pub status: String,
}

pub async fn request_state<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> Result<Option<RequestState>> {
    Ok(
        sqlx::query_as("SELECT user_id, status FROM support_request WHERE id = $1")
            .bind(id)
            .fetch_optional(ex)
            .await?,
    )
}

/// Closes request `id` if it is open; false when it was not.
pub async fn close_request<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    by: i64,
    now: UnixTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE support_request SET status = 'closed', closed_at = $2, closed_by = $3
         WHERE id = $1 AND status = 'open'",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The address a person's email is being changed to, and until when its
/// link works, if a change is waiting.
pub async fn pending_email_change<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    now: UnixTime,
) -> Result<Option<(String, UnixTime)>> {
    Ok(sqlx::query_as(
        "SELECT new_email, expires_at FROM email_change
         WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(user_id)
    .bind(now)
    .fetch_optional(ex)
    .await?)
}

/// An email change waiting for its link to be opened, or used.
#[derive(Clone, Debug, FromRow)]
pub struct EmailChangeRow {
    pub user_id: i64,
    pub new_email: String,
    pub new_email_normalized: String,
    pub ticket: String,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// An email change to record, found later by the hash of `token`.
pub struct NewEmailChange<'a> {
    pub token: &'a Token,
    pub user_id: i64,
    pub new_email: &'a str,
    pub new_email_normalized: &'a str,
    pub ticket: &'a str,
    pub requested_by: Option<i64>,
    pub now: UnixTime,
    pub expires_at: UnixTime,
}

/// Records an email change, voiding the person's earlier unused ones.
pub async fn replace_email_change(
    conn: &mut sqlx::AnyConnection,
    change: NewEmailChange<'_>,
) -> Result<()> {
    void_email_changes(&mut *conn, change.user_id).await?;
    sqlx::query(
        "INSERT INTO email_change (token_hash, user_id, new_email, new_email_normalized, ticket, requested_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(change.token.hash())
    .bind(change.user_id)
    .bind(change.new_email)
    .bind(change.new_email_normalized)
    .bind(change.ticket)
    .bind(change.requested_by)
    .bind(change.now)
    .bind(change.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Voids the person's unused email-change links.
pub async fn void_email_changes<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM email_change WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn find_email_change<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
) -> Result<Option<EmailChangeRow>> {
    Ok(sqlx::query_as(
        "SELECT user_id, new_email, new_email_normalized, ticket, expires_at, used_at
         FROM email_change WHERE token_hash = $1",
    )
    .bind(token.hash())
    .fetch_optional(ex)
    .await?)
}

/// Marks the change's link used. Returns false when it was already: a link
/// works once.
pub async fn claim_email_change<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
    now: UnixTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE email_change SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
    )
    .bind(token.hash())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
