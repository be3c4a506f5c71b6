//! `/accounts/:id`: the account, its sections by what the person's role
//! allows, and the status line every action reports to.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::members::MembersTable;
use super::ownership::{LeaveSection, TransferForm};
use super::pending::{InviteForm, PendingList};
use crate::accounts::api::{
    load_account, AccountView, ChangeRole, InviteMember, MemberInfo, RemoveMember,
    RevokeInvitation, TransferOwnership,
};
use crate::error::AppError;
use crate::frame::{refresh_me, use_me, MeSignal};
use crate::ui::{error_sentence, last_input, on_success, report_errors, ErrorAlert, Loading};
use vocab::{lifetimes, may, AccountAction, Role};

/// The actions of the account page, shared by its sections.
#[derive(Clone, Copy)]
pub(super) struct Actions {
    pub(super) invite: ServerAction<InviteMember>,
    pub(super) revoke: ServerAction<RevokeInvitation>,
    pub(super) change: ServerAction<ChangeRole>,
    pub(super) remove: ServerAction<RemoveMember>,
    pub(super) leave: ServerAction<RemoveMember>,
    pub(super) transfer: ServerAction<TransferOwnership>,
}

type AccountResource = crate::load::Data<AccountView>;

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
    let account: AccountResource = crate::load::blocking(
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
            "Invitation sent to {email}. It is open for {}.",
            lifetimes::INVITATION
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
                match Role::parse(&c.role) {
                    Some(role) => format!("{name} is now {}.", role.with_article()),
                    None => "The role was changed.".into(),
                }
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
                            <p class="muted">"Your role: " <strong>{a.my_role.label()}</strong></p>
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
        <Transition fallback=|| view! { <Loading/> }>
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
                            <ErrorAlert error=e/>
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
            .map(|x| x.role)
    });
    let stale = match shown {
        Ok(a) => listed != Some(a.my_role),
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
        ..
    } = account;
    // What to offer; the server decides again on every request.
    let can_manage = may(Some(my_role), AccountAction::ChangeRole);
    let can_invite = may(Some(my_role), AccountAction::Invite);
    let can_transfer = may(Some(my_role), AccountAction::TransferOwnership);
    let can_leave = may(Some(my_role), AccountAction::Leave);
    let my_id = members.iter().find(|m| m.is_me).map(|m| m.user_id);
    let others: Vec<MemberInfo> = members.iter().filter(|m| !m.is_me).cloned().collect();
    view! {
        <section class="card" aria-labelledby="members-heading">
            <h2 id="members-heading">"Members"</h2>
            <MembersTable account_id=id account_name=name.clone() members=members can_manage=can_manage actions=actions/>
        </section>
        {invitations.filter(|_| can_invite).map(|list| view! {
            <InviteForm account_id=id actions=actions/>
            <PendingList account_id=id invitations=list actions=actions/>
        })}
        {can_transfer.then(|| view! { <TransferForm account_id=id others=others actions=actions/> })}
        {match (can_leave, my_id) {
            (true, Some(my_id)) => view! { <LeaveSection account_id=id account_name=name my_id=my_id actions=actions/> }.into_any(),
            _ => ().into_any(),
        }}
    }
    .into_any()
}
