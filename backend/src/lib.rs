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
#[derive(Clone)]
pub struct Backend {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub mailer: mail::Mailer,
    pub sms: sms::SmsSender,
    pub passwords: auth::password::PasswordHasher,
    pub settings: Arc<Settings>,
    /// Change signals for the open `/api/events` streams.
    pub live: sync::live::Live,
    /// Seals the secrets the server must read back (`sealed`).
    pub keys: Arc<sealed::Keyring>,
}
