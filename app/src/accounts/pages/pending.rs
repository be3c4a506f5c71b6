//! Inviting someone, and the invitations still waiting.

use leptos::prelude::*;

use super::account::Actions;
use crate::accounts::api::PendingInvitation;
use crate::ui::{last_error, ActionForm, Control, Field, FormError};
use vocab::{lifetimes, Role};

#[component]
pub(super) fn InviteForm(account_id: i64, actions: Actions) -> impl IntoView {
    let error = last_error(actions.invite.value());
    view! {
        <section class="card" aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Invite someone"</h2>
            <p class="hint">{format!("We email them a link. They can accept or decline for {}, once their address is confirmed.", lifetimes::INVITATION)}</p>
            <ActionForm action=actions.invite attr:class="form inline-form" attr:novalidate=true>
                <FormError error=error/>
                <input type="hidden" name="account_id" value=account_id/>
                <Field
                    name="email"
                    label="Email"
                    control=Control::input("email").autocomplete("off")
                    required=true
                    error=error
                />
                <Field
                    name="role"
                    label="Role"
                    control=Control::select(
                        [Role::User, Role::Admin]
                            .iter()
                            .map(|r| (r.as_str().to_string(), r.label().to_string()))
                            .collect(),
                        Role::User.as_str(),
                    )
                    error=error
                />
                <button type="submit" class="primary" disabled=move || actions.invite.pending().get()>"Send invitation"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub(super) fn PendingList(
    account_id: i64,
    invitations: Vec<PendingInvitation>,
    actions: Actions,
) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="pending-heading">
            <h2 id="pending-heading">"Pending invitations"</h2>
            {if invitations.is_empty() {
                view! { <p class="muted">"No invitations are waiting for an answer."</p> }.into_any()
            } else {
                view! {
                    <table class="members">
                        <thead>
                            <tr>
                                <th scope="col">"Email"</th>
                                <th scope="col">"Role"</th>
                                <th scope="col">"Invited by"</th>
                                <th scope="col">"Sent"</th>
                                <th scope="col">"Expires"</th>
                                <th scope="col"><span class="visually-hidden">"Revoke"</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            {invitations.into_iter().map(|i| view! {
                                <tr>
                                    <th scope="row">{i.email.clone()}</th>
                                    <td>{i.role.label()}</td>
                                    <td>{i.invited_by}</td>
                                    <td>{i.sent}</td>
                                    <td>{i.expires}</td>
                                    <td>
                                        <ActionForm action=actions.revoke>
                                            <input type="hidden" name="account_id" value=account_id/>
                                            <input type="hidden" name="invitation_id" value=i.id/>
                                            <button type="submit" disabled=move || actions.revoke.pending().get()>
                                                "Revoke" <span class="visually-hidden">{format!(" the invitation to {}", i.email)}</span>
                                            </button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
