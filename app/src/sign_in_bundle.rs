//! The sign-in pages' own bundle. These are the pages most people load
//! first, often on a phone, so they do not wait for the console's code:
//! the server renders [`SignInApp`] for the [`SignInPage`]s and links the
//! `atrium-signin` bundle (one small WASM module, built from `frontend`
//! with its `signin` feature), which hydrates the same component. Every
//! other page is the console's [`crate::App`].
//!
//! [`SignInApp`] has no router: it draws the one page its address names,
//! and every link or redirect, to another sign-in page or to the console,
//! is a full page load. Between sign-in pages that costs the page's HTML
//! only (the module is cached under its hashed name), and it keeps
//! `leptos_router` out of the module. Pages read their address's query
//! with [`query_value`], which is the router's in the console.

use leptos::prelude::*;

use crate::auth::pages::{
    ForgotPasswordPage, LoginPage, LoginVerifyPage, ResetPasswordPage, SignUpPage, VerifyEmailPage,
};

/// The output name of the sign-in bundle (`Cargo.toml`'s second
/// `[[workspace.metadata.leptos]]` project).
pub const OUTPUT_NAME: &str = "atrium-signin";

/// The pages [`SignInApp`] draws. A page here is drawn by a `match`, so a
/// path can be neither served without a page nor drawn without a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInPage {
    Login,
    LoginVerify,
    SignUp,
    VerifyEmail,
    ForgotPassword,
    ResetPassword,
}

impl SignInPage {
    pub const ALL: [SignInPage; 6] = [
        SignInPage::Login,
        SignInPage::LoginVerify,
        SignInPage::SignUp,
        SignInPage::VerifyEmail,
        SignInPage::ForgotPassword,
        SignInPage::ResetPassword,
    ];

    /// The page's path, exactly as the server's routes match it.
    pub fn path(self) -> &'static str {
        match self {
            SignInPage::Login => "/login",
            SignInPage::LoginVerify => "/login/verify",
            SignInPage::SignUp => "/signup",
            SignInPage::VerifyEmail => "/verify-email",
            SignInPage::ForgotPassword => "/forgot-password",
            SignInPage::ResetPassword => "/reset-password",
        }
    }

    /// The sign-in page at exactly `path`, if any.
    pub fn at(path: &str) -> Option<SignInPage> {
        SignInPage::ALL.into_iter().find(|page| page.path() == path)
    }
}

/// Whether the page at `path` is one of the sign-in bundle's.
pub fn is_sign_in_path(path: &str) -> bool {
    SignInPage::at(path).is_some()
}

/// The address of a sign-in page: which page, and its query. It is read
/// once: a sign-in page changes address only by a full page load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInAddress {
    pub page: SignInPage,
    query: String,
}

impl SignInAddress {
    /// The address `path?query` (`query` without its `?`), on a sign-in
    /// page.
    pub fn new(path: &str, query: &str) -> Option<SignInAddress> {
        let page = SignInPage::at(path)?;
        Some(SignInAddress {
            page,
            query: query.to_string(),
        })
    }

    /// The address being rendered: the request's on the server, the
    /// document's in the browser; `None` off the sign-in pages.
    pub fn here() -> Option<SignInAddress> {
        #[cfg(feature = "ssr")]
        {
            let parts = use_context::<axum::http::request::Parts>()?;
            SignInAddress::new(parts.uri.path(), parts.uri.query().unwrap_or_default())
        }
        // `location.search` starts with the `?` that `Uri::query` leaves out.
        #[cfg(not(feature = "ssr"))]
        {
            let search = crate::dom::current_search();
            let query = search.strip_prefix('?').unwrap_or(&search);
            SignInAddress::new(&crate::dom::current_path(), query)
        }
    }

    /// The last value of `name` in the query, decoded, as the router reads
    /// it (a refused form without JavaScript appends its error after any
    /// earlier one).
    pub fn value(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .filter(|(key, _)| key == name)
            .last()
            .map(|(_, value)| value.into_owned())
    }
}

/// A value from the page address's query: on a sign-in page drawn by
/// [`SignInApp`], its address's; in the console, the router's (it follows
/// navigation in the page).
pub fn query_value(name: &'static str) -> Signal<Option<String>> {
    if let Some(address) = use_context::<SignInAddress>() {
        return Signal::stored(address.value(name));
    }
    #[cfg(not(feature = "signin"))]
    {
        let query = leptos_router::hooks::use_query_map();
        Signal::derive(move || query.with(|q| q.get(name)))
    }
    // The sign-in bundle draws only SignInApp, which provides its address.
    #[cfg(feature = "signin")]
    Signal::stored(None)
}

/// The sign-in bundle's file names under `/pkg`. The server provides them
/// in context when that bundle was built; without them the sign-in pages
/// are served without JavaScript (they work as plain forms), since the
/// console's bundle holds none of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInFiles {
    pub js: String,
    pub wasm: String,
}

/// On a sign-in page, its address and the bundle's files (when the server
/// has them); `None` on any other page.
pub fn for_this_page() -> Option<(Option<SignInFiles>, SignInAddress)> {
    #[cfg(feature = "ssr")]
    {
        SignInAddress::here().map(|address| (use_context::<SignInFiles>(), address))
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

/// The sign-in page at `address`, with nothing of the signed-in console
/// and no router.
#[component]
pub fn SignInApp(address: SignInAddress) -> impl IntoView {
    // A server function's redirect: a full page load, to a sign-in page
    // (this module, cached) or to the console (its own bundle).
    #[cfg(feature = "hydrate")]
    let _ = leptos::server_fn::redirect::set_redirect_hook(crate::dom::go_to);
    // Runs only in the browser, once the page has hydrated.
    Effect::new(move |_| {
        crate::mark_hydrated();
        crate::dom::register_service_worker("/sw.js");
    });
    // Without JavaScript a refused form comes back to its page with the
    // error in the address (`__err`, for the server function at `__path`),
    // which the router would otherwise hand to the page's actions.
    if let (Some(path), Some(error)) = (address.value("__path"), address.value("__err")) {
        provide_context(leptos::server::ServerActionError::new(&path, &error));
    }
    let page = address.page;
    provide_context(address);
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        {match page {
            SignInPage::Login => view! { <LoginPage/> }.into_any(),
            SignInPage::LoginVerify => view! { <LoginVerifyPage/> }.into_any(),
            SignInPage::SignUp => view! { <SignUpPage/> }.into_any(),
            SignInPage::VerifyEmail => view! { <VerifyEmailPage/> }.into_any(),
            SignInPage::ForgotPassword => view! { <ForgotPasswordPage/> }.into_any(),
            SignInPage::ResetPassword => view! { <ResetPasswordPage/> }.into_any(),
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_paths_are_matched_exactly() {
        assert_eq!(SignInPage::at("/login"), Some(SignInPage::Login));
        assert_eq!(
            SignInPage::at("/login/verify"),
            Some(SignInPage::LoginVerify)
        );
        assert!(is_sign_in_path("/reset-password"));
        assert!(!is_sign_in_path("/login/"));
        assert!(!is_sign_in_path("/profile"));
        assert!(!is_sign_in_path("/contact"));
        assert!(!is_sign_in_path("/"));
        for page in SignInPage::ALL {
            assert_eq!(SignInPage::at(page.path()), Some(page));
        }
    }

    #[test]
    fn an_address_gives_its_query_values_decoded() {
        let address = SignInAddress::new("/reset-password", "token=a%2Bb&sent=09%3A30&x=3&x=1+2")
            .expect("a sign-in page");
        assert_eq!(address.page, SignInPage::ResetPassword);
        assert_eq!(address.value("token").as_deref(), Some("a+b"));
        assert_eq!(address.value("sent").as_deref(), Some("09:30"));
        assert_eq!(address.value("x").as_deref(), Some("1 2"));
        // A second `?` is part of the query, as on the server.
        let odd = SignInAddress::new("/login", "?password=changed").expect("a sign-in page");
        assert_eq!(odd.value("password"), None);
        assert_eq!(odd.value("?password").as_deref(), Some("changed"));
        assert_eq!(address.value("missing"), None);
        assert_eq!(SignInAddress::new("/profile", "a=1"), None);
        assert_eq!(
            SignInAddress::new("/login", "").and_then(|a| a.value("password")),
            None
        );
    }
}
