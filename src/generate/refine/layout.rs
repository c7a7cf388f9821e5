//! Where each literal of a program sits: which feature, which loop, which axis. Moves and
//! snapping need this to know which numbers belong together.

use crate::data::frame::dot;
use crate::data::{Curve, Extent, LiteralRole, Loop, Program, Sketch};

/// What one literal is, beyond its role.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub role: LiteralRole,
    pub feature: usize,
    /// Index of the loop over the whole program (sketch coordinates and radii only).
    pub lp: Option<usize>,
    /// 0 = x, 1 = y (sketch coordinates), or the world axis of a plane origin component.
    pub axis: u8,
}

impl Slot {
    /// A sketch coordinate along `axis` (0 = x, 1 = y).
    pub fn is_coordinate_on(&self, axis: u8) -> bool {
        self.role == LiteralRole::Coordinate && self.axis == axis
    }
}

/// Slots in `Program::literals()` order.
pub fn layout(program: &Program) -> Vec<Slot> {
    use LiteralRole as R;
    let mut out = Vec::new();
    let mut next_loop = 0usize;
    for (feature, (sketch, op)) in program.sketches.iter().zip(&program.ops).enumerate() {
        let slot = |role, lp, axis| Slot {
            role,
            feature,
            lp,
            axis,
        };
        for role in [R::PlaneOrigin, R::PlaneXDir, R::PlaneNormal] {
            out.extend((0..3).map(|k| slot(role, None, k)));
        }
        for lp in &sketch.loops {
            let l = Some(next_loop);
            next_loop += 1;
            let points = match lp {
                Loop::Circle { .. } => 1,
                Loop::Path { curves, .. } => {
                    1 + curves
                        .iter()
                        .map(|c| if matches!(c, Curve::Arc { .. }) { 2 } else { 1 })
                        .sum::<usize>()
                }
            };
            for _ in 0..points {
                out.push(slot(R::Coordinate, l, 0));
                out.push(slot(R::Coordinate, l, 1));
            }
            if matches!(lp, Loop::Circle { .. }) {
                out.push(slot(R::Radius, l, 2));
            }
        }
        let distances = match op.extent {
            Extent::TwoSided { .. } => 2,
            _ => 1,
        };
        out.extend((0..distances).map(|_| slot(R::Distance, None, 0)));
    }
    out
}

/// The straight edges of every path loop (the closing one included), each as the literal
/// indices of its two end points' x (y follows at the next index).
pub fn lines(program: &Program) -> Vec<[usize; 2]> {
    path_loops(program)
        .into_iter()
        .flat_map(|l| l.lines)
        .collect()
}

/// One path loop's straight edges (see `lines`), and whether it has nothing else.
pub struct PathLoop {
    pub lines: Vec<[usize; 2]>,
    pub only_lines: bool,
}

/// Every path loop's straight edges, loop by loop.
pub fn path_loops(program: &Program) -> Vec<PathLoop> {
    let mut out = Vec::new();
    let mut i = 0usize;
    for (sketch, op) in program.sketches.iter().zip(&program.ops) {
        i += 9; // plane origin, x direction, normal
        for lp in &sketch.loops {
            match lp {
                Loop::Circle { .. } => i += 3,
                Loop::Path { curves, .. } => {
                    let start = i;
                    let mut prev = i;
                    let mut lines = Vec::new();
                    i += 2;
                    for c in curves {
                        match c {
                            Curve::Line { .. } => {
                                lines.push([prev, i]);
                                prev = i;
                                i += 2;
                            }
                            Curve::Arc { .. } => {
                                prev = i + 2;
                                i += 4;
                            }
                        }
                    }
                    lines.push([prev, start]);
                    let only_lines = lines.len() == curves.len() + 1;
                    out.push(PathLoop { lines, only_lines });
                }
            }
        }
        i += match op.extent {
            Extent::TwoSided { .. } => 2,
            _ => 1,
        };
    }
    out
}

/// A loop of straight lines made rectilinear: its lines alternately parallel to the
/// sketch's x and y axes, in whichever of the two alternations moves the corners least
/// (the coordinates each line joins take one value, see `shared_value`). With it, for
/// each line, the two literal indices (of its ends' x, or of their y) it now holds equal. DeepCAD's profiles are mostly rectilinear, and a start whose lines
/// are far off the axes (a perturbed comb: up to 45 degrees, crossing itself) is beyond
/// `aligned`'s reach. None when the loop cannot alternate (an odd count, arcs) or is
/// rectilinear already.
pub fn rectilinear(values: &[f64], lp: &PathLoop) -> Option<(Vec<f64>, Vec<[usize; 2]>)> {
    let n = lp.lines.len();
    if !lp.only_lines || n < 4 || n % 2 == 1 {
        return None;
    }
    // offset 1 joins the y's (a line along x), 0 the x's
    let joined = |k: usize, phase: usize| {
        let [a, b] = lp.lines[k];
        let o = (k + phase) % 2;
        [a + o, b + o]
    };
    let cost = |phase: usize| -> f64 {
        (0..n)
            .map(|k| {
                let [a, b] = joined(k, phase);
                (values[a] - values[b]).abs()
            })
            .sum()
    };
    let phase = if cost(0) <= cost(1) { 0 } else { 1 };
    if cost(phase) == 0.0 {
        return None;
    }
    let mut out = values.to_vec();
    let pairs: Vec<[usize; 2]> = (0..n).map(|k| joined(k, phase)).collect();
    for &[a, b] in &pairs {
        let value = shared_value(&[values[a], values[b]]);
        out[a] = value;
        out[b] = value;
    }
    Some((out, pairs))
}

/// The one value coordinates made equal take: 0 when one of them is 0 (a corner on the
/// sketch's axis stays there), else their mean.
fn shared_value(coordinates: &[f64]) -> f64 {
    if coordinates.contains(&0.0) {
        0.0
    } else {
        coordinates.iter().sum::<f64>() / coordinates.len() as f64
    }
}

/// `values` with every line within `max_angle` (radians) of a sketch axis made parallel to
/// it: the coordinates such lines join are set to one value, their mean, or 0 when one of
/// them is 0. DeepCAD's profiles are mostly drawn along their axes; a start whose lines are
/// a few degrees off (a perturbed or proposed profile) traps the search in a skewed shape.
pub fn aligned(values: &[f64], lines: &[[usize; 2]], max_angle: f64) -> Vec<f64> {
    let mut parent: Vec<usize> = (0..values.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let slope = max_angle.tan();
    for &[a, b] in lines {
        let (dx, dy) = (values[b] - values[a], values[b + 1] - values[a + 1]);
        for (along, across, offset) in [(dx, dy, 1), (dy, dx, 0)] {
            if across != 0.0 && across.abs() <= slope * along.abs() {
                let (ra, rb) = (root(&mut parent, a + offset), root(&mut parent, b + offset));
                parent[ra] = rb;
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..values.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out = values.to_vec();
    for members in groups.values().filter(|m| m.len() > 1) {
        let value = shared_value(&members.iter().map(|&i| values[i]).collect::<Vec<_>>());
        for &i in members {
            out[i] = value;
        }
    }
    out
}

/// Each loop's literals (coordinates and radius), loop by loop (a merged twin's loops
/// are their original's, see `merge_twins`).
pub fn loop_members(slots: &[Slot]) -> Vec<Vec<usize>> {
    let loops = slots.iter().filter_map(|s| s.lp).max().map_or(0, |m| m + 1);
    (0..loops)
        .map(|l| -> Vec<usize> {
            (0..slots.len())
                .filter(|&i| slots[i].lp == Some(l))
                .collect()
        })
        .filter(|members| !members.is_empty())
        .collect()
}

/// The loop literals of each sketch that has more than one loop, sketch by sketch (a
/// twin's loops count with the sketch it repeats, see `merge_twins`).
pub fn multi_loop_sketches(slots: &[Slot]) -> Vec<Vec<usize>> {
    let features = slots.iter().map(|s| s.feature).max().map_or(0, |m| m + 1);
    let loops = loop_members(slots);
    (0..features)
        .map(|f| -> Vec<&Vec<usize>> {
            loops
                .iter()
                .filter(|l| l.first().is_some_and(|&i| slots[i].feature == f))
                .collect()
        })
        .filter(|own| own.len() > 1)
        .map(|own| own.into_iter().flatten().copied().collect())
        .collect()
}

/// Features that repeat an earlier one: the same loops and curves, on a plane with the
/// same directions, numbers within `closeness` of the sketch's extent (GenCAD-Code has
/// parts that repeat a profile with another depth, dev parts 00387732 and 00961053).
/// (later, earlier) pairs, each later feature with the first it repeats.
pub fn twins(program: &Program, closeness: f64) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (g, b) in program.sketches.iter().enumerate() {
        if let Some(f) = (0..g).find(|&f| repeats(&program.sketches[f], b, closeness)) {
            out.push((g, f));
        }
    }
    out
}

fn repeats(a: &Sketch, b: &Sketch, closeness: f64) -> bool {
    let same_direction = |u: [f64; 3], v: [f64; 3]| {
        let (nu, nv) = (dot(u, u).sqrt(), dot(v, v).sqrt());
        nu > 0.0 && nv > 0.0 && dot(u, v) / (nu * nv) > 1.0 - 1e-9
    };
    let shape = |l: &Loop| -> Vec<u8> {
        match l {
            Loop::Circle { .. } => vec![0],
            Loop::Path { curves, .. } => curves
                .iter()
                .map(|c| if matches!(c, Curve::Arc { .. }) { 2 } else { 1 })
                .collect(),
        }
    };
    if a.loops.len() != b.loops.len()
        || !a
            .loops
            .iter()
            .zip(&b.loops)
            .all(|(x, y)| shape(x) == shape(y))
        || !same_direction(a.plane.x_dir, b.plane.x_dir)
        || !same_direction(a.plane.normal, b.plane.normal)
    {
        return false;
    }
    let (va, vb) = (sketch_numbers(a), sketch_numbers(b));
    let extent = va.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    va.iter()
        .zip(&vb)
        .all(|(x, y)| (x - y).abs() <= closeness * extent)
}

/// A sketch's plane origin and loop numbers, in literal order.
fn sketch_numbers(s: &Sketch) -> Vec<f64> {
    let mut out = s.plane.origin.to_vec();
    for l in &s.loops {
        match l {
            Loop::Circle { center, radius } => out.extend([center[0], center[1], *radius]),
            Loop::Path { start, curves } => {
                out.extend(start);
                for c in curves {
                    match c {
                        Curve::Line { to } => out.extend(to),
                        Curve::Arc { mid, to } => out.extend(mid.iter().chain(to)),
                    }
                }
            }
        }
    }
    out
}

/// Makes each twin (see `twins`) one with the feature it repeats: their plane origins and
/// loop numbers are set to a blend (`weight` 0: the original's, 1: the twin's, 0.5:
/// their means), and the twin's loops take the loop indices of the original's, so loop
/// moves and ties move both as one. Returns the new values.
pub fn merge_twins(
    slots: &mut [Slot],
    values: &[f64],
    twins: &[(usize, usize)],
    weight: f64,
) -> Vec<f64> {
    let mut out = values.to_vec();
    for &(g, f) in twins {
        let of = |feature: usize| -> Vec<usize> {
            (0..slots.len())
                .filter(|&i| {
                    slots[i].feature == feature
                        && (slots[i].role == LiteralRole::PlaneOrigin || slots[i].lp.is_some())
                })
                .collect()
        };
        let (a, b) = (of(f), of(g));
        if a.len() != b.len() {
            continue;
        }
        for (&i, &j) in a.iter().zip(&b) {
            let blend = out[i] + weight * (out[j] - out[i]);
            out[i] = blend;
            out[j] = blend;
            slots[j].lp = slots[i].lp;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_literals() {
        for (name, p) in crate::generate::proposals::PrimitiveFits::templates() {
            let lits = p.literals();
            let slots = layout(&p);
            assert_eq!(lits.len(), slots.len(), "{name}");
            for (l, s) in lits.iter().zip(&slots) {
                assert_eq!((l.role, l.feature), (s.role, s.feature), "{name}");
            }
        }
    }

    #[test]
    fn a_repeated_profile_becomes_one_with_its_original() {
        // dev part 00387732's two rings, perturbed apart, and a third sketch unlike them
        let ring = |o: f64, r: f64, d: f64| {
            format!(
                "wp_sketchN = cq.Workplane(cq.Plane(cq.Vector({o}, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, -1.0, 0.0)))\n\
                 loopA=wp_sketchN.moveTo({r}, 0.0).circle({r})\n\
                 loopB=wp_sketchN.moveTo({r}, 0.0).circle(0.6)\n\
                 solidN=wp_sketchN.add(loopA).add(loopB).extrude({d})\n"
            )
        };
        let p = Program::parse(&format!(
            "import cadquery as cq\n{}solid=solid0\n{}solid=solid.union(solid1)\n{}solid=solid.union(solid2)\n",
            ring(-0.75, 0.76, 0.33)
                .replace("sketchN", "sketch0")
                .replace("loopA", "loop0")
                .replace("loopB", "loop1")
                .replace("solidN", "solid0"),
            ring(-0.8, 0.7, 0.38)
                .replace("sketchN", "sketch1")
                .replace("loopA", "loop2")
                .replace("loopB", "loop3")
                .replace("solidN", "solid1"),
            ring(-0.64, 0.3, 0.16)
                .replace("sketchN", "sketch2")
                .replace("loopA", "loop4")
                .replace("loopB", "loop5")
                .replace("solidN", "solid2"),
        ))
        .unwrap();
        assert_eq!(twins(&p, 0.2), vec![(1, 0)]);
        assert!(twins(&p, 0.01).is_empty(), "too far apart at 1 %");
        let mut slots = layout(&p);
        let values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let merged = merge_twins(&mut slots, &values, &twins(&p, 0.2), 0.5);
        let loops = loop_members(&slots);
        // the twin's loops joined the original's; the third sketch's are its own
        assert_eq!(loops.iter().filter(|l| !l.is_empty()).count(), 4);
        for l in &loops[..2] {
            assert!(l.iter().any(|&i| slots[i].feature == 0));
            assert!(l.iter().any(|&i| slots[i].feature == 1));
        }
        let origin_x = |f: usize| {
            (0..slots.len())
                .find(|&i| slots[i].feature == f && slots[i].role == LiteralRole::PlaneOrigin)
                .map(|i| merged[i])
                .unwrap()
        };
        assert!((origin_x(0) + 0.775).abs() < 1e-12 && origin_x(0) == origin_x(1));
        assert_eq!(origin_x(2), -0.64);
        // depths stay their own
        let depths: Vec<f64> = (0..slots.len())
            .filter(|&i| slots[i].role == LiteralRole::Distance)
            .map(|i| merged[i])
            .collect();
        assert_eq!(depths, vec![0.33, 0.38, 0.16]);
        // the rings' sketch is now one sketch with two loops
        assert_eq!(multi_loop_sketches(&slots).len(), 2);
    }

    #[test]
    fn nearly_axis_parallel_lines_are_straightened() {
        // dev part 00211465's bar end as a perturbed start leaves it: its top 7 degrees off
        let p = Program::parse(
            "import cadquery as cq\n\
             wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
             loop0=wp_sketch0.moveTo(0.0513, 0.0).lineTo(0.0513, 0.1016).lineTo(0.0, 0.108).lineTo(0.0, 0.0).close()\n\
             loop1=wp_sketch0.moveTo(0.3, 0.0).lineTo(0.4, 0.05).threePointArc((0.35, 0.09), (0.3, 0.05)).close()\n\
             solid0=wp_sketch0.add(loop0).add(loop1).extrude(0.75, both=True)\n\
             solid=solid0\n",
        )
        .unwrap();
        let values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let lines = lines(&p);
        // the quad's four sides (the closing one from (0, 0) to itself), the second
        // loop's first line and its closing line
        assert_eq!(lines.len(), 6, "{lines:?}");
        let v = aligned(&values, &lines, 10f64.to_radians());
        let quad: Vec<f64> = (9..17).map(|i| v[i]).collect();
        let top = (0.1016 + 0.108) / 2.0;
        assert_eq!(quad, vec![0.0513, 0.0, 0.0513, top, 0.0, top, 0.0, 0.0]);
        // 27 degrees is a slope, not a slip; the arc's end closes a vertical line
        assert_eq!(v[19..21], values[19..21]);
        assert_eq!(
            aligned(&values, &lines, 5f64.to_radians())[..17],
            values[..17]
        );
    }
}
