//! The devices list on the Security tab: each live session of a person with
//! its browser and system (parsed from the user agent on the server), IP,
//! sign-in and last-activity times and the platforms it signed in to; one
//! can be signed out, or all but this one. Ending a session tells its
//! platforms (back-channel logout).

use sqlx::FromRow;

use crate::audit::{self, EventKind};
use crate::clock::UnixTime;
use crate::oidc::flow::session_sid;
use crate::secret::Token;
use crate::user::User;
use crate::{Backend, Error, RequestMeta, Result};

/// One signed-in browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// The session's public id (the OpenID Connect `sid`), never its token.
    pub id: String,
    /// "Chrome 131", "Firefox", or "Unknown browser".
    pub browser: String,
    /// "Linux", "Android 14", or "Unknown system".
    pub system: String,
    pub ip: Option<String>,
    pub signed_in_at: UnixTime,
    pub last_active_at: UnixTime,
    /// Names of the platforms this session signed in to through Atrium.
    pub platforms: Vec<String>,
    /// The browser asking.
    pub current: bool,
}

#[derive(FromRow)]
struct Row {
    id_hash: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
}

/// "Chrome 131" and "Linux" from a user agent string.
pub fn describe_user_agent(ua: Option<&str>) -> (String, String) {
    let parsed = ua.and_then(|ua| woothee::parser::Parser::new().parse(ua));
    let Some(p) = parsed else {
        return ("Unknown browser".into(), "Unknown system".into());
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    let browser = if !known(p.name) {
        "Unknown browser".to_string()
    } else {
        match p.version.split('.').next().filter(|v| known(v)) {
            Some(major) => format!("{} {major}", p.name),
            None => p.name.to_string(),
        }
    };
    let system = if !known(p.os) {
        "Unknown system".to_string()
    } else if known(&p.os_version)
        && p.os_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    {
        format!("{} {}", p.os, p.os_version)
    } else {
        p.os.to_string()
    };
    (browser, system)
}

impl Backend {
    async fn live_rows(&self, user_id: i64) -> Result<Vec<Row>> {
        let now = self.clock.now();
        let idle = self.lifetimes().idle_secs;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id_hash, created_at, last_seen_at, expires_at, ip, user_agent FROM session
             WHERE user_id = $1 ORDER BY last_seen_at DESC, created_at DESC",
        )
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|r| now < r.expires_at && now - r.last_seen_at < idle)
            .collect())
    }

    /// Where `user` is signed in, this browser first.
    pub async fn devices(&self, user: &User, current: &Token) -> Result<Vec<Device>> {
        let current_hash = current.hash();
        let mut devices = Vec::new();
        for row in self.live_rows(user.id).await? {
            let platforms: Vec<(String,)> = sqlx::query_as(
                "SELECT DISTINCT p.name FROM oidc_token t JOIN oidc_platform p ON p.client_id = t.client_id
                 WHERE t.session_hash = $1 ORDER BY p.name",
            )
            .bind(&row.id_hash)
            .fetch_all(&self.db.pool)
            .await?;
            let (browser, system) = describe_user_agent(row.user_agent.as_deref());
            devices.push(Device {
                id: session_sid(&row.id_hash),
                browser,
                system,
                ip: row.ip,
                signed_in_at: row.created_at,
                last_active_at: row.last_seen_at,
                platforms: platforms.into_iter().map(|(n,)| n).collect(),
                current: row.id_hash == current_hash,
            });
        }
        devices.sort_by_key(|d| !d.current);
        Ok(devices)
    }

    /// Signs out one of `user`'s other sessions, named by its public id.
    pub async fn sign_out_device(
        &self,
        user: &User,
        current: &Token,
        device_id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let rows = self.live_rows(user.id).await?;
        let Some(row) = rows.iter().find(|r| session_sid(&r.id_hash) == device_id) else {
            return Err(Error::NotFound);
        };
        if row.id_hash == current.hash() {
            return Err(Error::Conflict(
                "This is the device you are using: sign out from the menu instead.".into(),
            ));
        }
        self.end_sessions(user, vec![row.id_hash.clone()], "one device", meta)
            .await
    }

    /// Signs out every session of `user` but this one; returns how many.
    pub async fn sign_out_other_devices(
        &self,
        user: &User,
        current: &Token,
        meta: &RequestMeta,
    ) -> Result<usize> {
        let current_hash = current.hash();
        let others: Vec<String> = self
            .live_rows(user.id)
            .await?
            .into_iter()
            .map(|r| r.id_hash)
            .filter(|h| *h != current_hash)
            .collect();
        let n = others.len();
        if n > 0 {
            self.end_sessions(user, others, "everywhere else", meta)
                .await?;
        }
        Ok(n)
    }

    async fn end_sessions(
        &self,
        user: &User,
        hashes: Vec<String>,
        what: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let mut ended = Vec::new();
        for hash in hashes {
            let done = sqlx::query("DELETE FROM session WHERE id_hash = $1 AND user_id = $2")
                .bind(&hash)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                ended.push(hash);
            }
        }
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::SignedOut,
            Some(&format!(
                "from the devices list: {what}, {} session(s)",
                ended.len()
            )),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        self.sessions_ended(user.id, &ended).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(
            describe_user_agent(Some(chrome)),
            ("Chrome 131".to_string(), "Linux".to_string())
        );
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        let (browser, system) = describe_user_agent(Some(iphone));
        assert_eq!(browser, "Safari 17");
        assert!(system.starts_with("iPhone"), "{system}");
        assert_eq!(
            describe_user_agent(Some("atrium-tests")),
            ("Unknown browser".to_string(), "Unknown system".to_string())
        );
        assert_eq!(
            describe_user_agent(None),
            ("Unknown browser".to_string(), "Unknown system".to_string())
        );
    }
}
