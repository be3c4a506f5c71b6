//! The avatar image pipeline: check an upload, crop it, and re-encode it at
//! the sizes the UI shows.
//!
//! Everything here is synchronous and CPU-bound; callers run it inside
//! `spawn_blocking` behind a concurrency limit. Limits are checked from the
//! file header before a single pixel is decoded, so a small file that claims
//! to be a huge image (a decompression bomb) is refused without allocating.

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{
    ColorType, DynamicImage, ExtendedColorType, ImageBuffer, ImageDecoder, ImageEncoder,
    ImageFormat, ImageReader, Limits, Pixel,
};

/// Uploads larger than 10 MB (10 × 1024 × 1024 bytes) are refused before
/// anything else is looked at.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Images over 40 megapixels are refused from the header, before decoding.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Images wider or taller than 8192 pixels are refused from the header.
pub const MAX_SIDE: u32 = 8192;
/// The image's shorter side and the crop's size must be at least 32 pixels.
pub const MIN_SIDE: u32 = 32;
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

/// What [`open`] learns from the header.
struct Header {
    inspected: Inspected,
    orientation: Orientation,
    /// Dimensions as stored in the file, before orientation.
    stored_width: u32,
    stored_height: u32,
}

/// A square region in stored (not upright) pixel coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Square {
    x: u32,
    y: u32,
    size: u32,
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

fn check_dimensions(width: u32, height: u32) -> Result<(), ImageError> {
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::too_many_pixels(width, height));
    }
    if width.min(height) < MIN_SIDE {
        return Err(ImageError::Invalid(format!(
            "This image is {width} × {height} pixels; use one at least {MIN_SIDE} pixels on \
             each side."
        )));
    }
    Ok(())
}

/// Sniffs the format and builds a decoder that has read the header only.
/// Dimension limits are left off here so the header of an oversized image
/// can still be read and reported; `render` sets them before decoding.
fn open(bytes: &[u8]) -> Result<(impl ImageDecoder + '_, Header), ImageError> {
    let format = SourceFormat::sniff(bytes).ok_or_else(ImageError::not_an_image)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = Limits::no_limits();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Unsupported(_) => ImageError::from_decoder(e, 0, 0),
        _ => ImageError::unreadable(),
    })?;
    // Unreadable orientation metadata is not worth refusing a picture over.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let (stored_width, stored_height) = decoder.dimensions();
    let (width, height) = if turns_sideways(orientation) {
        (stored_height, stored_width)
    } else {
        (stored_width, stored_height)
    };
    let header = Header {
        inspected: Inspected {
            format,
            width,
            height,
        },
        orientation,
        stored_width,
        stored_height,
    };
    Ok((decoder, header))
}

fn turns_sideways(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Validates `crop` against the upright image and returns the same square in
/// stored coordinates, so that cropping the stored pixels and then applying
/// the orientation equals cropping the upright image. This saves turning the
/// whole decoded image upright (a full copy) before cropping.
fn stored_crop(crop: AvatarCrop, header: &Header) -> Result<Square, ImageError> {
    let Inspected { width, height, .. } = header.inspected;
    if !matches!(crop.rotation, 0 | 90 | 180 | 270) {
        return Err(ImageError::Invalid(
            "Rotation must be 0, 90, 180 or 270 degrees.".into(),
        ));
    }
    if crop.size == 0 {
        return Err(ImageError::Invalid(
            "The crop is empty; select a square area of the image.".into(),
        ));
    }
    let inside = u64::from(crop.x) + u64::from(crop.size) <= u64::from(width)
        && u64::from(crop.y) + u64::from(crop.size) <= u64::from(height);
    if !inside {
        return Err(ImageError::Invalid(format!(
            "The crop must stay inside the image ({width} × {height} pixels)."
        )));
    }
    if crop.size < MIN_SIDE {
        return Err(ImageError::Invalid(format!(
            "The crop is {0} × {0} pixels; select an area at least {MIN_SIDE} × {MIN_SIDE} \
             pixels.",
            crop.size
        )));
    }

    let (w, h, s) = (header.stored_width, header.stored_height, crop.size);
    let (x, y) = (crop.x, crop.y);
    // Upright pixel (u, v) comes from stored pixel f(u, v); f maps the
    // square's corners, hence the whole axis-aligned square.
    let (sx, sy) = match header.orientation {
        Orientation::NoTransforms => (x, y),
        Orientation::FlipHorizontal => (w - x - s, y),
        Orientation::Rotate180 => (w - x - s, h - y - s),
        Orientation::FlipVertical => (x, h - y - s),
        // (u, v) <- (v, h - 1 - u)
        Orientation::Rotate90 => (y, h - x - s),
        // (u, v) <- (w - 1 - v, u)
        Orientation::Rotate270 => (w - y - s, x),
        // (u, v) <- (v, u)
        Orientation::Rotate90FlipH => (y, x),
        // (u, v) <- (w - 1 - v, h - 1 - u)
        Orientation::Rotate270FlipH => (w - y - s, h - x - s),
    };
    Ok(Square {
        x: sx,
        y: sy,
        size: s,
    })
}

/// True when a JPEG's first scan is followed somewhere by an end-of-image
/// marker. Walks the marker segments so an EXIF thumbnail's EOI does not count.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        match bytes[i + 1] {
            0xFF => i += 1, // fill byte
            0x01 | 0xD0..=0xD8 => i += 2,
            0xD9 => return false,
            0xDA => return bytes[i..].windows(2).rev().any(|pair| pair == [0xFF, 0xD9]),
            _ => i += 2 + usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]])),
        }
    }
    false
}

/// Whether any pixel inside `area` is less than fully opaque.
fn has_transparency(image: &DynamicImage, area: Square) -> bool {
    fn scan<P: Pixel>(
        buf: &ImageBuffer<P, Vec<P::Subpixel>>,
        area: Square,
        opaque: P::Subpixel,
    ) -> bool {
        let channels = usize::from(P::CHANNEL_COUNT);
        let width = buf.width() as usize;
        let raw = buf.as_raw();
        (area.y..area.y + area.size).any(|row| {
            let start = (row as usize * width + area.x as usize) * channels;
            raw[start..start + area.size as usize * channels]
                .chunks_exact(channels)
                .any(|px| px[channels - 1] < opaque)
        })
    }
    match image {
        DynamicImage::ImageLumaA8(b) => scan(b, area, u8::MAX),
        DynamicImage::ImageRgba8(b) => scan(b, area, u8::MAX),
        DynamicImage::ImageLumaA16(b) => scan(b, area, u16::MAX),
        DynamicImage::ImageRgba16(b) => scan(b, area, u16::MAX),
        DynamicImage::ImageRgba32F(b) => scan(b, area, 1.0),
        _ => image.color().has_alpha(),
    }
}

/// Lanczos3 resize of `area` of `source` to a `side` × `side` image of the
/// same pixel type.
fn resize(
    resizer: &mut Resizer,
    source: &DynamicImage,
    area: Square,
    side: u32,
) -> Result<DynamicImage, ImageError> {
    let mut out = DynamicImage::new(side, side, source.color());
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(
            f64::from(area.x),
            f64::from(area.y),
            f64::from(area.size),
            f64::from(area.size),
        );
    // Fails only for pixel types the decoders never produce.
    resizer
        .resize(source, &mut out, &options)
        .map_err(|_| ImageError::unreadable())?;
    Ok(out)
}

/// Converts to the 8-bit type the encoders take, dropping an alpha channel
/// that carries nothing.
fn to_8bit(image: DynamicImage, opaque: bool) -> DynamicImage {
    let grey = matches!(
        image.color(),
        ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16
    );
    match (grey, opaque, image.color()) {
        (true, true, ColorType::L8) | (false, true, ColorType::Rgb8) => image,
        (true, false, ColorType::La8) | (false, false, ColorType::Rgba8) => image,
        (true, true, _) => DynamicImage::ImageLuma8(image.to_luma8()),
        (true, false, _) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        (false, true, _) => DynamicImage::ImageRgb8(image.to_rgb8()),
        (false, false, _) => DynamicImage::ImageRgba8(image.to_rgba8()),
    }
}

/// Encodes from raw pixels (no metadata is ever written): lossless WebP, or
/// JPEG when the image is opaque and the JPEG is smaller.
/// Lossless WebP, or JPEG when the picture is opaque and JPEG is smaller;
/// `format` forces one of the two (as chosen for the largest size).
fn encode(
    image: &DynamicImage,
    opaque: bool,
    format: Option<&'static str>,
) -> Result<(&'static str, Vec<u8>), ImageError> {
    let (width, height) = (image.width(), image.height());
    let color: ExtendedColorType = image.color().into();
    let failed = |_| ImageError::unreadable();

    if format == Some("image/jpeg") {
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
            .write_image(image.as_bytes(), width, height, color)
            .map_err(failed)?;
        return Ok(("image/jpeg", jpeg));
    }
    let mut lossless = Vec::new();
    WebPEncoder::new_lossless(&mut lossless)
        .write_image(image.as_bytes(), width, height, color)
        .map_err(failed)?;
    if !opaque || format == Some("image/webp") {
        return Ok(("image/webp", lossless));
    }
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .write_image(image.as_bytes(), width, height, color)
        .map_err(failed)?;
    if jpeg.len() < lossless.len() {
        Ok(("image/jpeg", jpeg))
    } else {
        Ok(("image/webp", lossless))
    }
}

/// Builders for test images, shared with the server's integration tests.
#[doc(hidden)]
pub mod testing {
    use image::codecs::jpeg::JpegEncoder;
    use image::{ImageEncoder, ImageFormat, Rgb, RgbImage};

    pub const RED: [u8; 3] = [255, 0, 0];
    pub const GREEN: [u8; 3] = [0, 255, 0];
    pub const BLUE: [u8; 3] = [0, 0, 255];
    pub const YELLOW: [u8; 3] = [255, 255, 0];

    /// `width` × `height` with solid quadrants: red top-left, green
    /// top-right, blue bottom-left, yellow bottom-right.
    pub fn quadrants(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            Rgb(match (x < width / 2, y < height / 2) {
                (true, true) => RED,
                (false, true) => GREEN,
                (true, false) => BLUE,
                (false, false) => YELLOW,
            })
        })
    }

    /// A `side` × `side` PNG of [`quadrants`].
    pub fn quadrants_png(side: u32) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        quadrants(side, side)
            .write_to(&mut out, ImageFormat::Png)
            .expect("encode PNG");
        out.into_inner()
    }

    /// A JPEG of `img` (quality 95) carrying an EXIF APP1 segment whose only
    /// entry is the orientation tag (0x0112) set to `orientation`.
    pub fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 95)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )
            .expect("encode JPEG");

        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"II\x2a\x00"); // little-endian TIFF
        tiff.extend_from_slice(&8u32.to_le_bytes()); // first IFD right after the header
        tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
        tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_le_bytes()); // count
        tiff.extend_from_slice(&orientation.to_le_bytes());
        tiff.extend_from_slice(&[0, 0]); // value padding
        tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD

        let mut app1 = vec![0xFF, 0xE1];
        let len = u16::try_from(2 + 6 + tiff.len()).expect("small segment");
        app1.extend_from_slice(&len.to_be_bytes());
        app1.extend_from_slice(b"Exif\0\0");
        app1.extend_from_slice(&tiff);

        // Right after SOI, where EXIF readers expect APP1.
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    /// A tiny, well-formed PNG whose header claims `width` × `height` RGB
    /// pixels, with an (empty) image stream: a decompression-bomb stand-in
    /// that nothing must try to decode.
    pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        }
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no interlace
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        // zlib stream of an empty deflate block.
        chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0, 0, 0, 1]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use image::{GenericImageView, Rgb, RgbImage, Rgba, RgbaImage};
    use std::time::{Duration, Instant};

    fn crop(x: u32, y: u32, size: u32, rotation: u16) -> AvatarCrop {
        AvatarCrop {
            x,
            y,
            size,
            rotation,
        }
    }

    fn decoded(rendition: &Rendition) -> DynamicImage {
        image::load_from_memory(&rendition.bytes).expect("rendition decodes")
    }

    fn rendition(renditions: &[Rendition], size: u32) -> DynamicImage {
        decoded(
            renditions
                .iter()
                .find(|r| r.size == size)
                .expect("size present"),
        )
    }

    #[track_caller]
    fn assert_colour(image: &DynamicImage, x: u32, y: u32, expected: [u8; 3]) {
        let px = image.get_pixel(x, y).0;
        let close = (0..3).all(|i| px[i].abs_diff(expected[i]) <= 24);
        assert!(close, "pixel ({x}, {y}) is {px:?}, expected {expected:?}");
    }

    fn invalid(result: Result<Vec<Rendition>, ImageError>) -> String {
        match result {
            Err(ImageError::Invalid(message)) => message,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn each_quadrant_crops_to_its_colour() {
        let png = quadrants_png(200);
        for (x, y, colour) in [
            (0, 0, RED),
            (100, 0, GREEN),
            (0, 100, BLUE),
            (100, 100, YELLOW),
        ] {
            let out = render(&png, crop(x, y, 100, 0)).unwrap();
            assert_colour(&rendition(&out, 128), 64, 64, colour);
        }
    }

    #[test]
    fn rotation_turns_the_crop_clockwise() {
        let png = quadrants_png(200);
        // Colours at the output's top-left, top-right, bottom-left, bottom-right.
        let cases = [
            (0, [RED, GREEN, BLUE, YELLOW]),
            (90, [BLUE, RED, YELLOW, GREEN]),
            (180, [YELLOW, BLUE, GREEN, RED]),
            (270, [GREEN, YELLOW, RED, BLUE]),
        ];
        for (rotation, [tl, tr, bl, br]) in cases {
            let out = render(&png, crop(0, 0, 200, rotation)).unwrap();
            let image = rendition(&out, 128);
            assert_colour(&image, 16, 16, tl);
            assert_colour(&image, 111, 16, tr);
            assert_colour(&image, 16, 111, bl);
            assert_colour(&image, 111, 111, br);
        }
    }

    #[test]
    fn every_rendition_is_a_square_of_its_size_that_decodes() {
        let out = render(&quadrants_png(200), crop(10, 20, 150, 0)).unwrap();
        assert_eq!(out.iter().map(|r| r.size).collect::<Vec<_>>(), SIZES);
        for r in &out {
            let image = decoded(r);
            assert_eq!(image.dimensions(), (r.size, r.size));
            let format = image::guess_format(&r.bytes).unwrap();
            assert_eq!(format.to_mime_type(), r.content_type);
        }
    }

    #[test]
    fn photos_come_out_as_jpeg() {
        // Noise compresses badly without loss, so JPEG must win.
        let mut state = 0x2545_F491u32;
        let noisy = RgbImage::from_fn(300, 300, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let [a, b, c, _] = state.to_le_bytes();
            Rgb([a, b, c])
        });
        let out = render(&jpeg_with_orientation(&noisy, 1), crop(0, 0, 300, 0)).unwrap();
        assert!(
            out.iter().all(|r| r.content_type == "image/jpeg"),
            "{out:?}"
        );
    }

    #[test]
    fn transparency_is_never_encoded_as_jpeg() {
        // Noise (JPEG would be smaller) with one transparent pixel in the crop.
        let mut state = 0x1234_5678u32;
        let mut img = RgbaImage::from_fn(300, 300, |_, _| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let [a, b, c, _] = state.to_le_bytes();
            Rgba([a, b, c, 255])
        });
        img.put_pixel(150, 150, Rgba([0, 0, 0, 0]));
        let mut png = Cursor::new(Vec::new());
        img.write_to(&mut png, ImageFormat::Png).unwrap();
        let out = render(png.get_ref(), crop(0, 0, 300, 0)).unwrap();
        for r in &out {
            assert_eq!(r.content_type, "image/webp");
            assert!(decoded(r).color().has_alpha());
        }
        // The same image cropped away from the transparent pixel may use JPEG.
        let out = render(png.get_ref(), crop(0, 0, 140, 0)).unwrap();
        assert!(
            out.iter().all(|r| r.content_type == "image/jpeg"),
            "{out:?}"
        );
    }

    /// 200 × 100 stored: red top-left, green top-right, blue bottom-left,
    /// yellow bottom-right. Turned 90° clockwise (EXIF 6) it stands 100 × 200
    /// with blue top-left, red top-right, yellow bottom-left, green
    /// bottom-right: an arrangement no other orientation produces.
    fn sideways_jpeg() -> Vec<u8> {
        jpeg_with_orientation(&quadrants(200, 100), 6)
    }

    #[test]
    fn exif_orientation_swaps_inspected_dimensions() {
        let inspected = inspect(&sideways_jpeg()).unwrap();
        assert_eq!(
            inspected,
            Inspected {
                format: SourceFormat::Jpeg,
                width: 100,
                height: 200
            }
        );
    }

    #[test]
    fn exif_orientation_is_applied_before_cropping() {
        let jpeg = sideways_jpeg();
        let top = rendition(&render(&jpeg, crop(0, 0, 100, 0)).unwrap(), 128);
        assert_colour(&top, 32, 64, BLUE);
        assert_colour(&top, 96, 64, RED);
        let bottom = rendition(&render(&jpeg, crop(0, 100, 100, 0)).unwrap(), 128);
        assert_colour(&bottom, 32, 64, YELLOW);
        assert_colour(&bottom, 96, 64, GREEN);
        // The crop's own rotation comes on top of the orientation.
        let turned = rendition(&render(&jpeg, crop(0, 0, 100, 90)).unwrap(), 128);
        assert_colour(&turned, 64, 32, BLUE);
        assert_colour(&turned, 64, 96, RED);
    }

    #[test]
    fn stored_crop_matches_cropping_the_upright_image() {
        // A pattern where every pixel differs, checked under all 8 orientations.
        let stored =
            DynamicImage::ImageRgb8(RgbImage::from_fn(7, 5, |x, y| Rgb([x as u8, y as u8, 0])));
        let all = [
            Orientation::NoTransforms,
            Orientation::Rotate90,
            Orientation::Rotate180,
            Orientation::Rotate270,
            Orientation::FlipHorizontal,
            Orientation::FlipVertical,
            Orientation::Rotate90FlipH,
            Orientation::Rotate270FlipH,
        ];
        for orientation in all {
            let mut upright = stored.clone();
            upright.apply_orientation(orientation);
            let header = Header {
                inspected: Inspected {
                    format: SourceFormat::Png,
                    width: upright.width(),
                    height: upright.height(),
                },
                orientation,
                stored_width: 7,
                stored_height: 5,
            };
            // MIN_SIDE does not fit a 7 × 5 image, so test the mapping directly
            // through a crop of size 3 at every position.
            for y in 0..=upright.height() - 3 {
                for x in 0..=upright.width() - 3 {
                    let expected = upright.crop_imm(x, y, 3, 3);
                    let mapped = map_for_test(crop(x, y, 3, 0), &header);
                    let mut got = stored.crop_imm(mapped.x, mapped.y, 3, 3);
                    got.apply_orientation(orientation);
                    assert_eq!(got, expected, "{orientation:?} at ({x}, {y})");
                }
            }
        }
    }

    /// `stored_crop` without the MIN_SIDE rule, for small test patterns.
    fn map_for_test(c: AvatarCrop, header: &Header) -> Square {
        let scale = MIN_SIDE;
        let big = Header {
            inspected: Inspected {
                width: header.inspected.width * scale,
                height: header.inspected.height * scale,
                ..header.inspected
            },
            stored_width: header.stored_width * scale,
            stored_height: header.stored_height * scale,
            ..*header
        };
        let scaled = crop(c.x * scale, c.y * scale, c.size * scale, 0);
        let s = stored_crop(scaled, &big).unwrap();
        Square {
            x: s.x / scale,
            y: s.y / scale,
            size: s.size / scale,
        }
    }

    #[test]
    fn metadata_is_stripped() {
        let jpeg = sideways_jpeg();
        assert!(jpeg.windows(4).any(|w| w == b"Exif"));
        for r in render(&jpeg, crop(0, 0, 100, 0)).unwrap() {
            assert!(!r.bytes.windows(4).any(|w| w == b"Exif"), "{r:?}");
            assert!(!r.bytes.windows(4).any(|w| w == b"EXIF"), "{r:?}");
            assert!(!r.bytes.windows(4).any(|w| w == b"ICCP"), "{r:?}");
            assert!(!r.bytes.windows(4).any(|w| w == b"iCCP"), "{r:?}");
        }
    }

    #[test]
    fn text_is_not_an_image() {
        let text = b"This is a text file that someone named avatar.png\n".repeat(10);
        let err = inspect(&text).unwrap_err();
        assert_eq!(err.status(), 415);
        assert_eq!(
            err.to_string(),
            "This file is not a JPEG, PNG, WebP or GIF image."
        );
        assert!(matches!(
            render(&text, crop(0, 0, 32, 0)),
            Err(ImageError::Unsupported(_))
        ));
        assert!(matches!(inspect(&[]), Err(ImageError::Unsupported(_))));
    }

    #[test]
    fn truncated_jpeg_is_invalid() {
        let jpeg = jpeg_with_orientation(&quadrants(400, 300), 1);
        let half = &jpeg[..jpeg.len() / 2];
        let message = invalid(render(half, crop(0, 0, 100, 0)));
        assert_eq!(
            message,
            "This image could not be read; it may be damaged or incomplete."
        );
        // The intact file renders, so the failure is the truncation.
        render(&jpeg, crop(0, 0, 100, 0)).unwrap();
    }

    #[test]
    fn truncated_png_is_invalid() {
        let png = quadrants_png(200);
        invalid(render(&png[..png.len() / 2], crop(0, 0, 100, 0)));
    }

    #[test]
    fn tiny_image_is_invalid() {
        let mut png = Cursor::new(Vec::new());
        RgbImage::new(1, 1)
            .write_to(&mut png, ImageFormat::Png)
            .unwrap();
        let message = invalid(render(png.get_ref(), crop(0, 0, 1, 0)));
        assert_eq!(
            message,
            "This image is 1 × 1 pixels; use one at least 32 pixels on each side."
        );
    }

    #[test]
    fn decompression_bomb_is_refused_from_the_header() {
        let png = png_claiming(20_000, 20_000);
        assert!(png.len() < 100);
        assert_eq!(
            inspect(&png).unwrap(),
            Inspected {
                format: SourceFormat::Png,
                width: 20_000,
                height: 20_000
            }
        );
        let started = Instant::now();
        let err = render(&png, crop(0, 0, 512, 0)).unwrap_err();
        // Decoding would fail as Invalid (the image stream is empty) after
        // allocating 1.2 GB; TooLarge, quickly, shows it never got there.
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(err.status(), 413);
        assert_eq!(
            err.to_string(),
            "This image is 20000 × 20000 pixels; the limit is 8192 pixels on a side and 40 \
             megapixels."
        );
        // Within 8192 a side but over 40 megapixels.
        let err = render(&png_claiming(8000, 6000), crop(0, 0, 512, 0)).unwrap_err();
        assert!(matches!(err, ImageError::TooLarge(_)), "{err:?}");
    }

    #[test]
    fn oversized_file_is_refused_before_anything_else() {
        // Not an image at all: the size check must come first.
        let bytes = vec![0u8; 11 * 1024 * 1024];
        let err = render(&bytes, crop(0, 0, 32, 0)).unwrap_err();
        assert_eq!(
            err,
            ImageError::TooLarge("This file is 11.0 MB; the limit is 10 MB.".into())
        );
        assert_eq!(err.status(), 413);
        let just_over = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert_eq!(
            render(&just_over, crop(0, 0, 32, 0))
                .unwrap_err()
                .to_string(),
            "This file is 10.1 MB; the limit is 10 MB."
        );
    }

    #[test]
    fn bad_crops_are_invalid() {
        let png = quadrants_png(200);
        invalid(render(&png, crop(0, 0, 0, 0)));
        assert_eq!(
            invalid(render(&png, crop(150, 0, 100, 0))),
            "The crop must stay inside the image (200 × 200 pixels)."
        );
        invalid(render(&png, crop(0, 190, 32, 0)));
        invalid(render(&png, crop(u32::MAX, 0, 100, 0)));
        assert_eq!(
            invalid(render(&png, crop(0, 0, 31, 0))),
            "The crop is 31 × 31 pixels; select an area at least 32 × 32 pixels."
        );
        for rotation in [45, 360, 1] {
            assert_eq!(
                invalid(render(&png, crop(0, 0, 100, rotation))),
                "Rotation must be 0, 90, 180 or 270 degrees."
            );
        }
        // The crop is checked against the upright size, not the stored one.
        assert!(render(&sideways_jpeg(), crop(0, 100, 100, 0)).is_ok());
        invalid(render(&sideways_jpeg(), crop(100, 0, 100, 0)));
    }

    #[test]
    fn statuses() {
        assert_eq!(ImageError::TooLarge(String::new()).status(), 413);
        assert_eq!(ImageError::Unsupported(String::new()).status(), 415);
        assert_eq!(ImageError::Invalid(String::new()).status(), 422);
    }

    #[test]
    fn gif_gives_its_first_frame() {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame};
        let frame = |colour: [u8; 3]| {
            let img = RgbaImage::from_pixel(64, 64, Rgba([colour[0], colour[1], colour[2], 255]));
            Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(100, 1))
        };
        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            encoder.encode_frames([frame(RED), frame(BLUE)]).unwrap();
        }
        assert_eq!(inspect(&gif).unwrap().format, SourceFormat::Gif);
        let out = render(&gif, crop(0, 0, 64, 0)).unwrap();
        assert_colour(&rendition(&out, 64), 32, 32, RED);
    }

    #[test]
    fn sixteen_bit_and_grey_images_render() {
        use image::{ImageBuffer, Luma};
        // 16-bit RGBA with a half-transparent crop: stays lossless with alpha.
        let rgba16: ImageBuffer<Rgba<u16>, Vec<u16>> =
            ImageBuffer::from_pixel(64, 64, Rgba([65535, 0, 0, 32768]));
        let mut png = Cursor::new(Vec::new());
        rgba16.write_to(&mut png, ImageFormat::Png).unwrap();
        let out = render(png.get_ref(), crop(0, 0, 64, 0)).unwrap();
        let image = rendition(&out, 64);
        assert_eq!(out[0].content_type, "image/webp");
        let px = image.to_rgba8().get_pixel(32, 32).0;
        assert!(px[0] > 250 && px[3].abs_diff(128) <= 2, "{px:?}");

        let grey = image::GrayImage::from_fn(64, 64, |x, _| Luma([if x < 32 { 0 } else { 255 }]));
        let mut png = Cursor::new(Vec::new());
        grey.write_to(&mut png, ImageFormat::Png).unwrap();
        let out = render(png.get_ref(), crop(0, 0, 64, 0)).unwrap();
        let image = rendition(&out, 128);
        assert_colour(&image, 16, 64, [0, 0, 0]);
        assert_colour(&image, 111, 64, [255, 255, 255]);
    }

    #[test]
    fn truncated_gif_and_webp_are_invalid() {
        let img = quadrants(100, 100);
        let mut gif = Cursor::new(Vec::new());
        img.write_to(&mut gif, ImageFormat::Gif).unwrap();
        let gif = gif.into_inner();
        invalid(render(&gif[..gif.len() / 2], crop(0, 0, 100, 0)));
        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp)
            .write_image(img.as_raw(), 100, 100, ExtendedColorType::Rgb8)
            .unwrap();
        invalid(render(&webp[..webp.len() / 2], crop(0, 0, 100, 0)));
    }

    #[test]
    fn webp_is_accepted() {
        let mut webp = Vec::new();
        let img = quadrants(100, 100);
        WebPEncoder::new_lossless(&mut webp)
            .write_image(img.as_raw(), 100, 100, ExtendedColorType::Rgb8)
            .unwrap();
        assert_eq!(inspect(&webp).unwrap().format, SourceFormat::Webp);
        let out = render(&webp, crop(50, 50, 50, 0)).unwrap();
        assert_colour(&rendition(&out, 64), 32, 32, YELLOW);
    }
}
