//! The catalogue of sketch profiles DeepCAD parts are made of: rectangles, circles, rounded
//! rectangles, slots, polygons, L/T/U sections, D shapes, notched plates; and the holes
//! punched into them. Profiles are built centred on the origin, in continuous units; the
//! generator places and quantizes them.

use rand::Rng;

use super::program::{Curve, Loop, Point2};
use super::region::{dist, signed_area2, Region};

/// A closed outline under construction: vertices with, for each edge to the next vertex,
/// an optional arc mid point.
#[derive(Debug, Clone, Default)]
struct Outline {
    vertices: Vec<Point2>,
    mids: Vec<Option<Point2>>,
}

impl Outline {
    fn line(&mut self, p: Point2) {
        self.vertices.push(p);
        self.mids.push(None);
    }

    /// An edge from `p` to the next vertex bulging through `mid`.
    fn arc(&mut self, p: Point2, mid: Point2) {
        self.vertices.push(p);
        self.mids.push(Some(mid));
    }

    fn polygon(points: impl IntoIterator<Item = Point2>) -> Self {
        let mut o = Self::default();
        points.into_iter().for_each(|p| o.line(p));
        o
    }

    /// The loop in DeepCAD's order: counter-clockwise, starting from the bottom-left
    /// vertex, written the way GenCAD-Code prints it (see `Loop::Path`).
    fn into_loop(mut self) -> Loop {
        let flat: Vec<Point2> = self
            .vertices
            .iter()
            .zip(&self.mids)
            .flat_map(|(v, m)| std::iter::once(*v).chain(*m))
            .collect();
        if signed_area2(&flat) < 0.0 {
            self.reverse();
        }
        let n = self.vertices.len();
        let k = (0..n)
            .min_by(|&a, &b| {
                let (p, q) = (self.vertices[a], self.vertices[b]);
                (p[0], p[1])
                    .partial_cmp(&(q[0], q[1]))
                    .expect("finite coordinates")
            })
            .expect("an outline has vertices");
        let at = |i: usize| self.vertices[(k + i) % n];
        let edge = |i: usize| match self.mids[(k + i) % n] {
            Some(mid) => Curve::Arc { mid, to: at(i + 1) },
            None => Curve::Line { to: at(i + 1) },
        };
        if self.mids[k].is_some() {
            Loop::Path {
                start: at(0),
                curves: (0..n).map(edge).collect(),
            }
        } else {
            // The first edge is a line: start at its end; `close()` draws it.
            Loop::Path {
                start: at(1),
                curves: (1..n).map(edge).collect(),
            }
        }
    }

    fn reverse(&mut self) {
        let n = self.vertices.len();
        let mut vertices = Vec::with_capacity(n);
        let mut mids = Vec::with_capacity(n);
        // Edge i goes vertex i -> i+1; reversed, it goes vertex i+1 -> i.
        for i in (0..n).rev() {
            vertices.push(self.vertices[(i + 1) % n]);
            mids.push(self.mids[i]);
        }
        self.vertices = vertices;
        self.mids = mids;
    }
}

/// Outer profile shapes, with how often each is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Rectangle,
    Circle,
    RoundedRectangle,
    Slot,
    RegularPolygon,
    LSection,
    TSection,
    USection,
    DShape,
    ConvexPolygon,
    ChamferedRectangle,
    NotchedPlate,
}

pub const SHAPE_WEIGHTS: [(Shape, f64); 12] = [
    (Shape::Rectangle, 34.0),
    (Shape::Circle, 32.0),
    (Shape::RoundedRectangle, 7.0),
    (Shape::Slot, 4.0),
    (Shape::RegularPolygon, 5.0),
    (Shape::LSection, 5.0),
    (Shape::TSection, 3.0),
    (Shape::USection, 4.0),
    (Shape::DShape, 3.0),
    (Shape::ConvexPolygon, 4.0),
    (Shape::ChamferedRectangle, 2.0),
    (Shape::NotchedPlate, 3.0),
];

/// Picks an item with probability proportional to its weight.
pub fn pick<T: Copy>(rng: &mut impl Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items.last().expect("non-empty choices").0
}

fn rect_points(w: f64, h: f64) -> [Point2; 4] {
    let (a, b) = (w / 2.0, h / 2.0);
    [[-a, -b], [a, -b], [a, b], [-a, b]]
}

/// An outer loop of `shape` filling the `w` x `h` box centred on the origin (circles and
/// regular polygons take the smaller side).
pub fn outer_loop(rng: &mut impl Rng, shape: Shape, w: f64, h: f64) -> Loop {
    let (a, b) = (w / 2.0, h / 2.0);
    let m = a.min(b);
    match shape {
        Shape::Rectangle => Outline::polygon(rect_points(w, h)).into_loop(),
        Shape::Circle => Loop::Circle {
            center: [0.0, 0.0],
            radius: m,
        },
        Shape::RoundedRectangle => {
            let r = m * rng.random_range(0.15..0.8);
            let c = r * (1.0 - std::f64::consts::FRAC_1_SQRT_2);
            // Straight edges between fillets: bottom, right, top, left; quarter arcs between.
            let mut o2 = Outline::default();
            o2.line([-a + r, -b]);
            o2.arc([a - r, -b], [a - c, -b + c]);
            o2.line([a, -b + r]);
            o2.arc([a, b - r], [a - c, b - c]);
            o2.line([a - r, b]);
            o2.arc([-a + r, b], [-a + c, b - c]);
            o2.line([-a, b - r]);
            o2.arc([-a, -b + r], [-a + c, -b + c]);
            drop_empty_edges(o2).into_loop()
        }
        Shape::Slot => {
            let (a, b) = if w >= h { (a, b) } else { (b, a) };
            let (x0, x1) = (-a + b, a - b);
            let o = drop_empty_edges({
                let mut o = Outline::default();
                o.line([x0, -b]);
                o.arc([x1, -b], [a, 0.0]);
                o.line([x1, b]);
                o.arc([x0, b], [-a, 0.0]);
                o
            });
            rotate_if(o, w < h).into_loop()
        }
        Shape::RegularPolygon => {
            let n = pick(rng, &[(3usize, 1.0), (5, 1.0), (6, 3.0), (8, 1.0)]);
            let phase = if rng.random_bool(0.5) {
                0.0
            } else {
                std::f64::consts::PI / n as f64
            };
            Outline::polygon((0..n).map(|k| {
                let t = phase + k as f64 * std::f64::consts::TAU / n as f64;
                [m * t.cos(), m * t.sin()]
            }))
            .into_loop()
        }
        Shape::LSection => {
            let (t1, t2) = (
                w * rng.random_range(0.12..0.5),
                h * rng.random_range(0.12..0.5),
            );
            Outline::polygon([
                [-a, -b],
                [a, -b],
                [a, -b + t2],
                [-a + t1, -b + t2],
                [-a + t1, b],
                [-a, b],
            ])
            .into_loop()
        }
        Shape::TSection => {
            let (t1, t2) = (
                w * rng.random_range(0.12..0.45),
                h * rng.random_range(0.12..0.5),
            );
            Outline::polygon([
                [-t1 / 2.0, -b],
                [t1 / 2.0, -b],
                [t1 / 2.0, b - t2],
                [a, b - t2],
                [a, b],
                [-a, b],
                [-a, b - t2],
                [-t1 / 2.0, b - t2],
            ])
            .into_loop()
        }
        Shape::USection => {
            let (t1, t2) = (
                w * rng.random_range(0.08..0.3),
                h * rng.random_range(0.1..0.5),
            );
            Outline::polygon([
                [-a, -b],
                [a, -b],
                [a, b],
                [a - t1, b],
                [a - t1, -b + t2],
                [-a + t1, -b + t2],
                [-a + t1, b],
                [-a, b],
            ])
            .into_loop()
        }
        Shape::DShape => {
            // A rectangle whose right side bulges into an arc.
            let bulge = a.min(b) * rng.random_range(0.3..1.0);
            let x = a - bulge;
            let mut o = Outline::default();
            o.line([-a, -b]);
            o.arc([x, -b], [a, 0.0]);
            o.line([x, b]);
            o.line([-a, b]);
            drop_empty_edges(o).into_loop()
        }
        Shape::ConvexPolygon => {
            let n = rng.random_range(3..=7);
            let mut angles: Vec<f64> = (0..n)
                .map(|k| {
                    (k as f64 + rng.random_range(-0.3..0.3)) * std::f64::consts::TAU / n as f64
                })
                .collect();
            angles.sort_by(|x, y| x.partial_cmp(y).expect("finite"));
            Outline::polygon(angles.into_iter().map(|t| [a * t.cos(), b * t.sin()])).into_loop()
        }
        Shape::ChamferedRectangle => {
            let c = m * rng.random_range(0.1..0.6);
            Outline::polygon([
                [-a + c, -b],
                [a - c, -b],
                [a, -b + c],
                [a, b - c],
                [a - c, b],
                [-a + c, b],
                [-a, b - c],
                [-a, -b + c],
            ])
            .into_loop()
        }
        Shape::NotchedPlate => {
            // A plate with rectangular notches along its bottom edge (combs, stepped bars).
            let k = rng.random_range(1..=3);
            let depth = h * rng.random_range(0.15..0.6);
            let slot = w / (2 * k + 1) as f64;
            let mut pts = vec![[-a, -b]];
            for i in 0..k {
                let x0 = -a + slot * (2 * i + 1) as f64;
                pts.extend([
                    [x0, -b],
                    [x0, -b + depth],
                    [x0 + slot, -b + depth],
                    [x0 + slot, -b],
                ]);
            }
            pts.extend([[a, -b], [a, b], [-a, b]]);
            pts.dedup_by(|p, q| dist(*p, *q) < 1e-12);
            Outline::polygon(pts).into_loop()
        }
    }
}

/// Drops zero-length straight edges (a slot whose straight sides vanish is a circle).
fn drop_empty_edges(o: Outline) -> Outline {
    let n = o.vertices.len();
    let mut out = Outline::default();
    for i in 0..n {
        let (p, q) = (o.vertices[i], o.vertices[(i + 1) % n]);
        if dist(p, q) < 1e-9 && o.mids[i].is_none() {
            continue;
        }
        out.vertices.push(p);
        out.mids.push(o.mids[i]);
    }
    out
}

fn rotate_if(mut o: Outline, yes: bool) -> Outline {
    if yes {
        let rot = |p: Point2| [-p[1], p[0]];
        o.vertices.iter_mut().for_each(|p| *p = rot(*p));
        o.mids.iter_mut().flatten().for_each(|p| *p = rot(*p));
    }
    o
}

/// Moves a loop by `d`.
pub fn translate(lp: &Loop, d: Point2) -> Loop {
    let mv = |p: &Point2| [p[0] + d[0], p[1] + d[1]];
    match lp {
        Loop::Circle { center, radius } => Loop::Circle {
            center: mv(center),
            radius: *radius,
        },
        Loop::Path { start, curves } => Loop::Path {
            start: mv(start),
            curves: curves
                .iter()
                .map(|c| match c {
                    Curve::Line { to } => Curve::Line { to: mv(to) },
                    Curve::Arc { mid, to } => Curve::Arc {
                        mid: mv(mid),
                        to: mv(to),
                    },
                })
                .collect(),
        },
    }
}

/// Hole shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoleShape {
    Circle,
    Rectangle,
    Slot,
    Polygon,
}

/// Up to `n` holes inside `outer`, each keeping a wall of material around it and none
/// smaller than `min_r` (smaller ones vanish in a picture). A hole concentric with a round
/// outer loop (a ring) comes first when asked for.
pub fn holes(
    rng: &mut impl Rng,
    outer: &Loop,
    n: usize,
    concentric: bool,
    min_r: f64,
) -> Vec<Loop> {
    let region = Region::of_loops(std::slice::from_ref(outer));
    let [lo, hi] = region.bounds();
    let size = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let mut placed: Vec<(Point2, f64)> = Vec::new();
    let mut out = Vec::new();
    if concentric {
        let c = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        let room = region.clearance(c);
        if region.contains(c) && room > size * 0.05 && room * 0.9 > min_r {
            let r = (room * rng.random_range(0.25..0.9)).max(min_r);
            out.push(hole_loop(rng, HoleShape::Circle, c, r));
            placed.push((c, r));
        }
    }
    let mut tries = 0;
    while out.len() < n && tries < 60 {
        tries += 1;
        let p = [
            rng.random_range(lo[0]..hi[0]),
            rng.random_range(lo[1]..hi[1]),
        ];
        if !region.contains(p) {
            continue;
        }
        // Keep a wall of at least 8% of the hole radius plus a little of the part size.
        let room = placed
            .iter()
            .map(|(q, r)| dist(p, *q) - r)
            .fold(region.clearance(p), f64::min)
            - size * 0.02;
        if room < size * 0.03 || room * 0.85 < min_r {
            continue;
        }
        let r = (room * rng.random_range(0.2..0.85)).max(min_r);
        let shape = pick(
            rng,
            &[
                (HoleShape::Circle, 8.0),
                (HoleShape::Rectangle, 1.5),
                (HoleShape::Slot, 0.7),
                (HoleShape::Polygon, 0.5),
            ],
        );
        out.push(hole_loop(rng, shape, p, r));
        placed.push((p, r));
    }
    out
}

/// A hole of `shape` inside the disc of radius `r` around `c`.
fn hole_loop(rng: &mut impl Rng, shape: HoleShape, c: Point2, r: f64) -> Loop {
    let t = rng.random_range(0.35..1.2f64);
    let (w, h) = (2.0 * r * t.cos(), 2.0 * r * t.sin());
    let lp = match shape {
        HoleShape::Circle => outer_loop(rng, Shape::Circle, 2.0 * r, 2.0 * r),
        HoleShape::Rectangle => outer_loop(rng, Shape::Rectangle, w, h),
        HoleShape::Slot => outer_loop(rng, Shape::Slot, w, h),
        HoleShape::Polygon => outer_loop(rng, Shape::RegularPolygon, 2.0 * r, 2.0 * r),
    };
    translate(&lp, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::region::polygon;
    use rand::SeedableRng;

    #[test]
    fn every_shape_is_a_ccw_loop_inside_its_box() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for (shape, _) in SHAPE_WEIGHTS {
            for _ in 0..20 {
                let lp = outer_loop(&mut rng, shape, 1.0, 0.6);
                let poly = polygon(&lp);
                assert!(signed_area2(&poly) > 0.0, "{shape:?} is clockwise: {lp:?}");
                assert!(
                    poly.iter()
                        .all(|p| p[0].abs() <= 0.5 + 1e-9 && p[1].abs() <= 0.3 + 1e-9),
                    "{shape:?} leaves its box: {lp:?}"
                );
                if let Loop::Path { curves, start } = &lp {
                    // DeepCAD's order: the last curve ends at the bottom-left vertex.
                    let end = curves.last().unwrap().end();
                    let vertices = std::iter::once(*start).chain(curves.iter().map(Curve::end));
                    for v in vertices {
                        assert!((end[0], end[1]) <= (v[0], v[1]), "{shape:?}: {lp:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn holes_stay_inside_the_outer_loop_and_apart() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let outer = outer_loop(&mut rng, Shape::Rectangle, 1.0, 0.5);
        let region = Region::of_loops(std::slice::from_ref(&outer));
        for _ in 0..20 {
            let hs = holes(&mut rng, &outer, 4, false, 0.01);
            for h in &hs {
                assert!(polygon(h).iter().all(|p| region.contains(*p)), "{h:?}");
            }
        }
    }
}
