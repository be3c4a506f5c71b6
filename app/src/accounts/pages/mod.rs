//! The accounts list (`/accounts`) and an account's page (`/accounts/:id`).
//! Every form is an `ActionForm`: it posts before hydration and without
//! JavaScript; with JavaScript the page reloads its data after a change.

mod account;
mod members;
mod ownership;
mod pending;

pub use account::AccountPage;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::accounts::api::{my_accounts, CreateAccount, MembershipInfo};
use crate::ui::{last_error, ActionForm, Control, Field, FormError, Loaded};

/// The person's accounts with their role in each, and a form to create one.
#[component]
pub fn AccountsPage() -> impl IntoView {
    let create = ServerAction::<CreateAccount>::new();
    let error = last_error(create.value());
    let accounts = crate::load::blocking(|| (), |_| my_accounts());
    let query = use_query_map();
    let left = move || query.with(|q| q.get("left").is_some());
    view! {
        <h1>"Accounts"</h1>
        <Show when=left>
            <p role="status" class="alert alert-ok">"You left the account."</p>
        </Show>
        <section class="card" aria-labelledby="your-accounts">
            <h2 id="your-accounts">"Your accounts"</h2>
            <Loaded resource=accounts let:list>
                {if list.is_empty() {
                    view! {
                            <p class="muted">"You are not a member of any account yet."</p>
                        }.into_any()
                } else {
                    view! {
                            <MembershipList memberships=list/>
                        }.into_any()
                }}
            </Loaded>
        </section>
        <section class="card" aria-labelledby="create-account">
            <h2 id="create-account">"Create an account"</h2>
            <p class="hint">"An account groups people who work together. You become its Owner and can invite others."</p>
            <ActionForm action=create attr:class="form inline-form" attr:novalidate=true>
                <FormError error=error/>
                <Field
                    name="name"
                    label="Name"
                    control=Control::input("text").autocomplete("organization").maxlength(100)
                    required=true
                    error=error
                />
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create account"</button>
            </ActionForm>
        </section>
    }
}

/// The person's accounts, each with their role in it (the Accounts page and
/// the Dashboard).
#[component]
pub fn MembershipList(memberships: Vec<MembershipInfo>) -> impl IntoView {
    view! {
        <ul class="account-list">
            {memberships
                .into_iter()
                .map(|m| {
                    view! {
                        <li>
                            <a href=format!("/accounts/{}", m.account_id)>{m.account_name}</a>
                            <span class="role-tag">{m.role.label()}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
