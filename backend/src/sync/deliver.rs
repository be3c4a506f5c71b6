//! The delivery worker: claims due deliveries with a lease (several server
//! processes on one PostgreSQL share the work, `FOR UPDATE SKIP LOCKED`),
//! posts each signed event, and records the outcome: delivered on a 2xx,
//! otherwise retried with exponential backoff and jitter until
//! [`RETRY_FOR_SECS`] after the event, then dead. A person's events reach
//! each platform in version order: a delivery waits while an older one to
//! the same platform is pending. At least once: a process that dies
//! mid-delivery leaves a lease that expires, and the delivery is retried.

use rand::Rng;
use serde::Serialize;
use sqlx::FromRow;

use crate::clock::to_rfc3339;
use crate::db::DbKind;
use crate::sync::outbox::StoredEvent;
use crate::sync::{
    webhook, BATCH, DELIVERY_TIMEOUT_SECS, FIRST_RETRY_SECS, MAX_RETRY_SECS, RETRY_FOR_SECS,
};
use crate::{Backend, Error, Result};

#[derive(Clone, Debug, FromRow)]
struct Due {
    event_id: String,
    client_id: String,
    attempts: i64,
    created_at: i64,
    payload: String,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    scope: Option<String>,
}

/// One delivery as operators see it (`server platform deliveries`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, FromRow)]
pub struct DeliveryView {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: i64,
    /// "pending" (never tried, or retrying), "delivered" or "dead".
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// The wait before retry number `attempt` (1 for the first retry):
/// doubling from [`FIRST_RETRY_SECS`] up to [`MAX_RETRY_SECS`], of which a
/// random half is taken off so that many failures do not retry in step.
pub fn backoff_secs(attempt: i64, rng: &mut impl Rng) -> i64 {
    let exp = attempt.clamp(1, 30) - 1;
    let full = FIRST_RETRY_SECS
        .saturating_mul(1i64 << exp.min(20))
        .min(MAX_RETRY_SECS);
    full - rng.gen_range(0..=full / 2)
}

enum Outcome {
    Delivered(u16),
    Failed(Option<u16>, String),
}

/// Leases up to `$3` due deliveries until `$2` (`$1` is now), each
/// person's in order: one waits while an earlier version to the same
/// platform is pending. `$lock` ends the inner `SELECT`.
macro_rules! claim_due {
    ($lock:literal) => {
        concat!(
            "UPDATE webhook_delivery SET lease_until = $2
             WHERE (event_id, client_id) IN (
                 SELECT d.event_id, d.client_id FROM webhook_delivery d
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1
                   AND (d.lease_until IS NULL OR d.lease_until <= $1)
                   AND NOT EXISTS (
                       SELECT 1 FROM webhook_delivery e
                       WHERE e.client_id = d.client_id AND e.user_id = d.user_id
                         AND e.status = 'pending' AND e.version < d.version)
                 ORDER BY d.next_attempt_at, d.version
                 LIMIT $3 ",
            $lock,
            ")
             RETURNING event_id, client_id"
        )
    };
}

/// A delivery leased by this worker.
#[derive(sqlx::FromRow)]
struct Claimed {
    event_id: String,
    client_id: String,
}

impl Backend {
    /// One pass of the worker: claims up to [`BATCH`] due deliveries and
    /// sends them concurrently. Returns how many were attempted.
    pub async fn deliver_webhooks(&self) -> Result<usize> {
        let now = self.clock.now();
        // PostgreSQL skips rows another worker holds; SQLite has one writer.
        let sql = match self.db.kind {
            DbKind::Postgres => claim_due!("FOR UPDATE SKIP LOCKED"),
            DbKind::Sqlite => claim_due!(""),
        };
        let claimed: Vec<Claimed> = sqlx::query_as(sql)
            .bind(now)
            .bind(now + self.settings.webhook_lease.as_secs() as i64)
            .bind(BATCH)
            .fetch_all(&self.db.pool)
            .await?;
        let mut tasks = tokio::task::JoinSet::new();
        for Claimed {
            event_id,
            client_id,
        } in claimed
        {
            let backend = self.clone();
            tasks.spawn(async move { backend.deliver_one(&event_id, &client_id).await });
        }
        let mut attempted = 0;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(())) => attempted += 1,
                Ok(Err(e)) => tracing::error!(error = %e, "webhook delivery not recorded"),
                Err(e) => tracing::error!(error = %e, "webhook delivery task failed"),
            }
        }
        Ok(attempted)
    }

    async fn deliver_one(&self, event_id: &str, client_id: &str) -> Result<()> {
        let due: Option<Due> = sqlx::query_as(
            "SELECT d.event_id, d.client_id, d.attempts, d.created_at, e.payload,
                    p.webhook_url, p.webhook_secret, u.scope
             FROM webhook_delivery d
             JOIN change_event e ON e.id = d.event_id
             JOIN oidc_platform p ON p.client_id = d.client_id
             LEFT JOIN oidc_platform_user u ON u.client_id = d.client_id AND u.user_id = d.user_id
             WHERE d.event_id = $1 AND d.client_id = $2",
        )
        .bind(event_id)
        .bind(client_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(due) = due else {
            return Ok(());
        };
        let outcome = self.send(&due).await;
        let now = self.clock.now();
        let attempts = due.attempts + 1;
        match outcome {
            Outcome::Delivered(status) => {
                sqlx::query(
                    "UPDATE webhook_delivery SET status = 'delivered', attempts = $3, delivered_at = $4,
                            last_status = $5, last_error = NULL, lease_until = NULL
                     WHERE event_id = $1 AND client_id = $2",
                )
                .bind(&due.event_id)
                .bind(&due.client_id)
                .bind(attempts)
                .bind(now)
                .bind(i64::from(status))
                .execute(&self.db.pool)
                .await?;
            }
            Outcome::Failed(status, error) => {
                let dead = now >= due.created_at + RETRY_FOR_SECS;
                let next = now + backoff_secs(attempts, &mut rand::thread_rng());
                if dead {
                    tracing::error!(client_id = %due.client_id, event_id = %due.event_id, %error, "webhook dead-lettered after 24 hours of failures");
                } else {
                    tracing::warn!(client_id = %due.client_id, event_id = %due.event_id, attempts, %error, "webhook not delivered; will retry");
                }
                sqlx::query(
                    "UPDATE webhook_delivery SET status = $3, attempts = $4, next_attempt_at = $5,
                            last_status = $6, last_error = $7, lease_until = NULL
                     WHERE event_id = $1 AND client_id = $2",
                )
                .bind(&due.event_id)
                .bind(&due.client_id)
                .bind(if dead { "dead" } else { "pending" })
                .bind(attempts)
                .bind(next)
                .bind(status.map(i64::from))
                .bind(error.chars().take(500).collect::<String>())
                .execute(&self.db.pool)
                .await?;
            }
        }
        Ok(())
    }

    /// The signed POST of one event to one platform.
    async fn send(&self, due: &Due) -> Outcome {
        let (Some(url), Some(secret)) = (&due.webhook_url, &due.webhook_secret) else {
            return Outcome::Failed(None, "the platform has no webhook URL any more".into());
        };
        let event: StoredEvent = match serde_json::from_str(&due.payload) {
            Ok(e) => e,
            Err(e) => return Outcome::Failed(None, format!("stored event unreadable: {e}")),
        };
        let Some(data) = event.data_for(due.scope.as_deref().unwrap_or("openid")) else {
            // Nothing in it is this platform's to know (its scopes changed).
            return Outcome::Delivered(204);
        };
        let body = serde_json::json!({
            "type": event.event_type,
            "timestamp": to_rfc3339(due.created_at),
            "data": data,
        })
        .to_string();
        let timestamp = self.clock.now();
        let signature = match webhook::sign(secret, &due.event_id, timestamp, &body) {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(None, e.to_string()),
        };
        let client = match reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(DELIVERY_TIMEOUT_SECS))
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(None, format!("no HTTP client: {e}")),
        };
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "Atrium-Webhooks/1")
            .header("webhook-id", &due.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Outcome::Delivered(r.status().as_u16()),
            Ok(r) => Outcome::Failed(
                Some(r.status().as_u16()),
                format!("the platform answered {}", r.status()),
            ),
            Err(e) if e.is_timeout() => {
                Outcome::Failed(None, format!("no answer within {DELIVERY_TIMEOUT_SECS} s"))
            }
            Err(e) => Outcome::Failed(None, format!("not reached: {}", without_url(&e))),
        }
    }

    /// Deliveries to `client_id` that are not delivered (pending, retrying
    /// or dead), oldest first.
    pub async fn deliveries(&self, client_id: &str) -> Result<Vec<DeliveryView>> {
        self.platform(client_id).await?.ok_or(Error::NotFound)?;
        Ok(sqlx::query_as(
            "SELECT d.event_id, e.type AS event_type, d.version, d.status, d.attempts, d.next_attempt_at,
                    d.last_status, d.last_error, d.created_at, d.delivered_at
             FROM webhook_delivery d JOIN change_event e ON e.id = d.event_id
             WHERE d.client_id = $1 AND d.status <> 'delivered'
             ORDER BY d.created_at, d.version",
        )
        .bind(client_id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// Queues `event_id` again for every platform it was not delivered to
    /// (dead or retrying), at once and with a fresh 24 hours. Returns how
    /// many deliveries were queued.
    pub async fn redeliver(&self, event_id: &str) -> Result<u64> {
        let now = self.clock.now();
        let done = sqlx::query(
            "UPDATE webhook_delivery SET status = 'pending', next_attempt_at = $2, created_at = $2,
                    lease_until = NULL
             WHERE event_id = $1 AND status <> 'delivered'",
        )
        .bind(event_id)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Runs the worker until the process ends: a pass, then, when there was
    /// nothing to do, a pause of `idle`.
    pub async fn run_webhook_worker(self, idle: std::time::Duration) {
        loop {
            match self.deliver_webhooks().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "webhook worker pass failed"),
            }
            tokio::time::sleep(idle).await;
        }
    }
}

/// reqwest's error text without the URL (which may carry a token).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "the webhook URL");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn retries_double_up_to_an_hour_with_jitter() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..40 {
            let full = (FIRST_RETRY_SECS << (attempt - 1).min(20)).min(MAX_RETRY_SECS);
            let wait = backoff_secs(attempt, &mut rng);
            assert!(
                wait >= full / 2 && wait <= full,
                "{attempt}: {wait} of {full}"
            );
        }
        let waits: Vec<i64> = (0..20).map(|_| backoff_secs(6, &mut rng)).collect();
        assert!(waits.iter().any(|w| *w != waits[0]), "jittered");
    }
}
