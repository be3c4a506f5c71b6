//! Resizing and encoding: Lanczos3 squares, encoded from raw pixels so no
//! metadata survives.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ColorType, DynamicImage, ExtendedColorType, ImageEncoder};

use super::crop::Square;
use super::{ImageError, JPEG_QUALITY};

/// Lanczos3 resize of `area` of `source` to a `side` × `side` image of the
/// same pixel type.
pub(super) fn resize(
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
pub(super) fn to_8bit(image: DynamicImage, opaque: bool) -> DynamicImage {
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
/// JPEG when the picture is opaque and JPEG is smaller; `format` forces one
/// of the two (as chosen for the largest size).
pub(super) fn encode(
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
