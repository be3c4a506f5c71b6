//! Sign-in throttling: after a few failures, each further failure makes the
//! next attempt wait longer (capped at 15 minutes, never a lockout).
//!
//! Who shares a counter decides who an attacker can slow down, so a sign-in
//! counts in several buckets (see [`for_sign_in`]):
//! - a browser that has signed in to the account before (its device cookie,
//!   `crate::auth::known_device`) counts only its own failures, so
//!   nobody elsewhere can keep the owner out;
//! - any other browser counts per account *and* network (an IPv4 address or
//!   an IPv6 /64), per account over every network (a larger allowance, against
//!   guessing spread over many addresses), and per network over every account.
//!
//! Every attempt is claimed before the password is hashed, in a
//! compare-and-swap on the counter, so parallel guesses cannot all see a clean
//! record: at most the free allowance is checked whatever the concurrency. A
//! right answer gives its claim back. Counters live in the database so every
//! server instance shares them.

use std::net::IpAddr;

use sqlx::{Any, AnyConnection, Executor};

use crate::clock::UnixTime;
use crate::db::Db;
use crate::Result;

/// Failures allowed per account and network (or per known browser) before
/// delays begin.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures allowed per account over every network: guessing spread over
/// many addresses. Known browsers do not count here.
pub const ACCOUNT_ANYWHERE_FREE_FAILURES: i64 = 50;
/// Failures allowed per network before delays begin (many people can share an IP).
pub const IP_FREE_FAILURES: i64 = 20;
/// Wrong passwords allowed when a signed-in person confirms their password.
pub const PASSWORD_CHECK_FREE_FAILURES: i64 = 5;
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

/// The network an address belongs to for counting: an IPv4 address itself,
/// an IPv6 address's /64 (one subscriber's range). Text that is not an
/// address counts as itself.
pub fn network(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => ip.to_string(),
    }
}

/// One counter and the failures it allows before delays begin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub key: String,
    pub free: i64,
}

impl Bucket {
    fn new(key: String, free: i64) -> Self {
        Bucket { key, free }
    }

    /// Counts for the account as a whole (cleared by a full sign-in).
    fn is_account(&self) -> bool {
        !self.key.starts_with("ip:")
    }
}

/// The buckets a sign-in attempt for `email_normalized` counts in.
/// `known_device` is the device cookie's id when that browser has signed in
/// to this account before.
pub fn for_sign_in(
    email_normalized: &str,
    ip: Option<&str>,
    known_device: Option<&str>,
) -> Vec<Bucket> {
    if let Some(device) = known_device {
        return vec![Bucket::new(
            format!("device:{device}|{email_normalized}"),
            ACCOUNT_FREE_FAILURES,
        )];
    }
    let net = ip.map(network);
    let mut buckets = vec![Bucket::new(
        format!("account:{email_normalized}"),
        ACCOUNT_ANYWHERE_FREE_FAILURES,
    )];
    if let Some(net) = net {
        buckets.insert(
            0,
            Bucket::new(
                format!("account-net:{email_normalized}|{net}"),
                ACCOUNT_FREE_FAILURES,
            ),
        );
        buckets.push(Bucket::new(format!("ip:{net}"), IP_FREE_FAILURES));
    } else {
        // No address known (a proxy that does not say): the account-wide
        // bucket is the only guard, so it gets the small allowance.
        buckets[0].free = ACCOUNT_FREE_FAILURES;
    }
    buckets
}

/// The bucket of a signed-in person confirming their password: wrong
/// guesses from a stolen session are limited without slowing the person's
/// sign-in anywhere else.
pub fn for_password_check(user_id: i64) -> Vec<Bucket> {
    vec![Bucket::new(
        format!("password-check:{user_id}"),
        PASSWORD_CHECK_FREE_FAILURES,
    )]
}

/// An attempt counted in every bucket ahead of the check. Give it back
/// with [`release`] when the answer was right, or keep it (a failure).
#[derive(Debug)]
#[must_use = "an attempt is a failure unless released"]
pub struct Claim {
    taken: Vec<Taken>,
}

impl Claim {
    /// The answer was wrong: the attempt stays counted as a failure.
    pub fn keep(self) {}
}

#[derive(Debug)]
struct Taken {
    bucket: Bucket,
    /// The counter before this attempt: (failures, last_failure_at), or none.
    before: Option<(i64, i64)>,
    after: (i64, i64),
}

/// Counts one attempt in each of `buckets`, or refuses with the seconds
/// still to wait (and counts nothing). Each counter moves by compare and
/// swap, so of parallel attempts only as many pass as the allowance lets.
pub async fn claim(
    db: &Db,
    buckets: &[Bucket],
    now: UnixTime,
) -> Result<std::result::Result<Claim, i64>> {
    let mut taken: Vec<Taken> = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        match claim_one(db, bucket, now).await? {
            Ok(t) => taken.push(t),
            Err(wait) => {
                release(&mut *db.pool.acquire().await?, Claim { taken }).await?;
                return Ok(Err(wait));
            }
        }
    }
    Ok(Ok(Claim { taken }))
}

async fn claim_one(
    db: &Db,
    bucket: &Bucket,
    now: UnixTime,
) -> Result<std::result::Result<Taken, i64>> {
    // A handful of rounds is plenty: a round is lost only to another attempt
    // that moved the same counter, and each round re-reads it.
    for _ in 0..64 {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, last_failure_at FROM sign_in_throttle WHERE key = $1")
                .bind(&bucket.key)
                .fetch_optional(&db.pool)
                .await?;
        match row {
            None => {
                let done = sqlx::query(
                    "INSERT INTO sign_in_throttle (key, failures, last_failure_at) VALUES ($1, 1, $2)
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(&bucket.key)
                .bind(now)
                .execute(&db.pool)
                .await?;
                if done.rows_affected() == 1 {
                    return Ok(Ok(Taken {
                        bucket: bucket.clone(),
                        before: None,
                        after: (1, now),
                    }));
                }
            }
            Some((failures, last)) => {
                let wait = remaining_wait(failures, last, bucket.free, now);
                if wait > 0 {
                    return Ok(Err(wait));
                }
                let next = if now - last >= RESET_AFTER_SECS {
                    1
                } else {
                    failures + 1
                };
                if swap(&db.pool, &bucket.key, (failures, last), (next, now)).await? {
                    return Ok(Ok(Taken {
                        bucket: bucket.clone(),
                        before: Some((failures, last)),
                        after: (next, now),
                    }));
                }
            }
        }
    }
    Err(crate::Error::Internal(format!(
        "sign-in throttle counter {} kept changing",
        bucket.key
    )))
}

/// Moves the counter `key` from `from` to `to` (failures, last failure
/// time) when nobody moved it meanwhile; false when somebody did.
async fn swap<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    key: &str,
    from: (i64, i64),
    to: (i64, i64),
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sign_in_throttle SET failures = $4, last_failure_at = $5
         WHERE key = $1 AND failures = $2 AND last_failure_at = $3",
    )
    .bind(key)
    .bind(from.0)
    .bind(from.1)
    .bind(to.0)
    .bind(to.1)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives an attempt back (the answer was right): each counter returns to
/// where it was, or, when other attempts moved it since, one lower.
pub async fn release(conn: &mut AnyConnection, claim: Claim) -> Result<()> {
    for t in claim.taken {
        let restored = match t.before {
            Some(before) => swap(&mut *conn, &t.bucket.key, t.after, before).await?,
            None => {
                sqlx::query(
                    "DELETE FROM sign_in_throttle WHERE key = $1 AND failures = $2 AND last_failure_at = $3",
                )
                .bind(&t.bucket.key)
                .bind(t.after.0)
                .bind(t.after.1)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1
            }
        };
        if !restored {
            sqlx::query(
                "UPDATE sign_in_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0",
            )
            .bind(&t.bucket.key)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Forgets the failures of the account's buckets in `buckets` (after a full
/// sign-in); per-network counters stay, since they span other accounts.
pub async fn clear_account(conn: &mut AnyConnection, buckets: &[Bucket]) -> Result<()> {
    for bucket in buckets.iter().filter(|b| b.is_account()) {
        sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1")
            .bind(&bucket.key)
            .execute(&mut *conn)
            .await?;
    }
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
    fn networks_group_an_ipv6_subscriber_and_keep_ipv4_addresses_apart() {
        assert_eq!(network("203.0.113.7"), "203.0.113.7");
        assert_ne!(network("203.0.113.7"), network("203.0.113.8"));
        assert_eq!(network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            network("2001:db8:1:2:ffff:1:2:3"),
            network("2001:db8:1:2::9")
        );
        assert_ne!(network("2001:db8:1:2::1"), network("2001:db8:1:3::1"));
        assert_eq!(network("::ffff:198.51.100.4"), "198.51.100.4");
    }

    #[test]
    fn a_known_browser_counts_alone_and_others_count_per_network() {
        let known = for_sign_in("ann@example.org", Some("203.0.113.7"), Some("dev1"));
        assert_eq!(known.len(), 1);
        assert!(known[0].key.starts_with("device:dev1|"));
        let other = for_sign_in("ann@example.org", Some("203.0.113.7"), None);
        let keys: Vec<&str> = other.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "account-net:ann@example.org|203.0.113.7",
                "account:ann@example.org",
                "ip:203.0.113.7"
            ]
        );
        assert_eq!(other[1].free, ACCOUNT_ANYWHERE_FREE_FAILURES);
        // With no address, the account-wide counter is the only guard.
        let unknown = for_sign_in("ann@example.org", None, None);
        assert_eq!(
            unknown,
            vec![Bucket::new(
                "account:ann@example.org".into(),
                ACCOUNT_FREE_FAILURES
            )]
        );
    }

    #[test]
    fn ip_allowance_is_larger() {
        assert_eq!(delay_after(19, IP_FREE_FAILURES), 0);
        assert_eq!(delay_after(20, IP_FREE_FAILURES), 2);
    }
}
