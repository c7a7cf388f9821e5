//! How well a native render agrees with the input picture: silhouette IoU plus a smooth
//! edge term (symmetric chamfer distance through distance transforms), so refinement
//! feels edges moving before they overlap.

use super::native::NativeRender;
use super::picture::Picture;

/// Edge distances are capped here (px at the scoring size): far misses all count the same.
const EDGE_CAP: f32 = 8.0;
/// Weight of the edge term against silhouette IoU.
const EDGE_WEIGHT: f64 = 0.35;

/// The input picture prepared for scoring at one size.
#[derive(Debug, Clone)]
pub struct Target {
    pub size: u32,
    /// Share of each pixel's block of picture pixels that is the part (0..=1): what the
    /// silhouette term compares, so that a boundary half way through a block costs the
    /// same either way instead of favouring a larger part.
    coverage: Vec<f32>,
    pub edges: Vec<bool>,
    /// Distance of every pixel to the nearest input edge pixel.
    edge_distance: Vec<f32>,
    edge_count: usize,
}

/// Agreement of one render with the target; `total` is what refinement maximises.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Agreement {
    pub silhouette_iou: f64,
    /// Mean symmetric edge distance in px at the scoring size (capped per pixel).
    pub edge_chamfer: f64,
    pub total: f64,
}

impl Target {
    /// The picture at 448 / `factor` px.
    pub fn new(picture: &Picture, factor: u32) -> Target {
        let (size, coverage, edges) = picture.blocks_at(factor);
        let edge_distance = chamfer_distance(&edges, size as usize);
        let edge_count = edges.iter().filter(|&&e| e).count();
        Target {
            size,
            coverage,
            edges,
            edge_distance,
            edge_count,
        }
    }

    pub fn score(&self, render: &NativeRender) -> Agreement {
        assert_eq!(render.silhouette.len(), self.coverage.len(), "sizes differ");
        let (mut inter, mut union) = (0f64, 0f64);
        for (&a, &b) in render.silhouette.iter().zip(&self.coverage) {
            let b = b as f64;
            if a {
                inter += b;
                union += 1.0;
            } else {
                union += b;
            }
        }
        let silhouette_iou = if union > 0.0 { inter / union } else { 0.0 };
        // ours -> theirs
        let (mut ours_sum, mut ours_n) = (0f64, 0usize);
        for (k, &e) in render.edges.iter().enumerate() {
            if e {
                ours_sum += self.edge_distance[k].min(EDGE_CAP) as f64;
                ours_n += 1;
            }
        }
        // theirs -> ours
        let our_distance = chamfer_distance(&render.edges, self.size as usize);
        let mut theirs_sum = 0f64;
        for (k, &e) in self.edges.iter().enumerate() {
            if e {
                theirs_sum += our_distance[k].min(EDGE_CAP) as f64;
            }
        }
        let cap = EDGE_CAP as f64;
        let mean = |sum: f64, n: usize| if n == 0 { cap } else { sum / n as f64 };
        let edge_chamfer = 0.5 * (mean(ours_sum, ours_n) + mean(theirs_sum, self.edge_count));
        let total = silhouette_iou - EDGE_WEIGHT * edge_chamfer / cap;
        Agreement {
            silhouette_iou,
            edge_chamfer,
            total,
        }
    }
}

/// Approximate Euclidean distance to the nearest set pixel: two-pass 3-4 chamfer
/// transform (within 8 % of Euclidean, and linear time, which is what the inner loop
/// needs); infinite when nothing is set.
pub fn chamfer_distance(mask: &[bool], size: usize) -> Vec<f32> {
    const FAR: u32 = u32::MAX / 4;
    let mut d: Vec<u32> = mask.iter().map(|&m| if m { 0 } else { FAR }).collect();
    let w = size;
    let h = mask.len() / size.max(1);
    for y in 0..h {
        for x in 0..w {
            let k = y * w + x;
            let mut v = d[k];
            if x > 0 {
                v = v.min(d[k - 1] + 3);
            }
            if y > 0 {
                v = v.min(d[k - w] + 3);
                if x > 0 {
                    v = v.min(d[k - w - 1] + 4);
                }
                if x + 1 < w {
                    v = v.min(d[k - w + 1] + 4);
                }
            }
            d[k] = v;
        }
    }
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            let k = y * w + x;
            let mut v = d[k];
            if x + 1 < w {
                v = v.min(d[k + 1] + 3);
            }
            if y + 1 < h {
                v = v.min(d[k + w] + 3);
                if x + 1 < w {
                    v = v.min(d[k + w + 1] + 4);
                }
                if x > 0 {
                    v = v.min(d[k + w - 1] + 4);
                }
            }
            d[k] = v;
        }
    }
    d.iter()
        .map(|&v| {
            if v >= FAR {
                f32::INFINITY
            } else {
                v as f32 / 3.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chamfer_distance_is_near_euclidean() {
        let size = 21;
        let mut m = vec![false; size * size];
        m[10 * size + 10] = true;
        let d = chamfer_distance(&m, size);
        assert_eq!(d[10 * size + 10], 0.0);
        assert!((d[10 * size + 15] - 5.0).abs() < 1e-6);
        let diag = d[15 * size + 15]; // true distance 7.07
        assert!((diag - 7.07).abs() < 0.6, "{diag}");
        assert!(chamfer_distance(&[false; 4], 2)[0].is_infinite());
    }
}
