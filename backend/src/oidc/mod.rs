//! Atrium as an OpenID Connect provider (Core 1.0, Discovery 1.0) for its
//! sister platforms: authorization code flow only, PKCE S256 for every
//! client (RFC 7636, RFC 9700), exact redirect-URI match, single-use codes,
//! rotated refresh tokens with reuse detection, RS256 ID tokens signed with
//! keys kept in the database, and back-channel logout.
//!
//! The HTTP shapes (query strings, forms, JSON, redirects) live in the
//! server's `http::oidc`; this module holds the rules and the storage.

pub mod flow;
pub mod keys;
pub mod logout;
pub mod pending;
pub mod platform;

use serde::Serialize;

use crate::user::User;

/// An authorization code is exchanged within a minute or not at all.
pub const CODE_LIFETIME_SECS: i64 = 60;
/// Access tokens (for userinfo) are short-lived; refresh tokens renew them.
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 10 * 60;
/// ID tokens say who signed in and when; platforms keep their own session.
pub const ID_TOKEN_LIFETIME_SECS: i64 = 10 * 60;
/// A refresh token works this long at most, and only while the Atrium
/// session it came from is live: signing out of Atrium ends it too.
pub const REFRESH_TOKEN_LIFETIME_SECS: i64 = 30 * 24 * 3600;
/// Token requests per platform per minute.
pub const TOKEN_REQUESTS_PER_MINUTE: i64 = 300;

/// The scopes a platform may ask for.
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "phone"];

/// `acr` of a session proven with a password and a second factor.
pub const ACR_MFA: &str = "urn:atrium:acr:mfa";
/// `acr` of a session proven with a password alone (right after sign-up).
pub const ACR_PASSWORD: &str = "urn:atrium:acr:pwd";

/// The `amr` values (RFC 8176) stored with a session, from how its second
/// step was proven: "email code", "text message code", "authenticator app"
/// or "recovery code"; `None` for a session opened by sign-up.
pub fn amr_for(proof: Option<&str>) -> &'static str {
    match proof {
        None => "pwd",
        Some("text message code") => "pwd sms mfa",
        Some("authenticator app") => "pwd otp mfa",
        Some(_) => "pwd mfa",
    }
}

pub fn acr_for(amr: &str) -> &'static str {
    if amr.split(' ').any(|m| m == "mfa") {
        ACR_MFA
    } else {
        ACR_PASSWORD
    }
}

/// The claims about a person a platform may read, by scope. Serialized into
/// ID tokens and userinfo answers; absent claims are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PersonClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Absolute URL of the 128 px avatar; absent without a picture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
}

impl PersonClaims {
    /// What `scope` (space-separated) allows of `user`. `avatar_hash` names
    /// the current picture, if any; `public_url` makes its URL absolute.
    pub fn of(user: &User, avatar_hash: Option<&str>, scope: &str, public_url: &str) -> Self {
        let has = |s: &str| scope.split(' ').any(|x| x == s);
        let mut c = PersonClaims::default();
        if has("profile") {
            c.name = Some(user.full_name());
            c.given_name = Some(user.first_name.clone());
            c.family_name = Some(user.last_name.clone());
            c.picture = avatar_hash.map(|h| format!("{public_url}/avatars/{h}/128"));
            c.updated_at = Some(user.updated_at);
        }
        if has("email") {
            c.email = Some(user.email.clone());
            c.email_verified = Some(user.email_verified_at.is_some());
        }
        if has("phone") {
            if let Some(phone) = &user.phone {
                c.phone_number = Some(phone.clone());
                // Numbers are not confirmed by a texted code yet.
                c.phone_number_verified = Some(false);
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_says_how_the_session_was_proven() {
        assert_eq!(amr_for(None), "pwd");
        assert_eq!(amr_for(Some("email code")), "pwd mfa");
        assert_eq!(amr_for(Some("recovery code")), "pwd mfa");
        assert_eq!(amr_for(Some("text message code")), "pwd sms mfa");
        assert_eq!(amr_for(Some("authenticator app")), "pwd otp mfa");
        assert_eq!(acr_for("pwd otp mfa"), ACR_MFA);
        assert_eq!(acr_for("pwd"), ACR_PASSWORD);
    }
}
