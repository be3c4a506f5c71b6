//! The browser side of `dom`: real calls on the document and the window.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::StreamHandlers;

/// The current value of the input or select matching `selector` (empty
/// when nothing matches).
pub fn field_value(selector: &str) -> String {
    document()
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|el| {
            el.dyn_ref::<web_sys::HtmlInputElement>()
                .map(|i| i.value())
                .or_else(|| {
                    el.dyn_ref::<web_sys::HtmlSelectElement>()
                        .map(|s| s.value())
                })
        })
        .unwrap_or_default()
}

/// Sets the value of the input matching `selector`.
pub fn set_field_value(selector: &str, value: &str) {
    if let Some(input) = document()
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        input.set_value(value);
    }
}

/// Moves keyboard focus to the element with `id`. Call it from
/// `request_animation_frame` when the element has only just been rendered.
pub fn focus_element(id: &str) {
    if let Some(el) = document()
        .get_element_by_id(id)
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Shows `path` in the address bar without a navigation or a history entry.
pub fn replace_address(path: &str) {
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

/// Puts `text` on the clipboard (the browser may still refuse, silently).
pub fn copy_text(text: &str) {
    let _ = window().navigator().clipboard().write_text(text);
}

/// A full page load of `url`.
pub fn go_to(url: &str) {
    let _ = window().location().set_href(url);
}

/// The fields a form submits, URL-encoded as the browser would post them,
/// with the pressed button's (or image input's) name and value.
pub fn submitted_fields(ev: &web_sys::SubmitEvent) -> Result<String, String> {
    let form = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
        .ok_or("the event has no form")?;
    let data =
        web_sys::FormData::new_with_form(&form).map_err(|_| "the form's fields cannot be read")?;
    if let Some(submitter) = ev.submitter() {
        let pressed = submitter
            .dyn_ref::<web_sys::HtmlButtonElement>()
            .map(|b| (b.name(), b.value()))
            .or_else(|| {
                submitter
                    .dyn_ref::<web_sys::HtmlInputElement>()
                    .map(|i| (i.name(), i.value()))
            });
        if let Some((name, value)) = pressed.filter(|(name, _)| !name.is_empty()) {
            let _ = data.append_with_str(&name, &value);
        }
    }
    let fields = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data)
        .map_err(|_| "the form's fields cannot be encoded")?;
    Ok(String::from(fields.to_string()))
}

/// The query of the page's address, with its `?` (or empty).
pub fn current_search() -> String {
    window().location().search().unwrap_or_default()
}

/// The path of the page shown.
pub fn current_path() -> String {
    window().location().pathname().unwrap_or_default()
}

/// Sets an attribute on `<body>`.
pub fn set_body_attribute(name: &str, value: &str) {
    if let Some(body) = document().body() {
        let _ = body.set_attribute(name, value);
    }
}

pub fn register_service_worker(url: &str) {
    let _ = window().navigator().service_worker().register(url);
}

/// Follows the server-sent events at `url` ("changed", "signed-out") while
/// the calling owner lives. The browser reconnects by itself (with
/// `Last-Event-ID`). A page brought back from the back/forward cache has a
/// closed stream and may show old things, so it loads afresh.
pub fn follow_stream(url: &str, handlers: StreamHandlers) {
    let Ok(source) = web_sys::EventSource::new(url) else {
        return;
    };
    let StreamHandlers {
        changed,
        signed_out,
        leaving,
    } = handlers;
    let changed = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| changed());
    let signed_out = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| signed_out());
    let unloading = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| leaving());
    let shown = Closure::<dyn FnMut(web_sys::PageTransitionEvent)>::new(
        move |event: web_sys::PageTransitionEvent| {
            if event.persisted() {
                let _ = window().location().reload();
            }
        },
    );
    let _ = source.add_event_listener_with_callback("changed", changed.as_ref().unchecked_ref());
    let _ =
        source.add_event_listener_with_callback("signed-out", signed_out.as_ref().unchecked_ref());
    let window = window();
    let _ =
        window.add_event_listener_with_callback("beforeunload", unloading.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("pageshow", shown.as_ref().unchecked_ref());
    let kept = StoredValue::new_local(Some((source, changed, signed_out, unloading, shown)));
    on_cleanup(move || {
        if let Some(Some((source, _, _, unloading, shown))) = kept.try_update_value(Option::take) {
            source.close();
            let window = leptos::prelude::window();
            let _ = window.remove_event_listener_with_callback(
                "beforeunload",
                unloading.as_ref().unchecked_ref(),
            );
            let _ = window
                .remove_event_listener_with_callback("pageshow", shown.as_ref().unchecked_ref());
        }
    });
}

/// Runs `f` once, `millis` from now.
pub fn after(millis: u32, f: impl FnOnce() + 'static) {
    gloo_timers::callback::Timeout::new(millis, f).forget();
}
