//! Password rules (after NIST SP 800-63B) and argon2id hashing.

use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::secret::{Password, PasswordHash};
use crate::{Error, Result};

pub const MIN_LEN: usize = vocab::limits::PASSWORD_MIN_CHARS;
pub const MAX_LEN: usize = vocab::limits::PASSWORD_MAX_CHARS;

/// 8 to 128 characters, no composition rules; refused when it is on the
/// bundled list of ~100,000 common and breached passwords, or when it is the
/// person's own email or name. Returns the reason in plain words.
pub fn check_policy(password: &str, personal: &[&str]) -> std::result::Result<(), String> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(format!("Use at least {MIN_LEN} characters ({len} so far)."));
    }
    if len > MAX_LEN {
        return Err(format!("Use at most {MAX_LEN} characters ({len} given)."));
    }
    if password.chars().any(char::is_control) {
        return Err("Passwords cannot contain control characters.".into());
    }
    let lower = password.to_lowercase();
    if passwords::analyzer::is_common_password(password)
        || passwords::analyzer::is_common_password(&lower)
    {
        return Err("This password appears in lists of breached passwords. Choose another.".into());
    }
    if personal
        .iter()
        .any(|p| !p.trim().is_empty() && lower == p.trim().to_lowercase())
    {
        return Err("Your password cannot be your email or your name.".into());
    }
    Ok(())
}

/// What the strength meter shows while a person types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strength {
    /// zxcvbn's 0 (too guessable) to 4 (very unguessable).
    pub score: u8,
    /// Why the policy refuses it, if it does.
    pub problem: Option<String>,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

pub fn strength(password: &str, personal: &[&str]) -> Strength {
    let truncated: String = password.chars().take(MAX_LEN).collect();
    let problem = check_policy(password, personal).err();
    if truncated.is_empty() {
        return Strength {
            score: 0,
            problem,
            warning: None,
            suggestions: vec![],
        };
    }
    let entropy = zxcvbn::zxcvbn(&truncated, personal);
    let feedback = entropy.feedback();
    Strength {
        score: u8::from(entropy.score()),
        problem,
        warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
        suggestions: feedback
            .map(|f| f.suggestions().iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    }
}

/// Argon2id hashing on the blocking pool behind a concurrency limit, so a
/// burst of sign-ins queues instead of starving the async workers.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    limit: Arc<Semaphore>,
    /// A hash of a random password, verified against when the email is
    /// unknown so that case costs the same time as a wrong password.
    dummy: Arc<std::sync::OnceLock<PasswordHash>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashCost {
    /// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
    Owasp,
    /// The cheapest parameters argon2 accepts; for tests only.
    Minimal,
}

impl PasswordHasher {
    pub fn new(cost: HashCost, max_concurrent: usize) -> Self {
        let params = match cost {
            // argon2's default is exactly OWASP's recommendation.
            HashCost::Owasp => Params::DEFAULT,
            // argon2's own minimums, which it accepts; were it ever to
            // refuse them, the safe default stands in.
            HashCost::Minimal => Params::new(
                Params::MIN_M_COST,
                Params::MIN_T_COST,
                Params::MIN_P_COST,
                None,
            )
            .unwrap_or(Params::DEFAULT),
        };
        Self {
            params,
            limit: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy: Arc::new(std::sync::OnceLock::new()),
        }
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, password: &Password) -> Result<PasswordHash> {
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let params = self.params.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon2(params)
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| PasswordHash(h.to_string()))
                .map_err(|e| Error::Internal(format!("argon2 hash: {e}")))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Checks `password` against a stored hash (whatever parameters it was made with).
    pub async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool> {
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let password = password.clone();
        let hash = hash.clone();
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let parsed = argon2::PasswordHash::new(hash.as_phc())
                .map_err(|e| Error::Internal(format!("stored hash unreadable: {e}")))?;
            Ok(Self::argon2(params)
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Spends the same work as a real verification, for unknown emails.
    pub async fn verify_dummy(&self, password: &Password) -> Result<()> {
        let dummy = match self.dummy.get() {
            Some(h) => h.clone(),
            None => {
                let h = self
                    .hash(&Password::new(crate::secret::Token::generate().expose()))
                    .await?;
                let _ = self.dummy.set(h.clone());
                h
            }
        };
        self.verify(password, &dummy).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules_count_characters_not_bytes() {
        assert!(check_policy("short", &[])
            .unwrap_err()
            .contains("at least 8"));
        assert!(
            check_policy("ñandú-ço", &[]).is_ok(),
            "8 characters, 11 bytes"
        );
        assert!(check_policy(&"x7#".repeat(43), &[])
            .unwrap_err()
            .contains("at most 128"));
        assert!(
            check_policy(&"xk7#q".repeat(25), &[]).is_ok(),
            "125 characters"
        );
    }

    #[test]
    fn no_composition_rules() {
        assert!(check_policy("correct horse battery staple", &[]).is_ok());
        assert!(check_policy("lowercaseonlybutlong", &[]).is_ok());
    }

    #[test]
    fn common_and_breached_passwords_are_refused() {
        for pw in [
            "password",
            "12345678",
            "iloveyou",
            "Password1",
            "qwertyuiop",
            "PASSWORD",
        ] {
            let err = check_policy(pw, &[]).expect_err(pw);
            assert!(err.contains("breached"), "{pw}: {err}");
        }
    }

    #[test]
    fn personal_words_are_refused() {
        let err = check_policy("Ann.Lee@Example.org", &["ann.lee@example.org"]).unwrap_err();
        assert!(err.contains("email or your name"));
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(check_policy("abc\u{0}defghij", &[]).is_err());
    }

    #[test]
    fn strength_scores_grow_with_guessing_cost() {
        let weak = strength("password", &[]);
        let strong = strength("vX9#rT2!mQ7z-Lp4", &[]);
        assert_eq!(weak.score, 0);
        assert!(weak.problem.is_some());
        assert!(strong.score >= 3, "{strong:?}");
        assert!(strong.problem.is_none());
    }

    #[tokio::test]
    async fn hashes_verify_and_hide() {
        let h = PasswordHasher::new(HashCost::Minimal, 2);
        let pw = Password::new("a long enough secret");
        let hash = h.hash(&pw).await.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(!hash.as_phc().contains("a long enough secret"));
        assert!(h.verify(&pw, &hash).await.unwrap());
        assert!(!h
            .verify(&Password::new("another secret!"), &hash)
            .await
            .unwrap());
        h.verify_dummy(&pw).await.unwrap();
    }

    #[test]
    fn owasp_parameters() {
        let h = PasswordHasher::new(HashCost::Owasp, 1);
        assert_eq!(
            (h.params.m_cost(), h.params.t_cost(), h.params.p_cost()),
            (19 * 1024, 2, 1)
        );
    }
}
