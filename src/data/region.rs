//! Plane regions as polygons: where on a face a new feature may stand, and which profile
//! points are inside material. Arcs and circles are flattened finely enough for placement
//! (a few per cent of the radius), never for rendering.

use super::program::{Curve, Loop, Point2};

/// Flattens a loop into a closed polygon (last point not repeated).
pub fn polygon(lp: &Loop) -> Vec<Point2> {
    match lp {
        Loop::Circle { center, radius } => (0..32)
            .map(|k| {
                let a = k as f64 * std::f64::consts::TAU / 32.0;
                [center[0] + radius * a.cos(), center[1] + radius * a.sin()]
            })
            .collect(),
        Loop::Path { start, curves } => {
            let mut pts = vec![*start];
            let mut from = *start;
            for c in curves {
                if let Curve::Arc { mid, to } = c {
                    pts.extend(arc_points(from, *mid, *to, 8).into_iter().skip(1));
                } else {
                    pts.push(c.end());
                }
                from = c.end();
            }
            if pts.len() > 1 && dist(pts[0], *pts.last().expect("non-empty")) < 1e-9 {
                pts.pop();
            }
            pts
        }
    }
}

/// Points along the circular arc through `a`, `m`, `b` (a straight line when collinear),
/// `n` segments, both ends included.
pub fn arc_points(a: Point2, m: Point2, b: Point2, n: usize) -> Vec<Point2> {
    let Some((c, r)) = circumcircle(a, m, b) else {
        return vec![a, b];
    };
    let ang = |p: Point2| (p[1] - c[1]).atan2(p[0] - c[0]);
    let (t0, tm, t1) = (ang(a), ang(m), ang(b));
    let ccw = |from: f64, to: f64| (to - from).rem_euclid(std::f64::consts::TAU);
    // Going counter-clockwise from a, the mid point comes before b exactly when the arc is CCW.
    let sweep = if ccw(t0, tm) < ccw(t0, t1) {
        ccw(t0, t1)
    } else {
        -ccw(t1, t0)
    };
    (0..=n)
        .map(|k| {
            let t = t0 + sweep * k as f64 / n as f64;
            [c[0] + r * t.cos(), c[1] + r * t.sin()]
        })
        .collect()
}

/// Centre and radius of the circle through three points; None when they are collinear.
pub fn circumcircle(a: Point2, b: Point2, c: Point2) -> Option<(Point2, f64)> {
    let d = 2.0 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]));
    let scale = dist(a, b).max(dist(b, c)).max(dist(a, c));
    if d.abs() < 1e-9 * scale * scale {
        return None;
    }
    let sq = |p: Point2| p[0] * p[0] + p[1] * p[1];
    let ux = (sq(a) * (b[1] - c[1]) + sq(b) * (c[1] - a[1]) + sq(c) * (a[1] - b[1])) / d;
    let uy = (sq(a) * (c[0] - b[0]) + sq(b) * (a[0] - c[0]) + sq(c) * (b[0] - a[0])) / d;
    Some(([ux, uy], dist([ux, uy], a)))
}

pub fn dist(a: Point2, b: Point2) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Twice the signed area: positive for counter-clockwise polygons.
pub fn signed_area2(poly: &[Point2]) -> f64 {
    (0..poly.len())
        .map(|i| {
            let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
            p[0] * q[1] - q[0] * p[1]
        })
        .sum()
}

/// Even-odd point-in-polygon.
pub fn inside(poly: &[Point2], p: Point2) -> bool {
    let mut c = false;
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + n - 1) % n]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            c = !c;
        }
    }
    c
}

fn segment_distance(p: Point2, a: Point2, b: Point2) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    };
    dist(p, [a[0] + t * dx, a[1] + t * dy])
}

/// Distance from `p` to the polygon's boundary.
pub fn boundary_distance(poly: &[Point2], p: Point2) -> f64 {
    (0..poly.len())
        .map(|i| segment_distance(p, poly[i], poly[(i + 1) % poly.len()]))
        .fold(f64::INFINITY, f64::min)
}

/// Axis-aligned bounds `[min, max]` of points.
pub fn bounds(pts: &[Point2]) -> [Point2; 2] {
    let mut lo = [f64::INFINITY; 2];
    let mut hi = [f64::NEG_INFINITY; 2];
    for p in pts {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    [lo, hi]
}

/// Material on a plane: inside the outer polygon, outside every hole.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub outer: Vec<Point2>,
    pub holes: Vec<Vec<Point2>>,
}

impl Region {
    /// The region of a sketch's loops: the first is the outer boundary, the rest holes.
    pub fn of_loops(loops: &[Loop]) -> Self {
        Self {
            outer: polygon(&loops[0]),
            holes: loops[1..].iter().map(polygon).collect(),
        }
    }

    pub fn rectangle(lo: Point2, hi: Point2) -> Self {
        Self {
            outer: vec![lo, [hi[0], lo[1]], hi, [lo[0], hi[1]]],
            holes: Vec::new(),
        }
    }

    pub fn contains(&self, p: Point2) -> bool {
        inside(&self.outer, p) && !self.holes.iter().any(|h| inside(h, p))
    }

    /// How far `p` is from the nearest edge of the region (outer or hole).
    pub fn clearance(&self, p: Point2) -> f64 {
        self.holes
            .iter()
            .map(|h| boundary_distance(h, p))
            .fold(boundary_distance(&self.outer, p), f64::min)
    }

    pub fn bounds(&self) -> [Point2; 2] {
        bounds(&self.outer)
    }

    /// True for a hole-free axis-aligned rectangle (where full-width steps fit).
    pub fn is_rectangle(&self) -> bool {
        let [lo, hi] = self.bounds();
        self.holes.is_empty()
            && self.outer.len() == 4
            && self.outer.iter().all(|p| {
                ((p[0] - lo[0]).abs() < 1e-9 || (p[0] - hi[0]).abs() < 1e-9)
                    && ((p[1] - lo[1]).abs() < 1e-9 || (p[1] - hi[1]).abs() < 1e-9)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcs_go_through_their_mid_point() {
        // A semicircle from (1,0) over (0,1) to (-1,0) and its mirror.
        for mid in [[0.0, 1.0], [0.0, -1.0]] {
            let pts = arc_points([1.0, 0.0], mid, [-1.0, 0.0], 8);
            assert!(dist(pts[4], mid) < 1e-9, "{pts:?}");
            assert!(pts
                .iter()
                .all(|p| (dist(*p, [0.0, 0.0]) - 1.0).abs() < 1e-9));
        }
        assert_eq!(arc_points([0.0, 0.0], [1.0, 0.0], [2.0, 0.0], 8).len(), 2);
    }

    #[test]
    fn ring_region_excludes_the_hole() {
        let loops = [
            Loop::Circle {
                center: [0.0, 0.0],
                radius: 1.0,
            },
            Loop::Circle {
                center: [0.0, 0.0],
                radius: 0.5,
            },
        ];
        let r = Region::of_loops(&loops);
        assert!(!r.contains([0.0, 0.0]));
        assert!(r.contains([0.75, 0.0]));
        assert!(!r.contains([1.1, 0.0]));
        assert!((r.clearance([0.75, 0.0]) - 0.25).abs() < 0.01);
        assert!(signed_area2(&r.outer) > 0.0);
        assert!(Region::rectangle([0.0, 0.0], [2.0, 1.0]).is_rectangle());
        assert!(!r.is_rectangle());
    }
}
