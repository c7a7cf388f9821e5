//! The input picture, normalised: any size, RGB/RGBA/grey, PNG or JPEG becomes a square
//! 448x448 grey picture (transparency over white, padded with its own background) with
//! a silhouette mask and an edge map, as the scores need them.

use std::io::Cursor;
use std::path::Path;

use image::{imageops, DynamicImage, GrayImage, ImageReader, Luma};

/// The convention's picture size.
pub const SIZE: u32 = 448;
/// Larger inputs are refused rather than decoded into gigabytes.
const MAX_SIDE: u32 = 16_384;
const MAX_BYTES: u64 = 64 << 20;

/// A normalised input picture (SIZE x SIZE, row-major).
#[derive(Debug, Clone)]
pub struct Picture {
    pub size: u32,
    pub grey: Vec<u8>,
    pub silhouette: Vec<bool>,
    pub edges: Vec<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{what} is not a PNG or JPEG picture ({reason}): give a PNG or JPEG file")]
    NotAnImage { what: String, reason: String },
    #[error("{what} is too large ({detail}): scale it down below {MAX_SIDE} px a side")]
    TooLarge { what: String, detail: String },
    #[error("{what} is blank (nothing stands out from the background): give a picture of a part")]
    Blank { what: String },
}

impl Picture {
    pub fn load(path: &Path) -> Result<Picture, PictureError> {
        let what = path.display().to_string();
        let read_err = |source| PictureError::Read {
            path: what.clone(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read_err)?.len();
        if len > MAX_BYTES {
            return Err(PictureError::TooLarge {
                what,
                detail: format!("{len} bytes"),
            });
        }
        let bytes = std::fs::read(path).map_err(read_err)?;
        Picture::from_bytes(&bytes, &what)
    }

    /// Decodes PNG/JPEG bytes; `what` names the input in errors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Picture, PictureError> {
        let not_image = |reason: String| PictureError::NotAnImage {
            what: what.to_string(),
            reason,
        };
        let reader = || {
            ImageReader::new(Cursor::new(bytes))
                .with_guessed_format()
                .map_err(|e| not_image(e.to_string()))
        };
        let r = reader()?;
        if !matches!(
            r.format(),
            Some(image::ImageFormat::Png | image::ImageFormat::Jpeg)
        ) {
            return Err(not_image("unknown format".into()));
        }
        let (w, h) = r.into_dimensions().map_err(|e| not_image(e.to_string()))?;
        if w > MAX_SIDE || h > MAX_SIDE {
            return Err(PictureError::TooLarge {
                what: what.to_string(),
                detail: format!("{w}x{h}"),
            });
        }
        let img = reader()?.decode().map_err(|e| not_image(e.to_string()))?;
        Picture::from_image(&img, what)
    }

    pub fn from_image(img: &DynamicImage, what: &str) -> Result<Picture, PictureError> {
        let rgba = img.to_rgba8();
        let (w, h) = rgba.dimensions();
        if w == 0 || h == 0 {
            return Err(PictureError::Blank {
                what: what.to_string(),
            });
        }
        // transparency over white, then luma
        let grey = GrayImage::from_fn(w, h, |x, y| {
            let p = rgba.get_pixel(x, y);
            let a = p[3] as f32 / 255.0;
            let l = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
            Luma([(l * a + 255.0 * (1.0 - a)).round() as u8])
        });
        let background = border_median(&grey);
        // pad to a square of background, then scale to SIZE
        let side = w.max(h);
        let mut square = GrayImage::from_pixel(side, side, Luma([background]));
        imageops::overlay(
            &mut square,
            &grey,
            ((side - w) / 2) as i64,
            ((side - h) / 2) as i64,
        );
        let scaled = if side == SIZE {
            square
        } else {
            imageops::resize(&square, SIZE, SIZE, imageops::FilterType::Triangle)
        };
        let grey = scaled.into_raw();
        let silhouette: Vec<bool> = grey
            .iter()
            .map(|&g| (g as i32 - background as i32).abs() > 12)
            .collect();
        // edges are drawn black over mid-grey faces
        let dark = 90.min(background.saturating_sub(60));
        let edges = grey.iter().map(|&g| g < dark).collect();
        if silhouette.iter().filter(|&&b| b).count() < 16 {
            return Err(PictureError::Blank {
                what: what.to_string(),
            });
        }
        Ok(Picture {
            size: SIZE,
            grey,
            silhouette,
            edges,
        })
    }

    /// A picture known only by its masks (a native render, for indexing).
    pub fn from_masks(size: u32, silhouette: Vec<bool>, edges: Vec<bool>) -> Picture {
        let grey = silhouette
            .iter()
            .zip(&edges)
            .map(|(&s, &e)| {
                if e {
                    0
                } else if s {
                    141
                } else {
                    255
                }
            })
            .collect();
        Picture {
            size,
            grey,
            silhouette,
            edges,
        }
    }

    /// The picture at 1/`factor` of the size: each block's share of silhouette pixels (0..=1)
    /// and whether any pixel of the block is an edge.
    pub fn blocks_at(&self, factor: u32) -> (u32, Vec<f32>, Vec<bool>) {
        let n = self.size / factor;
        let (mut coverage, mut edges) =
            (vec![0f32; (n * n) as usize], vec![false; (n * n) as usize]);
        let area = (factor * factor) as f32;
        for y in 0..n {
            for x in 0..n {
                let (mut s, mut e) = (0u32, false);
                for dy in 0..factor {
                    for dx in 0..factor {
                        let k = ((y * factor + dy) * self.size + x * factor + dx) as usize;
                        s += self.silhouette[k] as u32;
                        e |= self.edges[k];
                    }
                }
                coverage[(y * n + x) as usize] = s as f32 / area;
                edges[(y * n + x) as usize] = e;
            }
        }
        (n, coverage, edges)
    }

    /// The masks at 1/`factor` of the size (silhouette: at least half the block set;
    /// edges: any pixel of the block set), for a faster inner loop.
    pub fn masks_at(&self, factor: u32) -> (u32, Vec<bool>, Vec<bool>) {
        let (n, coverage, edges) = self.blocks_at(factor);
        // exact: a share of whole pixels equals 0.5 only when exactly half are set
        (n, coverage.iter().map(|&c| c >= 0.5).collect(), edges)
    }
}

/// Median grey of the outermost pixels: the background, whatever its colour.
fn border_median(img: &GrayImage) -> u8 {
    let (w, h) = img.dimensions();
    let mut v: Vec<u8> = Vec::with_capacity(2 * (w + h) as usize);
    for x in 0..w {
        v.push(img.get_pixel(x, 0)[0]);
        v.push(img.get_pixel(x, h - 1)[0]);
    }
    for y in 0..h {
        v.push(img.get_pixel(0, y)[0]);
        v.push(img.get_pixel(w - 1, y)[0]);
    }
    v.sort_unstable();
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png(img: DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn any_size_and_channels_become_the_convention() {
        // a small grey square with a black outline, 100x60 RGBA
        let img = RgbaImage::from_fn(100, 60, |x, y| {
            let inside = (30..70).contains(&x) && (10..50).contains(&y);
            let edge = inside && (x == 30 || x == 69 || y == 10 || y == 49);
            match (inside, edge) {
                (_, true) => Rgba([0, 0, 0, 255]),
                (true, false) => Rgba([141, 141, 138, 255]),
                _ => Rgba([0, 0, 0, 0]), // transparent
            }
        });
        let p = Picture::from_bytes(&png(DynamicImage::ImageRgba8(img)), "test").unwrap();
        assert_eq!(p.grey.len(), (SIZE * SIZE) as usize);
        let share = p.silhouette.iter().filter(|&&b| b).count() as f64 / (SIZE * SIZE) as f64;
        // 40x40 of a 100x100 square
        assert!((share - 0.16).abs() < 0.02, "{share}");
        assert!(p.edges.iter().any(|&e| e));
        let (n, sil, _) = p.masks_at(2);
        assert_eq!((n, sil.len()), (224, 224 * 224));
    }

    #[test]
    fn bad_inputs_get_clear_errors() {
        let e = Picture::from_bytes(b"import cadquery as cq\n", "part.py").unwrap_err();
        assert!(e.to_string().contains("not a PNG or JPEG"), "{e}");
        let blank = DynamicImage::ImageRgb8(RgbImage::from_pixel(50, 50, Rgb([255, 255, 255])));
        let e = Picture::from_bytes(&png(blank), "blank.png").unwrap_err();
        assert!(matches!(e, PictureError::Blank { .. }), "{e}");
        let mut truncated = png(DynamicImage::ImageRgb8(RgbImage::from_pixel(
            50,
            50,
            Rgb([0, 0, 0]),
        )));
        truncated.truncate(40);
        assert!(Picture::from_bytes(&truncated, "cut.png").is_err());
    }
}
