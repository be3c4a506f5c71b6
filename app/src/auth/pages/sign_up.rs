//! `/signup`, with the invitation an address was sent, if any.

use leptos::prelude::*;

use super::NewPasswordField;
use crate::auth::api::SignUp;
use crate::invitations::api::{invitation_preview, InvitationSummary};
use crate::sign_in_bundle::query_value;
use crate::ui::{last_error, ActionForm, Control, ErrorAlert, Field, FormError, Loading};

/// Sign-up. From an invitation link (`?invitation=TOKEN`) it says who
/// invited the person where, and locks the email to the invited address.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = last_error(action.value());
    let token = query_value("invitation")
        .get_untracked()
        .unwrap_or_default();
    let preview = crate::load::blocking(
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
            <Suspense fallback=|| view! { <Loading/> }>
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
                                    <ErrorAlert error=e/>
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
                <Field
                    name="first_name"
                    label="First name"
                    control=Control::input("text").autocomplete("given-name")
                    required=true
                    error=error
                />
                <Field
                    name="last_name"
                    label="Last name"
                    control=Control::input("text").autocomplete("family-name")
                    required=true
                    error=error
                />
            </div>
            {match invited {
                Some((summary, token)) => view! {
                    <Field
                        name="email"
                        label="Email"
                        control=Control::input("email").value(summary.email).readonly()
                        hint="The invitation was sent to this address."
                        error=error
                    />
                    <input type="hidden" name="invitation" value=token/>
                }.into_any(),
                None => view! {
                    <Field
                        name="email"
                        label="Email"
                        control=Control::input("email").autocomplete("email")
                        required=true
                        error=error
                    />
                }.into_any(),
            }}
            <Field
                name="phone"
                label="Phone (optional)"
                control=Control::input("tel").autocomplete("tel")
                hint="Include the country code, for example +1 415 555 0100."
                error=error
            />
            <NewPasswordField label="Password" error=error/>
            <button type="submit" class="primary" disabled=move || action.pending().get()>"Create account"</button>
        </ActionForm>
    }
    .into_any()
}
