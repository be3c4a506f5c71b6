//! The browser entry point: hydrate the server-rendered page.
//!
//! Built twice (README "Delivery"):
//! - the console's bundle (`atrium`, `cargo leptos build --split`) hydrates
//!   [`app::App`]; `hydrate_lazy` waits for the code of a lazily loaded
//!   route (its own WASM chunk) before hydrating it;
//! - with the `signin` feature, the sign-in pages' bundle (`atrium-signin`,
//!   one module) hydrates [`app::sign_in_bundle::SignInApp`].

#![deny(clippy::unwrap_used, clippy::expect_used)]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic's message in the console, for debug builds (the tests'):
    // release builds compile panics to a bare trap (scripts/wasm-nightly),
    // where the hook would never run but its formatting would still ship.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // A sign-in page hydrates the page its address names; anything else
    // (which the server never serves with this bundle) stays as rendered.
    #[cfg(feature = "signin")]
    if let Some(address) = app::sign_in_bundle::SignInAddress::here() {
        use app::sign_in_bundle::{SignInApp, SignInAppProps};
        leptos::mount::hydrate_body(move || SignInApp(SignInAppProps { address }));
    }
    #[cfg(not(feature = "signin"))]
    leptos::mount::hydrate_lazy(app::App);
}
