//! What the Profile tab's "Platforms" card shows: each platform the person
//! signed in to, and whether their latest change has reached it.

use crate::clock::UnixTime;
use crate::{Backend, Result};

/// Where the person's latest change stands with one platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// Every change has reached it (or there was none yet).
    UpToDate,
    /// The latest change is on its way (not tried yet).
    Sending,
    /// The platform refused or did not answer; retried since the change.
    Retrying { since: UnixTime },
    /// Not delivered within 24 hours; operators can send it again.
    Failed { since: UnixTime },
    /// The platform does not take change events (no webhook URL).
    NotSubscribed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformSync {
    pub name: String,
    pub first_used_at: UnixTime,
    pub state: SyncState,
}

impl Backend {
    /// The platforms `user_id` signed in to, by name, with the state of
    /// their latest change on each.
    pub async fn platform_sync(&self, user_id: i64) -> Result<Vec<PlatformSync>> {
        let platforms: Vec<PlatformRow> = sqlx::query_as(
            "SELECT p.client_id, p.name, u.first_used_at,
                    CASE WHEN p.webhook_url IS NOT NULL AND p.webhook_secret IS NOT NULL THEN 1 ELSE 0 END AS hooked
             FROM oidc_platform_user u JOIN oidc_platform p ON p.client_id = u.client_id
             WHERE u.user_id = $1 ORDER BY p.name",
        )
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::with_capacity(platforms.len());
        for PlatformRow {
            client_id,
            name,
            first_used_at,
            hooked,
        } in platforms
        {
            let latest: Option<LatestDelivery> = sqlx::query_as(
                "SELECT status, attempts, created_at AS since FROM webhook_delivery
                 WHERE client_id = $1 AND user_id = $2 ORDER BY version DESC LIMIT 1",
            )
            .bind(&client_id)
            .bind(user_id)
            .fetch_optional(&self.db.pool)
            .await?;
            let state = match (hooked != 0, latest) {
                (false, _) => SyncState::NotSubscribed,
                (true, None) => SyncState::UpToDate,
                (
                    true,
                    Some(LatestDelivery {
                        status,
                        attempts,
                        since,
                    }),
                ) => match status.as_str() {
                    "delivered" => SyncState::UpToDate,
                    "dead" => SyncState::Failed { since },
                    _ if attempts == 0 => SyncState::Sending,
                    _ => SyncState::Retrying { since },
                },
            };
            out.push(PlatformSync {
                name,
                first_used_at,
                state,
            });
        }
        Ok(out)
    }
}

/// A platform the person signed in to, and whether it takes webhooks.
#[derive(sqlx::FromRow)]
struct PlatformRow {
    client_id: String,
    name: String,
    first_used_at: i64,
    hooked: i64,
}

/// The newest change sent (or being sent) to one platform about one person.
#[derive(sqlx::FromRow)]
struct LatestDelivery {
    status: String,
    attempts: i64,
    since: i64,
}
