//! The first step: a file (chosen, dropped or pasted), the camera, initials
//! on a colour, or the current picture edited again or removed.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vocab::AvatarColor;

use super::camera::start_camera;
use super::state::{Editor, Step};
use crate::profile::api::{remove_avatar, use_generated_avatar};

/// Frames a picture the person gave (file, drop or paste), or says why it
/// cannot be one.
pub(super) fn show_picked(editor: Editor, picked: Result<String, String>) {
    match picked {
        Ok(url) => editor.show_picture(url, None),
        Err(m) => {
            editor.error.set(Some(m));
            editor.focus_heading();
        }
    }
}

#[component]
pub(super) fn ChooseStep(editor: Editor) -> impl IntoView {
    let Editor {
        me,
        step,
        error,
        busy,
        camera_note,
        camera_ok,
        color,
        ..
    } = editor;
    let on_file = move |ev: leptos::ev::Event| {
        if let Some(picked) = super::super::browser::pick_from_input(&ev) {
            show_picked(editor, picked);
        }
    };
    let edit_current = move |_| {
        error.set(None);
        let last = me.with_untracked(|m| m.avatar.crop);
        spawn_local(async move {
            match super::super::browser::pick_original().await {
                Ok(url) => {
                    let crop = last.map(|(x, y, size, rotation)| super::super::geometry::Crop {
                        x,
                        y,
                        size,
                        rotation,
                    });
                    editor.show_picture(url, crop);
                }
                Err(m) => error.set(Some(m)),
            }
        });
    };
    let remove = move |_| {
        busy.set(true);
        spawn_local(async move {
            match remove_avatar().await {
                Ok(info) => {
                    me.update(|m| m.avatar = info);
                    editor.finish("Your picture was removed; your initials show instead.");
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e.to_string()));
                }
            }
        });
    };
    let use_initials = move |_| {
        busy.set(true);
        let chosen = color.get_untracked();
        spawn_local(async move {
            match use_generated_avatar(chosen).await {
                Ok(info) => {
                    me.update(|m| m.avatar = info);
                    editor.finish("Your initials are now your avatar.");
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e.to_string()));
                }
            }
        });
    };
    let has_picture = move || me.with(|m| m.avatar.hash.is_some());

    view! {
        <div class="avatar-choose" hidden=move || step.get() != Step::Choose>
            <div class="drop-zone">
                <p>"Drag a picture here, paste one, or"</p>
                <label class="button primary" for="avatar-file">"Upload from this device"</label>
                <input
                    type="file"
                    id="avatar-file"
                    class="visually-hidden"
                    accept="image/jpeg,image/png,image/webp,image/gif"
                    on:change=on_file
                />
                <p class="hint">{super::super::limits::accepted()}</p>
            </div>
            <div class="camera-option">
                <Show
                    when=move || camera_ok.get()
                    fallback=move || {
                        view! { <p class="hint camera-note">{move || camera_note.get()}</p> }
                    }
                >
                    <button type="button" on:click=move |_| start_camera(editor)>"Take a photo"</button>
                </Show>
            </div>
            <fieldset class="generated">
                <legend>"Or use your initials on a colour"</legend>
                <div class="swatches">
                    {AvatarColor::ALL
                        .iter()
                        .map(|c| {
                            let key = c.as_str();
                            let name = c.label();
                            view! {
                                <label class=format!("swatch avatar-color-{key}")>
                                    <input
                                        type="radio"
                                        name="avatar-color"
                                        value=key
                                        prop:checked=move || color.get() == key
                                        on:change=move |_| color.set(key.to_string())
                                    />
                                    <span class="visually-hidden">{name}</span>
                                </label>
                            }
                        })
                        .collect_view()}
                </div>
                <button type="button" on:click=use_initials disabled=move || busy.get()>"Use initials"</button>
            </fieldset>
            <Show when=has_picture>
                <div class="current-picture">
                    <button type="button" on:click=edit_current>"Edit current picture"</button>
                    <button type="button" class="danger" on:click=remove disabled=move || busy.get()>
                        "Remove picture"
                    </button>
                </div>
            </Show>
        </div>
    }
}
