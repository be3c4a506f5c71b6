//! The accounts list (`/accounts`) and an account's page (`/accounts/:id`).
//! Every form is an `ActionForm`: it posts before hydration and without
//! JavaScript; with JavaScript the page reloads its data after a change.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::api::{
    load_account, my_accounts, AccountView, ChangeRole, CreateAccount, InviteMember, MemberInfo,
    PendingInvitation, RemoveMember, RevokeInvitation, TransferOwnership,
};
use crate::error::AppError;
use crate::profile::layout::{refresh_me, use_me, MeSignal};
use crate::ui::{last_error, FormError, LastError, TextField};

/// Runs `then` with the answer each time `action` succeeds. Browser only:
/// effects do not run on the server, where a form post reloads the page.
pub(crate) fn on_success<S>(action: ServerAction<S>, then: impl Fn(&S::Output) + 'static)
where
    S: ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
    S::Error: Send + Sync + Clone + 'static,
{
    Effect::new(move |_| {
        action.value().with(|v| {
            if let Some(Ok(out)) = v {
                then(out);
            }
        })
    });
}

/// Puts each refusal of `action` into `problem`, the page's one alert for
/// buttons that have no field to show an error under.
pub(crate) fn report_errors<S>(action: ServerAction<S>, problem: RwSignal<Option<AppError>>)
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
{
    Effect::new(move |_| {
        if let Some(Err(e)) = action.value().get() {
            problem.set(Some(e));
        }
    });
}

/// The arguments of the action's latest dispatch, kept after it resolves
/// (the action itself forgets them), so a success can say what it did.
pub(crate) fn last_input<S>(action: ServerAction<S>) -> StoredValue<Option<S>>
where
    S: ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
    S::Error: Send + Sync + Clone + 'static,
{
    let kept = StoredValue::new(None);
    Effect::new(move |_| {
        if let Some(input) = action.input().get() {
            kept.set_value(Some(input));
        }
    });
    kept
}

/// An error as one sentence for an alert: field messages are spelled out
/// when there is no field on the page to put them under.
pub(crate) fn error_sentence(e: &AppError) -> String {
    match e {
        AppError::Validation { fields } if !fields.is_empty() => fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// The person's accounts with their role in each, and a form to create one.
#[component]
pub fn AccountsPage() -> impl IntoView {
    let create = ServerAction::<CreateAccount>::new();
    let error = last_error(create.value());
    let accounts = Resource::new_blocking(|| (), |_| my_accounts());
    let query = use_query_map();
    let left = move || query.with(|q| q.get("left").is_some());
    view! {
        <h1>"Accounts"</h1>
        <Show when=left>
            <p role="status" class="alert alert-ok">"You left the account."</p>
        </Show>
        <section class="card" aria-labelledby="your-accounts">
            <h2 id="your-accounts">"Your accounts"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match accounts.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted">"You are not a member of any account yet."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="account-list">
                                {list.into_iter().map(|m| view! {
                                    <li>
                                        <a href=format!("/accounts/{}", m.account_id)>{m.account_name}</a>
                                        <span class="role-tag">{m.role_label}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="card" aria-labelledby="create-account">
            <h2 id="create-account">"Create an account"</h2>
            <p class="hint">"An account groups people who work together. You become its Owner and can invite others."</p>
            <ActionForm action=create attr:class="form inline-form" attr:novalidate=true>
                <FormError error=error/>
                <TextField name="name" label="Name" autocomplete="organization" required=true maxlength=100 error=error/>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create account"</button>
            </ActionForm>
        </section>
    }
}

/// The actions of the account page, shared by its sections.
#[derive(Clone, Copy)]
struct Actions {
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvitation>,
    change: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
    leave: ServerAction<RemoveMember>,
    transfer: ServerAction<TransferOwnership>,
}

type AccountResource = Resource<Result<AccountView, AppError>>;

/// The account's name of the page as shown, and the name of one of its members.
fn loaded_names(shown: StoredValue<Option<AccountView>>, user_id: i64) -> (String, String) {
    shown
        .get_value()
        .map(|a| {
            let member = a
                .members
                .iter()
                .find(|m| m.user_id == user_id)
                .map(|m| m.name.clone())
                .unwrap_or_else(|| "The member".into());
            (a.name, member)
        })
        .unwrap_or_else(|| ("the account".into(), "The member".into()))
}

/// One account: its members and roles, and what the person's role allows
/// (inviting, changing roles, removing, leaving, handing the account over).
#[component]
pub fn AccountPage() -> impl IntoView {
    let me = use_me();
    let params = use_params_map();
    let account_id = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .filter(|id| *id > 0)
        })
    };
    let actions = Actions {
        invite: ServerAction::new(),
        revoke: ServerAction::new(),
        change: ServerAction::new(),
        remove: ServerAction::new(),
        leave: ServerAction::new(),
        transfer: ServerAction::new(),
    };
    // Goes up after each change that succeeded; a refused one leaves the
    // page as it is, so nothing typed is lost.
    let changed = RwSignal::new(0u32);
    let account: AccountResource = Resource::new_blocking(
        move || (account_id(), changed.get()),
        |(id, _)| async move {
            match id {
                Some(id) => load_account(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    // The account as last shown. Effects read this copy, never the
    // resource: reading a resource registers the reader's Suspense with it,
    // and its next reload would then blank the whole signed-in frame.
    let shown = StoredValue::new(None::<AccountView>);
    let status = RwSignal::new(None::<String>);
    // Refusals of the buttons without fields of their own (the table's and
    // the list's); the invite and transfer forms show theirs in the form.
    let problem = RwSignal::new(None::<AppError>);
    report_errors(actions.revoke, problem);
    report_errors(actions.change, problem);
    report_errors(actions.remove, problem);
    report_errors(actions.leave, problem);
    let reload = move |message: String| {
        problem.set(None);
        status.set(Some(message));
        changed.update(|n| *n += 1);
    };

    on_success(actions.invite, move |email: &String| {
        reload(format!(
            "Invitation sent to {email}. It is open for 7 days."
        ))
    });
    let revoking = last_input(actions.revoke);
    on_success(actions.revoke, move |_| {
        let email = revoking
            .get_value()
            .and_then(|r| {
                shown.with_value(|a| {
                    a.as_ref()?
                        .invitations
                        .as_ref()?
                        .iter()
                        .find(|i| i.id == r.invitation_id)
                        .map(|i| i.email.clone())
                })
            })
            .unwrap_or_else(|| "that address".into());
        reload(format!("The invitation to {email} was revoked."))
    });
    let changing = last_input(actions.change);
    on_success(actions.change, move |_| {
        let message = match changing.get_value() {
            Some(c) => {
                let (_, name) = loaded_names(shown, c.user_id);
                let label = if c.role == "admin" {
                    "an Administrator"
                } else {
                    "a User"
                };
                format!("{name} is now {label}.")
            }
            None => "The role was changed.".into(),
        };
        reload(message)
    });
    let removing = last_input(actions.remove);
    on_success(actions.remove, move |_| {
        let message = match removing.get_value() {
            Some(r) => {
                let (account_name, name) = loaded_names(shown, r.user_id);
                format!("{name} was removed from {account_name}.")
            }
            None => "The member was removed.".into(),
        };
        reload(message)
    });
    let navigate = use_navigate();
    on_success(actions.leave, move |_| {
        refresh_me(me);
        navigate("/accounts?left=1", Default::default());
    });
    let transferring = last_input(actions.transfer);
    on_success(actions.transfer, move |_| {
        let message = match transferring.get_value() {
            Some(t) => {
                let (account_name, name) = loaded_names(shown, t.user_id);
                format!(
                    "{name} is now the Owner of {account_name}. You are an Administrator of it."
                )
            }
            None => "Ownership was transferred. You are now an Administrator.".into(),
        };
        reload(message)
    });

    view! {
        <Transition fallback=|| view! { <h1>"Account"</h1> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(a) => view! {
                        <header class="account-head">
                            <h1>{a.name.clone()}</h1>
                            <p class="muted">"Your role: " <strong>{a.my_role_label.clone()}</strong></p>
                        </header>
                    }.into_any(),
                    Err(_) => view! { <h1>"Account"</h1> }.into_any(),
                }
            })}
        </Transition>
        // Outside the reloaded part, so screen readers announce new text.
        <p role="status" class="form-status" class:alert=move || status.with(Option::is_some) class:alert-ok=move || status.with(Option::is_some)>
            {move || status.get()}
        </p>
        <Show when=move || problem.with(Option::is_some)>
            <p role="alert" class="alert alert-error page-alert">{move || problem.get().map(|e| error_sentence(&e))}</p>
        </Show>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let answer = account.await;
                shown.set_value(answer.as_ref().ok().cloned());
                if cfg!(feature = "hydrate") {
                    keep_memberships_current(me, account_id(), &answer);
                }
                match answer {
                    Ok(a) => view! { <AccountSections account=a actions=actions/> }.into_any(),
                    Err(AppError::Forbidden | AppError::NotFound) => view! { <NotAMember/> }.into_any(),
                    Err(e) => view! {
                        <div class="card">
                            <p role="alert" class="alert alert-error">{e.to_string()}</p>
                            <p><a class="button" href="/accounts">"Go to your accounts"</a></p>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// When the account page shows a role (or no membership) that the shared
/// person does not list yet, as after creating an account or handing it
/// over, the person is reloaded so the menu and the Profile tab agree.
fn keep_memberships_current(me: MeSignal, id: Option<i64>, shown: &Result<AccountView, AppError>) {
    let listed = me.with_untracked(|m| {
        m.memberships
            .iter()
            .find(|x| Some(x.account_id) == id)
            .map(|x| x.role.clone())
    });
    let stale = match shown {
        Ok(a) => listed.as_deref() != Some(a.my_role.as_str()),
        Err(AppError::Forbidden | AppError::NotFound) => listed.is_some(),
        Err(_) => false,
    };
    if stale {
        refresh_me(me);
    }
}

#[component]
fn NotAMember() -> impl IntoView {
    view! {
        <div class="card">
            <p role="alert" class="alert alert-error">"You are not a member of this account."</p>
            <p>"If you expected to be, ask one of its administrators to invite you."</p>
            <p><a class="button primary" href="/accounts">"Go to your accounts"</a></p>
        </div>
    }
}

#[component]
fn AccountSections(account: AccountView, actions: Actions) -> impl IntoView {
    let AccountView {
        id,
        name,
        my_role,
        members,
        invitations,
        can_manage,
        can_transfer,
        ..
    } = account;
    let my_id = members.iter().find(|m| m.is_me).map(|m| m.user_id);
    let others: Vec<MemberInfo> = members.iter().filter(|m| !m.is_me).cloned().collect();
    view! {
        <section class="card" aria-labelledby="members-heading">
            <h2 id="members-heading">"Members"</h2>
            <MembersTable account_id=id account_name=name.clone() members=members can_manage=can_manage actions=actions/>
        </section>
        {invitations.filter(|_| can_manage).map(|list| view! {
            <InviteForm account_id=id actions=actions/>
            <PendingList account_id=id invitations=list actions=actions/>
        })}
        {can_transfer.then(|| view! { <TransferForm account_id=id others=others actions=actions/> })}
        {match (my_role == "owner", my_id) {
            (false, Some(my_id)) => view! { <LeaveSection account_id=id account_name=name my_id=my_id actions=actions/> }.into_any(),
            _ => ().into_any(),
        }}
    }
    .into_any()
}

#[component]
fn MembersTable(
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
                    let manageable = can_manage && !m.is_me && m.role != "owner";
                    let name_cell = if m.is_me { format!("{} (you)", m.name) } else { m.name.clone() };
                    view! {
                        <tr>
                            <th scope="row">{name_cell}</th>
                            <td>{m.email.clone()}</td>
                            <td>{m.role_label.clone()}</td>
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
fn MemberControls(
    account_id: i64,
    account_name: String,
    member: MemberInfo,
    actions: Actions,
) -> impl IntoView {
    let select_id = format!("role-{}", member.user_id);
    let is_admin = member.role == "admin";
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
                    <option value="admin" selected=is_admin>"Administrator"</option>
                    <option value="user" selected=!is_admin>"User"</option>
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

/// A select with its label and the error for `field` under it.
#[component]
fn SelectField(
    id: &'static str,
    name: &'static str,
    /// The error field the server names (may differ from `name`).
    field: &'static str,
    label: &'static str,
    #[prop(into)] error: LastError,
    children: Children,
) -> impl IntoView {
    let message = move || error.get().and_then(|e| e.field(field));
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id>{label}</label>
            <select
                id=id
                name=name
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=error_id.clone()
            >
                {children()}
            </select>
            <p class="field-error" id=error_id.clone()>{message}</p>
        </div>
    }
}

#[component]
fn InviteForm(account_id: i64, actions: Actions) -> impl IntoView {
    let error = last_error(actions.invite.value());
    view! {
        <section class="card" aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Invite someone"</h2>
            <p class="hint">"We email them a link. They can accept or decline for 7 days, once their address is confirmed."</p>
            <ActionForm action=actions.invite attr:class="form inline-form" attr:novalidate=true>
                <FormError error=error/>
                <input type="hidden" name="account_id" value=account_id/>
                <TextField name="email" label="Email" kind="email" autocomplete="off" required=true error=error/>
                <SelectField id="field-role" name="role" field="role" label="Role" error=error>
                    <option value="user" selected=true>"User"</option>
                    <option value="admin">"Administrator"</option>
                </SelectField>
                <button type="submit" class="primary" disabled=move || actions.invite.pending().get()>"Send invitation"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn PendingList(
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
                                    <td>{i.role_label}</td>
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

/// Only for the Owner: hand the account to another member, confirmed with
/// the password.
#[component]
fn TransferForm(account_id: i64, others: Vec<MemberInfo>, actions: Actions) -> impl IntoView {
    let error = last_error(actions.transfer.value());
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
                        <SelectField id="field-member" name="user_id" field="member" label="New owner" error=error>
                            {others.into_iter().map(|m| view! {
                                <option value=m.user_id>{format!("{} ({}), {}", m.name, m.email, m.role_label)}</option>
                            }).collect_view()}
                        </SelectField>
                        <TextField
                            name="password"
                            label="Your password"
                            kind="password"
                            autocomplete="current-password"
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
fn LeaveSection(
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
