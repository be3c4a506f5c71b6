//! Live updates for Atrium's own open tabs and devices: a signal, per
//! person, that something changed (their claims, or their sessions).
//! Within one process a broadcast channel carries it; across processes on
//! PostgreSQL, `NOTIFY atrium_change` (sent at commit) does, and each
//! process's listener passes it on to its own channel. The signal carries
//! only the person's id: the `/api/events` stream re-reads what changed.

use tokio::sync::broadcast;

use crate::db::DbKind;
use crate::secret::Token;
use crate::{Backend, Result};

/// The PostgreSQL channel that carries changed person ids between processes.
pub const CHANNEL: &str = "atrium_change";

/// The in-process side: every open stream subscribes.
#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<i64>,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Live { tx }
    }

    /// Something of `user_id` changed (no one listening is fine).
    pub fn signal(&self, user_id: i64) {
        let _ = self.tx.send(user_id);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.tx.subscribe()
    }
}

/// What an open stream learns when it looks again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// The session is over: the tab should go to sign-in.
    SignedOut,
    /// The session's person and their current change version.
    Live { user_id: i64, version: i64 },
}

/// Tells every process that `user_id` changed, inside the transaction of
/// the change: on PostgreSQL the notification goes out at commit (and not
/// at all on rollback); on SQLite, one process, the signal goes now and the
/// streams look again shortly after, once the change has committed.
pub(crate) async fn announce_in(
    backend: &Backend,
    tx: &mut sqlx::AnyConnection,
    user_id: i64,
) -> Result<()> {
    match backend.db.kind {
        DbKind::Postgres => {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(user_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        DbKind::Sqlite => backend.live.signal(user_id),
    }
    Ok(())
}

impl Backend {
    /// Tells every process that `user_id` changed (after a commit).
    pub async fn announce(&self, user_id: i64) {
        match self.db.kind {
            DbKind::Postgres => {
                let sent = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(user_id.to_string())
                    .execute(&self.db.pool)
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "change notification not sent");
                    self.live.signal(user_id);
                }
            }
            DbKind::Sqlite => self.live.signal(user_id),
        }
    }

    /// For an open stream: whether the session behind `token` still lives
    /// (without touching it: an open tab alone does not keep a session
    /// alive), and the person's change version.
    pub async fn look(&self, token: &Token) -> Result<Look> {
        let now = self.clock.now();
        let Some(row) = crate::auth::session::find(&self.db.pool, token).await? else {
            return Ok(Look::SignedOut);
        };
        if !row.is_live(self.lifetimes().idle_secs, now) {
            return Ok(Look::SignedOut);
        }
        let (version,): (i64,) = sqlx::query_as(r#"SELECT sync_version FROM "user" WHERE id = $1"#)
            .bind(row.user_id)
            .fetch_one(&self.db.pool)
            .await?;
        Ok(Look::Live {
            user_id: row.user_id,
            version,
        })
    }

    /// On PostgreSQL, passes other processes' change notifications to this
    /// process's streams, reconnecting when the connection drops. Returns
    /// at once on SQLite.
    pub async fn listen_for_changes(self, database_url: String) {
        if self.db.kind != DbKind::Postgres {
            return;
        }
        loop {
            match sqlx::postgres::PgListener::connect(&database_url).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "cannot listen for changes");
                    } else {
                        loop {
                            match listener.recv().await {
                                Ok(n) => {
                                    if let Ok(user_id) = n.payload().parse::<i64>() {
                                        self.live.signal(user_id);
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "change notifications interrupted");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot listen for changes"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}
