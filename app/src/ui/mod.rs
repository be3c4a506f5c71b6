//! Small shared widgets: labelled fields with their errors, form alerts.

mod actions;

pub use actions::{error_sentence, last_input, on_success, report_errors};

use leptos::prelude::*;

use crate::error::AppError;

/// The error of the last submission of a form, as a signal.
pub type LastError = Signal<Option<AppError>>;

/// The error in an action's latest result, if any.
pub fn last_error<T, S>(value: S) -> LastError
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(|r| r.err()))
}

/// A labelled input whose error (from the last submission) shows under it,
/// tied to the input with `aria-describedby`.
#[component]
pub fn TextField(
    /// The form field name, also the server function argument.
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional, into)] hint: Option<String>,
    /// The value the field starts with.
    #[prop(optional, into)]
    value: Option<String>,
    #[prop(optional)] maxlength: Option<u32>,
    #[prop(into)] error: LastError,
    /// Extra handler for `input` events (the password meter).
    #[prop(optional)]
    on_input: Option<Callback<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let message = move || error.get().and_then(|e| e.field(name));
    let described_by = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        let has_hint = hint.is_some();
        move || {
            if has_hint {
                format!("{hint_id} {error_id}")
            } else {
                error_id.clone()
            }
        }
    };
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id.clone()
                name=name
                type=kind
                value=value
                maxlength=maxlength
                autocomplete=autocomplete
                required=required
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described_by
                on:input=move |ev| {
                    if let Some(cb) = on_input {
                        cb.run(event_target_value(&ev));
                    }
                }
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <p class="field-error" id=error_id.clone()>{message}</p>
        </div>
    }
}

/// A form-level error that is not about one field, announced to screen readers.
#[component]
pub fn FormError(#[prop(into)] error: LastError) -> impl IntoView {
    let text = move || error.get().map(|e: AppError| e.to_string());
    view! {
        <Show when=move || text().is_some()>
            <div class="alert alert-error" role="alert">{text}</div>
        </Show>
    }
}

/// A page-level error (an expired link, an ended sign-in) with the one action
/// that gets the person going again.
#[component]
pub fn ErrorCard(error: AppError, href: &'static str, action: &'static str) -> impl IntoView {
    view! {
        <div class="card">
            <ErrorAlert error=error/>
            <p><a class="button primary" href=href>{action}</a></p>
        </div>
    }
}

/// Once a page has read the token in its URL (it is in the page now), the
/// address bar shows `path` alone: the token stays out of history,
/// bookmarks and screenshots.
pub fn forget_token_in_address_bar(path: &'static str) {
    Effect::new(move |_| crate::dom::replace_address(path));
}

/// A single-use link from a mail, as its page sees it before acting: the
/// address it would confirm (`Ready`), or, after a confirmation posted
/// without JavaScript, the address it confirmed (`Done`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LinkState {
    Ready(String),
    Done(String),
}

/// A select with its label and the error for `field` under it.
#[component]
pub fn SelectField(
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

/// A refusal or failure said in one alert line, as every page says them.
#[component]
pub fn ErrorAlert(error: AppError) -> impl IntoView {
    view! { <p role="alert" class="alert alert-error">{error.to_string()}</p> }
}

/// What shows while a section's data is on its way: muted text inline, or
/// centred for a whole page (`class="loading"`).
#[component]
pub fn Loading(#[prop(default = "muted")] class: &'static str) -> impl IntoView {
    view! { <p class=class>"Loading…"</p> }
}
