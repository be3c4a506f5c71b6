//! What pages do with server actions: run something on success, report a
//! refusal, remember what was sent, and say an error in one sentence.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

/// Runs `then` with the answer each time `action` succeeds. Browser only:
/// effects do not run on the server, where a form post reloads the page.
pub fn on_success<S>(action: ServerAction<S>, then: impl Fn(&S::Output) + 'static)
where
    S: ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
    S::Error: Send + Sync + Clone + 'static,
{
    Effect::new(move |_| {
        action.value().with(|v| {
            if let Some(Ok(out)) = v {
                then(out);
            }
        })
    });
}

/// Puts each refusal of `action` into `problem`, the page's one alert for
/// buttons that have no field to show an error under.
pub fn report_errors<S>(action: ServerAction<S>, problem: RwSignal<Option<AppError>>)
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
{
    Effect::new(move |_| {
        if let Some(Err(e)) = action.value().get() {
            problem.set(Some(e));
        }
    });
}

/// The arguments of the action's latest dispatch, kept after it resolves
/// (the action itself forgets them), so a success can say what it did.
pub fn last_input<S>(action: ServerAction<S>) -> StoredValue<Option<S>>
where
    S: ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
    S::Error: Send + Sync + Clone + 'static,
{
    let kept = StoredValue::new(None);
    Effect::new(move |_| {
        if let Some(input) = action.input().get() {
            kept.set_value(Some(input));
        }
    });
    kept
}

/// An error as one sentence for an alert: field messages are spelled out
/// when there is no field on the page to put them under.
pub fn error_sentence(e: &AppError) -> String {
    match e {
        AppError::Validation { fields } if !fields.is_empty() => fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}
