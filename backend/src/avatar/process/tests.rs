//! Unit tests of the pipeline, on images built in memory.

use super::crop::{stored_crop, Square};
use super::header::Header;
use super::testing::*;
use super::*;
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, GenericImageView, ImageEncoder, ImageFormat, Rgb, RgbImage,
    Rgba, RgbaImage,
};
use std::io::Cursor;
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
