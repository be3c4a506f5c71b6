//! The sign-in pages' own bundle. These are the pages most people load
//! first, often on a phone, so they do not wait for the console's code:
//! the server renders [`SignInApp`] for [`SIGN_IN_PATHS`] and links the
//! `atrium-signin` bundle (one small WASM module, built from `frontend`
//! with its `signin` feature), which hydrates the same component. Every
//! other page is the console's [`crate::App`]. A link or a redirect from a
//! sign-in page to any other page is a full page load, which brings the
//! console's bundle: a server function's redirect goes through
//! [`follow_redirect`], links to console pages carry `rel="external"`, and
//! anything else the router would match lands on [`ElsewhereInAtrium`].

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::{path, SsrMode};

use crate::auth::pages::{
    ForgotPasswordPage, LoginPage, LoginVerifyPage, ResetPasswordPage, SignUpPage, VerifyEmailPage,
};
use crate::ui::Loading;

/// The output name of the sign-in bundle (`Cargo.toml`'s second
/// `[[workspace.metadata.leptos]]` project).
pub const OUTPUT_NAME: &str = "atrium-signin";

/// The paths [`SignInApp`] serves, exactly as the server's routes match them.
pub const SIGN_IN_PATHS: [&str; 6] = [
    "/login",
    "/login/verify",
    "/signup",
    "/verify-email",
    "/forgot-password",
    "/reset-password",
];

/// Whether the page at `path` is one of the sign-in bundle's.
pub fn is_sign_in_path(path: &str) -> bool {
    SIGN_IN_PATHS.contains(&path)
}

/// The sign-in bundle's file names under `/pkg`. The server provides them
/// in context when that bundle was built; without them every page is the
/// console's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInFiles {
    pub js: String,
    pub wasm: String,
}

/// The sign-in bundle for the page being rendered: present on a sign-in
/// path when the server has the bundle.
pub fn for_this_page() -> Option<SignInFiles> {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>()
            .filter(|parts| is_sign_in_path(parts.uri.path()))
            .and_then(|_| use_context::<SignInFiles>())
    }
    #[cfg(not(feature = "ssr"))]
    None
}

/// What [`leptos::prelude::HydrationScripts`] writes for the console,
/// for the sign-in bundle: fetch its script and WASM early, then hydrate.
#[component]
pub fn SignInScripts(files: SignInFiles) -> impl IntoView {
    let nonce = leptos::nonce::use_nonce();
    let js = format!("/pkg/{}", files.js);
    let wasm = format!("/pkg/{}", files.wasm);
    let script = format!(
        "import({js:?}).then(m => m.default({{module_or_path: {wasm:?}}}).then(() => m.hydrate()));"
    );
    view! {
        <link rel="modulepreload" href=js/>
        // As wasm-bindgen's `fetch` asks for it, so the preload is reused.
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin="anonymous"/>
        <script type="module" nonce=nonce>{script}</script>
    }
}

/// The sign-in pages, with nothing of the signed-in console.
#[component]
pub fn SignInApp() -> impl IntoView {
    provide_meta_context();
    // Before the router, which would otherwise take the hook for itself.
    #[cfg(feature = "hydrate")]
    let _ = leptos::server_fn::redirect::set_redirect_hook(follow_redirect);
    // Runs only in the browser, once the page has hydrated.
    Effect::new(move |_| {
        crate::mark_hydrated();
        crate::dom::register_service_worker("/sw.js");
    });
    view! {
        <Title text="Atrium"/>
        <a class="skip-link" href="#main">"Skip to content"</a>
        <Router>
            <KeepNavigate/>
            <Routes fallback=ElsewhereInAtrium>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/login/verify") view=LoginVerifyPage ssr=SsrMode::Async/>
                <Route path=path!("/signup") view=SignUpPage ssr=SsrMode::Async/>
                <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async/>
                <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// The router's navigation to an address.
type Navigate = Box<dyn Fn(&str)>;

thread_local! {
    /// The router's navigation, for redirects between sign-in pages.
    static NAVIGATE: std::cell::RefCell<Option<Navigate>> = const { std::cell::RefCell::new(None) };
}

/// Keeps the router's navigation for [`follow_redirect`] (nothing to render).
#[component]
fn KeepNavigate() -> impl IntoView {
    // In the browser only: on the server it would keep a request's router
    // (and the token in its address) in the worker thread.
    #[cfg(feature = "hydrate")]
    {
        let navigate = leptos_router::hooks::use_navigate();
        NAVIGATE.with(|n| {
            *n.borrow_mut() = Some(Box::new(move |url| navigate(url, Default::default())))
        });
    }
}

/// A server function's redirect: to another sign-in page, in the page
/// through the router (a tick later, as the router does, so the action's
/// value lands first); to any other page, a full page load, so the console
/// comes with its own bundle and the address bar never shows a page this
/// bundle cannot draw.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn follow_redirect(url: &str) {
    let url = url.to_string();
    if is_sign_in_path(path_of(&url)) {
        crate::dom::after(0, move || {
            NAVIGATE.with(|n| match n.borrow().as_ref() {
                Some(navigate) => navigate(&url),
                None => crate::dom::go_to(&url),
            })
        });
    } else {
        crate::dom::go_to(&url);
    }
}

/// The path of a same-site address (`/login/verify?resent=1` →
/// `/login/verify`); an address with an origin has none here.
fn path_of(url: &str) -> &str {
    if !url.starts_with('/') || url.starts_with("//") {
        return "";
    }
    url.split(['?', '#']).next().unwrap_or_default()
}

/// Any other page, reached by a link or a redirect from a sign-in page: a
/// full page load of that address (in place of the router's entry), which
/// the server answers with the console and its bundle. The server never
/// renders this: it serves [`SignInApp`] for its own paths only.
#[component]
fn ElsewhereInAtrium() -> impl IntoView {
    let location = use_location();
    Effect::new(move |_| {
        let url = address(
            &location.pathname.get_untracked(),
            &location.search.get_untracked(),
            &location.hash.get_untracked(),
        );
        crate::dom::load_in_place(&url);
    });
    view! {
        <main id="main" class="auth-page">
            <Loading/>
        </main>
    }
}

/// `path`, `search` and `hash` as one address, whether or not the last two
/// carry their `?` and `#`.
fn address(path: &str, search: &str, hash: &str) -> String {
    let mut url = path.to_string();
    for (part, mark) in [(search, '?'), (hash, '#')] {
        if !part.is_empty() {
            if !part.starts_with(mark) {
                url.push(mark);
            }
            url.push_str(part);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_paths_are_matched_exactly() {
        assert!(is_sign_in_path("/login"));
        assert!(is_sign_in_path("/login/verify"));
        assert!(is_sign_in_path("/reset-password"));
        assert!(!is_sign_in_path("/login/"));
        assert!(!is_sign_in_path("/profile"));
        assert!(!is_sign_in_path("/contact"));
        assert!(!is_sign_in_path("/"));
    }

    #[test]
    fn redirects_are_told_apart_by_their_path() {
        assert_eq!(path_of("/login/verify?resent=1"), "/login/verify");
        assert_eq!(path_of("/login#top"), "/login");
        assert_eq!(path_of("/profile"), "/profile");
        assert_eq!(path_of("https://example.org/login"), "");
        assert_eq!(path_of("//example.org/login"), "");
        assert!(is_sign_in_path(path_of("/login?password=changed")));
        assert!(!is_sign_in_path(path_of("/profile")));
    }

    #[test]
    fn an_address_joins_its_parts_once() {
        assert_eq!(address("/profile", "", ""), "/profile");
        assert_eq!(address("/profile", "a=1", ""), "/profile?a=1");
        assert_eq!(address("/profile", "?a=1", "#top"), "/profile?a=1#top");
        assert_eq!(address("/p", "", "top"), "/p#top");
    }
}
