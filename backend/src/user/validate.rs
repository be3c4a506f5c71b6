//! Validation of what people type about themselves. The server is the
//! authority; the browser repeats the cheap parts for quick feedback.

use crate::FieldError;

pub const NAME_MAX_CHARS: usize = vocab::limits::NAME_MAX_CHARS;
pub const EMAIL_MAX_CHARS: usize = vocab::limits::EMAIL_MAX_CHARS;

/// Trimmed, 1 to 100 characters, any script; no control characters and no
/// invisible formatting characters (zero-width spaces, bidi overrides).
pub fn name(field: &str, label: &str, raw: &str) -> Result<String, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, format!("Enter your {label}.")));
    }
    let n = v.chars().count();
    if n > NAME_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("Your {label} can be at most {NAME_MAX_CHARS} characters ({n} given)."),
        ));
    }
    if v.chars().any(|c| c.is_control() || is_invisible_format(c)) {
        return Err(FieldError::new(
            field,
            format!("Your {label} contains a control or invisible character; remove it."),
        ));
    }
    Ok(v.to_string())
}

/// Unicode format characters (category Cf) that render as nothing or reorder
/// text, plus the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A syntactically valid address of at most 254 characters. Returns the
/// address as typed (trimmed) and its lower-cased form used for uniqueness.
pub fn email(raw: &str) -> Result<(String, String), FieldError> {
    email_or(raw, "Enter your email address.")
}

/// `email`, saying `when_empty` when nothing was typed: forms that ask for
/// someone else's address word it their own way.
pub fn email_or(raw: &str, when_empty: &str) -> Result<(String, String), FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(FieldError::new("email", when_empty));
    }
    if v.chars().count() > EMAIL_MAX_CHARS {
        return Err(FieldError::new(
            "email",
            "An email address can be at most 254 characters.",
        ));
    }
    let parsed_ok = email_address::EmailAddress::parse_with_options(
        v,
        email_address::Options::default().without_display_text(),
    )
    .is_ok();
    let has_dot_domain = v
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.contains('.') && !d.starts_with('.') && !d.ends_with('.'));
    if !parsed_ok || !has_dot_domain {
        return Err(FieldError::new(
            "email",
            "Enter an email address like name@example.com.",
        ));
    }
    Ok((v.to_string(), v.to_lowercase()))
}

/// Optional. Digits with an optional leading `+` and the usual separators,
/// 5 to 20 digits. Stored as typed, trimmed; full parsing to E.164 comes with
/// the Profile tab.
pub fn phone(raw: &str) -> Result<Option<String>, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.');
    let body = v.strip_prefix('+').unwrap_or(v);
    if !body.chars().all(allowed) {
        return Err(FieldError::new(
            "phone",
            "A phone number can contain only digits, spaces, ( ) - . and a leading +.",
        ));
    }
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if digits < 5 {
        return Err(FieldError::new("phone", "This phone number is too short."));
    }
    if digits > 15 {
        return Err(FieldError::new(
            "phone",
            "This phone number is too long (at most 15 digits).",
        ));
    }
    Ok(Some(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_script_are_kept_trimmed() {
        for n in [
            "Zoë",
            "李",
            "O'Brien",
            "Ñúñez",
            "محمد",
            "<img src=x onerror=alert(1)>",
        ] {
            assert_eq!(
                name("first_name", "first name", &format!("  {n} ")).unwrap(),
                n
            );
        }
    }

    #[test]
    fn bad_names_say_why() {
        assert!(name("f", "first name", "   ")
            .unwrap_err()
            .message
            .contains("Enter your first name"));
        let long = "a".repeat(10_000);
        assert!(name("f", "first name", &long)
            .unwrap_err()
            .message
            .contains("at most 100"));
        assert!(name("f", "first name", "Ann\u{7}")
            .unwrap_err()
            .message
            .contains("control"));
        assert!(name("f", "first name", "An\u{200B}n").is_err());
        assert!(name("f", "first name", "Ann\u{202E}").is_err());
    }

    #[test]
    fn emails_are_normalized_for_uniqueness() {
        assert_eq!(
            email(" Ann.Lee@Example.ORG ").unwrap(),
            (
                "Ann.Lee@Example.ORG".to_string(),
                "ann.lee@example.org".to_string()
            )
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.org",
            "ann@localhost",
            "a b@x.org",
            "Ann <ann@x.org>",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(phone("").unwrap(), None);
        assert_eq!(
            phone(" +1 (415) 555-0100 ").unwrap().as_deref(),
            Some("+1 (415) 555-0100")
        );
        assert!(phone("12").unwrap_err().message.contains("too short"));
        assert!(phone("call me").is_err());
        assert!(phone(&"9".repeat(16))
            .unwrap_err()
            .message
            .contains("too long"));
    }
}
