//! Atrium's server-only domain logic and persistence. Nothing here is
//! compiled into the browser build: `app` depends on this crate only under
//! its `ssr` feature.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod account;
pub mod audit;
pub mod auth;
pub mod avatar;
pub mod clock;
pub mod db;
pub mod error;
pub mod mail;
pub mod oidc;
pub mod rate_limit;
pub mod sealed;
pub mod secret;
pub mod sms;
pub mod support;
pub mod support_hold;
pub mod sync;
pub mod user;

use std::sync::Arc;
use std::time::Duration;

pub use clock::{Clock, SystemClock, TestClock};
pub use db::Db;
pub use error::{Error, FieldError, Result};

/// Who is asking, as far as the HTTP layer can tell. Written into audit events.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The device cookie, when the browser has one (`auth::known_device`).
    pub device: Option<secret::Token>,
}

impl RequestMeta {
    /// For an audit row written under someone other than the person acting:
    /// names the kind of actor instead of revealing their IP address and
    /// browser (the row's detail names who it was).
    pub fn on_behalf(label: &str) -> Self {
        RequestMeta {
            ip: None,
            user_agent: Some(label.to_string()),
            device: None,
        }
    }
}

/// Tunables that services read; parsed once at start-up by the server.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL that links in mail point to, without a trailing slash.
    pub public_url: String,
    /// Product name used in mail subjects and bodies.
    pub product_name: String,
    /// A session ends after this long without a request.
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_absolute_lifetime: Duration,
    /// How long an email verification link stays valid.
    pub verification_link_lifetime: Duration,
    /// Regions (ISO 3166 codes) where sign-in codes may go by text message.
    pub sms_regions: Vec<String>,
    /// A webhook delivery claimed by a process that then died is retried
    /// by another (or the restarted one) after this long.
    pub webhook_lease: Duration,
    /// New users allowed per network (IPv4 address, IPv6 /64) per hour.
    pub sign_ups_per_hour: i64,
    /// Text messages sent per hour in all (toll-fraud cap); each person and
    /// each number also has its own cap (`sms::PER_PERSON`, `sms::PER_NUMBER`).
    pub sms_per_hour: i64,
}

impl Settings {
    pub fn for_tests() -> Self {
        Self {
            public_url: "http://127.0.0.1:3000".into(),
            product_name: "Atrium".into(),
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_lifetime: Duration::from_secs(12 * 3600),
            verification_link_lifetime: Duration::from_secs(24 * 3600),
            sms_regions: vec!["US".into(), "CA".into(), "GB".into()],
            webhook_lease: Duration::from_secs(sync::LEASE_SECS as u64),
            sign_ups_per_hour: 1000,
            sms_per_hour: 100,
        }
    }
}

/// Everything a service needs: storage, time, mail, hashing and settings.
/// Cheap to clone; one instance lives in the server state.
/// Its parts are the crate's own: callers go through its services and the
/// few accessors below, never around them.
#[derive(Clone)]
pub struct Backend {
    pub(crate) db: Db,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) mailer: mail::Mailer,
    pub(crate) sms: sms::SmsSender,
    pub(crate) passwords: auth::password::PasswordHasher,
    pub(crate) settings: Arc<Settings>,
    /// Change signals for the open `/api/events` streams.
    pub(crate) live: sync::live::Live,
    /// Seals the secrets the server must read back (`sealed`).
    pub(crate) keys: Arc<sealed::Keyring>,
}

impl Backend {
    /// Puts the parts together; `build_backend` in the server makes them
    /// from the configuration.
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        mailer: mail::Mailer,
        sms: sms::SmsSender,
        passwords: auth::password::PasswordHasher,
        settings: Settings,
        keys: Arc<sealed::Keyring>,
    ) -> Self {
        Backend {
            db,
            clock,
            mailer,
            sms,
            passwords,
            settings: Arc::new(settings),
            live: sync::live::Live::new(),
            keys,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The same backend with other settings (a test's lower limit).
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = Arc::new(settings);
        self
    }

    /// Now, by the backend's clock.
    pub fn now(&self) -> clock::UnixTime {
        self.clock.now()
    }

    /// Where mail goes, for the start-up log.
    pub fn mail_target(&self) -> String {
        self.mailer.describe()
    }

    /// Where text messages go, for the start-up log.
    pub fn sms_target(&self) -> String {
        self.sms.describe()
    }

    /// Signals of changed people, for a live stream.
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<i64> {
        self.live.subscribe()
    }

    /// Whether the database answers (on the health check's own connection).
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await
    }

    /// The ids of the secret keys, the sealing one first.
    pub fn secret_key_ids(&self) -> Vec<String> {
        self.keys.key_ids()
    }

    /// The periodic sweep: expired sessions, long-unused device marks and
    /// expired text confirmations go, and held support changes whose time
    /// has come go ahead. Failures are logged; the next sweep tries again.
    pub async fn sweep(&self) {
        let now = self.clock.now();
        let idle = self.lifetimes().idle_secs;
        if let Err(e) = auth::session::purge_expired(&self.db.pool, idle, now).await {
            tracing::warn!(error = %e, "session sweep failed");
        }
        if let Err(e) = auth::known_device::purge_expired(&self.db.pool, now).await {
            tracing::warn!(error = %e, "known device sweep failed");
        }
        if let Err(e) = auth::sms_setup::purge_expired(&self.db.pool, now).await {
            tracing::warn!(error = %e, "text confirmation sweep failed");
        }
        if let Err(e) = self.release_due_support_changes().await {
            tracing::warn!(error = %e, "held support changes sweep failed");
        }
    }

    /// Sends the mail still queued and closes the database: the last step
    /// of a graceful shutdown.
    pub async fn shut_down(&self) {
        self.mailer.flush().await;
        self.db.pool.close().await;
    }

    /// The database, for tests that check what was stored.
    #[cfg(any(test, feature = "test-fixtures"))]
    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.db.pool
    }

    /// The database handle (its kind, transactions), for tests.
    #[cfg(any(test, feature = "test-fixtures"))]
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Sends queued mail now, for tests that read the outbox.
    #[cfg(any(test, feature = "test-fixtures"))]
    pub async fn flush_mail(&self) {
        self.mailer.flush().await;
    }
}
