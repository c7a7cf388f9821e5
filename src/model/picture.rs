//! Picture -> the network's input: grey, square, `side` px, white = 1. Downsampling takes
//! the MIN of each block so that 1-px black edges stay black at the lower resolution.

use std::path::Path;

use anyhow::{bail, Context, Result};
use image::{imageops::FilterType, DynamicImage, GrayImage, Luma};

/// Grey pixels in [0, 1], row-major, `side` x `side`.
pub fn load_picture(path: &Path, side: usize) -> Result<Vec<f32>> {
    let img = image::open(path).with_context(|| {
        format!(
            "cannot read the picture {} (PNG or JPEG expected)",
            path.display()
        )
    })?;
    picture_input(&img, side)
}

pub fn picture_input(img: &DynamicImage, side: usize) -> Result<Vec<f32>> {
    if img.width() == 0 || img.height() == 0 || side == 0 {
        bail!("the picture is empty ({}x{})", img.width(), img.height());
    }
    let grey = flatten_on_white(img);
    let square = pad_to_square(&grey);
    let factor = (square.width() as usize / side).max(1);
    let scaled = if square.width() as usize == side * factor {
        square
    } else {
        let target = (side * factor) as u32;
        image::imageops::resize(&square, target, target, FilterType::Triangle)
    };
    Ok(min_pool(&scaled, factor, side))
}

/// Grey with transparent parts shown as white (RGBA drawings have no background).
fn flatten_on_white(img: &DynamicImage) -> GrayImage {
    let rgba = img.to_rgba8();
    GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = p[3] as f32 / 255.0;
        let lum = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
        Luma([(lum * a + 255.0 * (1.0 - a)).round() as u8])
    })
}

fn pad_to_square(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    if w == h {
        return img.clone();
    }
    let s = w.max(h);
    let mut out = GrayImage::from_pixel(s, s, Luma([255]));
    image::imageops::overlay(&mut out, img, ((s - w) / 2) as i64, ((s - h) / 2) as i64);
    out
}

fn min_pool(img: &GrayImage, factor: usize, side: usize) -> Vec<f32> {
    let mut out = vec![1.0f32; side * side];
    for (y, row) in out.chunks_mut(side).enumerate() {
        for (x, v) in row.iter_mut().enumerate() {
            let mut m = 255u8;
            for dy in 0..factor {
                for dx in 0..factor {
                    let p = img
                        .get_pixel((x * factor + dx) as u32, (y * factor + dy) as u32)
                        .0[0];
                    m = m.min(p);
                }
            }
            *v = m as f32 / 255.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pixel_lines_survive_downsampling() {
        let mut img = GrayImage::from_pixel(448, 448, Luma([255]));
        for y in 0..448 {
            img.put_pixel(201, y, Luma([0]));
        }
        let input = picture_input(&DynamicImage::ImageLuma8(img), 112).unwrap();
        assert_eq!(input.len(), 112 * 112);
        // Column 201 / 4 = 50 is black on every row; its neighbours stay white.
        assert!((0..112).all(|y| input[y * 112 + 50] == 0.0));
        assert!((0..112).all(|y| input[y * 112 + 49] == 1.0));
    }

    #[test]
    fn odd_sizes_and_transparency_are_handled() {
        let img = image::RgbaImage::from_pixel(300, 200, image::Rgba([0, 0, 0, 0]));
        let input = picture_input(&DynamicImage::ImageRgba8(img), 64).unwrap();
        assert!(input.iter().all(|&v| v == 1.0));
    }
}
