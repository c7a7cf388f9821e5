//! IoU_vol between two scenes without CadQuery: each solid is sampled by parallel rays
//! along z (a grid of columns, each a list of solid spans), translated to its centroid and
//! scaled by 1/r_g as the metric does (DESIGN.md), and the overlap of the columns gives
//! the volumes of intersection and union, best of the identity and the 3 two-axis flips.
//! An estimate (columns of finite width), used to compare candidate programs with each
//! other when only a picture is known.

use super::scene::{RayScratch, Scene};
use crate::data::Vec3;

/// A solid in its normalized frame (centroid at 0, r_g = 1), sampled on an n x n grid of
/// columns along z covering [-half, half]^2; a flip maps the grid onto itself.
#[derive(Debug, Clone)]
pub struct Columns {
    n: usize,
    half: f64,
    /// Sorted disjoint z spans of each column, row-major (y, then x).
    spans: Vec<Vec<(f64, f64)>>,
}

/// Volume, centroid and radius of gyration of a solid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub volume: f64,
    pub centroid: Vec3,
    pub radius_of_gyration: f64,
    /// The largest distance of the solid's box corners from the centroid, in r_g: how
    /// far a normalized grid must reach.
    pub reach: f64,
}

/// The z spans of the column through (x, y): the scene cast along +z from below.
fn column(
    scene: &Scene,
    x: f64,
    y: f64,
    z_below: f64,
    scratch: &mut RayScratch,
) -> Vec<(f64, f64)> {
    scene
        .cast([x, y, z_below], [0.0, 0.0, 1.0], |_| true, scratch)
        .iter()
        .map(|s| (z_below + s.enter.t, z_below + s.exit.t))
        .filter(|(a, b)| b > a)
        .collect()
}

/// The solid's moments from an n x n grid of columns over its box; None when it is empty
/// or has no finite box.
pub fn moments(scene: &Scene, n: usize) -> Option<Moments> {
    let (lo, hi) = scene.loose_bounds();
    if !lo.iter().chain(&hi).all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = ((hi[0] - lo[0]) / n as f64, (hi[1] - lo[1]) / n as f64);
    let z_below = lo[2] - 1.0 - (hi[2] - lo[2]);
    let cell_spread = (dx * dx + dy * dy) / 12.0;
    let mut scratch = RayScratch::default();
    let (mut v, mut s, mut r2) = (0.0, [0.0; 3], 0.0);
    for j in 0..n {
        let y = lo[1] + (j as f64 + 0.5) * dy;
        for i in 0..n {
            let x = lo[0] + (i as f64 + 0.5) * dx;
            for (z0, z1) in column(scene, x, y, z_below, &mut scratch) {
                let len = z1 - z0;
                v += len;
                s[0] += x * len;
                s[1] += y * len;
                s[2] += 0.5 * (z1 * z1 - z0 * z0);
                // the column's own spread across its cell included
                r2 += (x * x + y * y + cell_spread) * len + (z1.powi(3) - z0.powi(3)) / 3.0;
            }
        }
    }
    let cell = dx * dy;
    // NaN included
    if v.is_nan() || v * cell <= 0.0 {
        return None;
    }
    let centroid = s.map(|c| c / v);
    let spread = r2 / v - centroid.iter().map(|c| c * c).sum::<f64>();
    let rg = spread.max(0.0).sqrt();
    if rg.is_nan() || rg <= 0.0 {
        return None;
    }
    let reach = (0..8)
        .map(|c| {
            let corner: Vec3 =
                std::array::from_fn(|k| if c & (1 << k) == 0 { lo[k] } else { hi[k] });
            (0..3)
                .map(|k| (corner[k] - centroid[k]).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .fold(0.0, f64::max)
        / rg;
    Some(Moments {
        volume: v * cell,
        centroid,
        radius_of_gyration: rg,
        reach,
    })
}

impl Columns {
    /// The scene in its normalized frame on an n x n grid over [-half, half]^2 (n even,
    /// so that flips map columns onto columns).
    pub fn sample(scene: &Scene, m: &Moments, n: usize, half: f64) -> Columns {
        let n = n + n % 2;
        let (c, rg) = (m.centroid, m.radius_of_gyration);
        let step = 2.0 * half / n as f64;
        let z_below = c[2] - (m.reach + 1.0) * rg;
        let mut scratch = RayScratch::default();
        let mut spans = Vec::with_capacity(n * n);
        for j in 0..n {
            let y = -half + (j as f64 + 0.5) * step;
            for i in 0..n {
                let x = -half + (i as f64 + 0.5) * step;
                let world = column(scene, c[0] + x * rg, c[1] + y * rg, z_below, &mut scratch);
                spans.push(
                    world
                        .into_iter()
                        .map(|(a, b)| ((a - c[2]) / rg, (b - c[2]) / rg))
                        .collect(),
                );
            }
        }
        Columns { n, half, spans }
    }

    /// The same solid with z -> -z: each column's spans negated, still sorted.
    fn mirrored_z(&self) -> Columns {
        let spans = self
            .spans
            .iter()
            .map(|c| c.iter().rev().map(|&(lo, hi)| (-hi, -lo)).collect())
            .collect();
        Columns { spans, ..*self }
    }

    fn column_at(&self, i: usize, j: usize) -> &[(f64, f64)] {
        &self.spans[j * self.n + i]
    }
}

/// Length of the intersection and of the union of two sorted disjoint span lists.
fn overlap(a: &[(f64, f64)], b: &[(f64, f64)]) -> (f64, f64) {
    let total = |s: &[(f64, f64)]| s.iter().map(|(x, y)| y - x).sum::<f64>();
    let (mut i, mut k, mut inter) = (0, 0, 0.0);
    while i < a.len() && k < b.len() {
        let lo = a[i].0.max(b[k].0);
        let hi = a[i].1.min(b[k].1);
        if hi > lo {
            inter += hi - lo;
        }
        if a[i].1 < b[k].1 {
            i += 1;
        } else {
            k += 1;
        }
    }
    (inter, total(a) + total(b) - inter)
}

/// IoU of the two normalized solids, best of the identity and the 3 two-axis flips
/// (x, y, z) -> (-x, -y, z), (x, -y, -z), (-x, y, -z). Both must be sampled on the same
/// grid; 0 when they are not.
pub fn iou(a: &Columns, b: &Columns) -> f64 {
    if a.n != b.n || (a.half - b.half).abs() > 1e-12 {
        return 0.0;
    }
    let n = a.n;
    let flips: [(bool, bool, bool); 4] = [
        (false, false, false),
        (true, true, false),
        (false, true, true),
        (true, false, true),
    ];
    // negated once for the two flips that turn z over, not per column
    let mirrored = b.mirrored_z();
    flips
        .iter()
        .map(|&(fx, fy, fz)| {
            let b_z = if fz { &mirrored } else { b };
            let (mut inter, mut union) = (0.0, 0.0);
            for j in 0..n {
                for i in 0..n {
                    let bi = if fx { n - 1 - i } else { i };
                    let bj = if fy { n - 1 - j } else { j };
                    let (x, u) = overlap(a.column_at(i, j), b_z.column_at(bi, bj));
                    inter += x;
                    union += u;
                }
            }
            if union > 0.0 {
                inter / union
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::refine::xy_program;

    fn scene(loop_code: &str, height: f64) -> Scene {
        Scene::compile(&xy_program(&[loop_code], height)).unwrap()
    }

    fn rect(w: f64, h: f64) -> String {
        format!("moveTo(0.0, 0.0).lineTo({w}, 0.0).lineTo({w}, {h}).lineTo(0.0, {h}).close()")
    }

    fn columns(s: &Scene, half: f64) -> Columns {
        Columns::sample(s, &moments(s, 64).unwrap(), 64, half)
    }

    #[test]
    fn a_box_has_its_exact_volume_centroid_and_radius_of_gyration() {
        let m = moments(&scene(&rect(2.0, 1.0), 0.5), 64).unwrap();
        assert!((m.volume - 1.0).abs() < 1e-9, "{m:?}");
        for (got, want) in m.centroid.iter().zip([1.0, 0.5, 0.25]) {
            assert!((got - want).abs() < 1e-9, "{m:?}");
        }
        // r_g^2 = (a^2 + b^2 + c^2) / 12
        let rg = ((4.0 + 1.0 + 0.25) / 12.0f64).sqrt();
        assert!((m.radius_of_gyration - rg).abs() < 1e-3, "{m:?}");
    }

    #[test]
    fn scaled_and_moved_copies_match_and_different_shapes_do_not() {
        let plate = scene(&rect(2.0, 1.0), 0.25);
        let bigger = scene(
            "moveTo(3.0, 1.0).lineTo(7.0, 1.0).lineTo(7.0, 3.0).lineTo(3.0, 3.0).close()",
            0.5,
        );
        let rod = scene("moveTo(0.25, 0.0).circle(0.25)", 3.0);
        let half = 3.0;
        let (a, b, c) = (
            columns(&plate, half),
            columns(&bigger, half),
            columns(&rod, half),
        );
        assert!(iou(&a, &b) > 0.95, "{}", iou(&a, &b));
        assert!(iou(&a, &c) < 0.3, "{}", iou(&a, &c));
        assert!((iou(&a, &a) - 1.0).abs() < 1e-12);
        assert!((iou(&a, &c) - iou(&c, &a)).abs() < 1e-9);
    }

    #[test]
    fn a_mirrored_part_matches_through_a_flip() {
        // an L and the same L turned half a turn about z: the (-x, -y, z) flip
        let l = scene(
            "moveTo(0.0, 0.0).lineTo(3.0, 0.0).lineTo(3.0, 1.0).lineTo(1.0, 1.0).lineTo(1.0, 2.0).lineTo(0.0, 2.0).close()",
            0.5,
        );
        let turned = scene(
            "moveTo(0.0, 0.0).lineTo(-3.0, 0.0).lineTo(-3.0, -1.0).lineTo(-1.0, -1.0).lineTo(-1.0, -2.0).lineTo(0.0, -2.0).close()",
            0.5,
        );
        let (a, b) = (columns(&l, 3.0), columns(&turned, 3.0));
        assert!(iou(&a, &b) > 0.95, "{}", iou(&a, &b));
    }
}
