//! Signing in: the password (`/login`), then the second step
//! (`/login/verify`).

use leptos::prelude::*;

use crate::auth::api::{
    continue_to, pending_sign_in, CancelSignIn, ResendCode, SignIn, VerifyCode,
};
use crate::sign_in_bundle::query_value;
use crate::ui::{last_error, ActionForm, Control, ErrorCard, Field, FormError, Loading};
use vocab::MfaMethod;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = last_error(action.value());
    let password = query_value("password");
    let changed = move || password.with(|p| p.as_deref() == Some("changed"));
    // A platform (OpenID Connect) sent the person here: say which.
    let platform = crate::load::blocking(|| (), |_| continue_to());
    view! {
        <main class="auth-page" id="main">
            <h1>"Sign in to Atrium"</h1>
            <Suspense>
                {move || {
                    platform
                        .get()
                        .and_then(Result::ok)
                        .flatten()
                        .map(|name| {
                            view! { <p class="lead" id="continue-to">{format!("Sign in to continue to {name}")}</p> }
                        })
                }}
            </Suspense>
            <Show when=changed>
                <p role="status" class="alert alert-ok">"Your password was changed. Sign in with your new password."</p>
            </Show>
            <ActionForm action=action attr:class="card form" attr:novalidate=true>
                <FormError error=error/>
                <Field
                    name="email"
                    label="Email"
                    control=Control::input("email").autocomplete("username")
                    required=true
                    error=error
                />
                <Field
                    name="password"
                    label="Password"
                    control=Control::input("password").autocomplete("current-password")
                    required=true
                    error=error
                />
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Sign in"</button>
                <p class="form-link"><a href="/forgot-password">"Forgot password?"</a></p>
                <p class="form-link"><a href="/contact">"Cannot sign in? Contact Global Technical Support"</a></p>
            </ActionForm>
            <p class="switch">"New here? " <a href="/signup">"Create an account"</a></p>
        </main>
    }
}

/// The second step of sign-in: the code sent by the person's method.
#[component]
pub fn LoginVerifyPage() -> impl IntoView {
    let pending = crate::load::blocking(|| (), |_| pending_sign_in());
    let verify = ServerAction::<VerifyCode>::new();
    let resend = ServerAction::<ResendCode>::new();
    let cancel = ServerAction::<CancelSignIn>::new();
    let error = last_error(verify.value());
    // Signed in for a platform: a full page load back to it.
    Effect::new(move || {
        if let Some(Ok(Some(url))) = verify.value().get() {
            crate::dom::go_to(&url);
        }
    });
    let resend_error = last_error(resend.value());
    let resent = query_value("resent");
    let resent = move || resent.with(Option::is_some);
    view! {
        <main class="auth-page" id="main">
            <h1>"Second step"</h1>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match pending.await {
                        Ok(p) => {
                            let app = p.method == MfaMethod::Authenticator;
                            view! {
                            <ActionForm action=verify attr:class="card form" attr:novalidate=true>
                                {if app {
                                    view! { <p>"Open your authenticator app and enter the 6-digit code it shows for Atrium."</p> }.into_any()
                                } else {
                                    view! {
                                        <p>
                                            {if p.method == MfaMethod::Sms { "We texted a 6-digit code to " } else { "We sent a 6-digit code to " }}
                                            <strong>{p.sent_to.clone()}</strong>
                                            ". It works until " {p.expires.clone()} "."
                                        </p>
                                    }.into_any()
                                }}
                                <Show when=resent>
                                    <p role="status" class="alert alert-ok">"A new code is on its way. The earlier one no longer works."</p>
                                </Show>
                                <FormError error=error/>
                                <Field
                                    name="code"
                                    label=if app { "Code from your app" } else { "Sign-in code" }
                                    control=Control::input("text")
                                        .inputmode(if app { "text" } else { "numeric" })
                                        .autocomplete("one-time-code")
                                        .maxlength(16)
                                    required=true
                                    error=error
                                />
                                <button type="submit" class="primary" disabled=move || verify.pending().get()>"Verify and sign in"</button>
                            </ActionForm>
                            {app.then(|| view! {
                                <details class="card recovery-option">
                                    <summary>"Use a recovery code instead"</summary>
                                    <ActionForm action=verify attr:class="form" attr:novalidate=true>
                                        <div class="field">
                                            <label for="field-recovery">"Recovery code"</label>
                                            <input id="field-recovery" name="code" type="text" autocomplete="off" spellcheck="false" required/>
                                        </div>
                                        <button type="submit">"Sign in with a recovery code"</button>
                                    </ActionForm>
                                    <p class="muted">"Lost your phone and your codes? " <a href="/contact">"Contact Global Technical Support"</a> ": they can switch you to email codes."</p>
                                </details>
                            })}
                            <div class="row-actions">
                                {(!app).then(|| view! {
                                    <ActionForm action=resend>
                                        <button type="submit" disabled=move || resend.pending().get()>"Send a new code"</button>
                                    </ActionForm>
                                })}
                                <ActionForm action=cancel>
                                    <button type="submit" class="link">"Start over"</button>
                                </ActionForm>
                            </div>
                            <FormError error=resend_error/>
                        }.into_any()
                        }
                        Err(e) => view! { <ErrorCard error=e href="/login" action="Sign in"/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
