//! What every handler shares: the backend, Leptos's options and HTTP settings.

use axum::extract::FromRef;
use backend::Backend;
use leptos::config::LeptosOptions;

use app::ssr::CookieSettings;

#[derive(Clone)]
pub struct AppState {
    pub backend: Backend,
    pub leptos_options: LeptosOptions,
    pub cookies: CookieSettings,
    /// scheme://host[:port] of PUBLIC_URL, for the cross-origin check.
    pub public_origin: String,
    pub trust_proxy_headers: bool,
    /// `/sw.js` with this build's file names, when the site has one.
    pub service_worker: Option<std::sync::Arc<str>>,
    /// The sign-in pages' own bundle, when the site has it.
    pub sign_in_files: Option<app::sign_in_bundle::SignInFiles>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
