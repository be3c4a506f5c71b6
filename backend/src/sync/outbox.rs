//! The transactional outbox: [`record`] runs inside the transaction that
//! makes a change, so the change and its event commit or fail together.
//! It bumps the person's `sync_version`, stores the event with a snapshot of
//! the person's claims after the change, and queues one delivery for each
//! platform the person uses whose granted scopes cover what changed.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::oidc::flow::subject_of;
use crate::oidc::PersonClaims;
use crate::secret::Token;
use crate::{user, Backend, Error, Result};

/// What happened to the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Names or phone edited on the Profile tab.
    Profile,
    /// A picture set, replaced or removed.
    Avatar,
    /// The email address changed (by support) or was confirmed.
    Email,
    /// How the person proves it is them at sign-in.
    SignInMethod,
    /// A new password (changed, or set with a reset link).
    Password,
    /// Joined or left an account, or got another role in one.
    Memberships,
}

impl Change {
    /// The event `type`.
    pub fn event_type(self) -> &'static str {
        match self {
            Change::Profile | Change::Avatar | Change::Email => "person.updated",
            Change::SignInMethod => "person.sign_in_method_changed",
            Change::Password => "person.password_changed",
            Change::Memberships => "person.memberships_changed",
        }
    }

    /// The claims this change may alter, and the scope each needs.
    fn claims(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Change::Profile => &[
                ("name", "profile"),
                ("given_name", "profile"),
                ("family_name", "profile"),
                ("updated_at", "profile"),
                ("phone_number", "phone"),
                ("phone_number_verified", "phone"),
            ],
            Change::Avatar => &[("picture", "profile"), ("updated_at", "profile")],
            Change::Email => &[
                ("email", "email"),
                ("email_verified", "email"),
                ("updated_at", "profile"),
            ],
            Change::SignInMethod | Change::Password | Change::Memberships => &[],
        }
    }
}

/// What an event stores: the type, the claims that changed and their new
/// values (every claim a change may alter, whatever the scope; each
/// platform's body is cut to its scopes when sent), and for a change of
/// sign-in method the new method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    pub sub: String,
    pub version: i64,
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Claim name → the scope a platform needs to hear of it.
    pub needs: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sign_in_method: Option<String>,
    /// For a change of memberships: every account the person is in now.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub memberships: Option<Vec<MembershipClaim>>,
}

/// One account the person is a member of, as platforms hear it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipClaim {
    pub account_id: i64,
    pub account: String,
    /// "owner", "admin" or "user".
    pub role: String,
}

impl StoredEvent {
    /// The `data` of the webhook body for a platform granted `scope`, or
    /// `None` when nothing in it is that platform's to know.
    pub fn data_for(&self, scope: &str) -> Option<serde_json::Value> {
        let granted = |s: &str| scope.split(' ').any(|g| g == s);
        let mut claims = serde_json::Map::new();
        for (claim, needs) in &self.needs {
            if granted(needs) {
                if let Some(v) = self.claims.get(claim) {
                    claims.insert(claim.clone(), v.clone());
                }
            }
        }
        if !self.needs.is_empty() && !claims.keys().any(|k| k != "updated_at") {
            return None;
        }
        let mut data = serde_json::json!({ "sub": self.sub, "version": self.version });
        if !self.needs.is_empty() {
            data["claims"] = serde_json::Value::Object(claims);
        }
        if let Some(m) = &self.sign_in_method {
            data["sign_in_method"] = m.clone().into();
        }
        if let Some(list) = &self.memberships {
            data["memberships"] = serde_json::to_value(list).unwrap_or_default();
        }
        Some(data)
    }
}

fn json_error(e: serde_json::Error) -> Error {
    Error::Internal(format!("event JSON: {e}"))
}

#[derive(FromRow)]
struct Subscriber {
    client_id: String,
    scope: String,
}

/// Writes the event of `change` to `user_id`, inside the caller's
/// transaction (after the change itself, so the snapshot is the new state).
pub async fn record(
    tx: &mut sqlx::AnyConnection,
    user_id: i64,
    change: Change,
    public_url: &str,
    now: UnixTime,
) -> Result<()> {
    let (version,): (i64,) = sqlx::query_as(
        r#"UPDATE "user" SET sync_version = sync_version + 1 WHERE id = $1 RETURNING sync_version"#,
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    let user = user::store::find_by_id(&mut *tx, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    let avatar = crate::avatar::store::find(&mut *tx, user_id).await?;
    let snapshot = PersonClaims::of(
        &user,
        avatar.as_ref().map(|a| a.hash.as_str()),
        "openid profile email phone",
        public_url,
    );
    let all = match serde_json::to_value(&snapshot).map_err(json_error)? {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let mut claims = serde_json::Map::new();
    let mut needs = Vec::new();
    for (claim, scope) in change.claims() {
        // A removed picture or phone is sent as null.
        claims.insert(
            claim.to_string(),
            all.get(*claim).cloned().unwrap_or(serde_json::Value::Null),
        );
        needs.push((claim.to_string(), scope.to_string()));
    }
    let event = StoredEvent {
        event_type: change.event_type().into(),
        sub: subject_of(&mut *tx, user_id, now).await?,
        version,
        claims,
        needs,
        sign_in_method: (change == Change::SignInMethod)
            .then(|| user.mfa_method.as_str().to_string()),
        memberships: if change == Change::Memberships {
            let mut list: Vec<MembershipClaim> =
                crate::account::store::memberships_of(&mut *tx, user_id)
                    .await?
                    .into_iter()
                    .map(|m| MembershipClaim {
                        account_id: m.account_id,
                        account: m.account_name,
                        role: m.role.as_str().to_string(),
                    })
                    .collect();
            list.sort_by_key(|m| m.account_id);
            Some(list)
        } else {
            None
        },
    };
    let id = format!("msg_{}", Token::generate().expose());
    sqlx::query(
        "INSERT INTO change_event (id, user_id, version, type, payload, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(version)
    .bind(&event.event_type)
    .bind(serde_json::to_string(&event).map_err(json_error)?)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let subscribers: Vec<Subscriber> = sqlx::query_as(
        "SELECT u.client_id, u.scope FROM oidc_platform_user u
         JOIN oidc_platform p ON p.client_id = u.client_id
         WHERE u.user_id = $1 AND p.webhook_url IS NOT NULL AND p.webhook_secret IS NOT NULL
         ORDER BY u.client_id",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    for s in subscribers {
        if event.data_for(&s.scope).is_none() {
            continue;
        }
        sqlx::query(
            "INSERT INTO webhook_delivery (event_id, client_id, user_id, version, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(&s.client_id)
        .bind(user_id)
        .bind(version)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

impl Backend {
    /// [`record`] with this server's public URL (for picture URLs).
    pub(crate) async fn record_change(
        &self,
        tx: &mut sqlx::AnyConnection,
        user_id: i64,
        change: Change,
        now: UnixTime,
    ) -> Result<()> {
        record(&mut *tx, user_id, change, &self.settings.public_url, now).await?;
        crate::sync::live::announce_in(self, tx, user_id).await
    }
}

/// Notes that `user_id` signed in to `client_id` with `scope`: from now on
/// the platform hears of that person's changes its scopes cover.
pub async fn subscribe(
    tx: &mut sqlx::AnyConnection,
    client_id: &str,
    user_id: i64,
    scope: &str,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_platform_user (client_id, user_id, first_used_at, scope, last_used_at)
         VALUES ($1, $2, $3, $4, $3)
         ON CONFLICT (client_id, user_id) DO UPDATE SET scope = excluded.scope, last_used_at = excluded.last_used_at",
    )
    .bind(client_id)
    .bind(user_id)
    .bind(now)
    .bind(scope)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(needs: &[(&str, &str)], claims: serde_json::Value) -> StoredEvent {
        StoredEvent {
            event_type: "person.updated".into(),
            sub: "s".into(),
            version: 3,
            claims: claims.as_object().unwrap().clone(),
            needs: needs
                .iter()
                .map(|(c, s)| (c.to_string(), s.to_string()))
                .collect(),
            sign_in_method: None,
            memberships: None,
        }
    }

    #[test]
    fn each_platform_hears_only_what_its_scopes_cover() {
        let e = event(
            Change::Profile.claims(),
            serde_json::json!({"name": "Ann Lee", "given_name": "Ann", "family_name": "Lee",
                               "updated_at": 5, "phone_number": "+15550100", "phone_number_verified": false}),
        );
        let profile_only = e.data_for("openid profile").unwrap();
        assert_eq!(profile_only["claims"]["given_name"], "Ann");
        assert!(profile_only["claims"].get("phone_number").is_none());
        let with_phone = e.data_for("openid profile phone").unwrap();
        assert_eq!(with_phone["claims"]["phone_number"], "+15550100");
        assert_eq!(with_phone["version"], 3);
        // Only updated_at would be left: nothing to send.
        let email = event(
            Change::Email.claims(),
            serde_json::json!({"email": "a@x", "email_verified": true, "updated_at": 5}),
        );
        assert!(email.data_for("openid profile").is_none());
        assert_eq!(
            email.data_for("openid email").unwrap()["claims"]["email"],
            "a@x"
        );
        // Events without claims go to every platform.
        let password = event(&[], serde_json::json!({}));
        assert!(password.data_for("openid").unwrap().get("claims").is_none());
    }
}
