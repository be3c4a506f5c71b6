//! Sign-in throttling: after a few failures, each further failure makes the
//! next attempt wait longer (capped), per account and per client IP. There is
//! no permanent lockout an attacker could trigger against someone else.
//! Counters live in the database so every server instance shares them.

use sqlx::{Any, Executor};

use crate::clock::UnixTime;
use crate::Result;

/// Failures allowed per account before delays begin.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures allowed per IP before delays begin (many people can share an IP).
pub const IP_FREE_FAILURES: i64 = 20;
/// Longest delay ever imposed.
pub const MAX_DELAY_SECS: i64 = 15 * 60;
/// Counters start again after this long without a failure.
pub const RESET_AFTER_SECS: i64 = 60 * 60;

/// Delay owed after `failures` consecutive failures: none within the free
/// allowance, then 2, 4, 8 … seconds, never more than 15 minutes.
pub fn delay_after(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let exponent = (failures - free + 1).min(20) as u32;
    2i64.saturating_pow(exponent).min(MAX_DELAY_SECS)
}

/// Seconds still to wait, given a counter's state.
pub fn remaining_wait(failures: i64, last_failure_at: UnixTime, free: i64, now: UnixTime) -> i64 {
    if now - last_failure_at >= RESET_AFTER_SECS {
        return 0;
    }
    (last_failure_at + delay_after(failures, free) - now).max(0)
}

pub fn account_key(email_normalized: &str) -> String {
    format!("account:{email_normalized}")
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Seconds the caller must still wait before trying `key` again, or 0.
pub async fn wait_for<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    key: &str,
    free: i64,
    now: UnixTime,
) -> Result<i64> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT failures, last_failure_at FROM sign_in_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(ex)
            .await?;
    Ok(row
        .map(|(failures, last)| remaining_wait(failures, last, free, now))
        .unwrap_or(0))
}

/// Counts one failure for `key`. The window reset and the increment happen in
/// one statement so that concurrent failures cannot both read the old count.
pub async fn record_failure<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    key: &str,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sign_in_throttle (key, failures, last_failure_at)
         VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE SET
            failures = CASE WHEN sign_in_throttle.last_failure_at <= $3 THEN 1
                            ELSE sign_in_throttle.failures + 1 END,
            last_failure_at = $2",
    )
    .bind(key)
    .bind(now)
    .bind(now - RESET_AFTER_SECS)
    .execute(ex)
    .await?;
    Ok(())
}

/// Forgets the failures of `key` (after a successful sign-in).
pub async fn clear<'e, E: Executor<'e, Database = Any>>(ex: E, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1")
        .bind(key)
        .execute(ex)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_allowance_then_doubling_delays() {
        let d: Vec<i64> = (1..=8).map(|n| delay_after(n, 5)).collect();
        assert_eq!(d, vec![0, 0, 0, 0, 2, 4, 8, 16]);
    }

    #[test]
    fn delay_is_capped_never_a_lockout() {
        assert_eq!(delay_after(1_000, 5), MAX_DELAY_SECS);
        assert_eq!(delay_after(i64::MAX, 5), MAX_DELAY_SECS);
    }

    #[test]
    fn wait_shrinks_with_time_and_resets_after_an_hour() {
        let t = 10_000;
        assert_eq!(remaining_wait(6, t, 5, t), 4);
        assert_eq!(remaining_wait(6, t, 5, t + 3), 1);
        assert_eq!(remaining_wait(6, t, 5, t + 4), 0);
        assert_eq!(remaining_wait(50, t, 5, t + 600), MAX_DELAY_SECS - 600);
        assert_eq!(remaining_wait(50, t, 5, t + RESET_AFTER_SECS), 0);
    }

    #[test]
    fn ip_allowance_is_larger() {
        assert_eq!(delay_after(19, IP_FREE_FAILURES), 0);
        assert_eq!(delay_after(20, IP_FREE_FAILURES), 2);
    }
}
