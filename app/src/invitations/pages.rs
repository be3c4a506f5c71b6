//! The Invitations tab of My Profile: open invitations with Accept and
//! Decline. The forms post without JavaScript too; with it the list, the
//! badges and the roles update in place.

use leptos::prelude::*;

use super::api::{received_invitations, AcceptInvitation, DeclineInvitation, InvitationItem};
use crate::error::AppError;
use crate::frame::{refresh_me, use_me};
use crate::profile::pages::panel;
use crate::ui::{
    error_sentence, last_input, on_success, report_errors, ActionForm, ErrorAlert, Loading,
};

/// What the last answer did, for the status line.
#[derive(Clone, Debug, PartialEq)]
enum Answered {
    /// Joined `account_name`; `known` holds the accounts the person was in
    /// before, so the new one can be found (names need not be unique).
    Joined {
        account_name: String,
        role: Option<vocab::Role>,
        known: Vec<i64>,
    },
    Declined {
        account_name: String,
    },
}

#[component]
pub fn InvitationsTab() -> impl IntoView {
    let me = use_me();
    let accept = ServerAction::<AcceptInvitation>::new();
    let decline = ServerAction::<DeclineInvitation>::new();
    let changed = RwSignal::new(0u32);
    let list = crate::load::blocking(move || changed.get(), |_| received_invitations());
    let answered = RwSignal::new(None::<Answered>);
    let problem = RwSignal::new(None::<AppError>);
    report_errors(accept, problem);
    report_errors(decline, problem);

    // The list as last shown. Effects read this copy, never the resource:
    // reading a resource registers the reader's Suspense with it, and its
    // next reload would then blank the whole signed-in frame.
    let on_screen = StoredValue::new(Vec::<InvitationItem>::new());
    // The invitation an answer was about.
    let shown = move |id: Option<i64>| -> Option<InvitationItem> {
        let id = id?;
        on_screen.with_value(|l| l.iter().find(|i| i.id == id).cloned())
    };
    let accepting = last_input(accept);
    on_success(accept, move |_| {
        let item = shown(accepting.get_value().map(|a| a.invitation_id));
        let known = me.with_untracked(|m| m.memberships.iter().map(|x| x.account_id).collect());
        answered.set(Some(Answered::Joined {
            account_name: item
                .as_ref()
                .map(|i| i.account_name.clone())
                .unwrap_or_default(),
            role: item.map(|i| i.role),
            known,
        }));
        problem.set(None);
        changed.update(|n| *n += 1);
        refresh_me(me);
    });
    let declining = last_input(decline);
    on_success(decline, move |_| {
        let item = shown(declining.get_value().map(|d| d.invitation_id));
        answered.set(Some(Answered::Declined {
            account_name: item.map(|i| i.account_name).unwrap_or_default(),
        }));
        problem.set(None);
        changed.update(|n| *n += 1);
        refresh_me(me);
    });

    // The account just joined: the membership that was not there before
    // (or, if the person was already in it, the one with that name).
    let joined_href = move |name: &str, known: &[i64]| {
        me.with(|m| {
            let same_name = || m.memberships.iter().filter(|x| x.account_name == name);
            same_name()
                .find(|x| !known.contains(&x.account_id))
                .or_else(|| same_name().next())
                .map(|x| format!("/accounts/{}", x.account_id))
                .unwrap_or_else(|| "/accounts".into())
        })
    };
    let status = move || {
        answered.get().map(|a| match a {
            Answered::Joined {
                account_name,
                role,
                known,
            } => {
                let href = joined_href(&account_name, &known);
                let role = role
                    .map(|r| format!(" as {}", r.label()))
                    .unwrap_or_default();
                view! {
                    "You joined " {account_name.clone()} {role} ". "
                    <a href=href>{format!("Open {account_name}")}</a>
                }
                .into_any()
            }
            Answered::Declined { account_name } => {
                view! { {format!("You declined the invitation to {account_name}.")} }.into_any()
            }
        })
    };
    let unverified = move || me.with(|m| !m.email_verified);

    panel(
        "tab-invitations",
        view! {
            <div class="card">
                <h2>"Invitations"</h2>
                <p role="status" class="form-status" class:alert=move || answered.with(Option::is_some) class:alert-ok=move || answered.with(Option::is_some)>
                    {status}
                </p>
                <Show when=move || problem.with(Option::is_some)>
                    <p role="alert" class="alert alert-error">{move || problem.get().map(|e| error_sentence(&e))}</p>
                </Show>
                <Show when=unverified>
                    <p class="note">"Invitations sent to your address appear here once you confirm it: open the link we mailed you, or use Resend verification email above."</p>
                </Show>
                <Transition fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        let answer = list.await;
                        on_screen.set_value(answer.clone().unwrap_or_default());
                        match answer {
                            Ok(items) if items.is_empty() => view! {
                                <p class="muted">"You have no open invitations."</p>
                            }.into_any(),
                            Ok(items) => view! {
                                <ul class="invitations" aria-label="Open invitations">
                                    {items.into_iter().map(|i| view! {
                                        <InvitationCard item=i accept=accept decline=decline/>
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                            Err(e) => view! { <ErrorAlert error=e/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        },
    )
}

#[component]
fn InvitationCard(
    item: InvitationItem,
    accept: ServerAction<AcceptInvitation>,
    decline: ServerAction<DeclineInvitation>,
) -> impl IntoView {
    let heading_id = format!("invitation-{}", item.id);
    let accept_suffix = format!(" the invitation to {}", item.account_name);
    let decline_suffix = accept_suffix.clone();
    let busy = move || accept.pending().get() || decline.pending().get();
    view! {
        <li class="invitation" aria-labelledby=heading_id.clone()>
            <h3 id=heading_id.clone()>{item.account_name.clone()}</h3>
            <dl class="details">
                <dt>"Role"</dt>
                <dd>{item.role.label()}</dd>
                <dt>"Invited by"</dt>
                <dd>{item.invited_by}</dd>
                <dt>"Sent"</dt>
                <dd>{item.sent}</dd>
                <dt>"Expires"</dt>
                <dd>{item.expires}</dd>
            </dl>
            <div class="answer">
                <ActionForm action=accept>
                    <input type="hidden" name="invitation_id" value=item.id/>
                    <button type="submit" class="primary" disabled=busy>
                        "Accept" <span class="visually-hidden">{accept_suffix}</span>
                    </button>
                </ActionForm>
                <ActionForm action=decline>
                    <input type="hidden" name="invitation_id" value=item.id/>
                    <button type="submit" disabled=busy>
                        "Decline" <span class="visually-hidden">{decline_suffix}</span>
                    </button>
                </ActionForm>
            </div>
        </li>
    }
}
