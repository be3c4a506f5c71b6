//! The crop: a square chosen on the upright picture, found in the stored
//! pixels, and whether it holds any transparency.

use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, Pixel};

use super::header::Header;
use super::{AvatarCrop, ImageError, Inspected, MIN_SIDE};

/// A square region in stored (not upright) pixel coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Square {
    pub(super) x: u32,
    pub(super) y: u32,
    pub(super) size: u32,
}

/// Validates `crop` against the upright image and returns the same square in
/// stored coordinates, so that cropping the stored pixels and then applying
/// the orientation equals cropping the upright image. This saves turning the
/// whole decoded image upright (a full copy) before cropping.
pub(super) fn stored_crop(crop: AvatarCrop, header: &Header) -> Result<Square, ImageError> {
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

/// Whether any pixel inside `area` is less than fully opaque.
pub(super) fn has_transparency(image: &DynamicImage, area: Square) -> bool {
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
