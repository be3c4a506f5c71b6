//! Unit tests of the sign-in challenge's codes and masking.

use super::*;

#[test]
fn codes_are_six_digits() {
    for _ in 0..200 {
        let c = new_code();
        assert_eq!(c.len(), 6);
        assert!(c.chars().all(|ch| ch.is_ascii_digit()));
    }
}

#[test]
fn codes_are_bound_to_their_challenge() {
    let (a, b) = (Token::generate(), Token::generate());
    assert_eq!(code_hash(&a, "123456"), code_hash(&a, "123456"));
    assert_ne!(code_hash(&a, "123456"), code_hash(&b, "123456"));
    assert_ne!(code_hash(&a, "123456"), code_hash(&a, "123457"));
}

#[test]
fn typed_codes_tolerate_spaces() {
    assert_eq!(normalize_code(" 123 456 "), "123456");
    assert_eq!(normalize_code("123-456"), "123456");
}

#[test]
fn masks() {
    assert_eq!(mask_email("ann@example.org"), "a•••@example.org");
    assert_eq!(MfaMethod::parse("email"), Some(MfaMethod::Email));
    assert_eq!(MfaMethod::parse("carrier pigeon"), None);
}
