//! Snapping to the grids DeepCAD's numbers live on (DESIGN.md, canonical code): plane
//! origins, extrude distances and sketch scales are multiples of 1/128; a sketch's
//! coordinates and radii are multiples of s/95, where the sketch scale s is its extent (a
//! circle's: 95/96 of its diameter, measured on the dev parts). Grid steps are 2-4 px of
//! the picture while a search settles within half a pixel, so rounding to them picks the
//! design's proportions, which the picture alone pins only to a pixel; that matters
//! because IoU_vol is unforgiving: a 3/128 plate 7 % too thick (a third of a pixel) loses
//! 7 %, and a thin-walled tube loses 6 % when its height is 0.2 % off.
//!
//! A picture has no scale, so the 1/128 grid needs one: `unit_grid` takes the scale at
//! which the part's design extent (its largest sketch scale or depth) is 0.75 or 1.5,
//! DeepCAD's usual sizes (12 of the 20 dev parts). A sketch's own grid needs none
//! (`sketch_snapped` at the sketch's extent), the fallback for parts of other sizes.

use super::layout::{loop_members, Slot};
use super::moves::length_like;
use crate::data::{Extent, LiteralRole, Program};

/// A sketch scale spans this many steps of its sketch's grid.
pub const SKETCH_STEPS: f64 = 95.0;
/// The grid of plane origins, extrude distances and sketch scales.
pub const UNIT_STEP: f64 = 1.0 / 128.0;
/// The design extents DeepCAD normalizes most parts to.
const DESIGN_EXTENTS: [f64; 2] = [0.75, 1.5];

fn on_grid(v: f64, step: f64) -> f64 {
    (v / step).round() * step
}

/// One sketch's literals (coordinates and radii) and the size of its box.
pub struct SketchNumbers {
    pub members: Vec<usize>,
    /// The larger side of the box of its loops (circles as discs).
    pub extent: f64,
    pub circles_only: bool,
}

impl SketchNumbers {
    /// The sketch scale its extent implies.
    fn scale(&self) -> f64 {
        if self.circles_only {
            self.extent * SKETCH_STEPS / 96.0
        } else {
            self.extent
        }
    }
}

/// The sketch numbers of each feature that has any.
pub fn sketches(slots: &[Slot], values: &[f64]) -> Vec<SketchNumbers> {
    let features = slots.iter().map(|s| s.feature).max().map_or(0, |m| m + 1);
    let loops = loop_members(slots);
    (0..features)
        .filter_map(|f| {
            let mut lo = [f64::INFINITY; 2];
            let mut hi = [f64::NEG_INFINITY; 2];
            let mut members = Vec::new();
            let mut circles_only = true;
            for lp in loops.iter().filter(|l| slots[l[0]].feature == f) {
                let radius = lp
                    .iter()
                    .find(|&&i| slots[i].role == LiteralRole::Radius)
                    .map(|&i| values[i].abs());
                circles_only &= radius.is_some();
                let radius = radius.unwrap_or(0.0);
                for &i in lp {
                    let a = slots[i].axis as usize;
                    if slots[i].role == LiteralRole::Coordinate {
                        lo[a] = lo[a].min(values[i] - radius);
                        hi[a] = hi[a].max(values[i] + radius);
                    }
                }
                members.extend_from_slice(lp);
            }
            let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
            (extent.is_finite() && extent > 1e-9).then_some(SketchNumbers {
                members,
                extent,
                circles_only,
            })
        })
        .collect()
}

/// The part's design extent: its largest sketch scale or feature depth (a symmetric
/// extrusion's depth is twice its distance, a two-sided one's the sum of both).
fn design_extent(program: &Program, slots: &[Slot], values: &[f64]) -> f64 {
    let mut largest = sketches(slots, values)
        .iter()
        .map(SketchNumbers::scale)
        .fold(0.0, f64::max);
    for (f, op) in program.ops.iter().enumerate() {
        let distances: Vec<f64> = (0..slots.len())
            .filter(|&i| slots[i].feature == f && slots[i].role == LiteralRole::Distance)
            .map(|i| values[i].abs())
            .collect();
        let depth = match op.extent {
            Extent::Symmetric { .. } => 2.0 * distances.iter().sum::<f64>(),
            _ => distances.iter().sum(),
        };
        largest = largest.max(depth);
    }
    largest
}

/// `values` at the scale where the part's design extent is the DeepCAD size nearest to
/// its own (by ratio), with every plane origin, extrude distance and sketch scale on the
/// 1/128 grid and each sketch's numbers on its scale's grid. None when the part has no
/// size.
pub fn unit_grid(program: &Program, slots: &[Slot], values: &[f64]) -> Option<Vec<f64>> {
    let extent = design_extent(program, slots, values);
    if !(extent.is_finite() && extent > 1e-9) {
        return None;
    }
    let target = DESIGN_EXTENTS
        .into_iter()
        .min_by(|a, b| (a / extent).ln().abs().total_cmp(&(b / extent).ln().abs()))?;
    let lambda = target / extent;
    let mut out: Vec<f64> = values
        .iter()
        .zip(slots)
        .map(|(&v, s)| if length_like(s) { v * lambda } else { v })
        .collect();
    for sketch in sketches(slots, &out) {
        let scale = on_grid(sketch.scale(), UNIT_STEP).max(UNIT_STEP);
        out = sketch_snapped(&out, &sketch.members, scale);
    }
    for (i, s) in slots.iter().enumerate() {
        if matches!(s.role, LiteralRole::PlaneOrigin | LiteralRole::Distance) {
            out[i] = on_grid(out[i], UNIT_STEP);
        }
    }
    Some(out)
}

/// Sketch scales worth trying for a sketch of this extent, the likeliest first: the
/// extent itself and a circle's 95/96 of it, each also a step or two either side (the
/// search leaves the extent up to a pixel off).
pub fn scales(extent: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for base in [extent, extent * 95.0 / 96.0] {
        for j in [0.0, -1.0, 1.0, -2.0, 2.0] {
            out.push(base * (1.0 + j / (2.0 * SKETCH_STEPS)));
        }
    }
    out
}

/// `values` with a sketch's literals rounded to the grid of sketch scale `scale`.
pub fn sketch_snapped(values: &[f64], members: &[usize], scale: f64) -> Vec<f64> {
    let step = scale / SKETCH_STEPS;
    let mut out = values.to_vec();
    for &i in members {
        out[i] = on_grid(values[i], step);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::layout::layout;
    use super::*;
    use crate::data::Program;

    fn parts(code: &str) -> (Vec<Slot>, Vec<f64>) {
        let p = Program::parse(code).unwrap();
        (layout(&p), p.literals().iter().map(|l| l.value).collect())
    }

    /// Dev part 00946705 (a plate whose width is 19/95 of its length) as a search leaves
    /// it from a start scaled by 0.866: the width a little off.
    const PLATE: &str = "import cadquery as cq\n\
        wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.6719, -0.1406, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
        loop0=wp_sketch0.moveTo(1.2651, 0.0).lineTo(1.2651, 0.2513).lineTo(0.0, 0.2513).lineTo(0.0, 0.0).close()\n\
        solid0=wp_sketch0.add(loop0).extrude(0.0217)\n\
        solid=solid0\n";

    #[test]
    fn a_drifted_plate_comes_back_to_its_own_grid() {
        let (slots, values) = parts(PLATE);
        let sk = sketches(&slots, &values);
        assert_eq!(sk.len(), 1);
        let (members, extent) = (&sk[0].members, &sk[0].extent);
        assert!(!sk[0].circles_only);
        assert_eq!(
            members.len(),
            8,
            "the corner coordinates, not the origin or thickness"
        );
        assert!((extent - 1.2651).abs() < 1e-12);
        let tried = scales(*extent);
        assert_eq!(tried[0], *extent, "the extent itself first");
        let v = sketch_snapped(&values, members, tried[0]);
        let (l, w) = (1.2651, 19.0 * 1.2651 / 95.0);
        let want = [l, 0.0, l, w, 0.0, w, 0.0, 0.0];
        for (&i, w) in members.iter().zip(want) {
            assert!((v[i] - w).abs() < 1e-12, "{} != {w}", v[i]);
        }
        // the thickness is no sketch number
        assert_eq!(v[v.len() - 1], 0.0217);
    }

    #[test]
    fn a_circle_counts_as_its_disc_and_its_scale_is_offered() {
        // dev part 00540970's boss: centre and radius both 48 steps of 95/96 its diameter
        let (slots, values) = parts(
            "import cadquery as cq\n\
             wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
             loop0=wp_sketch0.moveTo(0.6071, 0.0).circle(0.6083)\n\
             solid0=wp_sketch0.add(loop0).extrude(0.25)\n\
             solid=solid0\n",
        );
        let sk = sketches(&slots, &values);
        let (members, extent) = (&sk[0].members, &sk[0].extent);
        assert!(sk[0].circles_only);
        assert!((extent - 2.0 * 0.6083).abs() < 1e-12);
        let scale = extent * 95.0 / 96.0;
        assert!(scales(*extent).contains(&scale));
        let v = sketch_snapped(&values, members, scale);
        let r = 48.0 * scale / SKETCH_STEPS;
        assert!(members
            .iter()
            .all(|&i| v[i] == 0.0 || (v[i] - r).abs() < 1e-12));
    }

    #[test]
    fn a_refined_tube_comes_back_to_the_truth_at_its_design_size() {
        // dev part 00427410 as session 9's refinement left it (from a start scaled by
        // ~0.91): proportions within 0.3 %, yet IoU_vol 0.94-0.97
        let code = "import cadquery as cq\n\
             wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.3047, 0.0, 0.0), cq.Vector(1.1049, 0.0, 0.0), cq.Vector(0.0, 0.0, 0.9019)))\n\
             loop0=wp_sketch0.moveTo(0.3076, 0.0).circle(0.3104)\n\
             loop1=wp_sketch0.moveTo(0.3076, 0.0).circle(0.271)\n\
             solid0=wp_sketch0.add(loop0).add(loop1).extrude(0.6842)\n\
             solid=solid0\n";
        let program = Program::parse(code).unwrap();
        let (slots, values) = parts(code);
        let got = unit_grid(&program, &slots, &values).unwrap();
        let truth = Program::parse(
            "import cadquery as cq\n\
             wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.3359375, 0.0, 0.0), cq.Vector(1.1049, 0.0, 0.0), cq.Vector(0.0, 0.0, 0.9019)))\n\
             loop0=wp_sketch0.moveTo(0.3394736842105263, 0.0).circle(0.3394736842105263)\n\
             loop1=wp_sketch0.moveTo(0.3394736842105263, 0.0).circle(0.2970394736842105)\n\
             solid0=wp_sketch0.add(loop0).add(loop1).extrude(0.75)\n\
             solid=solid0\n",
        )
        .unwrap();
        for (g, t) in got.iter().zip(truth.literals()) {
            assert!((g - t.value).abs() < 1e-12, "{got:?}");
        }
        // a part of no size has no grid
        assert!(unit_grid(&program, &slots, &vec![0.0; values.len()]).is_none());
    }
}
