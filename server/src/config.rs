//! Configuration: every knob is a flag and an environment variable, parsed
//! once in `main` and kept in the state. `server --help` lists them all.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PasswordHashing {
    /// argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
    Owasp,
    /// The cheapest argon2id parameters. Only for automated tests.
    InsecureMinimal,
}

#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "atrium",
    version,
    about = "Atrium: the self-service account console"
)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub site_addr: SocketAddr,

    /// Folder with the built site (the WASM bundle, CSS and public assets).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// The URL people use to reach Atrium, for links in mail and the
    /// cross-origin check. An https:// URL turns on Secure, __Host- cookies.
    /// Defaults to http://<site-addr>.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// sqlite://path/to/file.db (created if missing) or postgres://user@host/db.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/atrium.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Most database connections held open at once.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// SMTP relay, e.g. smtps://user:pass@mail.example.com:465 or
    /// smtp://mail.example.com:587?tls=required (STARTTLS). When unset, mail
    /// is written to MAIL_OUTBOX_DIR instead.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Folder that receives one .eml file per message when SMTP_URL is unset.
    #[arg(long, env = "MAIL_OUTBOX_DIR", default_value = "data/outbox")]
    pub mail_outbox_dir: PathBuf,

    /// Sender of every mail.
    #[arg(long, env = "MAIL_FROM", default_value = "Atrium <no-reply@localhost>")]
    pub mail_from: String,

    /// Regions (ISO 3166 codes, comma-separated) whose phone numbers may get
    /// sign-in codes by text message.
    #[arg(
        long,
        env = "SMS_REGIONS",
        value_delimiter = ',',
        default_value = "US,CA,GB"
    )]
    pub sms_regions: Vec<String>,

    /// Seconds a webhook delivery stays claimed by the process sending it;
    /// if that process dies, another (or the restarted one) retries it
    /// after this long. Keep it above the 10 s a platform has to answer, or
    /// a slow answer is sent twice (receivers drop repeats by webhook-id).
    #[arg(long, env = "WEBHOOK_LEASE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_lease_secs: u64,

    /// New users allowed per network (IPv4 address or IPv6 /64) per hour.
    #[arg(long, env = "SIGN_UPS_PER_HOUR", default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..))]
    pub sign_ups_per_hour: i64,

    /// The keys that seal authenticator secrets in the database, one per
    /// line, the first sealing. Made (mode 0600) on first start when
    /// absent; back it up with the database. `secret-key rotate` adds a key.
    #[arg(long, env = "SECRET_KEY_FILE", default_value = "data/secret.key")]
    pub secret_key_file: PathBuf,

    /// Text messages sent per hour in all, whoever they are for: a cap on
    /// what toll fraud can cost. Each person and each number may get 10 an hour.
    #[arg(long, env = "SMS_PER_HOUR", default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
    pub sms_per_hour: i64,

    /// Folder that receives one file per text message when no SMS provider is set.
    #[arg(long, env = "SMS_OUTBOX_DIR", default_value = "data/sms-outbox")]
    pub sms_outbox_dir: PathBuf,

    /// Account SID of a Twilio-compatible Messages API; setting it sends real text messages.
    #[arg(long, env = "SMS_ACCOUNT_SID")]
    pub sms_account_sid: Option<String>,

    /// Auth token of the Messages API account.
    #[arg(long, env = "SMS_AUTH_TOKEN", hide_env_values = true)]
    pub sms_auth_token: Option<String>,

    /// Sender number (E.164) for text messages.
    #[arg(long, env = "SMS_FROM")]
    pub sms_from: Option<String>,

    /// Base URL of the Messages API.
    #[arg(long, env = "SMS_API_URL", default_value = "https://api.twilio.com")]
    pub sms_api_url: String,

    /// A session ends after this many minutes without a request.
    #[arg(long, env = "SESSION_IDLE_TIMEOUT_MINUTES", default_value_t = 30)]
    pub session_idle_timeout_minutes: u64,

    /// A session ends this many hours after sign-in, however active.
    #[arg(long, env = "SESSION_ABSOLUTE_LIFETIME_HOURS", default_value_t = 12)]
    pub session_absolute_lifetime_hours: u64,

    /// Password hashing cost.
    #[arg(long, env = "PASSWORD_HASHING", value_enum, default_value = "owasp")]
    pub password_hashing: PasswordHashing,

    /// Password hashes computed at once (each takes a blocking thread and 19 MiB).
    #[arg(long, env = "MAX_CONCURRENT_HASHES", default_value_t = 2)]
    pub max_concurrent_hashes: usize,

    /// Take the client IP from the last X-Forwarded-For entry (set it only
    /// behind a reverse proxy that appends that header).
    #[arg(long, env = "TRUST_PROXY_HEADERS", default_value_t = false)]
    pub trust_proxy_headers: bool,

    /// Log filter, e.g. info, debug, or atrium=debug,sqlx=warn.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Without a command, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Administrative commands, run against the configured database.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Give the global Support role (the `/support` console) to the person
    /// who signs in with EMAIL. Nobody can grant it from the web.
    GrantSupport {
        /// The email address the person signs in with.
        email: String,
    },
    /// Register, list and remove the platforms (OpenID Connect clients)
    /// that sign people in through Atrium.
    Platform {
        #[command(subcommand)]
        command: PlatformCommand,
    },
    /// The keys that sign ID tokens.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The key file that seals authenticator secrets (SECRET_KEY_FILE).
    SecretKey {
        #[command(subcommand)]
        command: SecretKeyCommand,
    },
}

#[derive(Clone, Debug, clap::Subcommand)]
pub enum SecretKeyCommand {
    /// Adds a new key that seals from now on, re-seals every stored secret
    /// under it, and drops older keys that nothing uses any more. Servers
    /// sharing the file pick the new key up by themselves.
    Rotate,
}

#[derive(Clone, Debug, clap::Subcommand)]
pub enum PlatformCommand {
    /// Registers a platform and prints it as one JSON object, with its
    /// client_id and client_secret (shown this once).
    Add {
        /// The name people see: "Sign in to continue to NAME".
        #[arg(long)]
        name: String,
        /// Where Atrium may send the person back with a code (exact match;
        /// https, or http on localhost). Repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where the platform may ask to land after signing out. Repeatable.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Receives a signed logout token when a session that signed in to
        /// the platform ends (Back-Channel Logout 1.0).
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// Receives the change events of the people who use the platform,
        /// signed in the Standard Webhooks format with the `webhook_secret`
        /// printed (shown this once).
        #[arg(long)]
        webhook_url: Option<String>,
    },
    /// Prints the registered platforms as a JSON array (no secrets).
    List,
    /// Removes a platform and every code and token issued to it.
    Remove { client_id: String },
    /// Prints, as a JSON array, the platform's webhook deliveries that have
    /// not succeeded: pending, retrying (with the last error) and dead.
    Deliveries { client_id: String },
    /// Queues an event again, at once, for every platform it did not reach.
    Redeliver { event_id: String },
}

#[derive(Clone, Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Publishes a new signing key, which signs once platforms' cached JWKS
    /// copies have expired (6 minutes); the old key stays published for 30
    /// days so that its ID tokens still work as sign-out hints.
    Rotate {
        /// Sign with the new key at once (the old one leaked).
        #[arg(long)]
        now: bool,
    },
}

impl Config {
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.site_addr))
            .trim_end_matches('/')
            .to_string()
    }

    pub fn https(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}
