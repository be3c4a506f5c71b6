//! Reading an upload's header: the format from magic bytes, the
//! dimensions and the EXIF orientation, and the checks made before any
//! pixel is decoded.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{ImageDecoder, ImageReader, Limits};

use super::{ImageError, Inspected, SourceFormat, MAX_ALLOC, MAX_PIXELS, MAX_SIDE, MIN_SIDE};

/// What [`open`] learns from the header.
pub(super) struct Header {
    pub(super) inspected: Inspected,
    pub(super) orientation: Orientation,
    /// Dimensions as stored in the file, before orientation.
    pub(super) stored_width: u32,
    pub(super) stored_height: u32,
}

pub(super) fn check_dimensions(width: u32, height: u32) -> Result<(), ImageError> {
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
pub(super) fn open(bytes: &[u8]) -> Result<(impl ImageDecoder + '_, Header), ImageError> {
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

pub(super) fn turns_sideways(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// True when a JPEG's first scan is followed somewhere by an end-of-image
/// marker. Walks the marker segments so an EXIF thumbnail's EOI does not count.
pub(super) fn jpeg_is_complete(bytes: &[u8]) -> bool {
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
