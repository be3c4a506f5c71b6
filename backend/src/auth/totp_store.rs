//! Sealing TOTP secrets (`crate::sealed`): each stored sealed under the
//! newest key, re-sealed at start-up and on key rotation. The rows
//! themselves are `auth::authenticator::store`'s.

use crate::auth::authenticator::store::{self, Slot};
use crate::auth::totp::TotpSecret;
use crate::sealed::{self, Keyring};
use crate::{Backend, Error, Result};

fn context(user_id: i64) -> String {
    format!("totp:{user_id}")
}

/// What `Backend::reseal_secrets` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Values sealed under the newest key that were not before.
    pub resealed: usize,
    /// Of those, values that were stored in plain text (before sealing).
    pub were_plain: usize,
    /// Values that do not open (damaged, or under a key no longer in the
    /// file): left as they are and logged, so that one bad row does not
    /// keep the server from starting.
    pub unreadable: usize,
}

impl Backend {
    pub(crate) fn seal_totp(&self, user_id: i64, secret: &TotpSecret) -> Result<String> {
        self.keys
            .seal(&context(user_id), secret.to_base32().as_bytes())
    }

    /// The secret in a stored value: sealed, or plain text from before
    /// sealing (until `reseal_secrets` has run). A value that does not open
    /// is an error, never a wrong code.
    pub(crate) fn open_totp(&self, user_id: i64, stored: &str) -> Result<TotpSecret> {
        let base32 = if Keyring::is_sealed(stored) {
            let bytes = self.keys.open(&context(user_id), stored)?;
            String::from_utf8(bytes)
                .map_err(|_| Error::Internal("a sealed TOTP secret is not text".into()))?
        } else {
            stored.to_string()
        };
        TotpSecret::from_base32(&base32)
            .ok_or_else(|| Error::Internal("a stored TOTP secret is malformed".into()))
    }

    /// Seals every TOTP secret under the newest key: plain ones from before
    /// sealing, and ones under an older key after a rotation. Each row is
    /// replaced only if unchanged meanwhile. Run at every start.
    pub async fn reseal_secrets(&self) -> Result<Resealed> {
        // Only the rows with a value not under the newest key: at an
        // ordinary start, none.
        let current = self.keys.current_like_pattern();
        let rows = store::not_sealed_under(&self.db.pool, &current).await?;
        let mut done = Resealed::default();
        for row in rows {
            let user_id = row.user_id;
            for (slot, stored) in [
                (Slot::Active, row.secret),
                (Slot::Pending, row.pending_secret),
            ] {
                let Some(stored) = stored else { continue };
                if self.keys.is_current(&stored) {
                    continue;
                }
                let secret = match self.open_totp(user_id, &stored) {
                    Ok(secret) => secret,
                    Err(e) => {
                        tracing::error!(user_id, error = %e, "an authenticator secret does not open; left as it is");
                        done.unreadable += 1;
                        continue;
                    }
                };
                let sealed = self.seal_totp(user_id, &secret)?;
                if store::reseal(&self.db.pool, user_id, slot, &stored, &sealed).await? {
                    done.resealed += 1;
                    done.were_plain += usize::from(!Keyring::is_sealed(&stored));
                }
            }
        }
        if done.resealed > 0 {
            tracing::info!(
                resealed = done.resealed,
                were_plain = done.were_plain,
                "authenticator secrets sealed under the newest key"
            );
        }
        Ok(done)
    }

    /// Rotates the secret key: a new key seals from now on, every stored
    /// secret is re-sealed under it, and older keys no value uses any more
    /// leave the key file. Returns the new key's id and the ids retired.
    ///
    /// Other processes pick the new key up from the file when they first
    /// meet a value sealed under it; keys are retired only when no stored
    /// value names them.
    pub async fn rotate_secret_key(&self) -> Result<(String, Vec<String>)> {
        let id = self.keys.rotate()?;
        self.reseal_secrets().await?;
        let in_use = self.key_ids_in_use().await?;
        let retired = self.keys.retire_unused(&in_use)?;
        Ok((id, retired))
    }

    async fn key_ids_in_use(&self) -> Result<Vec<String>> {
        let rows = store::all_sealed(&self.db.pool).await?;
        let mut ids: Vec<String> = rows
            .iter()
            .flat_map(|row| [&row.secret, &row.pending_secret])
            .flatten()
            .filter_map(|v| sealed::key_id(v).map(str::to_string))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}
