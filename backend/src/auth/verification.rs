//! Single-use email verification links.

use sqlx::{Any, Executor, FromRow};

use crate::clock::UnixTime;
use crate::error::LinkProblem;
use crate::secret::Token;
use crate::Result;

#[derive(Clone, Debug, FromRow)]
pub struct VerificationRow {
    pub user_id: i64,
    pub email_normalized: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl VerificationRow {
    pub fn check(&self, now: UnixTime) -> Result<(), LinkProblem> {
        super::check_link(self.used_at, self.expires_at, now)
    }
}

/// Voids the person's unused verification links.
pub async fn void_unused<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    user_id: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM email_verification WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Creates a link token for `user_id`, replacing any earlier unused one.
pub async fn issue(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    email_normalized: &str,
    lifetime_secs: i64,
    now: UnixTime,
) -> Result<Token> {
    void_unused(&mut *conn, user_id).await?;
    let token = Token::generate();
    sqlx::query(
        "INSERT INTO email_verification (token_hash, user_id, email_normalized, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.hash())
    .bind(user_id)
    .bind(email_normalized)
    .bind(now)
    .bind(now + lifetime_secs)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

pub async fn find<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
) -> Result<Option<VerificationRow>> {
    Ok(sqlx::query_as(
        "SELECT user_id, email_normalized, expires_at, used_at FROM email_verification WHERE token_hash = $1",
    )
    .bind(token.hash())
    .fetch_optional(ex)
    .await?)
}

/// Marks the link used; false when another request used it first.
pub async fn mark_used<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    token: &Token,
    now: UnixTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE email_verification SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
    )
    .bind(token.hash())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_works_once_and_until_it_expires() {
        let mut row = VerificationRow {
            user_id: 1,
            email_normalized: "a@b.c".into(),
            expires_at: 100,
            used_at: None,
        };
        assert_eq!(row.check(99), Ok(()));
        assert_eq!(row.check(100), Err(LinkProblem::Expired));
        row.used_at = Some(50);
        assert_eq!(row.check(60), Err(LinkProblem::Used));
    }
}
