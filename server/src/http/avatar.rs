//! Avatar bytes over plain HTTP: the upload (multipart: the original image
//! and the crop), the owner's original for re-editing, and the public
//! renditions under content-hashed, immutable URLs.
//!
//! Errors answer as server functions do: the JSON of an `AppError`, whose
//! text is meant for the person. The status says what kind of problem it
//! is: 400 (an upload cut off), 401, 403 (from another site), 404, 413,
//! 415, 422, 429 (with Retry-After), 500 (with a reference), 503.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use backend::avatar::process::{AvatarCrop, ImageError, MAX_UPLOAD_BYTES};
use backend::user::User;
use backend::RequestMeta;
use serde::Serialize;

use app::error::{AppError, FieldMessage};
use app::ssr::{app_error_for, request_id_of, ClientIp, ResolvedSession};

use super::refuse;
use crate::state::AppState;

/// The upload body may carry the 10 MB image plus the form's framing.
pub const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 64 * 1024;

/// A problem with what was sent, about one part of the upload.
fn refuse_field(status: StatusCode, field: &str, message: impl Into<String>) -> Response {
    refuse(
        Some(status),
        AppError::Validation {
            fields: vec![FieldMessage {
                field: field.into(),
                message: message.into(),
            }],
        },
    )
}

fn backend_error(e: backend::Error, headers: &HeaderMap) -> Response {
    // An unreadable image has a status of its own: too large (413), not a
    // picture (415), or unusable (422).
    let status = match &e {
        backend::Error::Image(e) => StatusCode::from_u16(e.status()).ok(),
        _ => None,
    };
    refuse(status, app_error_for(e, &request_id_of(headers)))
}

/// The person `resolve_session` found for this request; 503 when it could
/// not ask the database, 401 when nobody is signed in.
fn signed_in_user(resolved: Option<Extension<ResolvedSession>>) -> Result<User, Box<Response>> {
    match resolved {
        Some(Extension(ResolvedSession(Some((user, _))))) => Ok(user),
        Some(Extension(ResolvedSession(None))) => {
            Err(Box::new(refuse(None, AppError::Unauthorized)))
        }
        None => Err(Box::new(refuse(None, AppError::Unavailable))),
    }
}

fn meta(headers: &HeaderMap, ip: Option<Extension<ClientIp>>) -> RequestMeta {
    RequestMeta {
        ip: ip.map(|Extension(ClientIp(ip))| ip),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        device: None,
    }
}

#[derive(Serialize)]
pub struct UploadAnswer {
    /// `/avatars/<hash>/<size>` serves the new picture.
    pub hash: String,
}

/// `POST /api/avatar`, multipart with `image` (the original file) and `crop`
/// (JSON: x, y, size in upright-image pixels, rotation in degrees).
pub async fn upload(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    resolved: Option<Extension<ResolvedSession>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let user = match signed_in_user(resolved) {
        Ok(u) => u,
        Err(res) => return *res,
    };
    let Ok(mut multipart) = multipart else {
        return refuse_field(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "image",
            "Send the picture as multipart/form-data with the fields image and crop.",
        );
    };
    let mut image: Option<Vec<u8>> = None;
    let mut crop: Option<String> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return multipart_error(e),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return multipart_error(e),
        };
        match name.as_str() {
            "image" => image = Some(bytes.to_vec()),
            "crop" => crop = Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => {}
        }
    }
    let Some(image) = image.filter(|b| !b.is_empty()) else {
        return refuse_field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "image",
            "Choose a picture first: the upload had no image in it.",
        );
    };
    let crop: AvatarCrop = match crop.as_deref().map(serde_json::from_str) {
        Some(Ok(c)) => c,
        _ => return refuse_field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "crop",
            "The crop is missing or malformed: it needs x, y, size and rotation as whole numbers.",
        ),
    };
    match state
        .backend
        .set_avatar(&user, image, crop, &meta(&headers, ip))
        .await
    {
        Ok(view) => match view.hash {
            Some(hash) => Json(UploadAnswer { hash }).into_response(),
            None => backend_error(
                backend::Error::Internal("avatar vanished after save".into()),
                &headers,
            ),
        },
        Err(e) => backend_error(e, &headers),
    }
}

/// An upload over the size limit, refused before it is read.
pub(crate) fn refuse_too_large() -> Response {
    refuse_field(
        StatusCode::PAYLOAD_TOO_LARGE,
        "image",
        ImageError::TooLarge(format!(
            "This file is larger than the limit of {} MB.",
            MAX_UPLOAD_BYTES / (1024 * 1024)
        ))
        .to_string(),
    )
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> Response {
    // A body cut off at the size limit surfaces as a read error somewhere down the chain.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut over_limit = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
    while let Some(c) = cause {
        over_limit |= c.is::<http_body_util::LengthLimitError>();
        cause = c.source();
    }
    if over_limit {
        return refuse_too_large();
    }
    refuse_field(
        StatusCode::BAD_REQUEST,
        "image",
        "The upload was cut off or malformed. Please try again.",
    )
}

/// `GET /api/avatar/original`: the signed-in person's own original upload,
/// so the editor can reopen on the full image. Never cached.
pub async fn original(
    State(state): State<AppState>,
    resolved: Option<Extension<ResolvedSession>>,
    headers: HeaderMap,
) -> Response {
    let user = match signed_in_user(resolved) {
        Ok(u) => u,
        Err(res) => return *res,
    };
    match state.backend.avatar_original(&user).await {
        Ok((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => backend_error(e, &headers),
    }
}

/// `GET /avatars/{hash}/{size}`: one rendition (512, 128 or 64 px). The URL
/// names the content, so it is cached for a year and never revalidated;
/// the ETag answers conditional requests from caches that ask anyway.
pub async fn rendition(
    State(state): State<AppState>,
    Path((hash, size)): Path<(String, u32)>,
    headers: HeaderMap,
) -> Response {
    let etag = format!("\"{hash}-{size}\"");
    let (content_type, bytes) = match state.backend.avatar_rendition(&hash, size).await {
        Ok(found) => found,
        Err(e) => return backend_error(e, &headers),
    };
    let mut res = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}
