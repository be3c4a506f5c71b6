//! The Atrium server: builds the backend from the configuration and the
//! axum router around the Leptos app. `main.rs` only parses, logs and serves.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod config;
pub mod http;
pub mod state;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use app::sign_in_bundle::SignInPage;
use app::ssr::CookieSettings;
use app::{shell, App};
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;
use backend::auth::password::{HashCost, PasswordHasher};
use backend::{Backend, Clock, Db, Settings};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use leptos_router::{Method, SsrMode};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use config::{Command, Config, PasswordHashing};
pub use state::AppState;

/// Connects storage and mail as configured. `clock` is the system clock in
/// production and a test clock in tests.
pub async fn build_backend(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<Backend, backend::Error> {
    let db = Db::connect(&config.database_url, config.database_max_connections).await?;
    let mailer = match &config.smtp_url {
        Some(url) => backend::mail::Mailer::smtp(url, &config.mail_from)?,
        None => backend::mail::Mailer::outbox(&config.mail_outbox_dir, &config.mail_from)?,
    };
    let sms =
        match (
            &config.sms_account_sid,
            &config.sms_auth_token,
            &config.sms_from,
        ) {
            (Some(sid), Some(token), Some(from)) => {
                backend::sms::SmsSender::http(&config.sms_api_url, sid, token, from)
            }
            (None, None, None) => backend::sms::SmsSender::outbox(&config.sms_outbox_dir)?,
            _ => return Err(backend::Error::Internal(
                "SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM go together: set all three or none"
                    .into(),
            )),
        };
    let cost = match config.password_hashing {
        PasswordHashing::Owasp => HashCost::Owasp,
        PasswordHashing::InsecureMinimal => HashCost::Minimal,
    };
    let passwords = PasswordHasher::new(cost, config.max_concurrent_hashes);
    // Compute the dummy hash now, so the first unknown-email sign-in costs no
    // more than any other.
    passwords
        .verify_dummy(&backend::secret::Password::new("warm-up"))
        .await?;
    let keys = Arc::new(backend::sealed::Keyring::load_or_create(
        &config.secret_key_file,
    )?);
    let settings = Settings {
        public_url: config.public_url(),
        product_name: "Atrium".into(),
        session_idle_timeout: Duration::from_secs(config.session_idle_timeout_minutes * 60),
        session_absolute_lifetime: Duration::from_secs(
            config.session_absolute_lifetime_hours * 3600,
        ),
        verification_link_lifetime: Duration::from_secs(24 * 3600),
        sms_regions: config
            .sms_regions
            .iter()
            .map(|r| r.trim().to_uppercase())
            .collect(),
        webhook_lease: Duration::from_secs(config.webhook_lease_secs),
        sign_ups_per_hour: config.sign_ups_per_hour,
        sms_per_hour: config.sms_per_hour,
    };
    let backend = Backend::new(db, clock, mailer, sms, passwords, settings, keys);
    // Secrets stored before sealing, or under a key since rotated.
    backend.reseal_secrets().await?;
    Ok(backend)
}

pub fn app_state(config: &Config, backend: Backend) -> AppState {
    let output_name = option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("atrium");
    // Content-hashed names when cargo-leptos wrote its hash file beside this
    // binary (`hash-files`); Leptos then links the hashed files.
    let assets = http::assets::SiteAssets::load(
        output_name,
        http::assets::SiteAssets::hash_file("hash.txt").as_deref(),
    );
    let sign_in_files = http::assets::sign_in_files(
        &config.site_root,
        http::assets::SiteAssets::hash_file(http::assets::SIGN_IN_HASH_FILE).as_deref(),
    );
    let service_worker =
        http::assets::render_service_worker(&config.site_root, &assets, sign_in_files.as_ref());
    let leptos_options = LeptosOptions::builder()
        .output_name(output_name)
        .hash_files(assets.hashed)
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build();
    let public_url = config.public_url();
    let public_origin = url::Url::parse(&public_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or(public_url);
    AppState {
        cookies: CookieSettings {
            secure: config.https(),
            max_age_secs: config.session_absolute_lifetime_hours * 3600,
        },
        backend,
        leptos_options,
        public_origin,
        trust_proxy_headers: config.trust_proxy_headers,
        service_worker,
        sign_in_files,
    }
}

/// Puts what server functions and pages need into Leptos's context.
fn provide_app_context(state: &AppState) {
    provide_context(state.backend.clone());
    provide_context(state.cookies.clone());
    if let Some(files) = &state.sign_in_files {
        provide_context(files.clone());
    }
}

/// Leptos's list of the app's routes, generated once per process.
/// Generating it renders the app with resource loading switched off for the
/// whole process (leptos_server's `SuppressResourceLoad`, leptos#4773): a
/// page rendering on another thread meanwhile can wait forever on a
/// resource that first polls then. The server builds its router once,
/// before it serves; the tests build one per test while others serve
/// pages, which hung a test in CI until the list was generated only once.
/// With it, the sign-in pages: not the console's routes (the console's
/// bundle holds none of their code), drawn by the shell with their own bundle.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES
        .get_or_init(|| {
            let mut routes = generate_route_list(App);
            routes.extend(SignInPage::ALL.map(|page| {
                AxumRouteListing::new(page.path().to_string(), SsrMode::Async, [Method::Get], [])
            }));
            routes
        })
        .clone()
}

pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let options = state.leptos_options.clone();
    let context_state = state.clone();
    let site_root = std::path::PathBuf::from(&*options.site_root);
    let not_found = Router::new()
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state.clone());
    Router::new()
        .route("/healthz", get(http::healthz))
        .route("/sw.js", get(http::assets::service_worker))
        .nest("/pkg", http::assets::pkg_router(&site_root))
        .route(
            "/api/avatar",
            post(http::avatar::upload)
                .layer(DefaultBodyLimit::max(http::avatar::UPLOAD_BODY_LIMIT)),
        )
        .route("/api/avatar/original", get(http::avatar::original))
        .route("/api/events", get(http::events::events))
        .route("/avatars/{hash}/{size}", get(http::avatar::rendition))
        .merge(http::oidc::routes())
        .leptos_routes_with_context(&state, routes, move || provide_app_context(&context_state), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback_service(http::assets::public_files(&site_root, not_found))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::page_guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::resolve_session))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::api_guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::security_headers))
        // Pages and server-function answers, compressed on the fly at a fast
        // level. Precompressed files already carry Content-Encoding and are
        // left alone; images (the avatars) are never recompressed.
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .quality(CompressionLevel::Precise(4)),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::client_ip))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), %request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
