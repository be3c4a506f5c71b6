//! The authorization code flow: checking an authorization request and
//! issuing the code for a signed-in person (`authorize`), exchanging it
//! (with PKCE) for tokens, rotating refresh tokens, and answering userinfo
//! (`token`). Here: what both halves and other modules share.

mod authorize;
mod token;
mod userinfo;

pub use authorize::*;
pub use token::*;
pub use userinfo::*;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// `base` with the given query pairs appended (None values left out).
pub(super) fn with_query(base: &str, pairs: &[(&str, Option<&str>)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    if let Some(v) = v {
                        q.append_pair(k, v);
                    }
                }
            }
            url.to_string()
        }
        Err(_) => base.to_string(),
    }
}

/// The public session id in ID and logout tokens (`sid`): derived from the
/// stored hash, so it names the session without being able to open it.
pub fn session_sid(session_hash: &str) -> String {
    hex::encode(Sha256::digest(format!("sid:{session_hash}").as_bytes()))[..32].to_string()
}

/// RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
pub(super) fn well_formed_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// BASE64URL(SHA256(verifier)), the S256 challenge.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_43_to_128_unreserved_characters() {
        assert!(well_formed_verifier(&"a".repeat(43)));
        assert!(well_formed_verifier(&"a-._~".repeat(26)[..128]));
        assert!(!well_formed_verifier(&"a".repeat(42)));
        assert!(!well_formed_verifier(&"a".repeat(129)));
        assert!(!well_formed_verifier(&format!("{}+", "a".repeat(42))));
    }

    #[test]
    fn error_redirects_keep_the_state_and_name_the_issuer() {
        let e = ErrorRedirect {
            redirect_uri: "https://cp.example/cb?x=1".into(),
            error: "login_required",
            description: "Not signed in.".into(),
            state: Some("s t".into()),
        };
        assert_eq!(
            e.location("https://atrium.example"),
            "https://cp.example/cb?x=1&error=login_required&error_description=Not+signed+in.&state=s+t&iss=https%3A%2F%2Fatrium.example"
        );
    }

    #[test]
    fn sid_names_the_session_without_its_hash() {
        let sid = session_sid("abc");
        assert_eq!(sid.len(), 32);
        assert_ne!(sid, session_sid("abd"));
        assert!(!sid.contains("abc"));
    }
}
