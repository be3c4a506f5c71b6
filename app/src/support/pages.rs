//! The support console, the contact form and the email-change confirmation.

use leptos::prelude::*;

#[component]
pub fn SupportConsole() -> impl IntoView {
    view! { <h1>"Global Technical Support"</h1> }
}

#[component]
pub fn SupportUserPage() -> impl IntoView {
    view! { <h1>"Person"</h1> }
}

#[component]
pub fn SupportContactPage() -> impl IntoView {
    view! { <h1>"Contact Global Technical Support"</h1> }
}

#[component]
pub fn ConfirmEmailChangePage() -> impl IntoView {
    view! { <h1>"Confirm your new email address"</h1> }
}
