//! The Dashboard and Security tabs of My Profile, and the tab panel frame.
//! The Dashboard sums up the person: identity, invitations, accounts,
//! sign-in protection and recent activity.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::accounts::pages::MembershipList;
use crate::auth::api::{security_events, Me, SendResetLink};
use crate::auth::pages::SHARED_PASSWORD_NOTE;
use crate::avatar::editor::AvatarEditor;
use crate::frame::{use_me, Avatar, CountBadge};
use crate::security::method::SignInMethod;
use crate::ui::{last_error, ActionForm, FormError, Loaded};

/// Renders `body` with the signed-in person, again whenever they change.
pub fn with_me<V: IntoView + 'static>(
    body: impl Fn(Me) -> V + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let me = use_me();
    move || body(me.get())
}

/// A tab's panel. The content's type is erased here: the tabs' views are
/// deep, and their full types would overflow the compiler's limits where
/// components are not erased (tests).
pub fn panel(labelled_by: &'static str, content: impl IntoView + 'static) -> impl IntoView {
    let content = content.into_any();
    view! {
        <section id="profile-panel" role="tabpanel" aria-labelledby=labelled_by class="panel">
            {content}
        </section>
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    panel(
        "tab-dashboard",
        view! {
            <div class="card identity">
                <div class="avatar-edit">
                    <Avatar size="large"/>
                    <AvatarEditor/>
                </div>
                {with_me(|me: Me| {
                    view! {
                        <div>
                            <h2 data-testid="dashboard-name">{me.full_name()}</h2>
                            <p class="muted">{me.email.clone()}</p>
                            {me.phone_display.clone().map(|p| view! { <p class="muted">{p}</p> })}
                            <p class="muted">"Member since " {me.member_since.clone()}</p>
                        </div>
                    }
                })}
            </div>
            <InvitationsCard/>
            <AccountsCard/>
            <ProtectionCard/>
            <RecentActivity/>
        },
    )
}

/// How many invitations wait for an answer, with the way to the tab.
#[component]
fn InvitationsCard() -> impl IntoView {
    let me = use_me();
    let count = move || me.with(|m| m.invitation_count);
    view! {
        <section class="card" aria-labelledby="dashboard-invitations">
            <h2 id="dashboard-invitations">
                "Invitations" <CountBadge count=Signal::derive(count)/>
            </h2>
            {move || match count() {
                0 => view! { <p class="muted">"You have no open invitations."</p> }.into_any(),
                n => view! {
                    <p>
                        {if n == 1 { "You have 1 open invitation.".to_string() } else { format!("You have {n} open invitations.") }}
                        " "
                        <a href="/profile/invitations">"Answer your invitations"</a>
                    </p>
                }.into_any(),
            }}
        </section>
    }
}

/// The person's accounts with their role in each.
#[component]
fn AccountsCard() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="dashboard-accounts">
            <h2 id="dashboard-accounts">"Your accounts"</h2>
            {with_me(|me: Me| {
                if me.memberships.is_empty() {
                    view! {
                        <p class="muted">"You are not a member of any account yet."</p>
                        <p><a href="/accounts">"Create an account"</a></p>
                    }.into_any()
                } else {
                    view! {
                        <MembershipList memberships=me.memberships/>
                        <p><a href="/accounts">"All accounts"</a></p>
                    }.into_any()
                }
            })}
        </section>
    }
}

/// The second step in use and when the password last changed.
#[component]
fn ProtectionCard() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="dashboard-protection">
            <h2 id="dashboard-protection">"Sign-in protection"</h2>
            {with_me(|me: Me| view! {
                <dl class="details">
                    <dt>"Second step"</dt>
                    <dd>{me.mfa_method.label()}</dd>
                    <dt>"Password last changed"</dt>
                    <dd>{me.password_changed.clone()}</dd>
                </dl>
            })}
            <p>
                <a href="/profile/security#sign-in-protection">"Change sign-in protection"</a>
                " · "
                <a href="/profile/security">"Change password"</a>
            </p>
        </section>
    }
}

/// The ten most recent security events: what, when, from which browser and IP.
#[component]
fn RecentActivity() -> impl IntoView {
    let events = crate::load::blocking(|| (), |_| security_events());
    view! {
        <section class="card" aria-labelledby="recent-activity">
            <h2 id="recent-activity">"Recent activity"</h2>
            <Loaded resource=events let:list>
                {if list.is_empty() {
                    view! { <p class="muted">"Nothing yet."</p> }.into_any()
                } else {
                    view! {
                            <table class="events">
                                <thead>
                                    <tr><th scope="col">"What"</th><th scope="col">"When"</th><th scope="col">"Browser"</th><th scope="col">"IP address"</th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{e.what}</td>
                                            <td><time datetime=e.at>{e.when}</time></td>
                                            <td>{e.browser}</td>
                                            <td>{e.ip}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                }}
            </Loaded>
        </section>
    }
}

#[component]
pub fn SecurityTab() -> impl IntoView {
    let send = ServerAction::<SendResetLink>::new();
    let error = last_error(send.value());
    let query = use_query_map();
    let sent = move || query.with(|q| q.get("reset_sent"));
    let changed = move || query.with(|q| q.get("password").as_deref() == Some("changed"));
    panel(
        "tab-security",
        view! {
            {with_me(|me: Me| {
                view! {
                    <div class="card">
                        <h2>"Security"</h2>
                        <dl class="details">
                            <dt>"Email"</dt>
                            <dd>{me.email.clone()}</dd>
                            <dt>"Email confirmed"</dt>
                            <dd>{if me.email_verified { "Yes" } else { "Not yet" }}</dd>
                            <dt>"Password last changed"</dt>
                            <dd>{me.password_changed.clone()}</dd>
                        </dl>
                    </div>
                }
            })}
            <div class="card">
                <h2>"Password"</h2>
                <p>{format!("We will mail a link to the address above. It works once and expires in {}.", vocab::lifetimes::RESET_LINK)}</p>
                <p class="note">{SHARED_PASSWORD_NOTE}</p>
                <Show when=changed>
                    <p role="status" class="alert alert-ok">"Your password was changed. Your other devices were signed out."</p>
                </Show>
                <Show when=move || sent().is_some()>
                    <p role="status" class="alert alert-ok">
                        {move || {
                            let when = sent()
                                .as_deref()
                                .and_then(crate::auth::pages::clock_time)
                                .map(|t| format!("at {t}"))
                                .unwrap_or_else(|| format!("in {}", vocab::lifetimes::RESET_LINK));
                            format!("We sent a reset link to your email. It expires {when}.")
                        }}
                    </p>
                </Show>
                <FormError error=error/>
                <ActionForm action=send>
                    <button type="submit" class="primary" disabled=move || send.pending().get()>"Send reset password link"</button>
                </ActionForm>
            </div>
            <SignInMethod/>
            <crate::security::devices::Devices/>
        },
    )
}
