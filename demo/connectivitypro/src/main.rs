//! ConnectivityPro: a sister platform that signs people in through Atrium.
//! It is an OpenID Connect relying party built on the `openidconnect` crate
//! (none of Atrium's code), keeps its own copy of each person in SQLite,
//! shows them in its top bar with their Atrium picture and a link to
//! Atrium's My Profile, signs them out when Atrium says so on the back
//! channel, and keeps its copy current from Atrium's signed webhooks
//! (verified with the `standardwebhooks` crate, not Atrium's code). A demo
//! for README and the end-to-end tests, not shipped.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use clap::Parser;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
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

async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Some(p) => {
            let avatar = match &p.picture {
                Some(url) => format!("<img src=\"{}\" alt=\"\" width=\"32\" height=\"32\">", escape(url)),
                None => String::new(),
            };
            let bar = format!(
                "<nav aria-label=\"Account\">{avatar} <span id=\"person\">{}</span> \
                 <a href=\"{}/profile\">Manage your profile</a> <a href=\"/logout\">Sign out</a></nav>",
                escape(&p.name),
                escape(&state.issuer)
            );
            let body = format!(
                "<h1>Welcome, {}</h1><p>Signed in with Atrium as {}.</p>",
                escape(&p.name),
                escape(p.email.as_deref().unwrap_or("(no email shared)"))
            );
            page(&bar, &body).into_response()
        }
        None => page(
            "",
            "<h1>Network monitoring for your sites</h1><p><a href=\"/login\">Sign in with Atrium</a></p>",
        )
        .into_response(),
    }
}

async fn login(State(state): State<AppState>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = state
        .rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let saved = sqlx::query("INSERT INTO pending (state, nonce, verifier) VALUES (?, ?, ?)")
        .bind(csrf.secret())
        .bind(nonce.secret())
        .bind(verifier.secret())
        .execute(&state.db)
        .await;
    match saved {
        Ok(_) => (
            [(
                header::SET_COOKIE,
                format!(
                    "{LOGIN_COOKIE}={}; Path=/callback; HttpOnly; SameSite=Lax; Max-Age=600",
                    csrf.secret()
                ),
            )],
            Redirect::to(url.as_str()),
        )
            .into_response(),
        Err(e) => failure(&format!("could not start the sign-in: {e}")),
    }
}

fn failure(message: &str) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        page(
            "",
            &format!(
                "<h1>Sign-in failed</h1><p role=\"alert\">{}</p><p><a href=\"/\">Back</a></p>",
                escape(message)
            ),
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    if let Some(error) = q.error {
        return failure(&format!(
            "Atrium answered {error}: {}",
            q.error_description.unwrap_or_default()
        ));
    }
    let (Some(code), Some(csrf)) = (q.code, q.state) else {
        return failure("The answer from Atrium is missing its code or state.");
    };
    if cookie(&headers, LOGIN_COOKIE).as_deref() != Some(csrf.as_str()) {
        return failure("This sign-in was started in another browser.");
    }
    let pending: Option<(String, String)> =
        sqlx::query_as("DELETE FROM pending WHERE state = ? RETURNING nonce, verifier")
            .bind(&csrf)
            .fetch_optional(&state.db)
            .await
            .ok()
            .flatten();
    let Some((nonce, verifier)) = pending else {
        return failure("This sign-in was not started here, or was already finished.");
    };
    let request = match state.rp.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(e) => return failure(&e.to_string()),
    };
    let tokens = match request
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&state.http)
        .await
    {
        Ok(t) => t,
        Err(e) => return failure(&format!("the code exchange failed: {e}")),
    };
    let Some(id_token) = tokens.id_token() else {
        return failure("Atrium sent no ID token.");
    };
    let claims = match id_token.claims(&state.rp.id_token_verifier(), &Nonce::new(nonce)) {
        Ok(c) => c.clone(),
        Err(e) => return failure(&format!("the ID token is not valid: {e}")),
    };
    let sub = claims.subject().as_str().to_string();
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string())
        .unwrap_or_else(|| sub.clone());
    let email = claims.email().map(|e| e.as_str().to_string());
    let picture = claims
        .picture()
        .and_then(|p| p.get(None))
        .map(|p| p.as_str().to_string());
    let sid = unverified_claim(&id_token.to_string(), "sid");
    let session = random_id();
    let stored = async {
        sqlx::query(
            "INSERT INTO person (sub, name, email, picture, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (sub) DO UPDATE SET name = excluded.name, email = excluded.email,
                 picture = excluded.picture, updated_at = excluded.updated_at",
        )
        .bind(&sub)
        .bind(&name)
        .bind(&email)
        .bind(&picture)
        .bind(claims.updated_at().map(|t| t.timestamp()))
        .execute(&state.db)
        .await?;
        sqlx::query("INSERT INTO session (id, sub, atrium_sid, id_token) VALUES (?, ?, ?, ?)")
            .bind(&session)
            .bind(&sub)
            .bind(&sid)
            .bind(id_token.to_string())
            .execute(&state.db)
            .await
    };
    if let Err(e) = stored.await {
        return failure(&format!("could not save the sign-in: {e}"));
    }
    let cookie = format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// A claim of a JWT whose signature was already checked.
fn unverified_claim(jwt: &str, name: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(name)?.as_str().map(str::to_string)
}

/// Signs out here, then at Atrium (RP-initiated logout), and comes back.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(id) = session_id(&headers) else {
        return Redirect::to("/").into_response();
    };
    let id_token: Option<(String,)> =
        sqlx::query_as("DELETE FROM session WHERE id = ? RETURNING id_token")
            .bind(&id)
            .fetch_optional(&state.db)
            .await
            .ok()
            .flatten();
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    let Some((id_token,)) = id_token else {
        return ([(header::SET_COOKIE, clear)], Redirect::to("/")).into_response();
    };
    let mut url = match reqwest::Url::parse(&format!("{}/oauth/logout", state.issuer)) {
        Ok(u) => u,
        Err(e) => return failure(&e.to_string()),
    };
    url.query_pairs_mut()
        .append_pair("id_token_hint", &id_token)
        .append_pair(
            "post_logout_redirect_uri",
            &format!("{}/", state.public_url),
        );
    ([(header::SET_COOKIE, clear)], Redirect::to(url.as_str())).into_response()
}

#[derive(Deserialize)]
struct LogoutForm {
    logout_token: String,
}

/// Back-Channel Logout 1.0 §2.6: validate the logout token against Atrium's
/// JWKS, then end the sessions it names.
async fn backchannel_logout(
    State(state): State<AppState>,
    Form(form): Form<LogoutForm>,
) -> Response {
    match verify_logout_token(&state, &form.logout_token).await {
        Ok((sub, sid)) => {
            let ended = match &sid {
                Some(sid) => {
                    sqlx::query("DELETE FROM session WHERE sub = ? AND atrium_sid = ?")
                        .bind(&sub)
                        .bind(sid)
                        .execute(&state.db)
                        .await
                }
                None => {
                    sqlx::query("DELETE FROM session WHERE sub = ?")
                        .bind(&sub)
                        .execute(&state.db)
                        .await
                }
            };
            match ended {
                Ok(r) => {
                    tracing::info!(sessions = r.rows_affected(), "signed out by Atrium");
                    ([(header::CACHE_CONTROL, "no-store")], StatusCode::OK).into_response()
                }
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            }
        }
        Err(why) => (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "error": "invalid_request", "error_description": why })),
        )
            .into_response(),
    }
}

async fn verify_logout_token(
    state: &AppState,
    token: &str,
) -> Result<(String, Option<String>), String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("the logout token names no key")?;
    let jwks: jsonwebtoken::jwk::JwkSet = state
        .http
        .get(format!("{}/oauth/jwks", state.issuer))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let jwk = jwks
        .find(&kid)
        .ok_or("the logout token's key is not published")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[state.client_id.as_str()]);
    validation.set_issuer(&[state.issuer.as_str()]);
    validation.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    if claims
        .get("events")
        .and_then(|e| e.get("http://schemas.openid.net/event/backchannel-logout"))
        .is_none()
    {
        return Err("not a back-channel logout event".into());
    }
    if claims.get("nonce").is_some() {
        return Err("a logout token must not carry a nonce".into());
    }
    let sub = claims
        .get("sub")
        .and_then(|s| s.as_str())
        .ok_or("the logout token names nobody")?
        .to_string();
    let sid = claims
        .get("sid")
        .and_then(|s| s.as_str())
        .map(str::to_string);
    Ok((sub, sid))
}

/// Atrium's change events (Standard Webhooks). The signature and timestamp
/// are checked by the `standardwebhooks` crate (stale or future timestamps,
/// over 5 minutes, are refused); a webhook-id seen before is acknowledged
/// and not applied again; an event older than the copy (by version) is
/// acknowledged and ignored.
async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: String) -> StatusCode {
    let Some(verifier) = &state.webhooks else {
        return StatusCode::NOT_FOUND;
    };
    if let Err(e) = verifier.verify(body.as_bytes(), &headers) {
        tracing::warn!(error = ?e, "webhook refused");
        return StatusCode::UNAUTHORIZED;
    }
    let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(event) = serde_json::from_str::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let data = &event["data"];
    let (Some(sub), Some(version)) = (data["sub"].as_str(), data["version"].as_i64()) else {
        return StatusCode::BAD_REQUEST;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let applied = async {
        let mut tx = state.db.begin().await?;
        let first = sqlx::query(
            "INSERT INTO webhook_seen (id, received_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if first.rows_affected() == 0 {
            return Ok::<_, sqlx::Error>(false);
        }
        let claims = &data["claims"];
        let text = |name: &str| claims.get(name).map(|v| v.as_str().map(str::to_string));
        // Only the claims the event carries change; a null clears.
        let mut sets = Vec::new();
        let mut values: Vec<Option<String>> = Vec::new();
        for (claim, column) in [("name", "name"), ("email", "email"), ("picture", "picture")] {
            if let Some(v) = text(claim) {
                if column == "name" && v.is_none() {
                    continue;
                }
                sets.push(format!("{column} = ?"));
                values.push(v);
            }
        }
        sets.push("version = ?".into());
        let sql = format!(
            "UPDATE person SET {} WHERE sub = ? AND version < ?",
            sets.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for v in values {
            q = q.bind(v);
        }
        q.bind(version)
            .bind(sub)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    };
    match applied.await {
        Ok(true) => {
            tracing::info!(event_type = %event["type"], version, "webhook applied");
            StatusCode::NO_CONTENT
        }
        Ok(false) => StatusCode::NO_CONTENT,
        Err(e) => {
            tracing::error!(error = %e, "webhook not stored");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
