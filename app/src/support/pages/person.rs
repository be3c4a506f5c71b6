//! `/support/users/:id`: one person, and what support may change for them
//! (an email address, the switch to emailed codes), each under a ticket.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::console::NotStaff;
use crate::dom::{field_value, focus_element};
use crate::error::{AppError, FieldMessage};
use crate::support::api::{support_user, SupportChangeEmail, SupportSwitchMfa, SupportUserView};
use crate::ui::{last_error, ActionForm, Control, ErrorCard, Field, FormError, LastError, Loading};
use vocab::{lifetimes, limits, MfaMethod};

const TICKET_MAX: usize = limits::TICKET_MAX_CHARS;

fn method_label(method: MfaMethod) -> &'static str {
    match method {
        MfaMethod::Authenticator => "Authenticator app",
        MfaMethod::Sms => "Text message (SMS) codes",
        MfaMethod::Email => "Email codes",
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
    let person = crate::load::blocking(
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
            <Transition fallback=|| view! { <Loading class="loading"/> }>
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
                <dd>{method_label(mfa_method)}</dd>
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
                                .map(|m| view! { <tr><td>{m.account_name}</td><td>{m.role.label()}</td></tr> })
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
    let mut control = Control::input("text")
        .autocomplete("off")
        .maxlength(TICKET_MAX as u32);
    if let Some(v) = value {
        control = control.value(v);
    }
    view! {
        <Field
            name="ticket"
            id=id
            label="Ticket reference"
            control=control
            required=true
            hint="The ticket this change is made under, for example INC-12345. It goes into the person's activity."
            error=error
        />
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
                {format!("The change waits {}, unless the person approves it from ", lifetimes::SUPPORT_HOLD)}
                <strong>{current}</strong>
                ", which is mailed a link to approve it and one to say “This was not me”. Then a verification link goes to the new address, and the change applies when the person opens it."
            </p>
            <div role="status" class="form-status">
                {move || sent().map(|to| view! {
                    <p class="alert alert-ok">
                        "On hold: the change to " <strong>{to}</strong>
                        {format!(" waits for the person's approval, or {}. Then the verification link goes to the new address.", lifetimes::SUPPORT_HOLD)}
                    </p>
                })}
            </div>
            <ActionForm action=action attr:class="form inline-form" attr:novalidate=true>
                <FormError error=error/>
                <input type="hidden" name="user_id" value=user_id/>
                <Field
                    name="email"
                    label="New email address"
                    control=Control::input("email").autocomplete("off")
                    required=true
                    error=error
                />
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
    method: MfaMethod,
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
                        {format!("On hold: {name} was mailed at {email} to approve the switch to email codes. Without approval it happens in {}.", lifetimes::SUPPORT_HOLD)}
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
    let already_email = method == MfaMethod::Email;
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
                    <p>{format!("Once they approve it from their address (or after {}), their authenticator app and recovery codes stop working.", lifetimes::SUPPORT_HOLD)}</p>
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
                {format!(". The switch waits until they approve it from that address, or {}; they can set up an app again on their Security tab.", lifetimes::SUPPORT_HOLD)}
            </p>
            <p>"Sign-in method now: " <strong>{method_label(method)}</strong></p>
            <div role="status" class="form-status">{done}</div>
            <FormError error=server_error/>
            {step}
        </section>
    }
}
