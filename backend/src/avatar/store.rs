//! The `avatar` table and the `user.avatar_color` column.

use sqlx::{Any, Executor, FromRow};

use super::process::AvatarCrop;
use crate::clock::UnixTime;
use crate::Result;

/// A stored picture, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvatarRecord {
    pub hash: String,
    pub crop: AvatarCrop,
    pub original_type: String,
}

pub struct NewAvatar<'a> {
    pub user_id: i64,
    pub hash: &'a str,
    pub original: &'a [u8],
    pub original_type: &'a str,
    pub crop: AvatarCrop,
    /// 512, 128 and 64 px, in that order.
    pub renditions: [&'a [u8]; 3],
    pub content_type: &'a str,
}

#[derive(FromRow)]
struct RecordRow {
    hash: String,
    original_type: String,
    crop_x: i64,
    crop_y: i64,
    crop_size: i64,
    rotation: i64,
}

impl From<RecordRow> for AvatarRecord {
    fn from(r: RecordRow) -> Self {
        AvatarRecord {
            hash: r.hash,
            original_type: r.original_type,
            crop: AvatarCrop {
                x: r.crop_x as u32,
                y: r.crop_y as u32,
                size: r.crop_size as u32,
                rotation: r.rotation as u16,
            },
        }
    }
}

/// Replaces the person's picture (there is at most one).
pub async fn upsert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    a: &NewAvatar<'_>,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO avatar (user_id, hash, original, original_type, crop_x, crop_y, crop_size,
                             rotation, image_512, image_128, image_64, content_type, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (user_id) DO UPDATE SET
             hash = excluded.hash, original = excluded.original,
             original_type = excluded.original_type, crop_x = excluded.crop_x,
             crop_y = excluded.crop_y, crop_size = excluded.crop_size,
             rotation = excluded.rotation, image_512 = excluded.image_512,
             image_128 = excluded.image_128, image_64 = excluded.image_64,
             content_type = excluded.content_type, created_at = excluded.created_at",
    )
    .bind(a.user_id)
    .bind(a.hash)
    .bind(a.original)
    .bind(a.original_type)
    .bind(i64::from(a.crop.x))
    .bind(i64::from(a.crop.y))
    .bind(i64::from(a.crop.size))
    .bind(i64::from(a.crop.rotation))
    .bind(a.renditions[0])
    .bind(a.renditions[1])
    .bind(a.renditions[2])
    .bind(a.content_type)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn find<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<Option<AvatarRecord>> {
    let row: Option<RecordRow> = sqlx::query_as(
        "SELECT hash, original_type, crop_x, crop_y, crop_size, rotation FROM avatar WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(AvatarRecord::from))
}

/// The original upload, for reopening the editor.
pub async fn original<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<Option<(String, Vec<u8>)>> {
    Ok(
        sqlx::query_as("SELECT original_type, original FROM avatar WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(ex)
            .await?,
    )
}

/// One rendition by the hash in its URL: (content type, bytes).
pub async fn rendition<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    hash: &str,
    size: u32,
) -> Result<Option<(String, Vec<u8>)>> {
    let sql = match size {
        512 => "SELECT content_type, image_512 FROM avatar WHERE hash = $1",
        128 => "SELECT content_type, image_128 FROM avatar WHERE hash = $1",
        64 => "SELECT content_type, image_64 FROM avatar WHERE hash = $1",
        _ => return Ok(None),
    };
    Ok(sqlx::query_as(sql).bind(hash).fetch_optional(ex).await?)
}

/// Returns whether there was a picture to remove.
pub async fn delete<'e, E: Executor<'e, Database = Any>>(ex: E, user_id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM avatar WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn set_color<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    color: Option<&str>,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(r#"UPDATE "user" SET avatar_color = $2, updated_at = $3 WHERE id = $1"#)
        .bind(user_id)
        .bind(color)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn color<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as(r#"SELECT avatar_color FROM "user" WHERE id = $1"#)
            .bind(user_id)
            .fetch_optional(ex)
            .await?;
    Ok(row.and_then(|r| r.0))
}
