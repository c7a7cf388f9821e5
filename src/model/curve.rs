//! The loss-curve PNG of a training run: training loss (smoothed, blue) and validation
//! loss (red dots) against steps, log-scaled loss axis.

use std::path::Path;

use anyhow::{Context, Result};
use image::{Rgb, RgbImage};

const W: u32 = 800;
const H: u32 = 400;
const MARGIN: u32 = 40;

pub fn draw_loss_curve(
    path: &Path,
    train: &[(usize, f32)],
    validation: &[(usize, f32)],
) -> Result<()> {
    let mut img = RgbImage::from_pixel(W, H, Rgb([255, 255, 255]));
    let all = train
        .iter()
        .chain(validation)
        .filter(|p| p.1.is_finite() && p.1 > 0.0);
    let max_step = all.clone().map(|p| p.0).max().unwrap_or(1).max(1) as f32;
    let (lo, hi) = all.fold((f32::MAX, f32::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let (lo, hi) = if lo < hi {
        (lo.ln(), hi.ln())
    } else {
        (0.0, 1.0)
    };
    let to_px = |step: usize, loss: f32| {
        let x = MARGIN as f32 + (W - 2 * MARGIN) as f32 * step as f32 / max_step;
        let t = (loss.max(1e-9).ln() - lo) / (hi - lo).max(1e-6);
        let y = (H - MARGIN) as f32 - (H - 2 * MARGIN) as f32 * t;
        (x as i64, y as i64)
    };
    let grey = Rgb([120, 120, 120]);
    line(
        &mut img,
        (MARGIN as i64, (H - MARGIN) as i64),
        ((W - MARGIN) as i64, (H - MARGIN) as i64),
        grey,
    );
    line(
        &mut img,
        (MARGIN as i64, MARGIN as i64),
        (MARGIN as i64, (H - MARGIN) as i64),
        grey,
    );
    let smoothed = smooth(train, 0.9);
    for w in smoothed.windows(2) {
        line(
            &mut img,
            to_px(w[0].0, w[0].1),
            to_px(w[1].0, w[1].1),
            Rgb([30, 80, 200]),
        );
    }
    for &(s, l) in validation {
        let (x, y) = to_px(s, l);
        for dx in -2..=2 {
            for dy in -2..=2 {
                put(&mut img, x + dx, y + dy, Rgb([210, 40, 40]));
            }
        }
    }
    img.save(path)
        .with_context(|| format!("cannot write the loss curve {}", path.display()))
}

/// Exponential moving average, so the curve shows the trend rather than batch noise.
fn smooth(points: &[(usize, f32)], keep: f32) -> Vec<(usize, f32)> {
    let mut avg: Option<f32> = None;
    points
        .iter()
        .filter(|p| p.1.is_finite())
        .map(|&(s, l)| {
            let a = avg.map_or(l, |a| keep * a + (1.0 - keep) * l);
            avg = Some(a);
            (s, a)
        })
        .collect()
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// Bresenham.
fn line(img: &mut RgbImage, a: (i64, i64), b: (i64, i64), c: Rgb<u8>) {
    let (mut x, mut y) = a;
    let dx = (b.0 - x).abs();
    let dy = -(b.1 - y).abs();
    let sx = if x < b.0 { 1 } else { -1 };
    let sy = if y < b.1 { 1 } else { -1 };
    let mut err = dx + dy;
    loop {
        put(img, x, y, c);
        if (x, y) == b {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_is_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let train: Vec<(usize, f32)> = (0..100).map(|s| (s, 5.0 / (1.0 + s as f32))).collect();
        draw_loss_curve(&path, &train, &[(50, 0.2), (99, 0.1)]).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let blue = img.pixels().filter(|p| p.0 == [30, 80, 200]).count();
        let red = img.pixels().filter(|p| p.0 == [210, 40, 40]).count();
        assert!(blue > 300 && red >= 25, "blue {blue} red {red}");
    }
}
