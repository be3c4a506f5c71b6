//! Handing the account to another member, and leaving it.

use leptos::prelude::*;

use super::account::Actions;
use crate::accounts::api::MemberInfo;
use crate::ui::{last_error, ActionForm, Control, Field, FormError};

/// Only for the Owner: hand the account to another member, confirmed with
/// the password.
#[component]
pub(super) fn TransferForm(
    account_id: i64,
    others: Vec<MemberInfo>,
    actions: Actions,
) -> impl IntoView {
    let error = last_error(actions.transfer.value());
    let candidates: Vec<(String, String)> = others
        .iter()
        .map(|m| {
            let label = format!("{} ({}), {}", m.name, m.email, m.role.label());
            (m.user_id.to_string(), label)
        })
        .collect();
    view! {
        <section class="card" aria-labelledby="transfer-heading">
            <h2 id="transfer-heading">"Transfer ownership"</h2>
            <p>
                "The new Owner gets every right over this account, including handing it on. "
                "You become an Administrator. As the Owner you cannot leave the account until you have transferred it."
            </p>
            {if others.is_empty() {
                view! { <p class="muted">"Ownership can only go to a member. Invite someone first."</p> }.into_any()
            } else {
                view! {
                    <ActionForm action=actions.transfer attr:class="form inline-form" attr:novalidate=true>
                        <FormError error=error/>
                        <input type="hidden" name="account_id" value=account_id/>
                        <Field
                            name="user_id"
                            id="field-member"
                            error_field="member"
                            label="New owner"
                            control=Control::select(candidates, "")
                            error=error
                        />
                        <Field
                            name="password"
                            label="Your password"
                            control=Control::input("password").autocomplete("current-password")
                            required=true
                            hint="To confirm that it is you."
                            error=error
                        />
                        <button type="submit" class="danger" disabled=move || actions.transfer.pending().get()>"Transfer ownership"</button>
                    </ActionForm>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub(super) fn LeaveSection(
    account_id: i64,
    account_name: String,
    my_id: i64,
    actions: Actions,
) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="leave-heading">
            <h2 id="leave-heading">"Leave this account"</h2>
            <p class="muted">"You lose access at once. To come back you need a new invitation."</p>
            <details class="confirm">
                <summary role="button">"Leave account"</summary>
                <div class="confirm-box">
                    <p>{format!("Leave {account_name}?")}</p>
                    <ActionForm action=actions.leave>
                        <input type="hidden" name="account_id" value=account_id/>
                        <input type="hidden" name="user_id" value=my_id/>
                        <button type="submit" class="danger" disabled=move || actions.leave.pending().get()>
                            {format!("Yes, leave {account_name}")}
                        </button>
                    </ActionForm>
                </div>
            </details>
        </section>
    }
}
