//! The Profile tab: first name, last name and phone, edited in place;
//! email and account roles shown read-only with where they are changed.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::{check_profile, platforms, profile_form_setup, ProfileCheck, UpdateProfile};
use super::pages::panel;
use crate::auth::api::Me;
use crate::avatar::editor::AvatarEditor;
use crate::dom::{field_value, set_field_value};
use crate::error::AppError;
use crate::frame::{use_me, Avatar};
use crate::ui::{last_error, ActionForm, Control, Field, Loaded};

/// Where users go for what they cannot change themselves (email changes).
pub const SUPPORT_HREF: &str = "/support/contact";

#[component]
pub fn ProfileDetails() -> impl IntoView {
    let me = use_me();
    panel(
        "tab-details",
        view! {
            <div class="card">
                <div class="card-head">
                    <div class="avatar-edit">
                        <Avatar size="large"/>
                        <AvatarEditor/>
                    </div>
                    <h2>"Profile"</h2>
                </div>
                <ProfileForm/>
            </div>
            <div class="card">
                <h2>"Email"</h2>
                <p class="readonly-value" data-testid="profile-email">{move || me.with(|m| m.email.clone())}</p>
                <p class="hint">
                    "You cannot change your email address here. "
                    <a href=SUPPORT_HREF>"Contact Global Technical Support"</a>
                    " for email changes."
                </p>
            </div>
            <Platforms/>
            <div class="card">
                <h2 id="roles-heading">"Roles"</h2>
                {move || {
                    let memberships = me.with(|m| m.memberships.clone());
                    if memberships.is_empty() {
                        view! { <p class="muted">"You are not a member of any account yet."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="roles" aria-labelledby="roles-heading">
                                {memberships.into_iter().map(|m| view! {
                                    <li>
                                        {format!("{} of ", m.role.label())}
                                        <a href=format!("/accounts/{}", m.account_id)>{m.account_name}</a>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                }}
                <p class="hint">
                    "Your role in an account is given by that account's owner or administrators. "
                    <a href="/support/contact#roles">"Where roles are changed"</a>
                </p>
            </div>
        },
    )
}

#[component]
fn ProfileForm() -> impl IntoView {
    let me = use_me();
    let setup = crate::load::blocking(|| (), |_| profile_form_setup());
    let save = ServerAction::<UpdateProfile>::new();
    let saved = RwSignal::new(false);
    let live = RwSignal::new(None::<ProfileCheck>);
    // Typing while a save is on its way: the saved values must not overwrite it.
    let typed_during_save = StoredValue::new(false);
    // Typed since the last save or load: a change from elsewhere must not
    // overwrite it either, and the next save stays based on the version the
    // person started from (so it is refused as a conflict, not lost).
    let dirty = StoredValue::new(false);
    let form_version = RwSignal::new(me.get_untracked().version);
    let changed_elsewhere = RwSignal::new(false);

    // A successful save becomes the shared person: the top bar and the
    // Dashboard show the new name at once, and the form its new version. The
    // fields show the values as stored (trimmed, the phone formatted) unless
    // the person has typed since pressing Save.
    Effect::new(move |_| {
        if let Some(Ok(fresh)) = save.value().get() {
            saved.set(true);
            live.set(None);
            form_version.set(fresh.version);
            dirty.set_value(typed_during_save.get_value());
            changed_elsewhere.set(false);
            if !typed_during_save.get_value() {
                set_field_value("#profile-form [name=first_name]", &fresh.first_name);
                set_field_value("#profile-form [name=last_name]", &fresh.last_name);
                set_field_value(
                    "#profile-form [name=phone]",
                    fresh.phone_display.as_deref().unwrap_or(""),
                );
            }
            me.set(fresh);
        }
    });
    Effect::new(move |_| {
        if save.pending().get() {
            typed_during_save.set_value(false);
        }
    });
    // The shared person changed elsewhere (another tab or device, live):
    // an untouched form takes the new values, an edited one says so.
    Effect::new(move |_| {
        let (version, first, last, phone) = me.with(|m| {
            (
                m.version,
                m.first_name.clone(),
                m.last_name.clone(),
                m.phone_display.clone().unwrap_or_default(),
            )
        });
        if version == form_version.get_untracked() {
            return;
        }
        if dirty.get_value() || save.pending().get_untracked() {
            changed_elsewhere.set(true);
        } else {
            set_field_value("#profile-form [name=first_name]", &first);
            set_field_value("#profile-form [name=last_name]", &last);
            set_field_value("#profile-form [name=phone]", &phone);
            form_version.set(version);
        }
    });

    // The last save's error, unless the person has typed since; then the
    // live check's findings.
    let error: Signal<Option<AppError>> = {
        let saved_error = last_error(save.value());
        Signal::derive(move || {
            saved_error.get().or_else(|| {
                live.with(|l| {
                    l.as_ref()
                        .filter(|c| !c.errors.is_empty())
                        .map(|c| AppError::Validation {
                            fields: c.errors.clone(),
                        })
                })
            })
        })
    };
    let conflict = move || match save.value().get() {
        Some(Err(AppError::Conflict { message })) => Some(message),
        _ => None,
    };
    let form_error = move || match error.get() {
        Some(AppError::Validation { .. } | AppError::Conflict { .. }) | None => None,
        Some(other) => Some(other.to_string()),
    };

    let timer = StoredValue::new(None::<TimeoutHandle>);
    let on_input = move |_| {
        dirty.set_value(true);
        if save.pending().get_untracked() {
            typed_during_save.set_value(true);
        }
        saved.set(false);
        save.value().set(None);
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
                spawn_local(async move {
                    let v = |name: &str| field_value(&format!("#profile-form [name=\"{name}\"]"));
                    if let Ok(check) =
                        check_profile(v("first_name"), v("last_name"), v("phone"), v("country"))
                            .await
                    {
                        live.set(Some(check));
                    }
                });
            },
            Duration::from_millis(300),
        );
        timer.set_value(handle.ok());
    };
    let phone_preview = move || {
        live.with(|l| {
            l.as_ref()
                .and_then(|c| c.phone_formatted.clone())
                .map(|p| format!("Will be saved as {p}"))
        })
    };

    view! {
        // Always present, so screen readers announce the text when it appears.
        <p role="status" class="form-status" class:alert=move || saved.get() class:alert-ok=move || saved.get()>
            {move || saved.get().then_some("Your profile was saved.")}
        </p>
        {move || {
            conflict()
                .map(|message| {
                    view! {
                        <div role="alert" class="alert alert-error conflict">
                            <p>{message}</p>
                            // A full page load, so the form shows what is stored now.
                            <a class="button" href="/profile/details" rel="external">"Reload latest values"</a>
                        </div>
                    }
                })
        }}
        <Show when=move || changed_elsewhere.get() && conflict().is_none()>
            <div role="alert" class="alert alert-error conflict" id="changed-elsewhere">
                <p>"Your profile was changed in another tab or on another device."</p>
                <a class="button" href="/profile/details" rel="external">"Reload latest values"</a>
            </div>
        </Show>
        <Show when=move || form_error().is_some()>
            <p role="alert" class="alert alert-error">{form_error}</p>
        </Show>
        // Rendered once (a rebuild would lose focus and typing); the version
        // follows the shared person so the next save is based on it.
        {
            let m: Me = me.get_untracked();
            view! {
                <ActionForm action=save attr:id="profile-form" attr:novalidate=true on:input=on_input>
                    <input
                        type="hidden"
                        name="version"
                        value=m.version
                        prop:value=move || form_version.get().to_string()
                    />
                    <div class="field-row">
                        <Field
                            name="first_name"
                            label="First name"
                            control=Control::input("text").autocomplete("given-name").value(m.first_name.clone())
                            required=true
                            error=error
                        />
                        <Field
                            name="last_name"
                            label="Last name"
                            control=Control::input("text").autocomplete("family-name").value(m.last_name.clone())
                            required=true
                            error=error
                        />
                    </div>
                    <div class="field-row phone-row">
                        <CountryPicker setup=setup stored=m.phone_region.clone()/>
                        <Field
                            name="phone"
                            label="Phone"
                            control=Control::input("tel").autocomplete("tel-national").value(m.phone_display.clone().unwrap_or_default())
                            hint="Optional. Type it as you would dial it at home, or with +country code."
                            error=error
                        />
                    </div>
                    <p class="hint phone-preview" aria-live="polite">{phone_preview}</p>
                    <button type="submit" class="primary" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save changes" }}
                    </button>
                </ActionForm>
            }
        }
    }
}

#[component]
fn CountryPicker(
    setup: crate::load::Data<super::api::ProfileSetup>,
    stored: Option<String>,
) -> impl IntoView {
    view! {
        <div class="field country-field">
            <label for="field-country">"Country"</label>
            <Suspense fallback=|| view! { <select id="field-country" name="country" disabled=true></select> }>
                {
                    let stored = stored.clone();
                    move || {
                        let stored = stored.clone();
                        Suspend::new(async move {
                            let setup = setup.await.ok()?;
                            let chosen = stored.unwrap_or(setup.country);
                            Some(view! {
                                <select id="field-country" name="country" autocomplete="tel-country-code">
                                    {setup
                                        .countries
                                        .into_iter()
                                        .map(|(code, label)| {
                                            let selected = code == chosen;
                                            view! { <option value=code selected=selected>{label}</option> }
                                        })
                                        .collect_view()}
                                </select>
                            })
                        })
                    }
                }
            </Suspense>
        </div>
    }
}

/// The platforms the person signs in to through Atrium, and whether their
/// latest change reached each; reloaded when the person changes (live).
#[component]
fn Platforms() -> impl IntoView {
    let me = use_me();
    // Blocking, like the tab's other resources: a streamed one broke hydration.
    let list = crate::load::blocking(move || me.get(), |_| platforms());
    view! {
        <section class="card" aria-labelledby="platforms-heading">
            <h2 id="platforms-heading">"Platforms"</h2>
            <Loaded resource=list keep_while_reloading=true loading_class="loading" let:list>
                {if list.is_empty() {
                    view! {
                            <p class="muted">"You have not signed in to another platform with Atrium yet."</p>
                        }.into_any()
                } else {
                    view! {
                            <ul class="platforms" aria-labelledby="platforms-heading">
                                {list.into_iter().map(|p| view! {
                                    <li>
                                        <strong>{p.name}</strong>
                                        " "<span class="muted">{p.since}</span>
                                        <span class="platform-status" class:behind=p.behind>{p.status}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                }}
            </Loaded>
            <p class="hint">"Changes to your name, phone and picture reach these platforms by themselves."</p>
        </section>
    }
}
