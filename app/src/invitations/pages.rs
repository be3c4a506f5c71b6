//! The Invitations tab of My Profile.

use leptos::prelude::*;

#[component]
pub fn InvitationsTab() -> impl IntoView {
    view! { <h2>"Invitations"</h2> }
}
