//! The avatar image pipeline: check an upload, crop it, and re-encode it at
//! the sizes the UI shows.
//!
//! Everything here is synchronous and CPU-bound; callers run it inside
//! `spawn_blocking` behind a concurrency limit. Limits are checked from the
//! file header before a single pixel is decoded, so a small file that claims
//! to be a huge image (a decompression bomb) is refused without allocating.

mod crop;
mod encode;
mod header;
#[cfg(any(test, feature = "test-fixtures"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod testing;
#[cfg(test)]
mod tests;

use crop::{has_transparency, stored_crop, Square};
use encode::{encode, resize, to_8bit};
use header::{check_dimensions, jpeg_is_complete, open};

use fast_image_resize::Resizer;
use image::{DynamicImage, ImageDecoder, ImageFormat, Limits};

/// Uploads larger than 10 MB (10 × 1024 × 1024 bytes) are refused before
/// anything else is looked at.
pub const MAX_UPLOAD_BYTES: usize = vocab::limits::AVATAR_MAX_BYTES;
/// Images over 40 megapixels are refused from the header, before decoding.
pub const MAX_PIXELS: u64 = vocab::limits::AVATAR_MAX_PIXELS;
/// Images wider or taller than 8192 pixels are refused from the header.
pub const MAX_SIDE: u32 = vocab::limits::AVATAR_MAX_SIDE;
/// The image's shorter side and the crop's size must be at least 32 pixels.
pub const MIN_SIDE: u32 = vocab::limits::AVATAR_MIN_SIDE;
/// Square renditions produced by [`render`], largest first.
pub const SIZES: [u32; 3] = [512, 128, 64];

/// Decoder allocation ceiling: one 40 MP RGBA buffer plus room for a
/// decoder's working memory. A second line of defence behind the header checks.
const MAX_ALLOC: u64 = MAX_PIXELS * 4 + 32 * 1024 * 1024;
/// JPEG quality for opaque renditions: visually clean for photos, and a
/// fraction of the size of a lossless encoding.
const JPEG_QUALITY: u8 = 86;

/// The part of an upload to keep.
///
/// `x`, `y` and `size` describe a square in pixels of the upright original
/// (after its EXIF orientation is applied); the square must lie inside the
/// image and be at least [`MIN_SIDE`] pixels. `rotation` is in degrees
/// clockwise, one of 0, 90, 180 or 270, and is applied to the cropped square.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AvatarCrop {
    pub x: u32,
    pub y: u32,
    pub size: u32,
    pub rotation: u16,
}

/// An accepted upload format, identified by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl SourceFormat {
    /// The IANA media type of the format.
    pub fn mime(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "image/jpeg",
            SourceFormat::Png => "image/png",
            SourceFormat::Webp => "image/webp",
            SourceFormat::Gif => "image/gif",
        }
    }

    /// The format whose signature starts `bytes`; file names are never trusted.
    fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(SourceFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(SourceFormat::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(SourceFormat::Gif)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(SourceFormat::Webp)
        } else {
            None
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            SourceFormat::Jpeg => ImageFormat::Jpeg,
            SourceFormat::Png => ImageFormat::Png,
            SourceFormat::Webp => ImageFormat::WebP,
            SourceFormat::Gif => ImageFormat::Gif,
        }
    }
}

/// What the header of an upload says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inspected {
    pub format: SourceFormat,
    /// Width of the upright image: stored width and height swap when the
    /// EXIF orientation turns the image by 90 or 270 degrees.
    pub width: u32,
    /// Height of the upright image.
    pub height: u32,
}

/// One encoded square avatar.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendition {
    /// Width and height in pixels, one of [`SIZES`].
    pub size: u32,
    /// `image/jpeg`, `image/webp` or `image/png`.
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Rendition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendition")
            .field("size", &self.size)
            .field("content_type", &self.content_type)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .finish()
    }
}

/// Why an upload was refused. Messages are written for the person uploading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// HTTP 413: file over 10 MB, image over 40 MP or over 8192 px on a side.
    #[error("{0}")]
    TooLarge(String),
    /// HTTP 415: not a JPEG, PNG, WebP or GIF by its magic bytes, or one
    /// using an encoding feature the decoder does not support.
    #[error("{0}")]
    Unsupported(String),
    /// HTTP 422: damaged or truncated image, image smaller than
    /// [`MIN_SIDE`], or a crop that is empty, outside the image, smaller than
    /// [`MIN_SIDE`] or rotated by other than a multiple of 90 degrees.
    #[error("{0}")]
    Invalid(String),
}

impl ImageError {
    /// The HTTP status the error answers with: 413, 415 or 422.
    pub fn status(&self) -> u16 {
        match self {
            ImageError::TooLarge(_) => 413,
            ImageError::Unsupported(_) => 415,
            ImageError::Invalid(_) => 422,
        }
    }

    fn not_an_image() -> Self {
        ImageError::Unsupported("This file is not a JPEG, PNG, WebP or GIF image.".into())
    }

    fn unreadable() -> Self {
        ImageError::Invalid("This image could not be read; it may be damaged or incomplete.".into())
    }

    fn too_many_pixels(width: u32, height: u32) -> Self {
        ImageError::TooLarge(format!(
            "This image is {width} × {height} pixels; the limit is {MAX_SIDE} pixels on a side \
             and {} megapixels.",
            MAX_PIXELS / 1_000_000
        ))
    }

    /// Maps a decoder error to what the user can act on.
    fn from_decoder(err: image::ImageError, width: u32, height: u32) -> Self {
        match err {
            image::ImageError::Limits(_) => Self::too_many_pixels(width, height),
            image::ImageError::Unsupported(_) => ImageError::Unsupported(
                "This image uses an encoding feature that is not supported; \
                 save it again as a standard JPEG or PNG and retry."
                    .into(),
            ),
            _ => Self::unreadable(),
        }
    }
}

/// Reads only the header: the format from magic bytes (never a file name),
/// the dimensions and the EXIF orientation. Never decodes pixels and does not
/// apply the size limits; [`render`] does.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, ImageError> {
    open(bytes).map(|(_, header)| header.inspected)
}

/// The full pipeline, in this order:
/// 1. refuse files over [`MAX_UPLOAD_BYTES`] (413);
/// 2. read the header ([`inspect`]): not an accepted format is 415;
/// 3. refuse images over [`MAX_SIDE`] a side or [`MAX_PIXELS`] (413), and
///    images whose shorter side is under [`MIN_SIDE`] (422);
/// 4. validate the crop against the upright image (422);
/// 5. decode, under `image::Limits` as a second line of defence; GIF and
///    animated WebP give their first frame;
/// 6. crop and resize with Lanczos3 to 512 px, then apply the EXIF
///    orientation and the crop's rotation to that square;
/// 7. resize the 512 px square to 128 and 64 px (Lanczos3 again);
/// 8. encode each size from raw pixels, so no EXIF, ICC or text metadata
///    survives: lossless WebP, or JPEG at quality 86 when the crop has no
///    transparent pixel and the JPEG is smaller.
pub fn render(bytes: &[u8], crop: AvatarCrop) -> Result<Vec<Rendition>, ImageError> {
    check_upload_size(bytes.len())?;
    let (mut decoder, header) = open(bytes)?;
    let Inspected {
        format,
        width,
        height,
    } = header.inspected;
    check_dimensions(width, height)?;
    let stored = stored_crop(crop, &header)?;
    // zune-jpeg fills a truncated scan with grey instead of failing.
    if format == SourceFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(ImageError::unreadable());
    }

    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let to_user = |e| ImageError::from_decoder(e, width, height);
    decoder.set_limits(limits).map_err(to_user)?;
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(ImageError::too_many_pixels(width, height));
    }
    let source = DynamicImage::from_decoder(decoder).map_err(to_user)?;

    let opaque = !has_transparency(&source, stored);
    let mut resizer = Resizer::new();
    let mut square = resize(&mut resizer, &source, stored, SIZES[0])?;
    drop(source);
    square = to_8bit(square, opaque);
    square.apply_orientation(header.orientation);
    square = match crop.rotation {
        90 => square.rotate90(),
        180 => square.rotate180(),
        270 => square.rotate270(),
        _ => square,
    };

    // The format is chosen once, on the largest size, so that all three
    // renditions share one content type (stored once per picture).
    let mut format: Option<&'static str> = None;
    let mut renditions = Vec::with_capacity(SIZES.len());
    for size in SIZES {
        let full = Square {
            x: 0,
            y: 0,
            size: square.width(),
        };
        let image = if size == square.width() {
            square.clone()
        } else {
            resize(&mut resizer, &square, full, size)?
        };
        let (content_type, bytes) = encode(&image, opaque, format)?;
        format = Some(content_type);
        renditions.push(Rendition {
            size,
            content_type,
            bytes,
        });
    }
    Ok(renditions)
}

/// Refuses files over `MAX_UPLOAD_BYTES` with their size in the message.
pub fn check_upload_size(len: usize) -> Result<(), ImageError> {
    if len <= MAX_UPLOAD_BYTES {
        return Ok(());
    }
    // Round up to a tenth of a MB so a file just over the limit never reads "10.0 MB".
    let tenths = (len as u64 * 10).div_ceil(1024 * 1024);
    Err(ImageError::TooLarge(format!(
        "This file is {}.{} MB; the limit is {} MB.",
        tenths / 10,
        tenths % 10,
        MAX_UPLOAD_BYTES / (1024 * 1024)
    )))
}
