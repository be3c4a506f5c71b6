//! Setting, recropping and removing one's picture, and the generated
//! avatar's colour. The server is authoritative: the browser sends the
//! original bytes and a crop, and everything shown is made here.

use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::process::{self, AvatarCrop};
use super::store::{self, AvatarRecord, NewAvatar};
use crate::audit::{self, EventKind};
use crate::rate_limit::{self, Limit};
use crate::sync::outbox::Change;
use crate::user::User;
use crate::{Backend, Error, RequestMeta, Result};
use vocab::AvatarColor;

/// Uploads per person: 30 an hour is far above any honest use of the editor.
pub const UPLOAD_LIMIT: Limit = Limit {
    limit: 30,
    window_secs: 3600,
};

/// How long an upload waits for a free processing slot before it is told to
/// try again, so waiting uploads (each holding up to 10 MB) cannot pile up.
const QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Decoding and resizing are CPU-bound: at most this many at once, each on
/// the blocking pool, so uploads cannot starve the async workers.
fn image_permits() -> Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            Arc::new(Semaphore::new(cores))
        })
        .clone()
}

/// What pages need to show a person's avatar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AvatarView {
    /// Names the picture's URLs; `None` shows the initials.
    pub hash: Option<String>,
    pub color: Option<String>,
    pub crop: Option<AvatarCrop>,
}

impl Backend {
    /// Processes `original` with `crop` and makes it the person's picture.
    /// Nothing is stored unless every step succeeds.
    pub async fn set_avatar(
        &self,
        user: &User,
        original: Vec<u8>,
        crop: AvatarCrop,
        meta: &RequestMeta,
    ) -> Result<AvatarView> {
        // Cheap refusals first, without taking a permit or decoding anything.
        process::check_upload_size(original.len())?;
        let inspected = process::inspect(&original)?;
        rate_limit::hit(
            &self.db.pool,
            &format!("avatar:{}", user.id),
            UPLOAD_LIMIT,
            self.clock.now(),
        )
        .await?;
        let permit = match tokio::time::timeout(QUEUE_WAIT, image_permits().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(e)) => return Err(Error::Internal(e.to_string())),
            Err(_) => {
                return Err(Error::RateLimited {
                    retry_after_secs: 5,
                })
            }
        };
        let (original, renditions) = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let out = process::render(&original, crop);
            (original, out)
        })
        .await
        .map_err(|e| Error::Internal(format!("avatar task: {e}")))?;
        let renditions = renditions?;
        let [big, mid, small] = [512, 128, 64].map(|size| {
            renditions
                .iter()
                .find(|r| r.size == size)
                .ok_or_else(|| Error::Internal(format!("no {size} px rendition")))
        });
        let (big, mid, small) = (big?, mid?, small?);
        // A random salt keeps the URL from revealing whose picture it is
        // (the bytes are public; the user id alone would be guessable).
        let mut digest = Sha256::new();
        digest.update(rand::random::<[u8; 16]>());
        digest.update(user.id.to_be_bytes());
        for r in [big, mid, small] {
            digest.update(&r.bytes);
        }
        let hash = hex::encode(&digest.finalize()[..16]);
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        store::upsert(
            &mut *tx,
            &NewAvatar {
                user_id: user.id,
                hash: &hash,
                original: &original,
                original_type: inspected.format.mime(),
                crop,
                renditions: [&big.bytes, &mid.bytes, &small.bytes],
                content_type: big.content_type,
            },
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::AvatarChanged,
            None,
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::Avatar, now)
            .await?;
        tx.commit().await?;
        self.avatar_view(user.id).await
    }

    /// Back to the initials. Removing when there is no picture is not an error.
    pub async fn remove_avatar(&self, user: &User, meta: &RequestMeta) -> Result<AvatarView> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        if store::delete(&mut *tx, user.id).await? {
            audit::record(
                &mut *tx,
                Some(user.id),
                EventKind::AvatarRemoved,
                None,
                meta,
                now,
            )
            .await?;
            self.record_change(&mut tx, user.id, Change::Avatar, now)
                .await?;
        }
        tx.commit().await?;
        self.avatar_view(user.id).await
    }

    /// Uses the generated avatar (initials on `color`) instead of a picture.
    pub async fn use_generated_avatar(
        &self,
        user: &User,
        color: &str,
        meta: &RequestMeta,
    ) -> Result<AvatarView> {
        // Each offered colour keeps white initials at a contrast of at
        // least 4.5:1 (the stylesheet's `--avatar-*` colours).
        let color = AvatarColor::parse(color)
            .ok_or_else(|| {
                let offered: Vec<&str> = AvatarColor::ALL.iter().map(|c| c.as_str()).collect();
                Error::field(
                    "color",
                    format!(
                        "Choose one of the offered colours ({}).",
                        offered.join(", ")
                    ),
                )
            })?
            .as_str();
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        store::delete(&mut *tx, user.id).await?;
        store::set_color(&mut *tx, user.id, Some(color), now).await?;
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::AvatarChanged,
            Some(&format!("generated, {color}")),
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::Avatar, now)
            .await?;
        tx.commit().await?;
        self.avatar_view(user.id).await
    }

    pub async fn avatar_view(&self, user_id: i64) -> Result<AvatarView> {
        let record: Option<AvatarRecord> = store::find(&self.db.pool, user_id).await?;
        let color = store::color(&self.db.pool, user_id).await?;
        Ok(AvatarView {
            hash: record.as_ref().map(|r| r.hash.clone()),
            crop: record.map(|r| r.crop),
            color,
        })
    }

    /// The uploaded original of the person's own picture: (content type, bytes).
    pub async fn avatar_original(&self, user: &User) -> Result<(String, Vec<u8>)> {
        store::original(&self.db.pool, user.id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// A rendition by the hash in its URL: (content type, bytes).
    pub async fn avatar_rendition(&self, hash: &str, size: u32) -> Result<(String, Vec<u8>)> {
        let well_formed = hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(Error::NotFound);
        }
        store::rendition(&self.db.pool, hash, size)
            .await?
            .ok_or(Error::NotFound)
    }
}
