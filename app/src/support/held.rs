//! `/support-change`: the page behind the two links of the mail a held
//! support change sends (`backend::support_hold`): "go ahead now" and
//! "This was not me". Opening it writes nothing (mail scanners follow
//! links); its button does. Without JavaScript the form posts, and the page
//! comes back showing where the change now stands.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{check_held_change, AnswerHeldChange, HeldChangeView};
use crate::error::AppError;
use crate::ui::{forget_token_in_address_bar, ActionForm, ErrorAlert};

#[component]
pub fn SupportChangePage() -> impl IntoView {
    let token = use_query_map().with_untracked(|q| q.get("token").unwrap_or_default());
    let action = ServerAction::<AnswerHeldChange>::new();
    let check = crate::load::blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        check_held_change,
    );
    view! {
        <main class="auth-page" id="main">
            <h1>"A change to how you sign in"</h1>
            <Suspense fallback=|| view! { <p>"Checking your link…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match check.await {
                            Err(e) => not_usable(e).into_any(),
                            Ok(first) => (move || match action.value().get() {
                                Some(Ok(now)) => held(now, String::new(), action).into_any(),
                                Some(Err(e)) => not_usable(e).into_any(),
                                None => held(first.clone(), token.clone(), action).into_any(),
                            })
                            .into_any(),
                        }
                    })
                }}
            </Suspense>
        </main>
    }
}

/// The change as it stands, with the link's button while it can act.
fn held(v: HeldChangeView, token: String, action: ServerAction<AnswerHeldChange>) -> impl IntoView {
    forget_token_in_address_bar("/support-change");
    let HeldChangeView {
        approve,
        state,
        what,
        ticket,
        goes_ahead,
    } = v;
    let asked = format!("Global Technical Support was asked to {what} (ticket {ticket}).");
    let button = move |label: &'static str, class: &'static str| {
        view! {
            <ActionForm action=action>
                <input type="hidden" name="token" value=token.clone()/>
                <button type="submit" class=class disabled=move || action.pending().get()>{label}</button>
            </ActionForm>
        }
    };
    match (state.as_str(), approve) {
        ("undone", _) => view! {
            <div class="card">
                <p role="status" class="alert alert-ok">{format!("Undone: nobody will {what}. Every device signed in to your account was signed out.")}</p>
                <p>"Sign in again. Someone may have pretended to be you: consider a new password and an authenticator app on the Security tab."</p>
                <p><a class="button primary" href="/login">"Sign in"</a></p>
            </div>
        }.into_any(),
        ("released", true) => view! {
            <div class="card">
                <p role="status" class="alert alert-ok">{format!("Done: the request to {what} has gone ahead.")}</p>
                <p><a class="button primary" href="/login">"Sign in"</a></p>
            </div>
        }.into_any(),
        (_, true) => view! {
            <div class="card form">
                <p>{asked}</p>
                <p>{format!("If you asked for this, it can go ahead now. Otherwise it goes ahead by itself on {goes_ahead}.")}</p>
                {button("Yes, I asked for this: go ahead now", "primary")}
                <p class="muted">"Did not ask for it? Open “This was not me” in the same mail instead."</p>
            </div>
        }.into_any(),
        (_, false) => view! {
            <div class="card form">
                <p>{asked}</p>
                <p>{if state == "released" {
                    "It has gone ahead. If you did not ask for it, undo it: every device signed in to your account is signed out, including whoever asked.".to_string()
                } else {
                    format!("It would go ahead on {goes_ahead}. If you did not ask for it, cancel it: every device signed in to your account is signed out, including whoever asked.")
                }}</p>
                {button("This was not me", "danger")}
            </div>
        }.into_any(),
    }
}

fn not_usable(e: AppError) -> impl IntoView {
    view! {
        <div class="card">
            <ErrorAlert error=e/>
            <p class="actions">
                <a class="button primary" href="/support/contact">"Contact Global Technical Support"</a>
                <a class="button" href="/login">"Sign in"</a>
            </p>
        </div>
    }
}
