//! The three tabs of My Profile. Dashboard shows the basics; Profile and
//! Security show what is registered and grow editing in later issues.

use leptos::prelude::*;

use super::layout::{Avatar, MeResource};
use crate::auth::api::Me;

/// Renders `body` with the signed-in person once the layout's resource is in.
fn with_me<V: IntoView + 'static>(
    body: impl Fn(Me) -> V + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let me = expect_context::<MeResource>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { me.await.ok().flatten().map(body) })}
        </Suspense>
    }
}

fn panel(labelled_by: &'static str, content: impl IntoView) -> impl IntoView {
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
        with_me(|me: Me| {
            view! {
                <div class="card identity">
                    <Avatar me=me.clone() size="large"/>
                    <div>
                        <h2>{me.full_name()}</h2>
                        <p class="muted">{me.email.clone()}</p>
                        <p class="muted">"Member since " {me.member_since.clone()}</p>
                    </div>
                </div>
                <div class="card">
                    <h2>"Invitations"</h2>
                    <p class="muted">"You have no open invitations."</p>
                </div>
            }
        }),
    )
}

#[component]
pub fn ProfileDetails() -> impl IntoView {
    panel(
        "tab-details",
        with_me(|me: Me| {
            view! {
                <div class="card">
                    <h2>"Profile"</h2>
                    <p class="muted">"Loaded from your registration."</p>
                    <dl class="details">
                        <dt>"First name"</dt>
                        <dd>{me.first_name.clone()}</dd>
                        <dt>"Last name"</dt>
                        <dd>{me.last_name.clone()}</dd>
                        <dt>"Phone"</dt>
                        <dd>{me.phone.clone().unwrap_or_else(|| "Not given".into())}</dd>
                        <dt>"Email"</dt>
                        <dd>{me.email.clone()}</dd>
                    </dl>
                    <p class="hint">"You cannot change your email here. Contact Global Technical Support for email changes."</p>
                </div>
            }
        }),
    )
}

#[component]
pub fn SecurityTab() -> impl IntoView {
    panel(
        "tab-security",
        with_me(|me: Me| {
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
        }),
    )
}
