//! A seeded generator of DeepCAD-like canonical programs.
//!
//! A part starts from a base body (a profile from `profiles` on a mostly axis-aligned
//! plane, sized so the part fits DeepCAD's normalised cube) and adds features that stand
//! on faces of what exists: bosses and steps (union) and pockets and holes (cut) on caps
//! and sides, bodies crossing the part (union or cut), occasionally an intersecting body
//! that trims it. New features overlap the material they stand on by at least half a grid
//! step, so unions do not come apart into several solids after quantization.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::frame::{quantize, scale, snap, supports_of, Frame, Support, GRID};
use super::profiles::{holes, outer_loop, pick, translate, Shape, SHAPE_WEIGHTS};
use super::program::{Combine, Extent, Loop, Operation, Program, Sketch, Vec3};
use super::region::{bounds, dist, polygon, Region};

/// DeepCAD scales parts so that the farthest coordinate is 0.75.
pub const HALF_SIZE: f64 = 0.75;
/// Later features may reach a little beyond the base, never out of [-LIMIT, LIMIT].
const LIMIT: f64 = 0.9;

/// The program of `seed` (the same seed always gives the same program).
pub fn generate(seed: u64) -> Program {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // A draw that fails (a degenerate quantization) simply draws again from the same stream.
    loop {
        if let Some(p) = Draft::draw(&mut rng) {
            return p;
        }
    }
}

/// How many sketches a part has (DeepCAD: mostly one or two).
const SKETCH_COUNTS: [(usize, f64); 8] = [
    (1, 64.0),
    (2, 17.0),
    (3, 8.0),
    (4, 4.5),
    (5, 2.6),
    (6, 1.8),
    (7, 1.2),
    (8, 0.9),
];

/// Orientations of the base plane as (x direction, normal), weighted like the dev set
/// (XY and the -Y-normal "front" plane dominate).
const ORIENTATIONS: [(Vec3, Vec3, f64); 9] = [
    ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0], 50.0),
    ([1.0, 0.0, 0.0], [0.0, -1.0, 0.0], 28.0),
    ([0.0, 1.0, 0.0], [1.0, 0.0, 0.0], 7.0),
    ([1.0, 0.0, 0.0], [0.0, 0.0, -1.0], 3.0),
    ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], 3.0),
    ([0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], 2.0),
    ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], 2.0),
    ([-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], 2.0),
    ([0.0, 0.0, -1.0], [0.0, -1.0, 0.0], 1.0),
];

/// The smallest radius of a hole or feature: anything smaller vanishes in a picture.
const MIN_FEATURE: f64 = 1.5 * GRID;

/// Share of base planes turned away from the axes.
const ROTATED_SHARE: f64 = 0.05;

/// What a later feature does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FeatureKind {
    Boss,
    Pocket,
    CrossingUnion,
    CrossingCut,
    Trim,
}

const FEATURE_KINDS: [(FeatureKind, f64); 5] = [
    (FeatureKind::Boss, 55.0),
    (FeatureKind::Pocket, 28.0),
    (FeatureKind::CrossingUnion, 10.0),
    (FeatureKind::CrossingCut, 3.0),
    (FeatureKind::Trim, 3.0),
];

/// A part under construction.
struct Draft {
    program: Program,
    supports: Vec<Support>,
    /// Points known to be inside material (for bodies that must cross the part).
    interior: Vec<Vec3>,
    lo: Vec3,
    hi: Vec3,
}

fn rotate_about(v: Vec3, axis: usize, angle: f64) -> Vec3 {
    let (s, c) = angle.sin_cos();
    let (i, j) = ((axis + 1) % 3, (axis + 2) % 3);
    let mut out = v;
    out[i] = c * v[i] - s * v[j];
    out[j] = s * v[i] + c * v[j];
    out
}

/// The material span along the sketch normal of an extent: (h0, h1), h0 < h1.
fn span(extent: &Extent) -> (f64, f64) {
    match *extent {
        Extent::OneSided { distance } => (distance.min(0.0), distance.max(0.0)),
        Extent::Symmetric { distance } => (-distance.abs(), distance.abs()),
        Extent::TwoSided { first, second } => {
            (first.min(second).min(0.0), first.max(second).max(0.0))
        }
    }
}

/// Loop counts of a sketch: mostly one, rings and plates with holes after that.
fn extra_loops(rng: &mut impl Rng, base: bool) -> usize {
    let weights: &[(usize, f64)] = if base {
        &[(0, 60.0), (1, 28.0), (2, 5.0), (3, 3.0), (4, 3.0), (5, 1.0)]
    } else {
        &[(0, 84.0), (1, 11.0), (2, 2.5), (3, 1.5), (4, 1.0)]
    };
    pick(rng, weights)
}

/// A box of aspect drawn like DeepCAD profiles: square-ish often, long bars sometimes.
fn box_in(rng: &mut impl Rng, long_side: f64) -> (f64, f64) {
    let ratio = if rng.random_bool(0.3) {
        1.0
    } else {
        rng.random_range(0.08..1.0)
    };
    if rng.random_bool(0.5) {
        (long_side, long_side * ratio)
    } else {
        (long_side * ratio, long_side)
    }
}

/// The profile loops of a feature fitting the `w` x `h` box centred on `c`.
fn profile(rng: &mut impl Rng, w: f64, h: f64, c: [f64; 2], extra: usize) -> Vec<Loop> {
    let shape = pick(rng, &SHAPE_WEIGHTS);
    let outer = outer_loop(rng, shape, w, h);
    let round = matches!(shape, Shape::Circle | Shape::RegularPolygon);
    let concentric = extra > 0 && round && rng.random_bool(0.7);
    let mut loops = vec![outer.clone()];
    loops.extend(holes(rng, &outer, extra, concentric, MIN_FEATURE));
    loops.iter().map(|l| translate(l, c)).collect()
}

impl Draft {
    fn draw(rng: &mut ChaCha8Rng) -> Option<Program> {
        let target = pick(rng, &SKETCH_COUNTS);
        let mut d = Draft::base(rng)?;
        let mut failures = 0;
        while d.program.sketches.len() < target && failures < 12 {
            let last = d.program.sketches.len() + 1 == target;
            if !d.feature(rng, last) {
                failures += 1;
            }
        }
        let mut p = d.program;
        p.round_numbers();
        Some(p)
    }

    fn base(rng: &mut ChaCha8Rng) -> Option<Draft> {
        let (u, n, _) = ORIENTATIONS[pick(
            rng,
            &ORIENTATIONS
                .iter()
                .enumerate()
                .map(|(i, o)| (i, o.2))
                .collect::<Vec<_>>(),
        )];
        let (mut u, mut n) = (u, n);
        if rng.random_bool(ROTATED_SHARE) {
            let axis = rng.random_range(0..3);
            let angle = rng.random_range(1..=3) as f64 * std::f64::consts::PI / 8.0
                * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            u = rotate_about(u, axis, angle);
            n = rotate_about(n, axis, angle);
        }
        // How much of the normalised cube the base fills (the rest is left for features).
        let fill = if rng.random_bool(0.55) {
            1.0
        } else {
            rng.random_range(0.5..1.0)
        };
        let full = 2.0 * HALF_SIZE * fill;
        // Plates and discs, blocks, or bars/rods along the normal.
        let class = pick(rng, &[(0u8, 52.0), (1, 26.0), (2, 22.0)]);
        let (long, thickness) = match class {
            0 => (full, full * rng.random_range(0.015..0.3)),
            1 => (full, full * rng.random_range(0.3..1.0)),
            _ => (full * rng.random_range(0.12..0.9), full),
        };
        let (w, h) = box_in(rng, long);
        let extra = extra_loops(rng, true);
        let loops = profile(rng, w, h, [0.0, 0.0], extra);
        let extent = base_extent(rng, thickness);
        let (h0, h1) = span(&extent);
        // Centred in the plane mostly; sometimes pushed to a corner like CAD parts drawn
        // from the origin. Along the normal, one-sided extrusions start on the plane.
        let room = |size: f64| (full - size).max(0.0) / 2.0;
        let shift = if rng.random_bool(0.7) {
            [0.0, 0.0]
        } else {
            [
                rng.random_range(-1.0..=1.0) * room(w),
                rng.random_range(-1.0..=1.0) * room(h),
            ]
        };
        let lift = if rng.random_bool(0.75) {
            0.0
        } else {
            let centre = (h0 + h1) / 2.0;
            -centre + rng.random_range(-1.0..=1.0) * room(h1 - h0)
        };
        let frame = Frame::new(scale(n, snap(lift)), u, n);
        let loops: Vec<Loop> = loops.iter().map(|l| translate(l, shift)).collect();
        let (sketch, sframe) = quantize(&frame, 0.0, &loops)?;
        let mut d = Draft {
            program: Program::default(),
            supports: Vec::new(),
            interior: Vec::new(),
            lo: [f64::INFINITY; 3],
            hi: [f64::NEG_INFINITY; 3],
        };
        if !d.accept(sketch, sframe, extent, Combine::New, 10.0) {
            return None;
        }
        Some(d)
    }

    /// World bounds of a sketch extruded over [h0, h1].
    fn feature_bounds(sketch: &Sketch, frame: &Frame, h0: f64, h1: f64) -> (Vec3, Vec3) {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for p in sketch.loops.iter().flat_map(polygon) {
            for h in [h0, h1] {
                let w = frame.world(p, h);
                for k in 0..3 {
                    lo[k] = lo[k].min(w[k]);
                    hi[k] = hi[k].max(w[k]);
                }
            }
        }
        (lo, hi)
    }

    /// Adds a feature when it stays within `limit` (union features grow the part's
    /// bounds and offer their faces to later features).
    fn accept(
        &mut self,
        sketch: Sketch,
        frame: Frame,
        extent: Extent,
        combine: Combine,
        limit: f64,
    ) -> bool {
        let (h0, h1) = span(&extent);
        if h1 - h0 < GRID * 0.99 {
            return false;
        }
        let (lo, hi) = Self::feature_bounds(&sketch, &frame, h0, h1);
        let grows = matches!(combine, Combine::New | Combine::Union);
        if grows && (lo.iter().any(|v| *v < -limit) || hi.iter().any(|v| *v > limit)) {
            return false;
        }
        if sketch.plane.origin.iter().any(|v| v.abs() > 1.0) {
            return false;
        }
        if grows {
            for k in 0..3 {
                self.lo[k] = self.lo[k].min(lo[k]);
                self.hi[k] = self.hi[k].max(hi[k]);
            }
            self.supports
                .extend(supports_of(&frame, &sketch.loops, h0, h1));
            if let Some(p) = deepest_point(&Region::of_loops(&sketch.loops)) {
                self.interior.push(frame.world(p, (h0 + h1) / 2.0));
            }
        }
        let combine = if self.program.sketches.is_empty() {
            Combine::New
        } else {
            combine
        };
        self.program.sketches.push(sketch);
        self.program.ops.push(Operation { extent, combine });
        true
    }

    fn size(&self) -> f64 {
        (0..3).map(|k| self.hi[k] - self.lo[k]).fold(0.0, f64::max)
    }

    /// Tries to add one feature; false when this draw did not fit. Only the last feature
    /// may intersect: it shrinks the part, which would leave earlier faces (and the
    /// features standing on them) floating.
    fn feature(&mut self, rng: &mut ChaCha8Rng, last: bool) -> bool {
        let kind = match pick(rng, &FEATURE_KINDS) {
            FeatureKind::Trim if !last => FeatureKind::Boss,
            k => k,
        };
        match kind {
            FeatureKind::Boss => self.on_support(rng, true),
            FeatureKind::Pocket => self.on_support(rng, false),
            FeatureKind::CrossingUnion => self.crossing(rng, Combine::Union),
            FeatureKind::CrossingCut => self.crossing(rng, Combine::Cut),
            FeatureKind::Trim => self.crossing(rng, Combine::Intersect),
        }
    }

    /// A boss (union) or pocket/hole (cut) standing on one of the part's faces.
    fn on_support(&mut self, rng: &mut ChaCha8Rng, boss: bool) -> bool {
        if self.supports.is_empty() {
            return false;
        }
        let weights: Vec<(usize, f64)> = self
            .supports
            .iter()
            .enumerate()
            .map(|(i, s)| (i, if s.is_cap { 3.0 } else { 1.0 }))
            .collect();
        let support = self.supports[pick(rng, &weights)].clone();
        let Some(loops) = place_on(rng, &support.region, !boss) else {
            return false;
        };
        let size = self.size();
        // Bosses start half a grid step inside the face, pockets half a step outside, so
        // the printed (quantized) numbers still overlap the material.
        let lift = if boss { -GRID } else { GRID };
        let Some((sketch, frame)) = quantize(&support.frame, lift, &loops) else {
            return false;
        };
        let (_, h) = support.frame.local(frame.origin);
        let extent = if boss {
            let height = size * rng.random_range(0.03..0.45);
            Extent::OneSided {
                distance: snap(height - h).max(GRID),
            }
        } else {
            let through = rng.random_bool(0.55);
            let depth = if through {
                support.depth + 2.0 * GRID
            } else {
                support.depth * rng.random_range(0.15..0.85)
            };
            Extent::OneSided {
                distance: -snap(depth + h).max(GRID),
            }
        };
        let combine = if boss { Combine::Union } else { Combine::Cut };
        if !boss {
            self.punch(&support, &loops);
        }
        self.accept(sketch, frame, extent, combine, LIMIT)
    }

    /// Marks a pocket on its face so later bosses do not stand on empty space.
    fn punch(&mut self, support: &Support, loops: &[Loop]) {
        if let Some(s) = self.supports.iter_mut().find(|s| s.frame == support.frame) {
            s.region.holes.extend(loops.iter().map(polygon));
        }
    }

    /// A body through a point inside the part, on a plane of the base frame's axes:
    /// crossing bars (union), slots cut across (cut), or a large body trimming the part
    /// (intersect).
    fn crossing(&mut self, rng: &mut ChaCha8Rng, combine: Combine) -> bool {
        if self.interior.is_empty() {
            return false;
        }
        let p = self.interior[rng.random_range(0..self.interior.len())];
        let base = Frame::new(
            [0.0; 3],
            self.program.sketches[0].plane.x_dir,
            self.program.sketches[0].plane.normal,
        );
        let axes = [
            (base.u, base.n),
            (base.n, base.u),
            (base.u, base.v),
            (base.v, base.u),
        ];
        let (u, n) = axes[rng.random_range(0..axes.len())];
        let frame = Frame::new(p, u, n);
        // Extents of the part seen in this frame.
        let corners: Vec<Vec3> = (0..8)
            .map(|k| {
                [
                    if k & 1 == 0 { self.lo[0] } else { self.hi[0] },
                    if k & 2 == 0 { self.lo[1] } else { self.hi[1] },
                    if k & 4 == 0 { self.lo[2] } else { self.hi[2] },
                ]
            })
            .collect();
        let local: Vec<([f64; 2], f64)> = corners.iter().map(|c| frame.local(*c)).collect();
        let flat: Vec<[f64; 2]> = local.iter().map(|l| l.0).collect();
        let [lo, hi] = bounds(&flat);
        let depth = local.iter().map(|l| l.1.abs()).fold(0.0, f64::max);
        let (w, h, c, distance) = match combine {
            Combine::Intersect => {
                let k = rng.random_range(0.75..1.0);
                let c = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
                ((hi[0] - lo[0]) * k, (hi[1] - lo[1]) * k, c, depth + GRID)
            }
            Combine::Cut => {
                // Narrower than the part both ways, so material is left around the cut.
                let (w, h) = (
                    (hi[0] - lo[0]) * rng.random_range(0.1..0.5),
                    (hi[1] - lo[1]) * rng.random_range(0.1..0.5),
                );
                (w, h, [0.0, 0.0], depth + GRID)
            }
            _ => {
                let k = rng.random_range(0.15..0.7);
                let (w, h) = box_in(rng, (hi[0] - lo[0]).max(hi[1] - lo[1]) * k);
                (w, h, [0.0, 0.0], depth * rng.random_range(0.3..1.1))
            }
        };
        let loops = profile(rng, w.max(4.0 * GRID), h.max(4.0 * GRID), c, 0);
        let Some((sketch, sframe)) = quantize(&frame, 0.0, &loops) else {
            return false;
        };
        let extent = Extent::Symmetric {
            distance: snap(distance).max(GRID),
        };
        self.accept(sketch, sframe, extent, combine, LIMIT)
    }
}

/// The point of a 9x9 grid over the region farthest inside it.
fn deepest_point(region: &Region) -> Option<[f64; 2]> {
    let [lo, hi] = region.bounds();
    (0..81)
        .map(|k| {
            let (i, j) = ((k % 9) as f64 + 0.5, (k / 9) as f64 + 0.5);
            [
                lo[0] + (hi[0] - lo[0]) * i / 9.0,
                lo[1] + (hi[1] - lo[1]) * j / 9.0,
            ]
        })
        .filter(|p| region.contains(*p))
        .map(|p| (region.clearance(p), p))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p)
}

fn base_extent(rng: &mut impl Rng, thickness: f64) -> Extent {
    match pick(rng, &[(0u8, 76.0), (1, 18.0), (2, 6.0)]) {
        0 => {
            let d = snap(thickness).max(2.0 * GRID);
            Extent::OneSided {
                distance: if rng.random_bool(0.12) { -d } else { d },
            }
        }
        1 => Extent::Symmetric {
            distance: snap(thickness / 2.0).max(GRID),
        },
        _ => {
            let first = rng.random_range(0.2..0.8);
            Extent::TwoSided {
                first: snap(thickness * first).max(GRID),
                second: -snap(thickness * (1.0 - first)).max(GRID),
            }
        }
    }
}

/// Loops for a feature standing on `region`: a full-width step on a rectangular face, a
/// profile concentric with a round face, one profile around a free point, or (for cuts)
/// a pattern of holes. None when nothing fits.
fn place_on(rng: &mut impl Rng, region: &Region, cut: bool) -> Option<Vec<Loop>> {
    let [lo, hi] = region.bounds();
    let size = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    if region.is_rectangle() && rng.random_bool(0.3) {
        // A step: full along one side, part of the other.
        let (a0, a1) = (lo[0], hi[0]);
        let f = rng.random_range(0.2..0.8);
        let (b0, b1) = if rng.random_bool(0.5) {
            (lo[1], lo[1] + (hi[1] - lo[1]) * f)
        } else {
            (hi[1] - (hi[1] - lo[1]) * f, hi[1])
        };
        let (w, h) = (a1 - a0, b1 - b0);
        let c = [(a0 + a1) / 2.0, (b0 + b1) / 2.0];
        let lp = outer_loop(rng, Shape::Rectangle, w, h);
        return Some(vec![translate(&lp, c)]);
    }
    let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    let mut spots: Vec<([f64; 2], f64)> = Vec::new();
    if region.contains(centre) && rng.random_bool(0.35) {
        spots.push((centre, region.clearance(centre)));
    }
    let count = if cut && rng.random_bool(0.25) {
        rng.random_range(2..=6)
    } else {
        1
    };
    let mut tries = 0;
    while spots.len() < count && tries < 80 {
        tries += 1;
        let p = [
            rng.random_range(lo[0]..=hi[0]),
            rng.random_range(lo[1]..=hi[1]),
        ];
        if !region.contains(p) {
            continue;
        }
        let room = spots
            .iter()
            .map(|(q, r)| dist(p, *q) - r)
            .fold(region.clearance(p), f64::min);
        if room > size * 0.04 && room > 3.0 * GRID {
            spots.push((p, room));
        }
    }
    if spots.is_empty() {
        return None;
    }
    let mut loops = Vec::new();
    let pattern = spots.len() > 1;
    let r_pattern = spots.iter().map(|s| s.1).fold(f64::INFINITY, f64::min) * 0.7;
    for (c, room) in spots {
        let r = if pattern {
            r_pattern
        } else {
            room * rng.random_range(0.3..0.95)
        }
        .max(MIN_FEATURE);
        if pattern {
            loops.push(translate(
                &outer_loop(rng, Shape::Circle, 2.0 * r, 2.0 * r),
                c,
            ));
        } else {
            // Fit a profile box inside the disc of radius r around c.
            let t = rng.random_range(0.25..1.3f64);
            let (w, h) = (2.0 * r * t.cos(), 2.0 * r * t.sin());
            let extra = extra_loops(rng, false);
            loops.extend(profile(rng, w, h, c, extra));
        }
    }
    Some(loops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::stats::Histograms;

    /// The generator's statistics over 2,000 draws stay where the data docs say they are
    /// (README.md in this folder compares them with the real dev parts).
    #[test]
    #[allow(clippy::type_complexity)] // the bounds table reads best inline
    fn statistics_stay_within_stated_bounds() {
        let programs: Vec<Program> = (0..2000).map(generate).collect();
        let h = Histograms::of(&programs);
        let checks = [
            ("sketches", &h.sketches, "1", 0.55, 0.85),
            ("sketches", &h.sketches, "4+", 0.02, 0.15),
            ("loops per sketch", &h.loops_per_sketch, "1", 0.6, 0.85),
            ("loops per sketch", &h.loops_per_sketch, "2", 0.1, 0.3),
            ("curves", &h.curves, "line", 0.6, 0.9),
            ("curves", &h.curves, "circle", 0.1, 0.35),
            ("curves", &h.curves, "arc", 0.02, 0.15),
            ("operations", &h.operations, "union", 0.5, 0.8),
            ("operations", &h.operations, "cut", 0.2, 0.45),
            ("operations", &h.operations, "intersect", 0.003, 0.05),
            ("extents", &h.extents, "one-sided", 0.7, 0.9),
            ("extents", &h.extents, "symmetric", 0.1, 0.3),
            ("extents", &h.extents, "two-sided", 0.01, 0.08),
            ("sketches", &h.sketches, "2", 0.1, 0.25),
        ];
        for (what, hist, bucket, lo, hi) in checks {
            let share = Histograms::share(hist, bucket);
            assert!(
                (lo..=hi).contains(&share),
                "{what} {bucket}: {share:.3} outside [{lo}, {hi}]"
            );
        }
    }

    #[test]
    fn programs_are_deterministic_for_a_seed() {
        for seed in [0, 1, 42, 12345] {
            assert_eq!(generate(seed).to_code(), generate(seed).to_code());
        }
        assert_ne!(generate(1).to_code(), generate(2).to_code());
    }

    #[test]
    fn programs_parse_back_and_stay_on_grids() {
        for seed in 0..300 {
            let p = generate(seed);
            let code = p.to_code();
            let back = Program::parse(&code).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{code}"));
            assert_eq!(back.to_code(), code, "seed {seed}");
            assert!((1..=8).contains(&p.sketches.len()));
            for s in &p.sketches {
                for v in s.plane.origin {
                    assert!(v.abs() <= 1.0, "seed {seed}: origin {v}");
                    // Printed with four decimals: within 5e-5 of the 1/128 grid.
                    assert!(
                        (v - snap(v)).abs() < 6e-5,
                        "seed {seed}: origin {v} off the grid"
                    );
                }
            }
        }
    }
}
