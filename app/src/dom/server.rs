//! The server's twin of `dom`'s browser side: the same functions, doing
//! nothing. Nothing calls them on the server (they run from effects and
//! event handlers); they exist so that pages compile the same on both sides.

use super::StreamHandlers;

pub fn field_value(_selector: &str) -> String {
    String::new()
}

pub fn set_field_value(_selector: &str, _value: &str) {}

pub fn focus_element(_id: &str) {}

pub fn replace_address(_path: &str) {}

pub fn copy_text(_text: &str) {}

pub fn go_to(_url: &str) {}

pub fn submitted_fields(_ev: &leptos::ev::SubmitEvent) -> Result<String, String> {
    Err("forms are submitted in the browser".into())
}

pub fn current_search() -> String {
    String::new()
}

pub fn current_path() -> String {
    String::new()
}

pub fn set_body_attribute(_name: &str, _value: &str) {}

pub fn register_service_worker(_url: &str) {}

pub fn follow_stream(_url: &str, _handlers: StreamHandlers) {}

pub fn after(_millis: u32, _f: impl FnOnce() + 'static) {}
