//! Recovery codes: ten at a time, shown once, stored as hashes with the
//! strength they carry; used at sign-in in place of the app's code.

use rand::Rng;
use sha2::{Digest, Sha256};

use super::RECOVERY_CODES;
use crate::audit::{self, EventKind};
use crate::auth::challenge::MfaMethod;
use crate::clock::UnixTime;
use crate::secret::Token;
use crate::user::User;
use crate::{Backend, Error, RequestMeta, Result};

/// Letters and digits that cannot be mistaken for one another.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Characters in a recovery code: 20 from a 31-letter alphabet make 99
/// bits, out of reach of guessing even with the stored hashes in hand.
const RECOVERY_CODE_LEN: usize = 20;
/// The strength of the codes made now, stored with each.
const RECOVERY_CODE_BITS: i64 = 99;
/// Codes made before 20 characters: 10 characters, about 49 bits. They
/// keep working until replaced; the Security tab asks for new ones.
const SHORT_RECOVERY_CODE_LEN: usize = 10;

/// `xxxxx-xxxxx-xxxxx-xxxxx` from a 31-letter alphabet: about 99 bits.
pub fn new_recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let letters: Vec<char> = (0..RECOVERY_CODE_LEN)
        .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    letters
        .chunks(5)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Lower-case, without spaces or dashes: how codes are compared.
pub fn normalize_recovery_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

pub(super) fn recovery_hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalize_recovery_code(code).as_bytes()))
}

/// Whether what was typed looks like a recovery code rather than an app code.
pub fn looks_like_recovery_code(raw: &str) -> bool {
    let n = normalize_recovery_code(raw);
    (n.len() == RECOVERY_CODE_LEN || n.len() == SHORT_RECOVERY_CODE_LEN)
        && n.chars().any(|c| c.is_ascii_alphabetic())
}

impl Backend {
    /// New recovery codes (the old ones stop working); re-entry of the password required.
    pub async fn regenerate_recovery_codes(
        &self,
        user: &User,
        session_token: &Token,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        self.require_recent_password(session_token).await?;
        if user.mfa_method != MfaMethod::Authenticator {
            return Err(Error::Conflict(
                "Recovery codes come with an authenticator app.".into(),
            ));
        }
        let now = self.clock.now();
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let mut tx = self.db.begin().await?;
        replace_recovery_codes(&mut tx, user.id, &codes, now).await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::RecoveryCodesRegenerated,
            None,
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }
}

pub(super) async fn replace_recovery_codes(
    tx: &mut sqlx::AnyConnection,
    user_id: i64,
    codes: &[String],
    now: UnixTime,
) -> Result<()> {
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    super::store::replace_recovery_code_hashes(tx, user_id, &hashes, RECOVERY_CODE_BITS, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_readable_and_distinct() {
        let codes: std::collections::HashSet<String> =
            (0..100).map(|_| new_recovery_code()).collect();
        assert_eq!(codes.len(), 100);
        for c in &codes {
            let groups: Vec<&str> = c.split('-').collect();
            assert_eq!(groups.len(), 4, "{c}");
            assert!(groups.iter().all(|g| g.len() == 5), "{c}");
            assert!(c
                .chars()
                .all(|ch| ch == '-' || RECOVERY_ALPHABET.contains(&(ch as u8))));
            assert!(looks_like_recovery_code(c));
        }
        // The strength stored with each code is what the code carries.
        let bits = (RECOVERY_CODE_LEN as f64) * (RECOVERY_ALPHABET.len() as f64).log2();
        assert!(
            bits >= 80.0 && RECOVERY_CODE_BITS == bits.floor() as i64,
            "{bits}"
        );
    }

    #[test]
    fn recovery_codes_compare_loosely() {
        assert_eq!(recovery_hash("abcde-fgh23"), recovery_hash(" ABCDE FGH23 "));
        assert!(
            looks_like_recovery_code("abcde-fgh23"),
            "a code made before 20 letters"
        );
        assert!(looks_like_recovery_code("abcde-fgh23-jkmnp-qrstu"));
        assert!(!looks_like_recovery_code("abcde-fgh23-jkmn"));
        assert!(!looks_like_recovery_code("123456"));
        assert!(!looks_like_recovery_code("1234567890"));
    }
}
