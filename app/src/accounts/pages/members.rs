//! The members table: roles shown, and changed or members removed by
//! those who may.

use leptos::prelude::*;

use super::account::Actions;
use crate::accounts::api::MemberInfo;
use crate::ui::ActionForm;
use vocab::Role;

#[component]
pub(super) fn MembersTable(
    account_id: i64,
    account_name: String,
    members: Vec<MemberInfo>,
    can_manage: bool,
    actions: Actions,
) -> impl IntoView {
    view! {
        <table class="members">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Member since"</th>
                    {can_manage.then(|| view! { <th scope="col">"Manage"</th> })}
                </tr>
            </thead>
            <tbody>
                {members.into_iter().map(|m| {
                    let manageable = can_manage && !m.is_me && Role::ASSIGNABLE.contains(&m.role);
                    let name_cell = if m.is_me { format!("{} (you)", m.name) } else { m.name.clone() };
                    view! {
                        <tr>
                            <th scope="row">{name_cell}</th>
                            <td>{m.email.clone()}</td>
                            <td>{m.role.label()}</td>
                            <td>{m.since.clone()}</td>
                            {can_manage.then(|| view! {
                                <td class="manage">
                                    {manageable.then(|| view! {
                                        <MemberControls account_id=account_id account_name=account_name.clone() member=m.clone() actions=actions/>
                                    })}
                                </td>
                            })}
                        </tr>
                    }
                    .into_any()
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A role select with "Change role", and "Remove" behind a confirmation
/// (a disclosure, so it works without JavaScript).
#[component]
pub(super) fn MemberControls(
    account_id: i64,
    account_name: String,
    member: MemberInfo,
    actions: Actions,
) -> impl IntoView {
    let select_id = format!("role-{}", member.user_id);
    let current = member.role;
    let user_id = member.user_id;
    let name = member.name;
    let role_label = format!("Role of {name}");
    let change_suffix = format!(" of {name}");
    let remove_suffix = format!(" {name}");
    let question = format!("Remove {name} from {account_name}? They lose access at once.");
    let confirm = format!("Yes, remove {name}");
    view! {
        <div class="member-controls">
            <ActionForm action=actions.change attr:class="role-form">
                <input type="hidden" name="account_id" value=account_id/>
                <input type="hidden" name="user_id" value=user_id/>
                <label class="visually-hidden" for=select_id.clone()>{role_label}</label>
                <select id=select_id name="role">
                    {Role::ASSIGNABLE.map(|r| view! {
                        <option value=r.as_str() selected=r == current>{r.label()}</option>
                    })}
                </select>
                <button type="submit" disabled=move || actions.change.pending().get()>
                    "Change role" <span class="visually-hidden">{change_suffix}</span>
                </button>
            </ActionForm>
            <details class="confirm">
                <summary role="button">"Remove" <span class="visually-hidden">{remove_suffix}</span></summary>
                <div class="confirm-box">
                    <p>{question}</p>
                    <ActionForm action=actions.remove>
                        <input type="hidden" name="account_id" value=account_id/>
                        <input type="hidden" name="user_id" value=user_id/>
                        <button type="submit" class="danger" disabled=move || actions.remove.pending().get()>
                            {confirm}
                        </button>
                    </ActionForm>
                </div>
            </details>
        </div>
    }
    .into_any()
}
