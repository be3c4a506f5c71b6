//! The sign-in, sign-up and email verification pages. Every form is an
//! `ActionForm`: it posts and works before hydration and without JavaScript.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::api::{
    check_reset_link, check_verify_link, continue_to, password_strength, pending_sign_in,
    CancelSignIn, ForgotPassword, ResendCode, ResetPassword, SignIn, SignUp, StrengthView,
    VerifyCode, VerifyEmail,
};
use crate::auth::api::MfaMethod;
use crate::error::AppError;
use crate::invitations::api::{invitation_preview, InvitationSummary};
use crate::ui::{
    field_value, forget_token_in_address_bar, last_error, ErrorCard, FormError, LinkState,
    TextField,
};
use vocab::{lifetimes, limits};

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = last_error(action.value());
    let query = use_query_map();
    let changed = move || query.with(|q| q.get("password").as_deref() == Some("changed"));
    // A platform (OpenID Connect) sent the person here: say which.
    let platform = Resource::new_blocking(|| (), |_| continue_to());
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
                <TextField name="email" label="Email" kind="email" autocomplete="username" required=true error=error/>
                <TextField
                    name="password"
                    label="Password"
                    kind="password"
                    autocomplete="current-password"
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

/// Sign-up. From an invitation link (`?invitation=TOKEN`) it says who
/// invited the person where, and locks the email to the invited address.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = last_error(action.value());
    let query = use_query_map();
    let token = query.with_untracked(|q| q.get("invitation").unwrap_or_default());
    let preview = Resource::new_blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        |token| async move {
            if token.trim().is_empty() {
                Ok(None)
            } else {
                invitation_preview(token).await
            }
        },
    );
    view! {
        <main class="auth-page" id="main">
            <h1>"Create your Atrium account"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        let invited = match preview.await {
                            Ok(Some(summary)) => Some(summary),
                            Ok(None) if !token.trim().is_empty() => {
                                return view! {
                                    <p role="status" class="note">
                                        "This invitation is no longer open: it was answered, withdrawn or has expired. "
                                        "You can still create your account; ask the account's administrator to invite you again."
                                    </p>
                                    <SignUpForm action=action error=error invited=None/>
                                }
                                .into_any();
                            }
                            Ok(None) => None,
                            Err(e) => {
                                return view! {
                                    <p role="alert" class="alert alert-error">{e.to_string()}</p>
                                    <SignUpForm action=action error=error invited=None/>
                                }
                                .into_any();
                            }
                        };
                        let invited = invited.map(|s| (s, token));
                        view! { <SignUpForm action=action error=error invited=invited/> }.into_any()
                    })
                }}
            </Suspense>
            <p class="switch">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </main>
    }
}

/// The sign-up form; with an invitation (its summary and token) the email is
/// the invited address, read-only, and the token rides along.
#[component]
fn SignUpForm(
    action: ServerAction<SignUp>,
    #[prop(into)] error: crate::ui::LastError,
    invited: Option<(InvitationSummary, String)>,
) -> impl IntoView {
    let email_error = move || error.get().and_then(|e| e.field("email"));
    let intro = invited.as_ref().map(|(s, _)| {
        let who = if s.invited_by.trim().is_empty() {
            "You were".to_string()
        } else {
            format!("{} invited you", s.invited_by)
        };
        let to = if s.invited_by.trim().is_empty() {
            " invited to join "
        } else {
            " to join "
        };
        view! {
            <p class="note invitation-intro">
                {who} {to} <strong>{s.account_name.clone()}</strong>
                ". Create your user with the invited address, confirm it, then accept the invitation on My Profile."
            </p>
        }
    });
    view! {
        {intro}
        <ActionForm action=action attr:class="card form" attr:novalidate=true>
            <FormError error=error/>
            <div class="row">
                <TextField name="first_name" label="First name" autocomplete="given-name" required=true error=error/>
                <TextField name="last_name" label="Last name" autocomplete="family-name" required=true error=error/>
            </div>
            {match invited {
                Some((summary, token)) => view! {
                    <div class="field" class:invalid=move || email_error().is_some()>
                        <label for="field-email">"Email"</label>
                        <input
                            id="field-email"
                            name="email"
                            type="email"
                            value=summary.email
                            readonly=true
                            aria-invalid=move || email_error().is_some().then_some("true")
                            aria-describedby="field-email-hint field-email-error"
                        />
                        <p class="hint" id="field-email-hint">"The invitation was sent to this address."</p>
                        <p class="field-error" id="field-email-error">{email_error}</p>
                    </div>
                    <input type="hidden" name="invitation" value=token/>
                }.into_any(),
                None => view! {
                    <TextField name="email" label="Email" kind="email" autocomplete="email" required=true error=error/>
                }.into_any(),
            }}
            <TextField
                name="phone"
                label="Phone (optional)"
                kind="tel"
                autocomplete="tel"
                hint="Include the country code, for example +1 415 555 0100."
                error=error
            />
            <NewPasswordField label="Password" error=error/>
            <button type="submit" class="primary" disabled=move || action.pending().get()>"Create account"</button>
        </ActionForm>
    }
    .into_any()
}

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
fn NewPasswordField(
    label: &'static str,
    #[prop(into)] error: crate::ui::LastError,
) -> impl IntoView {
    let (strength, on_password) = use_password_meter();
    view! {
        <TextField
            name="password"
            label=label
            kind="password"
            autocomplete="new-password"
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

/// `/verify-email?token=…`: says which address the link confirms and
/// confirms it when the button is pressed (a POST, so a mail scanner that
/// opens the link confirms nothing). Works without JavaScript too.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = use_query_map().with_untracked(|q| q.get("token").unwrap_or_default());
    let action = ServerAction::<VerifyEmail>::new();
    let check = Resource::new_blocking(
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
            <p role="alert" class="alert alert-error">{e.to_string()}</p>
            <p>"Sign in and use " <strong>"Resend verification email"</strong> " on My Profile to get a new link."</p>
            <p><a class="button" href="/profile">"Go to My Profile"</a></p>
        </div>
    }
}

/// `HH:MM UTC` as the forgot-password answer writes it into the address
/// (`?sent=`), or None for anything else.
pub fn clock_time(s: &str) -> Option<&str> {
    let (hm, zone) = s.split_once(' ')?;
    let (h, m) = hm.split_once(':')?;
    let two_digits = |x: &str, max: u8| {
        x.len() == 2
            && x.bytes().all(|b| b.is_ascii_digit())
            && x.parse::<u8>().is_ok_and(|n| n <= max)
    };
    (zone == "UTC" && two_digits(h, 23) && two_digits(m, 59)).then_some(s)
}

/// The note that sits next to every password change (from the seed's Security table).
pub const SHARED_PASSWORD_NOTE: &str = "This password is shared by every platform that uses this email (for example ConnectivityPro and SecurityPro): changing it here changes it there too.";

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let error = last_error(action.value());
    let query = use_query_map();
    let sent = move || query.with(|q| q.get("sent"));
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
                <TextField name="email" label="Email" kind="email" autocomplete="username" required=true error=error/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Send reset link"</button>
            </ActionForm>
            <p class="switch"><a href="/login">"Back to sign in"</a></p>
        </main>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.with_untracked(|q| q.get("token").unwrap_or_default());
    let action = ServerAction::<ResetPassword>::new();
    let error = last_error(action.value());
    let check = Resource::new_blocking(
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

/// The second step of sign-in: the code sent by the person's method.
#[component]
pub fn LoginVerifyPage() -> impl IntoView {
    let pending = Resource::new_blocking(|| (), |_| pending_sign_in());
    let verify = ServerAction::<VerifyCode>::new();
    let resend = ServerAction::<ResendCode>::new();
    let cancel = ServerAction::<CancelSignIn>::new();
    let error = last_error(verify.value());
    // Signed in for a platform: a full page load back to it.
    Effect::new(move || {
        if let Some(Ok(Some(url))) = verify.value().get() {
            #[cfg(feature = "hydrate")]
            {
                let _ = window().location().set_href(&url);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = url;
        }
    });
    let resend_error = last_error(resend.value());
    let query = use_query_map();
    let resent = move || query.with(|q| q.get("resent").is_some());
    view! {
        <main class="auth-page" id="main">
            <h1>"Second step"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match pending.await {
                        Ok(p) => {
                            let app = p.method == MfaMethod::Authenticator;
                            let code_error = move || error.get().and_then(|e| e.field("code"));
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
                                <div class="field" class:invalid=move || code_error().is_some()>
                                    <label for="field-code">{if app { "Code from your app" } else { "Sign-in code" }}</label>
                                    <input
                                        id="field-code"
                                        name="code"
                                        type="text"
                                        inputmode=if app { "text" } else { "numeric" }
                                        autocomplete="one-time-code"
                                        maxlength="16"
                                        required
                                        aria-describedby="field-code-error"
                                        aria-invalid=move || code_error().map(|_| "true")
                                    />
                                    <p class="field-error" id="field-code-error">{code_error}</p>
                                </div>
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

#[cfg(test)]
mod tests {
    use super::clock_time;

    #[test]
    fn only_a_clock_time_is_taken_from_the_address() {
        assert_eq!(clock_time("14:05 UTC"), Some("14:05 UTC"));
        assert_eq!(clock_time("00:00 UTC"), Some("00:00 UTC"));
        assert_eq!(clock_time("24:00 UTC"), None);
        assert_eq!(clock_time("12:60 UTC"), None);
        assert_eq!(clock_time("1:05 UTC"), None);
        assert_eq!(clock_time("14:05 CET"), None);
        assert_eq!(
            clock_time("14:05 UTC. Call +1 555 0100 to keep your account"),
            None
        );
        assert_eq!(clock_time(""), None);
    }
}
