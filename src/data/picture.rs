//! Training pictures: the part rendered in the picture convention, then (optionally)
//! augmented within what the data set's pictures show: a camera a degree or two off the
//! isometric direction and a few per cent off the framing, lines one or two pixels wide,
//! face grey a few levels lighter or darker, and JPEG-like block noise.

use image::{Rgb, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::geom::camera::{framing_box, Camera};
use crate::geom::render::render_with;
use crate::runtime::Built;

/// Picture size of the data set.
pub const SIZE: u32 = 448;

/// Which augmentations to apply (all off: the plain convention).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Augment {
    pub camera_jitter: bool,
    pub line_width: bool,
    pub grey: bool,
    pub jpeg: bool,
}

impl Augment {
    pub const ALL: Augment = Augment {
        camera_jitter: true,
        line_width: true,
        grey: true,
        jpeg: true,
    };

    /// Parses `all`, `none` or a comma list of `camera,lines,grey,jpeg`.
    pub fn parse(text: &str) -> Result<Augment, String> {
        let mut a = Augment::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "all" => a = Augment::ALL,
                "none" => a = Augment::default(),
                "camera" => a.camera_jitter = true,
                "lines" => a.line_width = true,
                "grey" => a.grey = true,
                "jpeg" => a.jpeg = true,
                other => {
                    return Err(format!(
                        "unknown augmentation `{other}`: use all, none, camera, lines, grey, jpeg"
                    ))
                }
            }
        }
        Ok(a)
    }
}

/// What was applied to one picture (written to the manifest).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Applied {
    pub view_direction: [f64; 3],
    pub zoom: f64,
    pub line_px: u32,
    pub grey_shift: i32,
    pub jpeg_quality: Option<u8>,
}

/// Draws the augmentation parameters for one picture.
pub fn draw_params(aug: &Augment, rng: &mut ChaCha8Rng) -> Applied {
    let mut a = Applied {
        view_direction: [1.0, -1.0, 1.0],
        zoom: 1.0,
        line_px: 1,
        grey_shift: 0,
        jpeg_quality: None,
    };
    if aug.camera_jitter {
        // Up to ~2 degrees off the isometric direction, framing within 4%.
        for v in &mut a.view_direction {
            *v += rng.random_range(-0.035..0.035);
        }
        a.zoom = rng.random_range(0.96..1.04);
    }
    if aug.line_width && rng.random_bool(0.25) {
        a.line_px = 2;
    }
    if aug.grey {
        a.grey_shift = rng.random_range(-10..=10);
    }
    if aug.jpeg && rng.random_bool(0.5) {
        a.jpeg_quality = Some(rng.random_range(60..=95));
    }
    a
}

/// Renders an executed part (needs its mesh and edges) with the parameters `applied`.
pub fn render(built: &Built, applied: &Applied) -> anyhow::Result<RgbImage> {
    let Some(mesh) = &built.mesh else {
        anyhow::bail!("the execution carries no mesh: execute with `mesh: Some(..)`");
    };
    let frame = framing_box(&built.facts.bbox, mesh.has_curved_faces());
    let mut camera = Camera::gencad_from(&frame, SIZE, SIZE, applied.view_direction);
    camera.scale *= applied.zoom;
    Ok(render_with(mesh, &built.edges, camera).rgb)
}

/// Applies the post-render augmentations (lines, grey, JPEG) in place.
pub fn post_process(img: &mut RgbImage, applied: &Applied) -> anyhow::Result<()> {
    if applied.line_px > 1 {
        widen_lines(img);
    }
    if applied.grey_shift != 0 {
        shift_grey(img, applied.grey_shift);
    }
    if let Some(q) = applied.jpeg_quality {
        *img = jpeg_round_trip(img, q)?;
    }
    Ok(())
}

fn is_line(p: &Rgb<u8>) -> bool {
    p.0.iter().all(|&c| c < 40)
}

/// Lines two pixels wide: every line pixel also darkens its right and lower neighbours.
fn widen_lines(img: &mut RgbImage) {
    let src = img.clone();
    let (w, h) = img.dimensions();
    for (x, y, p) in src.enumerate_pixels() {
        if is_line(p) {
            if x + 1 < w {
                img.put_pixel(x + 1, y, *p);
            }
            if y + 1 < h {
                img.put_pixel(x, y + 1, *p);
            }
        }
    }
}

/// Shifts face pixels (neither background white nor line black) by `delta` grey levels.
fn shift_grey(img: &mut RgbImage, delta: i32) {
    for p in img.pixels_mut() {
        let white = p.0.iter().all(|&c| c > 250);
        if !white && !is_line(p) {
            for c in &mut p.0 {
                *c = (*c as i32 + delta).clamp(0, 255) as u8;
            }
        }
    }
}

fn jpeg_round_trip(img: &RgbImage, quality: u8) -> anyhow::Result<RgbImage> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality).encode_image(img)?;
    Ok(image::load_from_memory_with_format(&buf, image::ImageFormat::Jpeg)?.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A grey square with a black border on white, like a tiny rendered face.
    fn square() -> RgbImage {
        RgbImage::from_fn(64, 64, |x, y| {
            if (16..48).contains(&x) && (16..48).contains(&y) {
                if x == 16 || y == 16 || x == 47 || y == 47 {
                    Rgb([0, 0, 0])
                } else {
                    Rgb([141, 141, 138])
                }
            } else {
                Rgb([255, 255, 255])
            }
        })
    }

    fn count(img: &RgbImage, f: impl Fn(&Rgb<u8>) -> bool) -> usize {
        img.pixels().filter(|p| f(p)).count()
    }

    #[test]
    fn augmentations_stay_close_to_the_convention() {
        let plain = square();
        let lines = count(&plain, is_line);
        let mut img = plain.clone();
        post_process(
            &mut img,
            &Applied {
                line_px: 2,
                grey_shift: 8,
                jpeg_quality: Some(80),
                ..Applied::default()
            },
        )
        .unwrap();
        let wide = count(&img, is_line);
        assert!(
            wide > lines * 3 / 2 && wide < lines * 5 / 2,
            "{lines} -> {wide}"
        );
        let face = img.get_pixel(30, 30).0;
        assert!((face[0] as i32 - 149).abs() <= 3, "{face:?}");
        assert!(img.get_pixel(2, 2).0.iter().all(|&c| c > 245));
    }

    #[test]
    fn parameters_are_plain_without_augmentation_and_bounded_with_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let plain = draw_params(&Augment::default(), &mut rng);
        assert_eq!(
            (plain.view_direction, plain.zoom, plain.line_px),
            ([1.0, -1.0, 1.0], 1.0, 1)
        );
        for _ in 0..100 {
            let a = draw_params(&Augment::ALL, &mut rng);
            assert!((0.96..1.04).contains(&a.zoom));
            assert!(a.grey_shift.abs() <= 10);
            assert!(a
                .view_direction
                .iter()
                .all(|v| (v.abs() - 1.0).abs() < 0.035));
        }
        assert!(Augment::parse("camera,jpeg").unwrap().jpeg);
        assert!(Augment::parse("blur").is_err());
    }
}
