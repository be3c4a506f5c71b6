//! Times the avatar pipeline on a 12-megapixel photo-like JPEG, and libvips'
//! `vipsthumbnail` on the same file when it is installed.
//!
//! cargo run --release -p backend --example avatar_bench [runs] [save-input.jpg]

use std::process::Command;
use std::time::{Duration, Instant};

use backend::avatar::process::{render, AvatarCrop};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ExtendedColorType, ImageEncoder, Rgb, RgbImage};

const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;
const CROP: u32 = 3000;

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);

    let jpeg = photo_like_jpeg();
    if let Some(path) = std::env::args().nth(2) {
        std::fs::write(&path, &jpeg).expect("save input");
        println!("input saved to {path}");
    }
    println!(
        "input: {WIDTH}×{HEIGHT} JPEG (quality 90), {:.2} MB; crop {CROP}×{CROP} centre; \
         {runs} runs after 1 warm-up",
        jpeg.len() as f64 / (1024.0 * 1024.0)
    );

    let crop = AvatarCrop {
        x: (WIDTH - CROP) / 2,
        y: (HEIGHT - CROP) / 2,
        size: CROP,
        rotation: 0,
    };
    let out = render(&jpeg, crop).expect("render");
    for r in &out {
        println!(
            "  output {0}×{0}: {1}, {2:.1} KB",
            r.size,
            r.content_type,
            r.bytes.len() as f64 / 1024.0
        );
    }
    let ours = time(runs, || {
        render(&jpeg, crop).expect("render");
    });
    report("atrium render (decode+crop+resize×3+encode×3)", &ours);
    stages(&jpeg, crop, runs);

    match vips(&jpeg, runs) {
        Some(vips) => {
            report("vipsthumbnail (decode+crop+resize+encode, 512 WebP)", &vips);
            println!(
                "ratio ours/vips (median): {:.2}",
                median(&ours).as_secs_f64() / median(&vips).as_secs_f64()
            );
        }
        None => println!(
            "vipsthumbnail: skipped, not on PATH (Debian/Ubuntu: apt-get install libvips-tools)"
        ),
    }
}

type Encode = fn(&DynamicImage) -> Vec<u8>;

/// `img` written by `encoder` (built over the output buffer).
fn write(encoder: impl ImageEncoder, img: &DynamicImage) -> image::ImageResult<()> {
    encoder.write_image(
        img.as_bytes(),
        img.width(),
        img.height(),
        img.color().into(),
    )
}

/// The bytes `encode` writes for `img`.
fn encoded(
    img: &DynamicImage,
    encode: impl FnOnce(&mut Vec<u8>, &DynamicImage) -> image::ImageResult<()>,
) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&mut out, img).expect("encode");
    out
}

/// The pipeline's main steps one by one, to see where the time goes.
fn stages(jpeg: &[u8], crop: AvatarCrop, runs: usize) {
    let decode = time(runs, || {
        image::load_from_memory(jpeg).expect("decode");
    });
    report(
        "  stage: JPEG decode 4000×3000 (zune-jpeg via image)",
        &decode,
    );

    let source = image::load_from_memory(jpeg).expect("decode");
    let mut resizer = Resizer::new();
    let mut square = DynamicImage::new_rgb8(512, 512);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(
            f64::from(crop.x),
            f64::from(crop.y),
            f64::from(crop.size),
            f64::from(crop.size),
        );
    let resize = time(runs, || {
        resizer
            .resize(&source, &mut square, &options)
            .expect("resize");
    });
    report(
        "  stage: Lanczos3 crop+resize 3000→512 (fast_image_resize)",
        &resize,
    );

    let encoders: [(&str, Encode); 4] = [
        ("JPEG q86", |img| {
            encoded(img, |out, img| {
                write(JpegEncoder::new_with_quality(out, 86), img)
            })
        }),
        ("WebP lossless", |img| {
            encoded(img, |out, img| write(WebPEncoder::new_lossless(out), img))
        }),
        ("PNG fast", |img| {
            encoded(img, |out, img| {
                write(
                    PngEncoder::new_with_quality(out, CompressionType::Fast, PngFilter::Adaptive),
                    img,
                )
            })
        }),
        ("PNG default", |img| {
            encoded(img, |out, img| {
                write(
                    PngEncoder::new_with_quality(
                        out,
                        CompressionType::Default,
                        PngFilter::Adaptive,
                    ),
                    img,
                )
            })
        }),
    ];
    for (name, encode) in encoders {
        let size = encode(&square).len();
        let times = time(runs, || {
            encode(&square);
        });
        report(
            &format!(
                "  stage: encode 512 {name} ({:.1} KB)",
                size as f64 / 1024.0
            ),
            &times,
        );
    }
}

/// Smooth colour gradients with a few sharp-edged shapes, fine texture and
/// sensor-like noise: compresses like a camera photo rather than a flat graphic.
fn photo_like_jpeg() -> Vec<u8> {
    let mut state = 0x9E37_79B9u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 24) as f32 / 255.0 - 0.5
    };
    let img = RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let (fx, fy) = (x as f32 / WIDTH as f32, y as f32 / HEIGHT as f32);
        // Sky-to-ground gradient.
        let mut r = 90.0 + 120.0 * fy + 30.0 * (fx * 3.1).sin();
        let mut g = 140.0 + 60.0 * (fx * 2.0 + fy).cos();
        let mut b = 210.0 - 150.0 * fy;
        // A "subject": a shaded disc with a hard edge.
        let (dx, dy) = (fx - 0.5, (fy - 0.55) * 0.75);
        let d = (dx * dx + dy * dy).sqrt();
        if d < 0.22 {
            let shade = 1.0 - d / 0.22;
            r = 200.0 * shade + 40.0;
            g = 150.0 * shade + 30.0;
            b = 120.0 * shade + 30.0;
        }
        // Fine texture (foliage, fabric) and noise.
        let texture = 12.0 * ((x as f32 * 0.35).sin() * (y as f32 * 0.27).cos());
        let n = 18.0 * noise();
        let c = |v: f32| (v + texture + n).clamp(0.0, 255.0) as u8;
        Rgb([c(r), c(g), c(b)])
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .write_image(img.as_raw(), WIDTH, HEIGHT, ExtendedColorType::Rgb8)
        .expect("encode");
    jpeg
}

fn vips(jpeg: &[u8], runs: usize) -> Option<Vec<Duration>> {
    let probe = Command::new("vipsthumbnail").arg("--vips-version").output();
    if !probe.map(|o| o.status.success()).unwrap_or(false) {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("avatar_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let input = dir.join("in.jpg");
    std::fs::write(&input, jpeg).ok()?;
    let output = dir.join("out.webp");
    let run = || {
        let status = Command::new("vipsthumbnail")
            .arg(&input)
            .args(["--size", "512x512", "--smartcrop", "centre", "-o"])
            .arg(format!("{}[Q=86]", output.display()))
            .status()
            .expect("run vipsthumbnail");
        assert!(status.success(), "vipsthumbnail failed");
    };
    let times = time(runs, run);
    let _ = std::fs::remove_dir_all(&dir);
    Some(times)
}

fn time(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn median(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

fn p90(sorted: &[Duration]) -> Duration {
    sorted[((sorted.len() * 9).div_ceil(10)).saturating_sub(1)]
}

fn report(label: &str, sorted: &[Duration]) {
    println!(
        "{label}: median {:.1} ms, p90 {:.1} ms",
        median(sorted).as_secs_f64() * 1e3,
        p90(sorted).as_secs_f64() * 1e3
    );
}
