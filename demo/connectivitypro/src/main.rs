//! ConnectivityPro: a sister platform that signs people in through Atrium.
//! It is an OpenID Connect relying party built on the `openidconnect` crate
//! (none of Atrium's code), keeps its own copy of each person in SQLite,
//! shows them in its top bar with their Atrium picture and a link to
//! Atrium's My Profile, signs them out when Atrium says so on the back
//! channel, and keeps its copy current from Atrium's signed webhooks
//! (verified with the `standardwebhooks` crate, not Atrium's code). A demo
//! for README and the end-to-end tests, not shipped.

#![deny(clippy::unwrap_used, clippy::expect_used)]
mod sign_in;
mod sign_out;
mod webhooks;

use sign_in::{callback, home, login};
use sign_out::{backchannel_logout, logout};
use webhooks::webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use axum::response::Html;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use clap::Parser;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, RedirectUrl,
};
use serde::Deserialize;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

#[derive(Parser, Debug)]
#[command(
    name = "connectivitypro",
    about = "A sister platform that signs in with Atrium"
)]
struct Config {
    /// Address to listen on.
    #[arg(long, env = "CP_ADDR", default_value = "127.0.0.1:4000")]
    addr: SocketAddr,
    /// Atrium's public URL (the OpenID Connect issuer).
    #[arg(long, env = "ATRIUM_URL", default_value = "http://127.0.0.1:3000")]
    atrium_url: String,
    /// The JSON that `server platform add` printed (client_id, client_secret).
    /// Waited for at start when it does not exist yet.
    #[arg(
        long,
        env = "CP_CREDENTIALS",
        default_value = "data/connectivitypro.json"
    )]
    credentials: PathBuf,
    /// ConnectivityPro's own database (its copy of each person, its sessions).
    #[arg(long, env = "CP_DATABASE", default_value = "data/connectivitypro.db")]
    database: PathBuf,
}

type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Clone)]
struct AppState {
    rp: Arc<Rp>,
    http: reqwest::Client,
    db: SqlitePool,
    issuer: String,
    client_id: String,
    public_url: String,
    webhooks: Option<Arc<standardwebhooks::Webhook>>,
}

#[derive(Deserialize)]
struct Credentials {
    client_id: String,
    client_secret: String,
    /// Present when the platform was registered with a webhook URL.
    #[serde(default)]
    webhook_secret: Option<String>,
}

const COOKIE: &str = "cp_session";

#[tokio::main]
async fn main() {
    let config = Config::parse();
    tracing_subscriber::fmt().with_env_filter("info").init();
    if let Err(e) = run(config).await {
        eprintln!("connectivitypro: {e}");
        std::process::exit(1);
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let credentials = wait_for_credentials(&config.credentials).await?;
    if let Some(dir) = config.database.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let db = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&config.database)
                .create_if_missing(true),
        )
        .await?;
    for statement in [
        "CREATE TABLE IF NOT EXISTS person (sub TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT, picture TEXT, updated_at INTEGER)",
        "CREATE TABLE IF NOT EXISTS session (id TEXT PRIMARY KEY, sub TEXT NOT NULL, atrium_sid TEXT, id_token TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS pending (state TEXT PRIMARY KEY, nonce TEXT NOT NULL, verifier TEXT NOT NULL)",
        // Webhook ids already applied: a replay changes nothing.
        "CREATE TABLE IF NOT EXISTS webhook_seen (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL)",
    ] {
        sqlx::query(statement).execute(&db).await?;
    }
    // The newest Atrium version applied to each person (older copies of
    // this file's database lack the column).
    let _ = sqlx::query("ALTER TABLE person ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
        .execute(&db)
        .await;
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()?;
    let issuer = config.atrium_url.trim_end_matches('/').to_string();
    let metadata = discover(&issuer, &http).await?;
    let public_url = format!("http://{}", config.addr);
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(credentials.client_id.clone()),
        Some(ClientSecret::new(credentials.client_secret)),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{public_url}/callback"))?);
    let webhooks = match &credentials.webhook_secret {
        Some(secret) => Some(Arc::new(standardwebhooks::Webhook::new(secret)?)),
        None => None,
    };
    let state = AppState {
        rp: Arc::new(rp),
        http,
        db,
        issuer,
        client_id: credentials.client_id,
        public_url,
        webhooks,
    };
    let app = Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", get(logout))
        .route("/backchannel-logout", post(backchannel_logout))
        .route("/webhooks", post(webhook))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    println!("ConnectivityPro is running at http://{}", config.addr);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Atrium may still be starting (or writing the credentials): try for a minute.
async fn wait_for_credentials(path: &PathBuf) -> Result<Credentials, Box<dyn std::error::Error>> {
    for _ in 0..120 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(c) = serde_json::from_str::<Credentials>(&text) {
                return Ok(c);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!(
        "no credentials in {} (run `server platform add` and save its output there)",
        path.display()
    )
    .into())
}

async fn discover(
    issuer: &str,
    http: &reqwest::Client,
) -> Result<CoreProviderMetadata, Box<dyn std::error::Error>> {
    let mut last = String::new();
    for _ in 0..120 {
        match CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_string())?, http).await
        {
            Ok(m) => return Ok(m),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("Atrium's discovery document is unreachable: {last}").into())
}

fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The browser that started a sign-in keeps its state in this cookie: an
/// answer arriving in another browser (login CSRF) is refused.
const LOGIN_COOKIE: &str = "cp_login";

struct Person {
    name: String,
    email: Option<String>,
    picture: Option<String>,
}

async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<Person> {
    let id = session_id(headers)?;
    let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT p.name, p.email, p.picture FROM session s JOIN person p ON p.sub = s.sub WHERE s.id = ?",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await
    .ok()?;
    row.map(|(name, email, picture)| Person {
        name,
        email,
        picture,
    })
}

fn page(top_bar: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>ConnectivityPro</title></head><body>\
         <header><strong>ConnectivityPro</strong> {top_bar}</header>\
         <main>{body}</main></body></html>"
    ))
}
