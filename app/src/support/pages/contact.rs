//! The contact form: `/support/contact` signed in, `/contact` signed out.

use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::support::api::ContactSupport;
use crate::ui::{last_error, ActionForm, Control, Field, FormError};
use vocab::{limits, SupportTopic};

const MESSAGE_MAX: usize = limits::SUPPORT_MESSAGE_MAX_CHARS;

/// `/support/contact`: any signed-in person files a request.
#[component]
pub fn SupportContactPage() -> impl IntoView {
    view! {
        <div class="support">
            <ContactForm signed_in=true/>
            <p><a href="/profile">"Back to My Profile"</a></p>
        </div>
    }
}

/// `/contact`: the same form for people who cannot sign in (a lost
/// authenticator app, a forgotten address). Signed-in people are sent to
/// `/support/contact` by the server.
#[component]
pub fn PublicContactPage() -> impl IntoView {
    view! {
        <main id="main" class="auth-page support">
            <ContactForm signed_in=false/>
            <p class="switch"><a href="/login">"Back to sign in"</a></p>
        </main>
    }
}

/// What support does, the request form, and where roles are changed.
/// Signed out, the form also asks where to answer.
#[component]
fn ContactForm(signed_in: bool) -> impl IntoView {
    let send = ServerAction::<ContactSupport>::new();
    let error = last_error(send.value());
    let sent = move || send.value().get().and_then(|r| r.ok());
    let form = NodeRef::<html::Form>::new();
    let count = RwSignal::new(0usize);
    // A sent request empties the form for the next one.
    Effect::new(move |_| {
        if matches!(send.value().get(), Some(Ok(_))) {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
            count.set(0);
        }
    });
    // `?topic=mfa` preselects a topic (links from the Security tab may use it).
    let preset = use_query_map().with_untracked(|q| q.get("topic").unwrap_or_default());
    let topics: Vec<(String, String)> =
        std::iter::once((String::new(), "Choose a topic".to_string()))
            .chain(
                SupportTopic::ALL
                    .iter()
                    .map(|t| (t.as_str().to_string(), t.label().to_string())),
            )
            .collect();
    view! {
            <h1>"Contact Global Technical Support"</h1>
            <section class="card" aria-labelledby="support-can">
                <h2 id="support-can">"What support can do"</h2>
                <ul>
                    <li>"Change the email address you sign in with. A link goes to the new address, and the change applies when you open it."</li>
                    <li>"Switch your sign-in back to email codes if you lost or forgot your authenticator app, so you can sign in and set up an app again."</li>
                    <li>"Explain an error message: quote the reference it shows."</li>
                </ul>
                <p class="note">"Support never asks for your password or your sign-in codes."</p>
            </section>
            <section class="card" aria-labelledby="send-request">
                <h2 id="send-request">"Send a request"</h2>
                <div role="status" class="form-status">
                    {move || sent().map(|n| view! {
                        <p class="alert alert-ok">{format!("Request #{n} sent. We'll answer by email.")}</p>
                    })}
                </div>
                <ActionForm action=send node_ref=form attr:class="form" attr:novalidate=true>
                    <FormError error=error/>
                    {(!signed_in).then(|| view! {
                        <Field
                            name="email"
                            label="Your email address"
                            control=Control::input("email").autocomplete("email")
                            required=true
                            hint="We answer here. If it is the address you sign in with, say so in your message."
                            error=error
                        />
                    })}
                    <Field
                        name="topic"
                        label="Topic"
                        control=Control::select(topics, preset)
                        required=true
                        error=error
                    />
                    <Field
                        name="message"
                        label="Message"
                        control=Control::TextArea { rows: 8, maxlength: MESSAGE_MAX as u32 }
                        required=true
                        hint="What you need, and anything that helps us find it (an account's name, an error's reference). Never include your password or a sign-in code."
                        counter=Signal::derive(move || format!("{} of {MESSAGE_MAX} characters", count.get()))
                        on_input=Callback::new(move |v: String| count.set(v.encode_utf16().count()))
                        error=error
                    />
                    <button type="submit" class="primary" disabled=move || send.pending().get()>"Send"</button>
                </ActionForm>
            </section>
            <section class="card" id="roles" aria-labelledby="roles-title">
                <h2 id="roles-title">"Roles in accounts"</h2>
                <p>
                    "Each account has one Owner, and may have Administrators and Users. An account's Owner and Administrators change its members' roles on that account's page, and the Owner can hand ownership to someone else there. Support does not change roles."
                </p>
            </section>
    }
    .into_any()
}
