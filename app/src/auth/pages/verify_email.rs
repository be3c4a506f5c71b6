//! `/verify-email`: the link mailed at sign-up confirms the address with a
//! button (a POST).

use leptos::prelude::*;

use crate::auth::api::{check_verify_link, VerifyEmail};
use crate::error::AppError;
use crate::sign_in_bundle::query_value;
use crate::ui::{forget_token_in_address_bar, ActionForm, ErrorAlert, LinkState};

/// `/verify-email?token=…`: says which address the link confirms and
/// confirms it when the button is pressed (a POST, so a mail scanner that
/// opens the link confirms nothing). Works without JavaScript too.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = query_value("token").get_untracked().unwrap_or_default();
    let action = ServerAction::<VerifyEmail>::new();
    let check = crate::load::blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        check_verify_link,
    );
    forget_token_in_address_bar("/verify-email");
    view! {
        <main class="auth-page" id="main">
            <h1>"Confirm your email"</h1>
            <Suspense fallback=|| view! { <p>"Checking your link…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match check.await {
                            Ok(LinkState::Done(email)) => email_confirmed(email).into_any(),
                            Ok(LinkState::Ready(email)) => {
                                let token = token.clone();
                                (move || {
                                    let (email, token) = (email.clone(), token.clone());
                                    match action.value().get() {
                                    Some(Ok(email)) => email_confirmed(email).into_any(),
                                    Some(Err(e)) => email_not_confirmed(e).into_any(),
                                    None => view! {
                                        <ActionForm action=action attr:class="card form">
                                            <input type="hidden" name="token" value=token/>
                                            <p>"Confirm that " <strong>{email}</strong> " is your email address."</p>
                                            <button type="submit" class="primary" disabled=move || action.pending().get()>
                                                "Confirm email address"
                                            </button>
                                        </ActionForm>
                                    }.into_any(),
                                }}).into_any()
                            }
                            Err(e) => email_not_confirmed(e).into_any(),
                        }
                    })
                }}
            </Suspense>
        </main>
    }
}

fn email_confirmed(email: String) -> impl IntoView {
    view! {
        <div class="card">
            <p role="status" class="alert alert-ok">"Thank you. " {email} " is confirmed."</p>
            <p><a class="button primary" href="/profile">"Go to My Profile"</a></p>
        </div>
    }
}

fn email_not_confirmed(e: AppError) -> impl IntoView {
    view! {
        <div class="card">
            <ErrorAlert error=e/>
            <p>"Sign in and use " <strong>"Resend verification email"</strong> " on My Profile to get a new link."</p>
            <p><a class="button" href="/profile">"Go to My Profile"</a></p>
        </div>
    }
}
