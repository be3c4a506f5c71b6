//! The platforms (OpenID Connect clients) that sign people in through
//! Atrium. Only operators register them, from the command line; the client
//! secret is shown once and stored as its SHA-256 (it is 256 random bits,
//! so a fast hash is enough).

use serde::Serialize;
use sqlx::{Any, Executor, FromRow};

use crate::clock::UnixTime;
use crate::secret::Token;
use crate::{Backend, Error, FieldError, Result};

/// A registered platform, as stored (without its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Platform {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub webhook_url: Option<String>,
    pub created_at: UnixTime,
}

#[derive(FromRow)]
struct PlatformRow {
    client_id: String,
    name: String,
    secret_hash: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: Option<String>,
    webhook_url: Option<String>,
    created_at: i64,
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl PlatformRow {
    fn into_platform(self) -> (Platform, String) {
        (
            Platform {
                client_id: self.client_id,
                name: self.name,
                redirect_uris: lines(&self.redirect_uris),
                post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
                backchannel_logout_uri: self.backchannel_logout_uri,
                webhook_url: self.webhook_url,
                created_at: self.created_at,
            },
            self.secret_hash,
        )
    }
}

/// What an operator registers.
#[derive(Clone, Debug, Default)]
pub struct NewPlatform {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub webhook_url: Option<String>,
}

/// A platform just registered, with its client secret: shown once.
#[derive(Serialize)]
pub struct Registered {
    #[serde(flatten)]
    pub platform: Platform,
    pub client_secret: String,
    /// The key webhooks are signed with (Standard Webhooks), when the
    /// platform gave a webhook URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("platform", &self.platform)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// An absolute http(s) URL without a fragment. Plain http only for the
/// loopback interface (RFC 9700 §2.1): anything else must be https.
pub fn check_uri(field: &str, what: &str, raw: &str) -> std::result::Result<(), FieldError> {
    let bad = |why: &str| FieldError::new(field, format!("{what} {raw:?} {why}"));
    let url = url::Url::parse(raw).map_err(|_| bad("is not an absolute URL."))?;
    if url.fragment().is_some() {
        return Err(bad("must not have a #fragment."));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = matches!(
                url.host(),
                Some(url::Host::Domain("localhost"))
                    | Some(url::Host::Ipv4(_))
                    | Some(url::Host::Ipv6(_))
            ) && match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => true,
            };
            if loopback {
                Ok(())
            } else {
                Err(bad("must use https (plain http only on localhost)."))
            }
        }
        _ => Err(bad("must be an http(s) URL.")),
    }
}

fn secret_hash(secret: &str) -> String {
    Token::parse(secret)
        .map(|t| t.hash())
        // Not one of ours: a hash nothing stored can equal.
        .unwrap_or_default()
}

pub async fn find<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    client_id: &str,
) -> Result<Option<Platform>> {
    Ok(find_row(ex, client_id).await?.map(|r| r.into_platform().0))
}

async fn find_row<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    client_id: &str,
) -> Result<Option<PlatformRow>> {
    Ok(sqlx::query_as(
        "SELECT client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris,
                backchannel_logout_uri, webhook_url, created_at
         FROM oidc_platform WHERE client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(ex)
    .await?)
}

impl Backend {
    /// Registers a platform; every URI is checked and all problems reported.
    pub async fn add_platform(&self, new: NewPlatform) -> Result<Registered> {
        let mut errors = Vec::new();
        let name = new.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 80 {
            errors.push(FieldError::new(
                "name",
                "Give the platform a name of 1 to 80 characters.",
            ));
        }
        if new.redirect_uris.is_empty() {
            errors.push(FieldError::new(
                "redirect_uri",
                "Give at least one redirect URI.",
            ));
        }
        for uri in &new.redirect_uris {
            errors.extend(check_uri("redirect_uri", "Redirect URI", uri).err());
        }
        for uri in &new.post_logout_redirect_uris {
            errors.extend(
                check_uri("post_logout_redirect_uri", "Post-logout redirect URI", uri).err(),
            );
        }
        if let Some(uri) = &new.backchannel_logout_uri {
            errors
                .extend(check_uri("backchannel_logout_uri", "Back-channel logout URI", uri).err());
        }
        if let Some(uri) = &new.webhook_url {
            errors.extend(check_uri("webhook_url", "Webhook URL", uri).err());
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let client_id = Token::generate().expose()[..22].to_string();
        let secret = Token::generate();
        let webhook_secret = new
            .webhook_url
            .as_ref()
            .map(|_| crate::sync::webhook::new_secret());
        let now = self.clock.now();
        sqlx::query(
            "INSERT INTO oidc_platform (client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris,
                                        backchannel_logout_uri, webhook_url, created_at, webhook_secret)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&client_id)
        .bind(&name)
        .bind(secret.hash())
        .bind(new.redirect_uris.join("\n"))
        .bind(new.post_logout_redirect_uris.join("\n"))
        .bind(new.backchannel_logout_uri.as_deref())
        .bind(new.webhook_url.as_deref())
        .bind(now)
        .bind(webhook_secret.as_deref())
        .execute(&self.db.pool)
        .await
        .map_err(|e| {
            crate::error::unique_violation_as_field(
                e,
                "oidc_platform_name_key",
                "name",
                "A platform with this name is already registered.",
            )
        })?;
        let platform = find(&self.db.pool, &client_id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(Registered {
            platform,
            client_secret: secret.expose().to_string(),
            webhook_secret,
        })
    }

    pub async fn platforms(&self) -> Result<Vec<Platform>> {
        let rows: Vec<PlatformRow> = sqlx::query_as(
            "SELECT client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris,
                    backchannel_logout_uri, webhook_url, created_at
             FROM oidc_platform ORDER BY created_at, name",
        )
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.into_platform().0).collect())
    }

    pub async fn platform(&self, client_id: &str) -> Result<Option<Platform>> {
        find(&self.db.pool, client_id).await
    }

    /// Removes a platform and every code and token issued to it.
    pub async fn remove_platform(&self, client_id: &str) -> Result<Platform> {
        let mut tx = self.db.begin().await?;
        let platform = find(&mut *tx, client_id).await?.ok_or(Error::NotFound)?;
        for sql in [
            "DELETE FROM webhook_delivery WHERE client_id = $1",
            "DELETE FROM oidc_platform_user WHERE client_id = $1",
            "DELETE FROM oidc_pending WHERE client_id = $1",
            "DELETE FROM oidc_token WHERE client_id = $1",
            "DELETE FROM oidc_code WHERE client_id = $1",
            "DELETE FROM oidc_platform WHERE client_id = $1",
        ] {
            sqlx::query(sql).bind(client_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(platform)
    }

    /// The platform whose id and secret these are; `None` for anything else
    /// (unknown id, wrong secret), with no hint which.
    pub async fn authenticate_platform(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Option<Platform>> {
        let Some(row) = find_row(&self.db.pool, client_id).await? else {
            return Ok(None);
        };
        let (platform, stored) = row.into_platform();
        let given = secret_hash(client_secret);
        let same = !given.is_empty()
            && given.len() == stored.len()
            && given
                .bytes()
                .zip(stored.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        Ok(same.then_some(platform))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_absolute_and_https_outside_loopback() {
        assert!(check_uri("r", "Redirect URI", "https://cp.example/callback").is_ok());
        assert!(check_uri("r", "Redirect URI", "http://127.0.0.1:4000/callback").is_ok());
        assert!(check_uri("r", "Redirect URI", "http://localhost:4000/cb").is_ok());
        assert!(check_uri("r", "Redirect URI", "http://[::1]:4000/cb").is_ok());
        let e = check_uri("r", "Redirect URI", "http://cp.example/callback").unwrap_err();
        assert!(e.message.contains("must use https"), "{}", e.message);
        assert!(check_uri("r", "Redirect URI", "http://10.0.0.1/cb").is_err());
        assert!(check_uri("r", "Redirect URI", "/callback").is_err());
        assert!(check_uri("r", "Redirect URI", "https://cp.example/cb#x").is_err());
        assert!(check_uri("r", "Redirect URI", "javascript:alert(1)").is_err());
    }
}
