//! Fixed-window rate limits for actions such as resending a verification
//! mail, counted in the database so several server instances share them.

use sqlx::{Any, Executor};

use crate::clock::UnixTime;
use crate::{Error, Result};

/// At most `limit` hits per `window_secs` for `key`.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub limit: i64,
    pub window_secs: i64,
}

/// Counts one hit for `key`; refuses with the seconds left in the window
/// once the window's allowance is used up.
pub async fn hit<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    key: &str,
    rule: Limit,
    now: UnixTime,
) -> Result<()> {
    let (hits, window_start): (i64, i64) = sqlx::query_as(
        "INSERT INTO rate_limit (key, window_start, hits) VALUES ($1, $2, 1)
         ON CONFLICT (key) DO UPDATE SET
            hits = CASE WHEN rate_limit.window_start <= $3 THEN 1 ELSE rate_limit.hits + 1 END,
            window_start = CASE WHEN rate_limit.window_start <= $3 THEN $2 ELSE rate_limit.window_start END
         RETURNING hits, window_start",
    )
    .bind(key)
    .bind(now)
    .bind(now - rule.window_secs)
    .fetch_one(ex)
    .await?;
    if hits > rule.limit {
        let retry_after_secs = (window_start + rule.window_secs - now).max(1) as u64;
        return Err(Error::RateLimited { retry_after_secs });
    }
    Ok(())
}
