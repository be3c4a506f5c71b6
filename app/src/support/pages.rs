//! The support console, the contact form and the email-change confirmation.
//!
//! The console's pages only make the server's answers readable: every
//! console function refuses (403) anyone without the Support role, whatever
//! the page shows.

use leptos::html;
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::api::{
    check_email_change_link, search_users, support_requests, support_user, topics,
    CloseSupportRequest, ConfirmEmailChange, ContactSupport, RequestItem, SupportChangeEmail,
    SupportSwitchMfa, SupportUserView, UserHit,
};
use crate::error::{AppError, FieldMessage};
use crate::profile::layout::use_me;
use crate::ui::{
    field_value, focus_element, forget_token_in_address_bar, last_error, ErrorCard, FormError,
    LastError, LinkState, TextField,
};

/// The contact form's message limit (the backend's `MESSAGE_MAX_CHARS`).
const MESSAGE_MAX: u32 = 4000;
/// A ticket reference's limit (the backend's `TICKET_MAX_CHARS`).
const TICKET_MAX: u32 = 64;

fn method_label(method: &str) -> &'static str {
    match method {
        "authenticator" => "Authenticator app",
        "sms" => "Text message (SMS) codes",
        _ => "Email codes",
    }
}

/// Shown instead of the console to people without the Support role.
#[component]
fn NotStaff() -> impl IntoView {
    view! {
        <div class="card">
            <h2>"This console is for Global Technical Support staff"</h2>
            <p role="alert" class="alert alert-error">
                "Your profile does not have the Support role, so the console shows nobody's details."
            </p>
            <p>"If you need help with your own profile, send a request to Global Technical Support."</p>
            <p class="actions">
                <a class="button primary" href="/support/contact">"Contact Global Technical Support"</a>
                <a class="button" href="/profile">"Back to My Profile"</a>
            </p>
        </div>
    }
}

/// `/support`: find a person, and the open support requests.
#[component]
pub fn SupportConsole() -> impl IntoView {
    let me = use_me();
    let is_support = Memo::new(move |_| me.with(|m| m.is_support));
    view! {
        <div class="support">
            <h1>"Global Technical Support"</h1>
            {move || {
                if is_support.get() {
                    view! {
                        <UserSearch/>
                        <OpenRequests/>
                    }
                        .into_any()
                } else {
                    view! { <NotStaff/> }.into_any()
                }
            }}
        </div>
    }
}

/// A GET form: the search lives in the address (`/support?query=ann`), so it
/// survives a reload and works without JavaScript.
#[component]
fn UserSearch() -> impl IntoView {
    let query = use_query_map();
    let typed = move || query.with(|q| q.get("query").unwrap_or_default());
    let hits = Resource::new_blocking(typed, |q| async move {
        if q.is_empty() {
            Ok(None)
        } else {
            search_users(q).await.map(Some)
        }
    });
    view! {
        <section class="card" aria-labelledby="find-person">
            <h2 id="find-person">"Find a person"</h2>
            <Form method="GET" action="/support" attr:class="search-form" attr:role="search">
                <div class="field">
                    <label for="field-query">"Email or name"</label>
                    <input
                        id="field-query"
                        name="query"
                        type="search"
                        value=typed
                        autocomplete="off"
                        aria-describedby="field-query-error"
                    />
                </div>
                <button type="submit" class="primary">"Search"</button>
            </Form>
            <Transition fallback=|| view! { <p class="muted">"Searching…"</p> }>
                {move || Suspend::new(async move {
                    match hits.await {
                        Ok(None) => ().into_any(),
                        Ok(Some(list)) => search_results(list, typed()).into_any(),
                        Err(e) => view! {
                            <p id="field-query-error" role="alert" class="alert alert-error">
                                {e.field("query").unwrap_or_else(|| e.to_string())}
                            </p>
                        }
                            .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn search_results(list: Vec<UserHit>, query: String) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p role="status" class="muted">{format!("Nobody's email or name contains “{query}”.")}</p>
        }
        .into_any();
    }
    view! {
        <ul class="hits" aria-label="People found">
            {list
                .into_iter()
                .map(|h| {
                    view! {
                        <li>
                            <a href=format!("/support/users/{}", h.id)>{h.name}</a>
                            " "
                            <span class="muted">{h.email}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// Open requests, oldest first, each with its person and a Close button.
#[component]
fn OpenRequests() -> impl IntoView {
    let close = ServerAction::<CloseSupportRequest>::new();
    let error = last_error(close.value());
    let requests = Resource::new_blocking(move || close.version().get(), |_| support_requests());
    view! {
        <section class="card" aria-labelledby="open-requests">
            <h2 id="open-requests">"Open requests"</h2>
            <FormError error=error/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match requests.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="muted">"No open requests."</p> }.into_any()
                        }
                        Ok(list) => requests_table(list, close).into_any(),
                        Err(e) => view! { <p role="alert" class="alert alert-error">{e.to_string()}</p> }
                            .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn requests_table(
    list: Vec<RequestItem>,
    close: ServerAction<CloseSupportRequest>,
) -> impl IntoView {
    view! {
        <table class="events requests">
            <thead>
                <tr>
                    <th scope="col">"Request"</th>
                    <th scope="col">"Who"</th>
                    <th scope="col">"Topic"</th>
                    <th scope="col">"Message"</th>
                    <th scope="col">"Filed"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|r| {
                        view! {
                            <tr>
                                <th scope="row">{format!("#{}", r.id)}</th>
                                <td>
                                    {match r.user_id {
                                        Some(id) => view! { <a href=format!("/support/users/{id}")>{r.name}</a> }.into_any(),
                                        None => view! { <span>{r.name}</span> }.into_any(),
                                    }}
                                    <br/>
                                    <span class="muted">{r.email}</span>
                                    {r.signed_out.then(|| view! {
                                        <br/>
                                        <span class="badge badge-warn" title="The address was typed into the form, not proved by signing in: whoever sent this may not own it.">"Sent signed out"</span>
                                    })}
                                </td>
                                <td>{r.topic}</td>
                                <td class="message">{r.message}</td>
                                <td>{r.filed}</td>
                                <td>
                                    <ActionForm action=close>
                                        <input type="hidden" name="ticket_id" value=r.id/>
                                        <button
                                            type="submit"
                                            aria-label=format!("Close request #{}", r.id)
                                            disabled=move || close.pending().get()
                                        >
                                            "Close"
                                        </button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// `/support/users/:id`: one person, and what support may change for them.
#[component]
pub fn SupportUserPage() -> impl IntoView {
    let params = use_params_map();
    let user_id =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<i64>().ok())));
    let change = ServerAction::<SupportChangeEmail>::new();
    let switch = ServerAction::<SupportSwitchMfa>::new();
    // The data is fetched again after each change that worked. Not after a
    // refused one: that would rebuild the forms and lose what was typed.
    let changes = RwSignal::new(0u32);
    Effect::new(move |_| {
        if matches!(change.value().get(), Some(Ok(_))) {
            changes.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if matches!(switch.value().get(), Some(Ok(_))) {
            changes.update(|n| *n += 1);
        }
    });
    let person = Resource::new_blocking(
        move || (user_id.get(), changes.get()),
        |(id, _)| async move {
            match id {
                Some(id) => support_user(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <div class="support">
            <p class="back"><a href="/support">"Back to the support console"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match person.await {
                        Ok(p) => view! { <Person person=p change=change switch=switch/> }.into_any(),
                        Err(AppError::Forbidden) => view! {
                            <h1>"Global Technical Support"</h1>
                            <NotStaff/>
                        }
                            .into_any(),
                        Err(AppError::NotFound) => view! {
                            <h1>"Person not found"</h1>
                            <div class="card">
                                <p role="alert" class="alert alert-error">
                                    "Nobody has this number. Search for the person by email or name."
                                </p>
                                <p><a class="button primary" href="/support">"Back to the support console"</a></p>
                            </div>
                        }
                            .into_any(),
                        Err(e) => view! {
                            <h1>"Global Technical Support"</h1>
                            <ErrorCard error=e href="/support" action="Back to the support console"/>
                        }
                            .into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn Person(
    person: SupportUserView,
    change: ServerAction<SupportChangeEmail>,
    switch: ServerAction<SupportSwitchMfa>,
) -> impl IntoView {
    let SupportUserView {
        id,
        name,
        email,
        email_verified,
        phone,
        member_since,
        mfa_method,
        password_changed,
        memberships,
        events,
        pending_email,
        waiting_changes,
        is_support,
    } = person;
    view! {
        <h1>{name.clone()}</h1>
        {is_support.then(|| view! { <p><span class="badge">"Global Technical Support staff"</span></p> })}
        <section class="card" aria-labelledby="person-profile">
            <h2 id="person-profile">"Profile"</h2>
            <dl class="details">
                <dt>"Email"</dt>
                <dd>
                    {email.clone()} " "
                    {if email_verified {
                        view! { <span class="badge">"Confirmed"</span> }.into_any()
                    } else {
                        view! { <span class="badge badge-warn">"Not confirmed"</span> }.into_any()
                    }}
                </dd>
                <dt>"Phone"</dt>
                <dd>{phone.unwrap_or_else(|| "None".into())}</dd>
                <dt>"Member since"</dt>
                <dd>{member_since}</dd>
                <dt>"Sign-in method"</dt>
                <dd>{method_label(&mfa_method)}</dd>
                <dt>"Password last changed"</dt>
                <dd>{password_changed}</dd>
                {pending_email.map(|p| view! {
                    <dt>"Email change waiting"</dt>
                    <dd>{p}</dd>
                })}
                {waiting_changes.into_iter().map(|w| view! {
                    <dt>"On hold"</dt>
                    <dd>{w}</dd>
                }).collect_view()}
            </dl>
        </section>
        <section class="card" aria-labelledby="person-accounts">
            <h2 id="person-accounts">"Accounts and roles"</h2>
            {if memberships.is_empty() {
                view! { <p class="muted">"Not a member of any account."</p> }.into_any()
            } else {
                view! {
                    <table class="events">
                        <thead>
                            <tr><th scope="col">"Account"</th><th scope="col">"Role"</th></tr>
                        </thead>
                        <tbody>
                            {memberships
                                .into_iter()
                                .map(|m| view! { <tr><td>{m.account_name}</td><td>{m.role_label}</td></tr> })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
            <p class="hint">"Roles are changed by each account's Owner or Administrators on the account's page, not by support."</p>
        </section>
        {if is_support {
            view! {
                <section class="card" aria-labelledby="sign-in-details">
                    <h2 id="sign-in-details">"Email and sign-in method"</h2>
                    <p>"This person is a Global Technical Support member: their email and sign-in method cannot be changed from the console. They change them themselves, with their password."</p>
                </section>
            }.into_any()
        } else {
            view! {
                <ChangeEmailCard user_id=id current=email.clone() action=change/>
                <SwitchMfaCard user_id=id name=name method=mfa_method email=email action=switch/>
            }.into_any()
        }}
        <section class="card" aria-labelledby="person-activity">
            <h2 id="person-activity">"Activity"</h2>
            {if events.is_empty() {
                view! { <p class="muted">"Nothing yet."</p> }.into_any()
            } else {
                view! {
                    <table class="events audit">
                        <thead>
                            <tr>
                                <th scope="col">"What"</th>
                                <th scope="col">"Detail"</th>
                                <th scope="col">"When"</th>
                                <th scope="col">"IP address"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {events
                                .into_iter()
                                .map(|e| view! {
                                    <tr><td>{e.what}</td><td>{e.detail}</td><td>{e.when}</td><td>{e.ip}</td></tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
    .into_any()
}

/// The ticket a change is made under. Its own id, since two forms on the
/// person's page ask for one.
#[component]
fn TicketField(
    id: &'static str,
    #[prop(into)] error: LastError,
    #[prop(optional, into)] value: Option<String>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let message = move || error.get().and_then(|e| e.field("ticket"));
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id>"Ticket reference"</label>
            <input
                id=id
                name="ticket"
                type="text"
                value=value
                maxlength=TICKET_MAX
                autocomplete="off"
                required=true
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=format!("{hint_id} {error_id}")
            />
            <p class="hint" id=hint_id.clone()>
                "The ticket this change is made under, for example INC-12345. It goes into the person's activity."
            </p>
            <p class="field-error" id=error_id.clone()>{message}</p>
        </div>
    }
}

#[component]
fn ChangeEmailCard(
    user_id: i64,
    current: String,
    action: ServerAction<SupportChangeEmail>,
) -> impl IntoView {
    let error = last_error(action.value());
    let sent = move || action.value().get().and_then(|r| r.ok());
    view! {
        <section class="card" aria-labelledby="change-email">
            <h2 id="change-email">"Change email address"</h2>
            <p>
                "The change waits 24 hours, unless the person approves it from "
                <strong>{current}</strong>
                ", which is mailed a link to approve it and one to say “This was not me”. Then a verification link goes to the new address, and the change applies when the person opens it."
            </p>
            <div role="status" class="form-status">
                {move || sent().map(|to| view! {
                    <p class="alert alert-ok">
                        "On hold: the change to " <strong>{to}</strong>
                        " waits for the person's approval, or 24 hours. Then the verification link goes to the new address."
                    </p>
                })}
            </div>
            <ActionForm action=action attr:class="form inline-form" attr:novalidate=true>
                <FormError error=error/>
                <input type="hidden" name="user_id" value=user_id/>
                <TextField name="email" label="New email address" kind="email" autocomplete="off" required=true error=error/>
                <TicketField id="change-email-ticket" error=error/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    "Change email address"
                </button>
            </ActionForm>
        </section>
    }
}

/// Switching to email codes takes two steps: the ticket, then a
/// confirmation that names what is removed.
#[component]
fn SwitchMfaCard(
    user_id: i64,
    name: String,
    method: String,
    email: String,
    action: ServerAction<SupportSwitchMfa>,
) -> impl IntoView {
    let server_error = last_error(action.value());
    let local_error = RwSignal::new(None::<AppError>);
    let error: LastError = Signal::derive(move || local_error.get().or_else(|| server_error.get()));
    // Without JavaScript the first step is a GET form: `?ticket=…` in the
    // address opens the confirmation.
    let asked = use_query_map()
        .with_untracked(|q| q.get("ticket"))
        .filter(|t| !t.trim().is_empty());
    let confirming = RwSignal::new(asked.is_some());
    let ticket = RwSignal::new(asked.unwrap_or_default());
    // Whatever the server answered, the confirmation closes: a refusal shows
    // under the ticket field again.
    Effect::new(move |_| {
        if action.version().get() > 0 {
            confirming.set(false);
        }
    });
    let done = {
        let name = name.clone();
        let email = email.clone();
        move || {
            matches!(action.value().get(), Some(Ok(()))).then(|| {
                view! {
                    <p class="alert alert-ok">
                        {format!("On hold: {name} was mailed at {email} to approve the switch to email codes. Without approval it happens in 24 hours.")}
                    </p>
                }
            })
        }
    };
    let on_ticket = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = field_value("#switch-mfa-ticket").trim().to_string();
        if value.is_empty() {
            local_error.set(Some(AppError::Validation {
                fields: vec![FieldMessage {
                    field: "ticket".into(),
                    message: "Enter the ticket reference this change is made under (for example INC-12345).".into(),
                }],
            }));
            return;
        }
        local_error.set(None);
        ticket.set(value);
        confirming.set(true);
        request_animation_frame(|| focus_element("confirm-switch-yes"));
    };
    let on_cancel = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        confirming.set(false);
        request_animation_frame(|| focus_element("switch-mfa-ticket"));
    };
    let already_email = method == "email";
    let question_name = name.clone();
    let step = move || {
        if already_email {
            view! { <p class="muted">"This person already signs in with email codes."</p> }
                .into_any()
        } else if confirming.get() {
            let ticket = ticket.get_untracked();
            let question = format!("Switch {question_name} to email codes under ticket {ticket}?");
            view! {
                <ActionForm action=action attr:class="switch-confirm" attr:aria-labelledby="confirm-switch-question">
                    <input type="hidden" name="user_id" value=user_id/>
                    <input type="hidden" name="ticket" value=ticket/>
                    <p id="confirm-switch-question">
                        <strong>{question}</strong>
                    </p>
                    <p>"Once they approve it from their address (or after 24 hours), their authenticator app and recovery codes stop working."</p>
                    <p class="actions">
                        <button type="submit" id="confirm-switch-yes" class="danger" disabled=move || action.pending().get()>
                            "Yes, switch to email codes"
                        </button>
                        <a class="button" href=format!("/support/users/{user_id}") on:click=on_cancel>"Cancel"</a>
                    </p>
                </ActionForm>
            }
                .into_any()
        } else {
            view! {
                <form method="get" class="form inline-form" novalidate=true on:submit=on_ticket>
                    <TicketField id="switch-mfa-ticket" error=error value=ticket.get_untracked()/>
                    <button type="submit">"Switch sign-in to email codes"</button>
                </form>
            }
            .into_any()
        }
    };
    view! {
        <section class="card" aria-labelledby="switch-mfa">
            <h2 id="switch-mfa">"Switch sign-in to email codes"</h2>
            <p>
                "For someone who lost or forgot their authenticator app and has proved who they are. This removes their authenticator app and recovery codes; from then on they sign in with a 6-digit code mailed to "
                <strong>{email}</strong>
                ". The switch waits until they approve it from that address, or 24 hours; they can set up an app again on their Security tab."
            </p>
            <p>"Sign-in method now: " <strong>{method_label(&method)}</strong></p>
            <div role="status" class="form-status">{done}</div>
            <FormError error=server_error/>
            {step}
        </section>
    }
}

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
    let topic_error = move || error.get().and_then(|e| e.field("topic"));
    let message_error = move || error.get().and_then(|e| e.field("message"));
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
                        <TextField
                            name="email"
                            label="Your email address"
                            kind="email"
                            autocomplete="email"
                            required=true
                            hint="We answer here. If it is the address you sign in with, say so in your message."
                            error=error
                        />
                    })}
                    <div class="field" class:invalid=move || topic_error().is_some()>
                        <label for="field-topic">"Topic"</label>
                        <select
                            id="field-topic"
                            name="topic"
                            required=true
                            aria-invalid=move || topic_error().is_some().then_some("true")
                            aria-describedby="field-topic-error"
                        >
                            <option value="" selected=preset.is_empty()>"Choose a topic"</option>
                            {topics()
                                .into_iter()
                                .map(|(value, label)| {
                                    view! { <option value=value selected=preset == value>{label}</option> }
                                })
                                .collect_view()}
                        </select>
                        <p class="field-error" id="field-topic-error">{topic_error}</p>
                    </div>
                    <div class="field" class:invalid=move || message_error().is_some()>
                        <label for="field-message">"Message"</label>
                        <textarea
                            id="field-message"
                            name="message"
                            rows="8"
                            maxlength=MESSAGE_MAX
                            required=true
                            aria-invalid=move || message_error().is_some().then_some("true")
                            aria-describedby="field-message-hint field-message-count field-message-error"
                            on:input=move |ev| count.set(event_target_value(&ev).encode_utf16().count())
                        ></textarea>
                        <p class="hint" id="field-message-hint">
                            "What you need, and anything that helps us find it (an account's name, an error's reference). Never include your password or a sign-in code."
                        </p>
                        <p class="hint counter" id="field-message-count">
                            {move || format!("{} of {MESSAGE_MAX} characters", count.get())}
                        </p>
                        <p class="field-error" id="field-message-error">{message_error}</p>
                    </div>
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

/// `/confirm-email-change?token=…`: the link support's email change mails
/// to the new address. The page names the new address; pressing its button
/// applies the change (a POST: a mail scanner that opens the link changes
/// nothing). Works without JavaScript too.
#[component]
pub fn ConfirmEmailChangePage() -> impl IntoView {
    let token = use_query_map().with_untracked(|q| q.get("token").unwrap_or_default());
    let action = ServerAction::<ConfirmEmailChange>::new();
    let check = Resource::new_blocking(
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
            <p role="alert" class="alert alert-error">{e.to_string()}</p>
            <p>"Your email address has not changed. Global Technical Support can send a new link."</p>
            <p class="actions">
                <a class="button primary" href="/support/contact">"Contact Global Technical Support"</a>
                <a class="button" href="/login">"Sign in"</a>
            </p>
        </div>
    }
}
