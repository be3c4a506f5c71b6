//! Random tokens and the newtypes that keep secrets out of logs and off the
//! wire: none of them implements `Serialize`, and `Debug` prints a placeholder.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A 256-bit random token as handed to a browser (cookie) or put in a mail link.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// 32 bytes from the operating system's CSPRNG, base64url without padding.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Token(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a token received from a client. Anything that is not 43
    /// base64url characters cannot be one of ours and is refused.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Token(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the token, hex encoded: the only form that is stored.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A password as typed by a person; only ever hashed or measured.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An argon2id PHC string as stored in `user.password_hash`.
#[derive(Clone)]
pub struct PasswordHash(pub(crate) String);

impl PasswordHash {
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert!(Token::parse(a.expose()).is_some());
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.expose());
    }

    #[test]
    fn parse_refuses_foreign_shapes() {
        assert!(Token::parse("").is_none());
        assert!(Token::parse("short").is_none());
        assert!(Token::parse(&"a".repeat(44)).is_none());
        assert!(Token::parse(&format!("{}!", "a".repeat(42))).is_none());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let t = Token::generate();
        assert!(!format!("{t:?}").contains(t.expose()));
        assert_eq!(
            format!("{:?}", Password::new("hunter22")),
            "Password(<redacted>)"
        );
        assert_eq!(
            format!("{:?}", PasswordHash("$argon2id$x".into())),
            "PasswordHash(<redacted>)"
        );
    }
}
