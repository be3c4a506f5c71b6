//! Secrets the server must read back (authenticator apps' TOTP secrets) are
//! stored sealed: XChaCha20-Poly1305 under a key from `SECRET_KEY_FILE`,
//! with a random 192-bit nonce and the owner's context as associated data
//! (a sealed value copied into another person's row does not open).
//!
//! The key file holds one key per line, `<id> <base64 key>`, the first one
//! sealing and every one opening; it is made on first start (mode 0600)
//! when absent. Rotation puts a new key first and re-seals every value
//! (`Backend::reseal_secrets`); a key is dropped from the file only once no
//! value uses it (`retire_unused`). A database copy without the file gives
//! away no secret.
//!
//! A sealed value reads `s1.<key id>.<base64url(nonce ‖ ciphertext)>`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::{Error, Result};

const PREFIX: &str = "s1.";
const NONCE_LEN: usize = 24;
const HEADER: &str = "# Atrium's secret keys: the first seals, all open. Keep this file private and backed up\n# with the database: without it, authenticator apps must be set up again.\n";

#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
    raw: [u8; 32],
}

/// The keys of `SECRET_KEY_FILE`. `Debug` shows only their ids.
pub struct Keyring {
    path: Option<PathBuf>,
    keys: RwLock<Vec<Key>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

fn new_key() -> Key {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let mut id = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut id);
    key_from(hex::encode(id), raw)
}

fn key_from(id: String, raw: [u8; 32]) -> Key {
    Key {
        cipher: XChaCha20Poly1305::new(&raw.into()),
        id,
        raw,
    }
}

fn bad_file(path: &Path, what: &str) -> Error {
    Error::Internal(format!("secret key file {}: {what}", path.display()))
}

fn parse(path: &Path, text: &str) -> Result<Vec<Key>> {
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, b64) = line
            .split_once(' ')
            .ok_or_else(|| bad_file(path, "a line is not `<id> <base64 key>`"))?;
        let raw: [u8; 32] = STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad_file(path, "a key is not 32 bytes in base64"))?;
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad_file(path, "a key id is not letters and digits"));
        }
        keys.push(key_from(id.to_string(), raw));
    }
    if keys.is_empty() {
        return Err(bad_file(path, "it holds no key"));
    }
    Ok(keys)
}

fn render(keys: &[Key]) -> String {
    let mut out = HEADER.to_string();
    for k in keys {
        out.push_str(&format!("{} {}\n", k.id, STANDARD.encode(k.raw)));
    }
    out
}

/// Writes `text` to `path` through a private temporary file and a rename,
/// so a crash leaves the old file or the new one, never half of one.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

impl Keyring {
    /// Reads the key file, or makes one with a new key when there is none.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        let keys = match std::fs::read_to_string(path) {
            Ok(text) => parse(path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = vec![new_key()];
                // Two processes starting at once on a fresh folder: the
                // first file written wins, and both use it.
                write_private(path, &render(&keys))?;
                tracing::info!(path = %path.display(), "made a new secret key file");
                parse(path, &std::fs::read_to_string(path)?)?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Keyring {
            path: Some(path.to_path_buf()),
            keys: RwLock::new(keys),
        })
    }

    /// One fresh key that lives only in memory: for tests and examples.
    pub fn ephemeral() -> Self {
        Keyring {
            path: None,
            keys: RwLock::new(vec![new_key()]),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Key>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The ids of the keys, the sealing one first.
    pub fn key_ids(&self) -> Vec<String> {
        self.read().iter().map(|k| k.id.clone()).collect()
    }

    /// Seals `plain` for `context` (e.g. `totp:42`) under the first key.
    /// Fails only for a value too long for the cipher (gigabytes).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<String> {
        let keys = self.read();
        let key = &keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| Error::Internal(format!("sealing a value for {context} failed")))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Whether `value` is sealed at all (older rows hold plain text).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// A SQL `LIKE` pattern matching the values sealed under the current
    /// key (key ids are hex: no wildcards in them).
    pub fn current_like_pattern(&self) -> String {
        format!("{PREFIX}{}.%", self.read()[0].id)
    }

    /// Whether `value` is sealed under the current (first) key.
    pub fn is_current(&self, value: &str) -> bool {
        key_id(value).is_some_and(|id| id == self.read()[0].id)
    }

    /// Opens a value sealed for `context`. A key id this process does not
    /// know makes it read the key file again first (another process may
    /// have rotated). Errors say why, never what the value holds.
    pub fn open(&self, context: &str, value: &str) -> Result<Vec<u8>> {
        let id = key_id(value).ok_or_else(|| Error::Internal("not a sealed value".into()))?;
        if !self.read().iter().any(|k| k.id == id) {
            self.reload()?;
        }
        let keys = self.read();
        let key = keys.iter().find(|k| k.id == id).ok_or_else(|| {
            Error::Internal(format!(
                "sealed under key {id}, which is not in the key file"
            ))
        })?;
        let body = &value[PREFIX.len() + id.len() + 1..];
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(|| Error::Internal("a sealed value is malformed".into()))?;
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                Error::Internal("a sealed value does not open (wrong owner or altered)".into())
            })
    }

    fn reload(&self) -> Result<()> {
        if let Some(path) = &self.path {
            let keys = parse(path, &std::fs::read_to_string(path)?)?;
            *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        }
        Ok(())
    }

    /// Puts a new key first in the file (and here); older keys still open.
    pub fn rotate(&self) -> Result<String> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let mut next = vec![new_key()];
        next.extend(keys.iter().cloned());
        if let Some(path) = &self.path {
            write_private(path, &render(&next))?;
        }
        let id = next[0].id.clone();
        *keys = next;
        Ok(id)
    }

    /// Drops from the file the keys other than the first that `in_use`
    /// does not name; returns the ids dropped.
    pub fn retire_unused(&self, in_use: &[String]) -> Result<Vec<String>> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let (mut kept, mut dropped) = (Vec::new(), Vec::new());
        for (i, k) in keys.iter().enumerate() {
            if i == 0 || in_use.contains(&k.id) {
                kept.push(k.clone());
            } else {
                dropped.push(k.id.clone());
            }
        }
        if dropped.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(path) = &self.path {
            write_private(path, &render(&kept))?;
        }
        *keys = kept;
        Ok(dropped)
    }
}

/// The key id a sealed value names.
pub fn key_id(value: &str) -> Option<&str> {
    let rest = value.strip_prefix(PREFIX)?;
    let (id, _) = rest.split_once('.')?;
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_its_context_and_unaltered() {
        let ring = Keyring::ephemeral();
        let sealed = ring.seal("totp:1", b"JBSWY3DPEHPK3PXP").unwrap();
        assert!(Keyring::is_sealed(&sealed) && ring.is_current(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            ring.seal("totp:1", b"JBSWY3DPEHPK3PXP").unwrap(),
            "a new nonce each time"
        );
        assert_eq!(ring.open("totp:1", &sealed).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(
            ring.open("totp:2", &sealed).is_err(),
            "another person's row"
        );
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(ring
            .open("totp:1", std::str::from_utf8(&altered).unwrap())
            .is_err());
        assert!(
            Keyring::ephemeral().open("totp:1", &sealed).is_err(),
            "another key file"
        );
        assert!(ring.open("totp:1", "JBSWY3DPEHPK3PXP").is_err());
    }

    #[test]
    fn the_key_file_is_made_private_once_then_read_and_rotated() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("secret.key");
        let ring = Keyring::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let sealed = ring.seal("totp:7", b"secret").unwrap();
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(again.key_ids(), ring.key_ids());
        assert_eq!(again.open("totp:7", &sealed).unwrap(), b"secret");

        // Rotation: the new key seals, the old one still opens, and a
        // process that has not seen the rotation picks it up from the file.
        let new_id = ring.rotate().unwrap();
        let resealed = ring.seal("totp:7", b"secret").unwrap();
        assert_eq!(key_id(&resealed), Some(new_id.as_str()));
        assert!(!ring.is_current(&sealed));
        assert_eq!(ring.open("totp:7", &sealed).unwrap(), b"secret");
        assert_eq!(again.open("totp:7", &resealed).unwrap(), b"secret");

        // The old key goes only when nothing uses it.
        let old_id = key_id(&sealed).unwrap().to_string();
        assert!(ring
            .retire_unused(std::slice::from_ref(&old_id))
            .unwrap()
            .is_empty());
        assert_eq!(ring.retire_unused(&[]).unwrap(), vec![old_id]);
        let reread = Keyring::load_or_create(&path).unwrap();
        assert_eq!(reread.key_ids(), vec![new_id]);
        assert!(reread.open("totp:7", &sealed).is_err());
    }

    #[test]
    fn a_damaged_key_file_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        for (text, why) in [
            ("# only a comment\n", "holds no key"),
            ("k1\n", "not `<id> <base64 key>`"),
            ("k1 c2hvcnQ=\n", "not 32 bytes"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Keyring::load_or_create(&path).unwrap_err().to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let ring = Keyring::ephemeral();
        let raw = STANDARD.encode(ring.read()[0].raw);
        let shown = format!("{ring:?}");
        assert!(shown.contains(&ring.key_ids()[0]) && !shown.contains(&raw));
    }
}
