//! Choosing a password (the strength meter), and resetting a forgotten
//! one (`/forgot-password`, `/reset-password`).

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{clock_time, SHARED_PASSWORD_NOTE};
use crate::auth::api::{
    check_reset_link, password_strength, ForgotPassword, ResetPassword, StrengthView,
};
use crate::dom::field_value;
use crate::sign_in_bundle::query_value;
use crate::ui::{
    forget_token_in_address_bar, last_error, ActionForm, Control, ErrorCard, Field, FormError,
};
use vocab::{lifetimes, limits};

/// The strength meter's state and the `input` handler that feeds it: the
/// server (zxcvbn and the breached list stay out of the WASM) is asked a
/// quarter second after the person stops typing.
fn use_password_meter() -> (RwSignal<Option<StrengthView>>, Callback<String>) {
    let strength = RwSignal::new(None::<StrengthView>);
    let timer = StoredValue::new(None::<TimeoutHandle>);
    let on_password = Callback::new(move |password: String| {
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        if password.is_empty() {
            strength.set(None);
            return;
        }
        let handle = set_timeout_with_handle(
            move || {
                spawn_local(async move {
                    let (email, first, last) = (
                        form_value("email"),
                        form_value("first_name"),
                        form_value("last_name"),
                    );
                    if let Ok(s) = password_strength(password, email, first, last).await {
                        strength.set(Some(s));
                    }
                })
            },
            Duration::from_millis(250),
        )
        .ok();
        timer.set_value(handle);
    });
    (strength, on_password)
}

/// The `password` field of a form that sets one (sign-up, reset), with its
/// strength meter.
#[component]
pub(super) fn NewPasswordField(
    label: &'static str,
    #[prop(into)] error: crate::ui::LastError,
) -> impl IntoView {
    let (strength, on_password) = use_password_meter();
    view! {
        <Field
            name="password"
            label=label
            control=Control::input("password").autocomplete("new-password")
            required=true
            hint=format!("At least {} characters. A few unrelated words make a strong password.", limits::PASSWORD_MIN_CHARS)
            error=error
            on_input=on_password
        />
        <StrengthMeter strength=strength/>
    }
}

/// The value of a named input in the page's form (browser only).
fn form_value(name: &str) -> String {
    field_value(&format!("input[name=\"{name}\"]"))
}

#[component]
fn StrengthMeter(strength: RwSignal<Option<StrengthView>>) -> impl IntoView {
    const WORDS: [&str; 5] = ["Very weak", "Weak", "Fair", "Strong", "Very strong"];
    view! {
        <div class="strength" aria-live="polite">
            {move || {
                strength
                    .get()
                    .map(|s| {
                        let word = WORDS[s.score.min(4) as usize];
                        let detail = s.problem.clone().or(s.warning.clone()).or(s.suggestions.first().cloned());
                        view! {
                            <meter min="0" max="4" low="2" high="3" optimum="4" value=s.score.to_string() aria-label="Password strength"></meter>
                            <p class="strength-text">
                                "Strength: " <strong>{word}</strong>
                                {detail.map(|d| view! { <span>" · " {d}</span> })}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let error = last_error(action.value());
    let sent = query_value("sent");
    let sent = move || sent.get();
    // Only a clock time is shown from the address: anything else in `sent`
    // could put someone else's words in our status line.
    let expires = move || {
        sent()
            .as_deref()
            .and_then(clock_time)
            .map(|t| format!(" (at {t})"))
            .unwrap_or_default()
    };
    view! {
        <main class="auth-page" id="main">
            <h1>"Reset your password"</h1>
            <Show when=move || sent().is_some()>
                <p role="status" class="alert alert-ok">
                    {move || format!(
                        "If an account exists for that address, we sent it a link to choose a new password. The link expires in {}{}.",
                        lifetimes::RESET_LINK,
                        expires(),
                    )}
                </p>
            </Show>
            <ActionForm action=action attr:class="card form" attr:novalidate=true>
                <FormError error=error/>
                <p class="hint">{format!("Enter the email you sign in with. We will mail you a link that works once, for {}.", lifetimes::RESET_LINK)}</p>
                <Field
                    name="email"
                    label="Email"
                    control=Control::input("email").autocomplete("username")
                    required=true
                    error=error
                />
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Send reset link"</button>
            </ActionForm>
            <p class="switch"><a href="/login">"Back to sign in"</a></p>
        </main>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = query_value("token").get_untracked().unwrap_or_default();
    let action = ServerAction::<ResetPassword>::new();
    let error = last_error(action.value());
    let check = crate::load::blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        check_reset_link,
    );
    forget_token_in_address_bar("/reset-password");
    view! {
        <main class="auth-page" id="main">
            <h1>"Choose a new password"</h1>
            <Suspense fallback=|| view! { <p>"Checking your link…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match check.await {
                            Ok(()) => view! {
                                <ActionForm action=action attr:class="card form" attr:novalidate=true>
                                    <FormError error=error/>
                                    <input type="hidden" name="token" value=token/>
                                    <NewPasswordField label="New password" error=error/>
                                    <p class="note">{SHARED_PASSWORD_NOTE}</p>
                                    <p class="hint">"Every other device signed in to your account will be signed out."</p>
                                    <button type="submit" class="primary" disabled=move || action.pending().get()>"Set new password"</button>
                                </ActionForm>
                            }.into_any(),
                            Err(e) => view! { <ErrorCard error=e href="/forgot-password" action="Send a new link"/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </main>
    }
}
