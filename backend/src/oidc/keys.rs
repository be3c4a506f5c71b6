//! The RSA keys that sign ID tokens and logout tokens (RS256, mandatory in
//! OpenID Connect). The first key is made on first use. `server keys rotate`
//! publishes a new key at once but lets it sign only after platforms' cached
//! copies of the JWKS have expired ([`NEXT_KEY_DELAY_SECS`]); the old key
//! signs until then and stays published long after, so that ID tokens it
//! signed still work as `id_token_hint`. Private keys never leave the server.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::{Backend, Error, Result};

/// 2048-bit RSA: what RS256 verifiers everywhere accept.
pub const KEY_BITS: usize = 2048;
/// How long platforms may cache discovery and the JWKS (`Cache-Control`).
pub const JWKS_MAX_AGE_SECS: i64 = 5 * 60;
/// A rotated-in key signs this long after it is published: every cached
/// JWKS has been refetched by then.
pub const NEXT_KEY_DELAY_SECS: i64 = JWKS_MAX_AGE_SECS + 60;
/// A retired key stays published this long: far longer than the tokens it
/// signed live, because platforms send old ID tokens back as
/// `id_token_hint` when the person signs out.
pub const RETIRED_KEY_KEPT_SECS: i64 = 30 * 24 * 3600;

#[derive(Clone, FromRow)]
struct KeyRow {
    kid: String,
    private_pem: String,
    public_n: String,
    public_e: String,
}

/// One published key of the JWKS (RFC 7517).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// A freshly generated key, ready to store.
struct NewKey {
    kid: String,
    private_pem: String,
    n: String,
    e: String,
}

/// RFC 7638 thumbprint of the public key: a `kid` that names the key itself.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

async fn generate() -> Result<NewKey> {
    tokio::task::spawn_blocking(|| {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
            .map_err(|e| Error::Internal(format!("RSA key generation failed: {e}")))?;
        let private_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::Internal(format!("RSA key encoding failed: {e}")))?
            .to_string();
        let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
        Ok(NewKey {
            kid: thumbprint(&n, &e),
            private_pem,
            n,
            e,
        })
    })
    .await
    .map_err(|e| Error::Internal(format!("key generation task: {e}")))?
}

async fn insert(
    ex: &mut sqlx::AnyConnection,
    key: &NewKey,
    now: UnixTime,
    active_from: UnixTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_signing_key (kid, private_pem, public_n, public_e, created_at, active_from)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.kid)
    .bind(&key.private_pem)
    .bind(&key.n)
    .bind(&key.e)
    .bind(now)
    .bind(active_from)
    .execute(ex)
    .await?;
    Ok(())
}

impl Backend {
    /// The newest key whose time to sign has come.
    async fn active_key(&self) -> Result<Option<KeyRow>> {
        Ok(sqlx::query_as(
            "SELECT kid, private_pem, public_n, public_e FROM oidc_signing_key
             WHERE active_from <= $1 ORDER BY active_from DESC, kid DESC LIMIT 1",
        )
        .bind(self.clock.now())
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// The key that signs now, made on first use.
    async fn signing_key(&self) -> Result<KeyRow> {
        if let Some(key) = self.active_key().await? {
            return Ok(key);
        }
        let key = generate().await?;
        let now = self.clock.now();
        let mut conn = self.db.pool.acquire().await?;
        insert(&mut conn, &key, now, now).await?;
        // Two processes starting at once may both have made one: the newest
        // signs, and both are published.
        self.active_key()
            .await?
            .ok_or_else(|| Error::Internal("no signing key after creating one".into()))
    }

    /// Makes the first signing key if there is none yet.
    pub async fn ensure_signing_key(&self) -> Result<()> {
        self.signing_key().await.map(|_| ())
    }

    /// Publishes a new signing key and retires the current ones. The new key
    /// signs from [`NEXT_KEY_DELAY_SECS`] on (at once with `immediately`,
    /// for a key that leaked: platforms then refetch the JWKS when they meet
    /// the unknown `kid`). Returns the new key's id and when it signs from.
    pub async fn rotate_signing_key(&self, immediately: bool) -> Result<(String, UnixTime)> {
        let key = generate().await?;
        let now = self.clock.now();
        let active_from = if immediately {
            now
        } else {
            now + NEXT_KEY_DELAY_SECS
        };
        let mut tx = self.db.begin().await?;
        sqlx::query("UPDATE oidc_signing_key SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(active_from)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM oidc_signing_key WHERE retired_at <= $1")
            .bind(now - RETIRED_KEY_KEPT_SECS)
            .execute(&mut *tx)
            .await?;
        insert(&mut tx, &key, now, active_from).await?;
        tx.commit().await?;
        Ok((key.kid, active_from))
    }

    async fn published_keys(&self) -> Result<Vec<KeyRow>> {
        Ok(sqlx::query_as(
            "SELECT kid, private_pem, public_n, public_e FROM oidc_signing_key
             WHERE retired_at IS NULL OR retired_at > $1 ORDER BY active_from DESC, kid",
        )
        .bind(self.clock.now() - RETIRED_KEY_KEPT_SECS)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// The public keys platforms verify tokens with.
    pub async fn jwks(&self) -> Result<Jwks> {
        self.signing_key().await?;
        Ok(Jwks {
            keys: self
                .published_keys()
                .await?
                .into_iter()
                .map(|k| Jwk {
                    kty: "RSA",
                    use_: "sig",
                    alg: "RS256",
                    kid: k.kid,
                    n: k.public_n,
                    e: k.public_e,
                })
                .collect(),
        })
    }

    /// Signs `claims` as a JWT with the current key; `typ` is the JWT type
    /// header ("JWT", or "logout+jwt" for back-channel logout).
    pub(crate) async fn sign_jwt<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String> {
        let key = self.signing_key().await?;
        let encoding = EncodingKey::from_rsa_pem(key.private_pem.as_bytes())
            .map_err(|e| Error::Internal(format!("stored signing key unusable: {e}")))?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid);
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &encoding)
            .map_err(|e| Error::Internal(format!("signing failed: {e}")))
    }

    /// The claims of a JWT this server signed with a published key, issued by
    /// us; expiry is not checked (an `id_token_hint` may have expired).
    /// `None` for anything else.
    pub(crate) async fn verify_own_jwt<T: DeserializeOwned>(&self, jwt: &str) -> Result<Option<T>> {
        let Ok(header) = jsonwebtoken::decode_header(jwt) else {
            return Ok(None);
        };
        if header.alg != Algorithm::RS256 {
            return Ok(None);
        }
        let Some(kid) = header.kid else {
            return Ok(None);
        };
        let keys = self.published_keys().await?;
        let Some(key) = keys.into_iter().find(|k| k.kid == kid) else {
            return Ok(None);
        };
        let Ok(decoding) = DecodingKey::from_rsa_components(&key.public_n, &key.public_e) else {
            return Ok(None);
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[self.settings.public_url.as_str()]);
        Ok(jsonwebtoken::decode::<T>(jwt, &decoding, &validation)
            .ok()
            .map(|d| d.claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_follows_rfc_7638() {
        // RFC 7638 §3.1's example key.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let e = "AQAB";
        assert_eq!(
            thumbprint(n, e),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
