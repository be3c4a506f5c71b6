//! One labelled form field for every kind of control: its label, hint and
//! error (from the last submission) tied to the control with `for`,
//! `aria-describedby` and `aria-invalid`, the same way on every page.

use leptos::prelude::*;

use super::LastError;

/// How a field takes its value.
#[derive(Clone, Debug)]
pub enum Control {
    /// `<input>`: see `Input`.
    Input(Input),
    /// `<select>` of `(value, label)` options; `selected` is chosen at first.
    Select {
        options: Vec<(String, String)>,
        selected: String,
    },
    /// `<textarea>`.
    TextArea { rows: u32, maxlength: u32 },
}

/// An `<input>` of `kind` ("text", "email", "password", "tel"), built with
/// the attributes it needs.
#[derive(Clone, Debug)]
pub struct Input {
    kind: &'static str,
    autocomplete: Option<&'static str>,
    inputmode: Option<&'static str>,
    maxlength: Option<u32>,
    /// The value it starts with.
    value: Option<String>,
    /// Shown, sent, and not to be changed (an invited address).
    readonly: bool,
}

impl Control {
    /// An `<input>` of `kind`, empty at first.
    pub fn input(kind: &'static str) -> Input {
        Input {
            kind,
            autocomplete: None,
            inputmode: None,
            maxlength: None,
            value: None,
            readonly: false,
        }
    }

    /// A `<select>` of `(value, label)` options, `selected` chosen at first.
    pub fn select(options: Vec<(String, String)>, selected: impl Into<String>) -> Self {
        Control::Select {
            options,
            selected: selected.into(),
        }
    }
}

impl Input {
    pub fn autocomplete(self, hint: &'static str) -> Self {
        Input {
            autocomplete: Some(hint),
            ..self
        }
    }

    pub fn inputmode(self, mode: &'static str) -> Self {
        Input {
            inputmode: Some(mode),
            ..self
        }
    }

    pub fn maxlength(self, n: u32) -> Self {
        Input {
            maxlength: Some(n),
            ..self
        }
    }

    pub fn value(self, v: impl Into<String>) -> Self {
        Input {
            value: Some(v.into()),
            ..self
        }
    }

    pub fn readonly(self) -> Self {
        Input {
            readonly: true,
            ..self
        }
    }
}

impl From<Input> for Control {
    fn from(input: Input) -> Self {
        Control::Input(input)
    }
}

/// A labelled control with its hint and the error the server gave for it.
#[component]
pub fn Field(
    /// The form field name, also the server function argument.
    name: &'static str,
    label: &'static str,
    #[prop(into)] control: Control,
    #[prop(into)] error: LastError,
    /// The element id; `field-<name>` unless two forms on a page share a name.
    #[prop(optional)]
    id: Option<&'static str>,
    /// The field the server names in its error, when not `name`.
    #[prop(optional)]
    error_field: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional, into)] hint: Option<String>,
    /// A live line under the hint (a character counter), read with the field.
    #[prop(optional, into)]
    counter: Option<Signal<String>>,
    /// Called with the value on each `input` event (the password meter, the
    /// counter).
    #[prop(optional)]
    on_input: Option<Callback<String>>,
) -> impl IntoView {
    let id = id
        .map(str::to_string)
        .unwrap_or_else(|| format!("field-{name}"));
    let error_field = error_field.unwrap_or(name);
    let hint_id = format!("{id}-hint");
    let counter_id = format!("{id}-count");
    let error_id = format!("{id}-error");
    let message = move || error.get().and_then(|e| e.field(error_field));
    let invalid = move || message().is_some().then_some("true");
    let described_by = [
        hint.as_ref().map(|_| hint_id.clone()),
        counter.map(|_| counter_id.clone()),
        Some(error_id.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let input = move |ev: leptos::ev::Event| {
        if let Some(cb) = on_input {
            cb.run(event_target_value(&ev));
        }
    };
    let control = match control {
        Control::Input(Input {
            kind,
            autocomplete,
            inputmode,
            maxlength,
            value,
            readonly,
        }) => view! {
            <input
                id=id.clone()
                name=name
                type=kind
                value=value
                maxlength=maxlength
                autocomplete=autocomplete
                inputmode=inputmode
                readonly=readonly
                required=required
                aria-invalid=invalid
                aria-describedby=described_by
                on:input=input
            />
        }
        .into_any(),
        Control::Select { options, selected } => view! {
            <select
                id=id.clone()
                name=name
                required=required
                aria-invalid=invalid
                aria-describedby=described_by
                on:input=input
            >
                {options
                    .into_iter()
                    .map(|(value, label)| {
                        let chosen = value == selected;
                        view! { <option value=value selected=chosen>{label}</option> }
                    })
                    .collect_view()}
            </select>
        }
        .into_any(),
        Control::TextArea { rows, maxlength } => view! {
            <textarea
                id=id.clone()
                name=name
                rows=rows
                maxlength=maxlength
                required=required
                aria-invalid=invalid
                aria-describedby=described_by
                on:input=input
            ></textarea>
        }
        .into_any(),
    };
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            {control}
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            {counter.map(|c| view! { <p class="hint counter" id=counter_id.clone()>{c}</p> })}
            <p class="field-error" id=error_id.clone()>{message}</p>
        </div>
    }
}
