//! The "Sign-in protection" card of the Security tab.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{
    mfa_state, CancelAuthenticator, CancelSms, ConfirmAuthenticator, ConfirmPassword, ConfirmSms,
    MfaView, RegenerateRecoveryCodes, StartAuthenticator, StartSms, UseEmailCodes,
};
use crate::ui::{last_error, ActionForm, Control, Field, FormError, Loaded};
use vocab::MfaMethod;

fn method_label(method: MfaMethod) -> &'static str {
    match method {
        MfaMethod::Authenticator => "Authenticator app: a code from the app on your phone",
        MfaMethod::Sms => "Text message (SMS): a code texted to your phone",
        MfaMethod::Email => "Email: a 6-digit code mailed to you",
    }
}

#[component]
pub fn SignInMethod() -> impl IntoView {
    let confirm_password = ServerAction::<ConfirmPassword>::new();
    let start = ServerAction::<StartAuthenticator>::new();
    let cancel = ServerAction::<CancelAuthenticator>::new();
    let confirm = ServerAction::<ConfirmAuthenticator>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let use_email = ServerAction::<UseEmailCodes>::new();
    let start_sms = ServerAction::<StartSms>::new();
    let confirm_sms = ServerAction::<ConfirmSms>::new();
    let cancel_sms = ServerAction::<CancelSms>::new();
    // A method changed elsewhere (live, through the shared person) reloads it too.
    let me = use_context::<crate::frame::MeSignal>();
    let state = crate::load::blocking(
        move || {
            (
                me.map(|me| me.with(|m| m.mfa_method)),
                confirm_password.version().get(),
                start.version().get(),
                cancel.version().get(),
                confirm.version().get(),
                regenerate.version().get(),
                use_email.version().get(),
                start_sms.version().get(),
                confirm_sms.version().get(),
                cancel_sms.version().get(),
            )
        },
        |_| mfa_state(),
    );
    let password_error = last_error(confirm_password.value());
    let confirm_error = last_error(confirm.value());
    let sms_code_error = last_error(confirm_sms.value());
    let other_error = Signal::derive(move || {
        last_error(start.value())
            .get()
            .or_else(|| last_error(use_email.value()).get())
            .or_else(|| last_error(start_sms.value()).get())
            .or_else(|| last_error(cancel_sms.value()).get())
            .or_else(|| last_error(regenerate.value()).get())
            .or_else(|| last_error(cancel.value()).get())
    });
    // Recovery codes are shown once, right after they are made.
    let fresh_codes = Signal::derive(move || {
        confirm
            .value()
            .get()
            .and_then(|r| r.ok())
            .or_else(|| regenerate.value().get().and_then(|r| r.ok()))
    });

    let query = use_query_map();
    let finish_setup = move || query.with(|q| q.get("finish_setup").is_some());
    // Signed in on the way to a platform: it waits while the setup is finished.
    let platform = crate::load::blocking(|| (), |_| crate::auth::api::continue_to());
    view! {
        <section class="card" aria-labelledby="sign-in-method" id="sign-in-protection">
            <h2 id="sign-in-method">"Sign-in protection"</h2>
            <Show when=finish_setup>
                <p role="status" class="alert alert-ok">
                    "You chose an authenticator app last time. Scan the QR code below with it and enter its code to finish; until then your current method stays on."
                </p>
                <Suspense>
                    {move || platform.get().and_then(Result::ok).flatten().map(|name| view! {
                        <p>
                            // A full page load: /oauth/resume is the server's, not a page of the app.
                            <a class="button" href="/oauth/resume" rel="external">{format!("Continue to {name}")}</a>
                            " when you are done here."
                        </p>
                    })}
                </Suspense>
            </Show>
            <p class="muted">
                "After your password, you prove it is you with a second step. This holds wherever this email signs in."
            </p>
            <Loaded resource=state let:view>
                {
                            let MfaView { method, password_recent, setup, recovery_codes_left, recovery_codes_short, sms_unavailable, sms_pending, new_recovery_codes } = view;
                            view! {
                                <p>"Current method: " <strong>{method_label(method)}</strong></p>
                                {new_recovery_codes.map(|codes| view! { <RecoveryCodes codes=Signal::derive(move || Some(codes.clone()))/> })}
                                {(method == MfaMethod::Authenticator).then(|| view! {
                                    <p class="muted">{format!("{recovery_codes_left} of {} recovery codes left.", vocab::limits::RECOVERY_CODES)}</p>
                                })}
                                {(method == MfaMethod::Authenticator && recovery_codes_short).then(|| view! {
                                    <p role="status" class="alert alert-warn">
                                        "Your recovery codes are of an older, shorter kind that is easier to guess. Make new ones below and put them away; the old ones then stop working."
                                    </p>
                                })}
                                <FormError error=other_error/>
                                {if !password_recent {
                                    view! {
                                        <ActionForm action=confirm_password attr:class="form inline-form" attr:novalidate=true>
                                            <p>"To change how you sign in, enter your password again."</p>
                                            <Field
                                                name="password"
                                                label="Current password"
                                                control=Control::input("password").autocomplete("current-password")
                                                required=true
                                                error=password_error
                                            />
                                            <button type="submit" class="primary">"Continue"</button>
                                        </ActionForm>
                                    }.into_any()
                                } else if let Some(setup) = setup {
                                    view! {
                                        <div class="enrol">
                                            <h3>"Set up your authenticator app"</h3>
                                            <ol>
                                                <li>"Open the authenticator app on your phone and add an account."</li>
                                                <li>"Scan this QR code, or type the setup key."</li>
                                                <li>"Enter the 6-digit code the app shows."</li>
                                            </ol>
                                            <img class="qr" src=setup.qr.clone() alt="QR code for your authenticator app" width="220" height="220"/>
                                            <p>
                                                "Setup key: " <code class="setup-key" id="setup-key">{setup.key.clone()}</code>
                                                " " <CopyButton text=setup.key.clone() label="Copy setup key"/>
                                            </p>
                                            <ActionForm action=confirm attr:class="form inline-form" attr:novalidate=true>
                                                <Field
                                                    name="code"
                                                    label="Code from your app"
                                                    control=Control::input("text").autocomplete("one-time-code")
                                                    required=true
                                                    error=confirm_error
                                                />
                                                <button type="submit" class="primary">"Turn on"</button>
                                            </ActionForm>
                                            <p class="muted">"Until you enter a code, your current method stays on."</p>
                                            <ActionForm action=cancel>
                                                <button type="submit" class="link">"Cancel setup"</button>
                                            </ActionForm>
                                        </div>
                                    }.into_any()
                                } else {
                                    view! {
                                        <ul class="choices">
                                            <li>
                                                <strong>"Email"</strong>
                                                {if method == MfaMethod::Email {
                                                    view! { <span class="badge">"In use"</span> }.into_any()
                                                } else {
                                                    view! {
                                                        <ActionForm action=use_email>
                                                            <button type="submit">"Use email codes"</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                }}
                                            </li>
                                            <li>
                                                <strong>"Text message (SMS)"</strong>
                                                {match (method == MfaMethod::Sms, sms_unavailable) {
                                                    (true, _) => view! { <span class="badge">"In use"</span> }.into_any(),
                                                    (false, Some(why)) => view! {
                                                        <button type="button" disabled=true aria-describedby="sms-why">"Use text messages"</button>
                                                        <span class="muted" id="sms-why">{why}</span>
                                                    }.into_any(),
                                                    (false, None) => match sms_pending {
                                                        Some(to) => view! {
                                                            <div class="sms-confirm">
                                                                <p role="status">{format!("We texted a code to {to}. Enter it to turn on text messages; until then your current method stays on.")}</p>
                                                                <ActionForm action=confirm_sms attr:class="form inline-form" attr:novalidate=true>
                                                                    <Field
                                                                        name="code"
                                                                        label="Code from the text message"
                                                                        control=Control::input("text").autocomplete("one-time-code")
                                                                        required=true
                                                                        error=sms_code_error
                                                                    />
                                                                    <button type="submit" class="primary">"Turn on"</button>
                                                                </ActionForm>
                                                                <ActionForm action=start_sms>
                                                                    <button type="submit" class="link">"Send a new code"</button>
                                                                </ActionForm>
                                                                <ActionForm action=cancel_sms>
                                                                    <button type="submit" class="link">"Cancel"</button>
                                                                </ActionForm>
                                                            </div>
                                                        }.into_any(),
                                                        None => view! {
                                                            <ActionForm action=start_sms>
                                                                <button type="submit">"Use text messages"</button>
                                                            </ActionForm>
                                                        }.into_any(),
                                                    },
                                                }}
                                            </li>
                                            <li>
                                                <strong>"Authenticator app"</strong>
                                                {if method == MfaMethod::Authenticator {
                                                    view! {
                                                        <span class="badge">"In use"</span>
                                                        <ActionForm action=regenerate>
                                                            <button type="submit">"Make new recovery codes"</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                } else {
                                                    view! {
                                                        <ActionForm action=start>
                                                            <button type="submit">"Set up an authenticator app"</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                }}
                                            </li>
                                        </ul>
                                    }.into_any()
                                }}
                            }
                }
            </Loaded>
            <RecoveryCodes codes=fresh_codes/>
            <p class="note">
                "Forgot which authenticator app you chose, or lost your phone and your recovery codes? "
                <a href=crate::profile::details::SUPPORT_HREF>"Contact Global Technical Support"</a>
                ": they switch your sign-in to emailed codes, so you can sign in and set up an app again."
            </p>
        </section>
    }
}

#[component]
fn RecoveryCodes(codes: Signal<Option<Vec<String>>>) -> impl IntoView {
    move || {
        codes.get().map(|codes| {
            let text = codes.join("\n");
            let href = format!("data:text/plain;charset=utf-8,{}", text.replace('\n', "%0A"));
            view! {
                <div class="recovery" role="status">
                    <h3>"Your recovery codes"</h3>
                    <p>"Each code signs you in once if you lose your phone. Keep them somewhere safe: they are shown only now."</p>
                    <ul class="codes" aria-label="Recovery codes">
                        {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
                    </ul>
                    <p>
                        <CopyButton text=text label="Copy codes"/>
                        " "
                        <a class="button" href=href download="atrium-recovery-codes.txt">"Download"</a>
                    </p>
                </div>
            }
        })
    }
}

/// Copies `text` to the clipboard (in the browser; without JavaScript the text stays selectable).
#[component]
fn CopyButton(text: String, label: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    let on_click = move |_| {
        crate::dom::copy_text(&text);
        copied.set(true);
    };
    view! {
        <button type="button" class="copy" on:click=on_click>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}
