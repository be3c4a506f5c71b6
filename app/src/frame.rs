//! The frame of every signed-in page: top bar with the person's avatar,
//! name and menu, the email verification banner, and the tab list of My
//! Profile; plus the signed-in person's signal (`use_me`) pages read.

use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_location, use_navigate};

use crate::auth::api::{current_user, Me, ResendVerification, SignOut};
use crate::dom::focus_element;
use crate::error::AppError;
use crate::ui::{last_error, ActionForm, ErrorAlert, Loading};

/// The signed-in person as first loaded.
pub type MeResource = crate::load::Data<Option<Me>>;

/// The signed-in person, shared with the top bar and the tabs through
/// context. Saving the profile or the avatar sets it, so every place that
/// shows the name or picture updates at once, without a reload.
pub type MeSignal = RwSignal<Me>;

/// The signed-in person from context (inside the My Profile frame).
pub fn use_me() -> MeSignal {
    expect_context::<MeSignal>()
}

/// Reloads the signed-in person into the shared signal, so the menu badge,
/// the Dashboard and the Profile tab's roles follow a change made on this
/// page (an invitation answered, an account created, left or handed over)
/// without a reload. A failed reload keeps what is shown.
pub fn refresh_me(me: MeSignal) {
    leptos::task::spawn_local(async move {
        if let Ok(Some(fresh)) = current_user().await {
            me.set(fresh);
        }
    });
}

/// The accessible name of a label with a count badge ("Invitations, 2
/// open"), or `None` to keep the label's own text when nothing is open.
pub fn count_label(label: &str, count: usize) -> Option<String> {
    (count > 0).then(|| format!("{label}, {count} open"))
}

/// The count badge after a label, for the eye only: the element it sits in
/// says the number in its name (see `count_label`).
#[component]
pub fn CountBadge(#[prop(into)] count: Signal<usize>) -> impl IntoView {
    view! {
        <Show when=move || { count.get() > 0 }>
            <span class="count-badge" aria-hidden="true">{move || count.get()}</span>
        </Show>
    }
}

const TABS: [(&str, &str, &str); 4] = [
    ("/profile", "Dashboard", "tab-dashboard"),
    ("/profile/details", "Profile", "tab-details"),
    ("/profile/security", "Security", "tab-security"),
    ("/profile/invitations", "Invitations", "tab-invitations"),
];

/// My Profile: the signed-in frame with the heading and the tabs.
#[component]
pub fn ProfileLayout() -> impl IntoView {
    view! { <SignedIn tabs=true/> }
}

/// Account and support pages: the signed-in frame without the tabs.
#[component]
pub fn PlainLayout() -> impl IntoView {
    view! { <SignedIn tabs=false/> }
}

/// The frame of every signed-in page: top bar, verification banner, the
/// page (an `Outlet`), and for My Profile its heading and tabs. Sends people
/// without a session to sign in.
#[component]
fn SignedIn(tabs: bool) -> impl IntoView {
    let me: MeResource = crate::load::blocking(|| (), |_| current_user());
    provide_context(me);
    view! {
        <Suspense fallback=|| view! { <Loading class="loading"/> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => {
                        let shared: MeSignal = RwSignal::new(me.clone());
                        provide_context(shared);
                        let leaving = SigningOut(StoredValue::new(false));
                        provide_context(leaving);
                        follow_changes(shared, leaving);
                        view! {
                        <TopBar/>
                        <main id="main" class="profile">
                            <VerifyBanner me=me.clone()/>
                            {tabs.then(|| view! {
                                <header class="profile-head">
                                    <h1>"My Profile"</h1>
                                </header>
                                <ProfileTabs/>
                            })}
                            <Outlet/>
                        </main>
                        }.into_any()
                    }
                    Ok(None) | Err(AppError::Unauthorized) => view! { <SignInAgain/> }.into_any(),
                    Err(e) => view! {
                        <main id="main" class="auth-page">
                            <ErrorAlert error=e/>
                        </main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Keeps this tab current without a reload: `/api/events` says when the
/// person changed (in another tab, on another device, or by support), and
/// the shared person is reloaded, so the top bar, the Dashboard and the
/// Profile tab follow; when the session ends elsewhere, the tab goes to
/// sign-in. The browser reconnects by itself (with `Last-Event-ID`).
fn follow_changes(me: MeSignal, leaving: SigningOut) {
    Effect::new(move |_| {
        crate::dom::follow_stream(
            "/api/events",
            crate::dom::StreamHandlers {
                changed: Box::new(move || refresh_me(me)),
                // Not when this tab signed itself out and is on its way already.
                signed_out: Box::new(move || {
                    if !leaving.0.get_value() && !crate::dom::current_path().starts_with("/login") {
                        crate::dom::go_to("/login");
                    }
                }),
                // A navigation this tab starts (a link opened, an address
                // typed) wins: for a few seconds a "signed-out" caused by that
                // very request (an email-change link ends every session) does
                // not send the tab to sign-in instead. The stream stays open:
                // when the page stays (a download, a cancelled leave), it goes
                // on following.
                leaving: Box::new(move || {
                    if leaving.0.get_value() {
                        return;
                    }
                    leaving.0.set_value(true);
                    crate::dom::after(3_000, move || {
                        leaving.0.try_set_value(false);
                    });
                }),
            },
        );
    });
}

/// Set when this tab signs out, so the live stream's "signed-out" does not
/// navigate on top of the sign-out's own redirect.
#[derive(Clone, Copy)]
struct SigningOut(StoredValue<bool>);

/// Shown when the session ended while the page was open.
#[component]
fn SignInAgain() -> impl IntoView {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect("/login");
    view! {
        <main id="main" class="auth-page">
            <p role="alert" class="alert alert-error">"Your session has ended. Please sign in again."</p>
            <p><a class="button primary" href="/login">"Sign in"</a></p>
        </main>
    }
}

/// The person's picture, or their initials on their chosen colour. Follows
/// the shared person, so a new picture or name shows at once. Decorative:
/// the name is always written next to it.
#[component]
pub fn Avatar(#[prop(default = "small")] size: &'static str) -> impl IntoView {
    let me = use_me();
    // The 128 px rendition covers the small sizes on dense screens.
    let px = if size == "large" { 512 } else { 128 };
    move || {
        me.with(|m| match m.avatar.url(px) {
            Some(src) => view! {
                <img class=format!("avatar avatar-{size}") src=src alt="" data-avatar="picture"/>
            }
            .into_any(),
            None => {
                let color = m.avatar.color.clone().unwrap_or_else(|| "slate".into());
                view! {
                    <span
                        class=format!("avatar avatar-{size} avatar-color-{color}")
                        aria-hidden="true"
                        data-avatar="initials"
                    >
                        {m.initials()}
                    </span>
                }
                .into_any()
            }
        })
    }
}

#[component]
fn TopBar() -> impl IntoView {
    let me = use_me();
    let sign_out = ServerAction::<SignOut>::new();
    let leaving = expect_context::<SigningOut>();
    Effect::new(move |_| {
        if sign_out.pending().get() {
            leaving.0.set_value(true);
        }
    });
    let full_name = move || me.with(|m| m.full_name());
    let count = Signal::derive(move || me.with(|m| m.invitation_count));
    let menu_label = move || match count.get() {
        0 => format!("Account menu for {}", full_name()),
        1 => format!("Account menu for {}, 1 open invitation", full_name()),
        n => format!("Account menu for {}, {n} open invitations", full_name()),
    };
    let is_support = move || me.with(|m| m.is_support);
    view! {
        <header class="topbar">
            <a class="brand" href="/profile">"Atrium"</a>
            <details class="user-menu">
                <summary role="button" aria-label=menu_label>
                    <Avatar/>
                    <span class="user-name">{full_name}</span>
                    <Show when=move || { count.get() > 0 }>
                        <span class="count-badge" aria-hidden="true">{move || count.get()}</span>
                    </Show>
                </summary>
                <div class="menu">
                    <a href="/profile">"My Profile"</a>
                    <a href="/accounts">"Accounts"</a>
                    <a href="/profile/invitations" aria-label=move || count_label("Invitations", count.get())>
                        "Invitations" <CountBadge count=count/>
                    </a>
                    <Show when=is_support>
                        <a href="/support">"Support console"</a>
                    </Show>
                    <ActionForm action=sign_out>
                        <button type="submit" class="link">"Sign out"</button>
                    </ActionForm>
                </div>
            </details>
        </header>
    }
}

#[component]
fn VerifyBanner(me: Me) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let error = last_error(resend.value());
    let sent = move || resend.value().get().and_then(|r| r.ok());
    (!me.email_verified).then(|| {
        view! {
            <section class="banner" aria-label="Email confirmation">
                <p>
                    "Please confirm your email address. We sent a link to " <strong>{me.email.clone()}</strong> "."
                </p>
                <ActionForm action=resend>
                    <button type="submit" disabled=move || resend.pending().get()>"Resend verification email"</button>
                </ActionForm>
                <p role="status" class="banner-status">
                    {move || sent().map(|to| format!("A new link is on its way to {to}."))}
                </p>
                <Show when=move || error.get().is_some()>
                    <p role="alert" class="alert-error">{move || error.get().map(|e| e.to_string())}</p>
                </Show>
            </section>
        }
    })
}

#[component]
fn ProfileTabs() -> impl IntoView {
    let me = use_me();
    let invitations = Signal::derive(move || me.with(|m| m.invitation_count));
    let location = use_location();
    let navigate = use_navigate();
    let current = move || {
        let path = location.pathname.get();
        let path = path.trim_end_matches('/').to_string();
        TABS.iter()
            .position(|(href, _, _)| *href == path)
            .unwrap_or(0)
    };
    // Arrow keys, Home and End move between tabs, as in the WAI-ARIA tabs pattern.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let i = current();
        let next = match ev.key().as_str() {
            "ArrowRight" => (i + 1) % TABS.len(),
            "ArrowLeft" => (i + TABS.len() - 1) % TABS.len(),
            "Home" => 0,
            "End" => TABS.len() - 1,
            _ => return,
        };
        ev.prevent_default();
        navigate(TABS[next].0, Default::default());
        // Focus follows the selection once the router has rendered the new route.
        let id = TABS[next].2;
        request_animation_frame(move || focus_element(id));
    };
    view! {
        <nav class="tabs" aria-label="Profile sections">
            <div role="tablist" aria-label="Profile sections" on:keydown=on_keydown>
                {TABS
                    .iter()
                    .enumerate()
                    .map(|(i, (href, label, id))| {
                        let selected = move || current() == i;
                        view! {
                            <a
                                role="tab"
                                id=*id
                                href=*href
                                aria-controls="profile-panel"
                                aria-selected=move || if selected() { "true" } else { "false" }
                                aria-current=move || selected().then_some("page")
                                aria-label=move || {
                                    (*id == "tab-invitations")
                                        .then(|| count_label(label, invitations.get()))
                                        .flatten()
                                }
                            >
                                {*label}
                                {(*id == "tab-invitations").then(|| view! { <CountBadge count=invitations/> })}
                            </a>
                        }
                    })
                    .collect_view()}
            </div>
        </nav>
    }
}
