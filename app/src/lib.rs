//! Atrium's UI and server functions, shared by the server (feature `ssr`)
//! and the browser (feature `hydrate`).

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod accounts;
pub mod auth;
pub mod avatar;
pub mod dom;
pub mod error;
pub mod frame;
pub mod invitations;
pub mod load;
pub mod profile;
pub mod security;
pub mod sign_in_bundle;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod support;
pub mod ui;
pub mod wire;

use leptos::prelude::*;
use leptos_meta::HashedStylesheet;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
#[cfg(not(feature = "signin"))]
use leptos_router::lazy_route;
use leptos_router::{path, Lazy, LazyRoute, SsrMode};

use accounts::pages::{AccountPage, AccountsPage};
use frame::{PlainLayout, ProfileLayout};
use invitations::pages::InvitationsTab;
use profile::details::ProfileDetails;
use profile::pages::{Dashboard, SecurityTab};
use sign_in_bundle::{SignInApp, SignInScripts};
use support::held::SupportChangePage;
use support::pages::{
    ConfirmEmailChangePage, PublicContactPage, SupportConsole, SupportContactPage, SupportUserPage,
};

/// The HTML document around the app, rendered on the server only: the
/// console ([`App`]) or, on a sign-in page, [`SignInApp`] with its own
/// bundle.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(nonce) = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<ssr::CspNonce>().cloned())
    {
        // Hydration scripts carry this nonce; the CSP header names it.
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
    // The sign-in pages come with their own, smaller bundle.
    let sign_in = sign_in_bundle::for_this_page();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="theme-color" content="#3451b2"/>
                <meta name="description" content="Atrium: your account, your profile, your sign-in protection."/>
                // One title for every page, written here: with no
                // `leptos_meta::Title` in the pages, none of leptos_meta's
                // browser code is in the bundles.
                <title>"Atrium"</title>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="icon" href="/favicon.ico" sizes="any"/>
                <link rel="apple-touch-icon" href="/icons/icon-192.png"/>
                <HashedStylesheet id="leptos" options=options.clone()/>
                {match sign_in.clone() {
                    Some((Some(files), _)) => view! { <SignInScripts files/> }.into_any(),
                    // A site built without the sign-in bundle: the page
                    // works without JavaScript.
                    Some((None, _)) => ().into_any(),
                    None => view! { <HydrationScripts options/> }.into_any(),
                }}
            </head>
            <body>
                {match sign_in {
                    Some((_, address)) => view! { <SignInApp address/> }.into_any(),
                    None => view! { <App/> }.into_any(),
                }}
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    // Runs only in the browser: marks the page as interactive (end-to-end
    // tests wait for it; a lazy page marks itself once its own part has
    // hydrated) and registers the service worker.
    Effect::new(move |_| {
        let path = dom::current_path();
        if !LAZY_PATHS.iter().any(|p| lazy_path_matches(p, &path)) {
            mark_hydrated();
        }
        dom::register_service_worker("/sw.js");
    });
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/profile"/> }/>
                // No sign-in page (sign_in_bundle::SignInPage): the server
                // draws those with their own bundle; see NotFound.
                <Route path=path!("/confirm-email-change") view={Lazy::<ConfirmEmailChangePageRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/support-change") view={Lazy::<SupportChangePageRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/contact") view={Lazy::<PublicContactRoute>::new()}/>
                <ParentRoute path=path!("/profile") view=ProfileLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=Dashboard/>
                    <Route path=path!("details") view=ProfileDetails/>
                    <Route path=path!("security") view={Lazy::<SecurityRoute>::new()}/>
                    <Route path=path!("invitations") view={Lazy::<InvitationsRoute>::new()}/>
                </ParentRoute>
                <ParentRoute path=path!("/accounts") view=PlainLayout ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<AccountsRoute>::new()}/>
                    <Route path=path!(":id") view={Lazy::<AccountRoute>::new()}/>
                </ParentRoute>
                <ParentRoute path=path!("/support") view=PlainLayout ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<SupportConsoleRoute>::new()}/>
                    <Route path=path!("contact") view={Lazy::<SupportContactRoute>::new()}/>
                    <Route path=path!("users/:id") view={Lazy::<SupportUserRoute>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

// Most pages load their code on demand: with `cargo leptos build --split`
// each one is its own WASM chunk, fetched when the route is first matched
// (the chunk of the page being loaded is fetched before hydration).
// Without `--split` they are ordinary async views. The two pages where
// nearly every visit lands, My Profile's Dashboard and Profile tab, are in
// the main module with the router and the layouts: a page in a chunk also
// loads the small chunks wasm-split cuts from the code pages share, which
// weighed more than those pages themselves (README "Delivery"). The
// heavier Security and Invitations tabs and the avatar dialog stay chunks.
//
// The sign-in bundle (feature `signin`, `sign_in_bundle`) has no lazy code:
// `#[lazy_route]` would keep every page in its one module (each route is an
// export) and import the splitter's placeholder, which only `--split`
// replaces. There the routes are plain async views, unused and dropped.
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[cfg(not(feature = "signin"))]
        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                // Runs once this page's own part has hydrated (or rendered).
                Effect::new(|_| mark_hydrated());
                view! { <$page/> }.into_any()
            }
        }

        #[cfg(feature = "signin")]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

/// The routes below whose code is loaded lazily: on these, the page is
/// interactive only when the lazy part has hydrated, so the shell does not
/// mark it. `*` matches the rest of the path.
const LAZY_PATHS: [&str; 7] = [
    "/confirm-email-change",
    "/support-change",
    "/contact",
    "/profile/security",
    "/profile/invitations",
    "/accounts*",
    "/support*",
];

fn lazy_path_matches(pattern: &str, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    match pattern.strip_suffix('*') {
        Some(prefix) => path == prefix || path.starts_with(&format!("{prefix}/")),
        None => path == pattern,
    }
}

/// Sets `data-hydrated` on `<body>`: end-to-end tests wait for it before
/// they click.
fn mark_hydrated() {
    dom::set_body_attribute("data-hydrated", "true");
}

#[cfg(test)]
mod tests {
    use super::lazy_path_matches;

    #[test]
    fn lazy_paths_match_whole_segments() {
        assert!(lazy_path_matches("/accounts*", "/accounts"));
        assert!(lazy_path_matches("/accounts*", "/accounts/7/"));
        assert!(!lazy_path_matches("/accounts*", "/accountsx"));
        assert!(lazy_path_matches("/contact", "/contact"));
        assert!(!lazy_path_matches("/contact", "/contact/more"));
        assert!(!lazy_path_matches("/profile/invitations", "/profile"));
    }
}

lazy_page!(
    ConfirmEmailChangePageRoute => ConfirmEmailChangePage,
    SupportChangePageRoute => SupportChangePage,
    SecurityRoute => SecurityTab,
    InvitationsRoute => InvitationsTab,
    AccountsRoute => AccountsPage,
    AccountRoute => AccountPage,
    SupportConsoleRoute => SupportConsole,
    SupportUserRoute => SupportUserPage,
    SupportContactRoute => SupportContactPage,
    PublicContactRoute => PublicContactPage,
);

/// An address the console has no page for. A sign-in page is not missing
/// when the console reaches it (a link, or the redirect after signing out):
/// those pages come with their own bundle, which the server draws on their
/// paths, and the console holds none of their code, so the browser loads the
/// address afresh (it replaces the history entry the router has just added).
/// The server never gets here for them.
#[component]
fn NotFound() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let path = location.pathname.get_untracked();
    if sign_in_bundle::is_sign_in_path(&path) {
        let search = location.search.get_untracked();
        let query = if search.is_empty() {
            String::new()
        } else {
            format!("?{search}")
        };
        Effect::new(move |_| dom::go_to(&format!("{path}{query}")));
        return ().into_any();
    }
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main id="main" class="auth-page">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <p><a class="button primary" href="/profile">"Go to My Profile"</a></p>
        </main>
    }
    .into_any()
}
