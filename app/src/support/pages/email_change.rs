//! `/confirm-email-change`: the new address confirms an email change
//! support started, with a button (a POST).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;
use crate::support::api::{check_email_change_link, ConfirmEmailChange};
use crate::ui::{forget_token_in_address_bar, ActionForm, ErrorAlert, LinkState};

/// `/confirm-email-change?token=…`: the link support's email change mails
/// to the new address. The page names the new address; pressing its button
/// applies the change (a POST: a mail scanner that opens the link changes
/// nothing). Works without JavaScript too.
#[component]
pub fn ConfirmEmailChangePage() -> impl IntoView {
    let token = use_query_map().with_untracked(|q| q.get("token").unwrap_or_default());
    let action = ServerAction::<ConfirmEmailChange>::new();
    let check = crate::load::blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        check_email_change_link,
    );
    forget_token_in_address_bar("/confirm-email-change");
    view! {
        <main class="auth-page" id="main">
            <h1>"Confirm your new email address"</h1>
            <Suspense fallback=|| view! { <p>"Checking your link…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match check.await {
                            Ok(LinkState::Done(email)) => email_changed(email).into_any(),
                            Ok(LinkState::Ready(email)) => {
                                let token = token.clone();
                                (move || {
                                    let (email, token) = (email.clone(), token.clone());
                                    match action.value().get() {
                                    Some(Ok(email)) => email_changed(email).into_any(),
                                    Some(Err(e)) => email_not_changed(e).into_any(),
                                    None => view! {
                                        <ActionForm action=action attr:class="card form">
                                            <input type="hidden" name="token" value=token/>
                                            <p>"Make " <strong>{email.clone()}</strong> " the address you sign in with. Every device signed in to your account will be signed out."</p>
                                            <button type="submit" class="primary" disabled=move || action.pending().get()>
                                                "Confirm new email address"
                                            </button>
                                        </ActionForm>
                                    }.into_any(),
                                }}).into_any()
                            }
                            Err(e) => email_not_changed(e).into_any(),
                        }
                    })
                }}
            </Suspense>
        </main>
    }
}

fn email_changed(email: String) -> impl IntoView {
    view! {
        <div class="card">
            <p role="status" class="alert alert-ok">
                "Your email address is now " <strong>{email}</strong> ". Sign in with it from now on."
            </p>
            <p><a class="button primary" href="/login">"Sign in"</a></p>
        </div>
    }
}

fn email_not_changed(e: AppError) -> impl IntoView {
    view! {
        <div class="card">
            <ErrorAlert error=e/>
            <p>"Your email address has not changed. Global Technical Support can send a new link."</p>
            <p class="actions">
                <a class="button primary" href="/support/contact">"Contact Global Technical Support"</a>
                <a class="button" href="/login">"Sign in"</a>
            </p>
        </div>
    }
}
