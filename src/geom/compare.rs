//! Scores between two pictures of the GenCAD-Code convention (white background, grey faces,
//! black edges): silhouette IoU and edge agreement through a distance transform.

use image::RgbImage;

/// A binary picture: silhouette or edge pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    pub width: u32,
    pub height: u32,
    pub bits: Vec<bool>,
}

impl Mask {
    pub fn new(width: u32, height: u32) -> Self {
        Mask {
            width,
            height,
            bits: vec![false; (width * height) as usize],
        }
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        self.bits[(y * self.width + x) as usize]
    }

    pub fn count(&self) -> usize {
        self.bits.iter().filter(|&&b| b).count()
    }

    fn from_luma(img: &RgbImage, keep: impl Fn(f32) -> bool) -> Self {
        Mask {
            width: img.width(),
            height: img.height(),
            bits: img
                .pixels()
                .map(|p| keep((p[0] as f32 + p[1] as f32 + p[2] as f32) / 3.0))
                .collect(),
        }
    }

    /// Everything that is not background white.
    pub fn silhouette_of(img: &RgbImage) -> Self {
        Mask::from_luma(img, |l| l < 245.0)
    }

    /// The drawn edges: near-black pixels (faces are mid grey).
    pub fn edges_of(img: &RgbImage) -> Self {
        Mask::from_luma(img, |l| l < 90.0)
    }

    /// Intersection over union (1 when both are empty: two blank pictures agree).
    pub fn iou(&self, other: &Mask) -> f64 {
        let (mut inter, mut union) = (0usize, 0usize);
        for (&a, &b) in self.bits.iter().zip(&other.bits) {
            inter += (a && b) as usize;
            union += (a || b) as usize;
        }
        if union == 0 {
            1.0
        } else {
            inter as f64 / union as f64
        }
    }

    /// Euclidean distance of every pixel to the nearest set pixel (infinite when none is
    /// set): Felzenszwalb & Huttenlocher's two-pass lower-envelope transform.
    pub fn distance_transform(&self) -> Vec<f32> {
        let (w, h) = (self.width as usize, self.height as usize);
        let big = 1e20f32;
        let mut g: Vec<f32> = self
            .bits
            .iter()
            .map(|&b| if b { 0.0 } else { big })
            .collect();
        let mut line = vec![0f32; w.max(h)];
        let mut out = vec![0f32; w.max(h)];
        for x in 0..w {
            for y in 0..h {
                line[y] = g[y * w + x];
            }
            edt_1d(&line[..h], &mut out[..h]);
            for y in 0..h {
                g[y * w + x] = out[y];
            }
        }
        for y in 0..h {
            line[..w].copy_from_slice(&g[y * w..(y + 1) * w]);
            edt_1d(&line[..w], &mut out[..w]);
            g[y * w..(y + 1) * w].copy_from_slice(&out[..w]);
        }
        g.iter()
            .map(|&d| {
                if d >= big / 2.0 {
                    f32::INFINITY
                } else {
                    d.sqrt()
                }
            })
            .collect()
    }
}

/// Squared 1-D distance transform of sampled function f.
fn edt_1d(f: &[f32], d: &mut [f32]) {
    let n = f.len();
    let mut v = vec![0usize; n];
    let mut z = vec![0f32; n + 1];
    let mut k = 0;
    z[0] = f32::NEG_INFINITY;
    z[1] = f32::INFINITY;
    let sq = |q: usize| (q * q) as f32;
    for q in 1..n {
        loop {
            let p = v[k];
            let s = ((f[q] + sq(q)) - (f[p] + sq(p))) / (2.0 * (q as f32 - p as f32));
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                // k == 0 and the new parabola dominates from the start
                v[0] = q;
                z[1] = f32::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f32::INFINITY;
            break;
        }
    }
    k = 0;
    for (q, dq) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f32 {
            k += 1;
        }
        let p = v[k];
        *dq = (q as f32 - p as f32).powi(2) + f[p];
    }
}

/// How well one edge map matches another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeAgreement {
    /// Share of `ours` edge pixels within `tolerance` px of a `theirs` edge pixel.
    pub precision: f64,
    /// Share of `theirs` edge pixels within `tolerance` px of an `ours` edge pixel.
    pub recall: f64,
    pub f_score: f64,
    /// Mean symmetric distance between the two edge sets, px (capped per pixel at 20).
    pub chamfer: f64,
}

pub fn edge_agreement(ours: &Mask, theirs: &Mask, tolerance: f32) -> EdgeAgreement {
    let (d_ours, d_theirs) = (ours.distance_transform(), theirs.distance_transform());
    let near = |m: &Mask, d: &[f32]| -> (f64, f64) {
        let (mut hit, mut n, mut sum) = (0usize, 0usize, 0f64);
        for (i, _) in m.bits.iter().enumerate().filter(|(_, &b)| b) {
            n += 1;
            hit += (d[i] <= tolerance) as usize;
            sum += d[i].min(20.0) as f64;
        }
        if n == 0 {
            (0.0, 20.0)
        } else {
            (hit as f64 / n as f64, sum / n as f64)
        }
    };
    let (precision, c1) = near(ours, &d_theirs);
    let (recall, c2) = near(theirs, &d_ours);
    let f_score = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    EdgeAgreement {
        precision,
        recall,
        f_score,
        chamfer: (c1 + c2) / 2.0,
    }
}

/// Agreement of a rendered candidate with an input picture, both in the convention.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PictureScore {
    pub silhouette_iou: f64,
    pub edges: EdgeAgreement,
}

impl PictureScore {
    /// One number for ranking: silhouette overlap and edge F-score weighted equally.
    pub fn combined(&self) -> f64 {
        0.5 * self.silhouette_iou + 0.5 * self.edges.f_score
    }
}

/// Compare two pictures of the same size; edges count as matching within 2 px.
pub fn compare_pictures(ours: &RgbImage, theirs: &RgbImage) -> Result<PictureScore, String> {
    if ours.dimensions() != theirs.dimensions() {
        return Err(format!(
            "pictures differ in size ({:?} vs {:?}): render at the input's size",
            ours.dimensions(),
            theirs.dimensions()
        ));
    }
    Ok(PictureScore {
        silhouette_iou: Mask::silhouette_of(ours).iou(&Mask::silhouette_of(theirs)),
        edges: edge_agreement(&Mask::edges_of(ours), &Mask::edges_of(theirs), 2.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_transform_is_euclidean() {
        let mut m = Mask::new(7, 5);
        m.bits[2 * 7 + 3] = true;
        let d = m.distance_transform();
        assert_eq!(d[2 * 7 + 3], 0.0);
        assert_eq!(d[2 * 7 + 6], 3.0);
        assert!((d[0] - (9.0f32 + 4.0).sqrt()).abs() < 1e-6);
        assert!(Mask::new(3, 3).distance_transform()[4].is_infinite());
    }

    #[test]
    fn edge_agreement_tolerates_small_shifts() {
        let (mut a, mut b) = (Mask::new(20, 20), Mask::new(20, 20));
        for y in 2..18 {
            a.bits[y * 20 + 5] = true;
            b.bits[y * 20 + 7] = true;
        }
        let e = edge_agreement(&a, &b, 2.0);
        assert_eq!((e.precision, e.recall, e.f_score), (1.0, 1.0, 1.0));
        assert_eq!(edge_agreement(&a, &b, 1.0).recall, 0.0);
        assert!((e.chamfer - 2.0).abs() < 1e-9);
    }

    #[test]
    fn silhouette_iou_of_pictures() {
        let mut a = RgbImage::from_pixel(10, 10, image::Rgb([255, 255, 255]));
        let mut b = a.clone();
        for x in 0..5 {
            a.put_pixel(x, 0, image::Rgb([141, 141, 138]));
            b.put_pixel(x + 1, 0, image::Rgb([0, 0, 0]));
        }
        let s = compare_pictures(&a, &b).unwrap();
        assert!((s.silhouette_iou - 4.0 / 6.0).abs() < 1e-12);
        assert!(compare_pictures(&a, &RgbImage::new(3, 3)).is_err());
    }
}
