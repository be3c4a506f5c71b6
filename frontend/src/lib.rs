//! The browser entry point: hydrate the server-rendered page. `hydrate_lazy`
//! waits for the code of a lazily loaded route (its own WASM chunk under
//! `cargo leptos build --split`) before hydrating it.

#![deny(clippy::unwrap_used, clippy::expect_used)]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
