//! A sketch's closed loops as 2D boundary pieces, and where a line in the sketch plane
//! crosses them. Loops combine even-odd, which is what CadQuery does with a DeepCAD outer
//! loop and the holes nested in it.

use crate::data::{Curve, Loop, Point2};

/// One piece of a loop boundary in sketch coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Piece {
    Segment {
        a: Point2,
        b: Point2,
    },
    /// Counter-clockwise from `start` (radians) through `sweep` (> 0) radians.
    Arc {
        center: Point2,
        radius: f64,
        start: f64,
        sweep: f64,
    },
    /// A full circle; CadQuery puts its seam at angle 0 (the plane's x direction).
    Circle {
        center: Point2,
        radius: f64,
    },
}

/// Where a sketch line p + s d meets a piece: the line parameter and the piece index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    pub s: f64,
    pub piece: u32,
}

/// The closed region of a sketch.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub pieces: Vec<Piece>,
    /// Bounding box of the region in sketch coordinates.
    pub min: Point2,
    pub max: Point2,
}

const TAU: f64 = std::f64::consts::TAU;

impl Profile {
    pub fn from_loops(loops: &[Loop]) -> Profile {
        let mut pieces = Vec::new();
        for lp in loops {
            match lp {
                Loop::Circle { center, radius } => pieces.push(Piece::Circle {
                    center: *center,
                    radius: radius.abs(),
                }),
                Loop::Path { start, curves } => {
                    let mut at = *start;
                    for c in curves {
                        match c {
                            Curve::Line { to } => pieces.push(Piece::Segment { a: at, b: *to }),
                            Curve::Arc { mid, to } => pieces.push(arc_through(at, *mid, *to)),
                        }
                        at = c.end();
                    }
                    if at != *start {
                        pieces.push(Piece::Segment { a: at, b: *start });
                    }
                }
            }
        }
        let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        let mut grow = |p: Point2| {
            min = [min[0].min(p[0]), min[1].min(p[1])];
            max = [max[0].max(p[0]), max[1].max(p[1])];
        };
        for piece in &pieces {
            match *piece {
                Piece::Segment { a, b } => {
                    grow(a);
                    grow(b);
                }
                Piece::Circle { center, radius } => {
                    grow([center[0] - radius, center[1] - radius]);
                    grow([center[0] + radius, center[1] + radius]);
                }
                // exact: the ends and the axis extremes the arc passes, so a scene of
                // unions can take its bounds from the profiles without casting rays
                Piece::Arc {
                    center,
                    radius,
                    start,
                    sweep,
                } => {
                    let at = |a: f64| [center[0] + radius * a.cos(), center[1] + radius * a.sin()];
                    grow(at(start));
                    grow(at(start + sweep));
                    for quarter in 0..4 {
                        let a = quarter as f64 * TAU / 4.0;
                        if arc_passes(start, sweep, a) {
                            grow(at(a));
                        }
                    }
                }
            }
        }
        Profile { pieces, min, max }
    }

    /// Every crossing of the line p + s d (d not zero) with the boundary, unsorted.
    pub fn crossings(&self, p: Point2, d: Point2, out: &mut Vec<Crossing>) {
        out.clear();
        for (i, piece) in self.pieces.iter().enumerate() {
            let i = i as u32;
            match *piece {
                Piece::Segment { a, b } => {
                    // a point on the line counts as on its positive side, so a line through
                    // a shared vertex crosses exactly one of the two pieces (or none)
                    let side = |q: Point2| d[0] * (q[1] - p[1]) - d[1] * (q[0] - p[0]);
                    let (sa, sb) = (side(a), side(b));
                    if (sa >= 0.0) == (sb >= 0.0) {
                        continue;
                    }
                    let u = sa / (sa - sb);
                    let q = [a[0] + u * (b[0] - a[0]), a[1] + u * (b[1] - a[1])];
                    let s = if d[0].abs() > d[1].abs() {
                        (q[0] - p[0]) / d[0]
                    } else {
                        (q[1] - p[1]) / d[1]
                    };
                    out.push(Crossing { s, piece: i });
                }
                Piece::Circle { center, radius } => {
                    circle_hits(p, d, center, radius, |s, _| {
                        out.push(Crossing { s, piece: i });
                    });
                }
                Piece::Arc {
                    center,
                    radius,
                    start,
                    sweep,
                } => {
                    circle_hits(p, d, center, radius, |s, angle| {
                        if arc_passes(start, sweep, angle) {
                            out.push(Crossing { s, piece: i });
                        }
                    });
                }
            }
        }
    }

    /// Even-odd inside test of a sketch point (a ray toward +x).
    pub fn contains(&self, q: Point2) -> bool {
        let mut hits = Vec::new();
        self.crossings(q, [1.0, 0.0], &mut hits);
        hits.iter().filter(|c| c.s > 0.0).count() % 2 == 1
    }

    /// Unit normal of piece `piece` at sketch point q (orientation not meaningful).
    pub fn normal_at(&self, piece: u32, q: Point2) -> Point2 {
        match self.pieces[piece as usize] {
            Piece::Segment { a, b } => {
                let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
                let n = (dx * dx + dy * dy).sqrt().max(1e-300);
                [-dy / n, dx / n]
            }
            Piece::Arc { center, .. } | Piece::Circle { center, .. } => {
                let (dx, dy) = (q[0] - center[0], q[1] - center[1]);
                let n = (dx * dx + dy * dy).sqrt().max(1e-300);
                [dx / n, dy / n]
            }
        }
    }

    /// Whether the piece is a flat side (segment) rather than a curved one.
    pub fn is_flat(&self, piece: u32) -> bool {
        matches!(self.pieces[piece as usize], Piece::Segment { .. })
    }

    /// For full circles: the angle of q around the centre in [0, 2π), for drawing the seam.
    pub fn circle_angle(&self, piece: u32, q: Point2) -> Option<f64> {
        match self.pieces[piece as usize] {
            Piece::Circle { center, .. } => {
                Some((q[1] - center[1]).atan2(q[0] - center[0]).rem_euclid(TAU))
            }
            _ => None,
        }
    }
}

/// Whether the counter-clockwise arc from `start` over `sweep` passes the angle `a`.
fn arc_passes(start: f64, sweep: f64, a: f64) -> bool {
    (a - start).rem_euclid(TAU) < sweep
}

/// Intersections of the line p + s d with a circle: calls `hit(s, angle)` for each.
fn circle_hits(p: Point2, d: Point2, c: Point2, r: f64, mut hit: impl FnMut(f64, f64)) {
    let f = [p[0] - c[0], p[1] - c[1]];
    let a = d[0] * d[0] + d[1] * d[1];
    let b = f[0] * d[0] + f[1] * d[1];
    let cc = f[0] * f[0] + f[1] * f[1] - r * r;
    let disc = b * b - a * cc;
    if disc <= 0.0 {
        return; // a tangent touch does not change inside/outside
    }
    let sq = disc.sqrt();
    for s in [(-b - sq) / a, (-b + sq) / a] {
        let q = [f[0] + s * d[0], f[1] + s * d[1]];
        hit(s, q[1].atan2(q[0]));
    }
}

/// The circular arc from `a` through `m` to `b` (a straight segment when they are collinear).
fn arc_through(a: Point2, m: Point2, b: Point2) -> Piece {
    let (ax, ay) = (a[0], a[1]);
    let (bx, by) = (m[0], m[1]);
    let (cx, cy) = (b[0], b[1]);
    let den = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by));
    let scale = (bx - ax).abs() + (by - ay).abs() + (cx - ax).abs() + (cy - ay).abs();
    if den.abs() <= 1e-12 * scale * scale {
        return Piece::Segment { a, b };
    }
    let (a2, b2, c2) = (ax * ax + ay * ay, bx * bx + by * by, cx * cx + cy * cy);
    let ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / den;
    let uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / den;
    let radius = ((ax - ux).powi(2) + (ay - uy).powi(2)).sqrt();
    let ang = |q: Point2| (q[1] - uy).atan2(q[0] - ux);
    let (ta, tm, tb) = (ang(a), ang(m), ang(b));
    let ccw_to_b = (tb - ta).rem_euclid(TAU);
    let ccw_to_m = (tm - ta).rem_euclid(TAU);
    let (start, sweep) = if ccw_to_m < ccw_to_b {
        (ta, ccw_to_b)
    } else {
        // clockwise from a to b is counter-clockwise from b to a
        (tb, TAU - ccw_to_b)
    };
    Piece::Arc {
        center: [ux, uy],
        radius,
        start,
        sweep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square_with_hole() -> Profile {
        Profile::from_loops(&[
            Loop::Path {
                start: [0.0, 0.0],
                curves: vec![
                    Curve::Line { to: [2.0, 0.0] },
                    Curve::Line { to: [2.0, 2.0] },
                    Curve::Line { to: [0.0, 2.0] },
                ],
            },
            Loop::Circle {
                center: [1.0, 1.0],
                radius: 0.5,
            },
        ])
    }

    #[test]
    fn even_odd_inside_with_a_hole() {
        let p = square_with_hole();
        assert_eq!(p.pieces.len(), 5, "close() adds the last side");
        assert!(p.contains([0.2, 0.2]));
        assert!(!p.contains([1.0, 1.0]), "inside the hole");
        assert!(!p.contains([3.0, 1.0]));
        // a line through the shared vertex (2, 2) and the centre
        let mut hits = Vec::new();
        p.crossings([0.0, 0.0], [1.0, 1.0], &mut hits);
        assert_eq!(hits.len() % 2, 0, "{hits:?}");
    }

    #[test]
    fn arc_bulges_through_its_mid_point() {
        // half disc: from (1,0) through (0,1) to (-1,0), closed by the diameter
        let p = Profile::from_loops(&[Loop::Path {
            start: [1.0, 0.0],
            curves: vec![Curve::Arc {
                mid: [0.0, 1.0],
                to: [-1.0, 0.0],
            }],
        }]);
        assert!(p.contains([0.0, 0.9]));
        assert!(!p.contains([0.0, -0.1]));
        // the box is the half disc's, not the whole circle's
        assert!(
            p.min[1].abs() < 1e-12 && (p.max[1] - 1.0).abs() < 1e-12,
            "{p:?}"
        );
        // clockwise through the bottom instead
        let q = Profile::from_loops(&[Loop::Path {
            start: [1.0, 0.0],
            curves: vec![Curve::Arc {
                mid: [0.0, -1.0],
                to: [-1.0, 0.0],
            }],
        }]);
        assert!(q.contains([0.0, -0.9]));
        assert!(!q.contains([0.0, 0.1]));
    }
}
