//! The accounts list (`/accounts`) and an account's page (`/accounts/:id`).

use leptos::prelude::*;

#[component]
pub fn AccountsPage() -> impl IntoView {
    view! { <h1>"Accounts"</h1> }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    view! { <h1>"Account"</h1> }
}
