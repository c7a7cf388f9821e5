//! Snapping: numbers of one kind that ended up within a pixel or two of each other are
//! most likely equal in the design (the sides of a rectangle, holes of one size, features
//! on one plane). DeepCAD's numbers live on coarse grids, so exact equalities are the
//! rule; they also matter beyond the picture: IoU_vol aligns principal axes, and a square
//! that is a hair skewed turns its axes by up to 45 degrees.

use super::layout::{loop_members, multi_loop_sketches, Slot};
use super::moves::{length_like, movable, same_kind, ZERO};

/// A relation snapping can impose on a group of numbers.
#[derive(Debug, Clone, Copy)]
pub enum Relation {
    /// See `mirror_sets`.
    Mirror,
    /// See `clusters`.
    Equal,
    /// See `magnitude_clusters`.
    Magnitude,
}

impl Relation {
    /// The order snapping tries them: mirror symmetries first (they move pairs apart,
    /// which equalities would freeze), then equalities within a kind, then magnitudes
    /// across kinds.
    pub const IN_ORDER: [Relation; 3] = [Relation::Mirror, Relation::Equal, Relation::Magnitude];

    /// Groups the relation nearly holds on, within `tol`.
    pub fn candidates(self, slots: &[Slot], values: &[f64], tol: f64) -> Vec<Vec<usize>> {
        match self {
            Relation::Mirror => mirror_sets(slots, values, tol),
            Relation::Equal => clusters(slots, values, tol),
            Relation::Magnitude => magnitude_clusters(slots, values, tol),
        }
    }

    /// The values with the relation made exact on `group`.
    pub fn applied(self, values: &[f64], group: &[usize]) -> Vec<f64> {
        match self {
            Relation::Mirror => mirrored(values, group),
            Relation::Equal => snapped(values, group),
            Relation::Magnitude => snapped_magnitudes(values, group),
        }
    }
}

/// Candidate equalities: groups of same-kind literals whose values lie within `tol` of
/// their neighbours (and within 2 `tol` overall), not all equal already; tightest first.
fn clusters(slots: &[Slot], values: &[f64], tol: f64) -> Vec<Vec<usize>> {
    let mut kinds: Vec<Vec<usize>> = Vec::new();
    for i in movable(slots) {
        match kinds
            .iter_mut()
            .find(|k| same_kind(&slots[i], &slots[k[0]]))
        {
            Some(k) => k.push(i),
            None => kinds.push(vec![i]),
        }
    }
    let groups = kinds
        .into_iter()
        .flat_map(|kind| chains(kind, |i| values[i], tol))
        .collect();
    tightest_first(groups)
}

/// Candidate equalities across kinds: lengths of any kind (a square's x and y, a circle's
/// centre and radius, mirrored coordinates) whose magnitudes lie within `tol` of their
/// neighbours (and within 2 `tol` overall), not all equal already and not all of one kind
/// and sign (`clusters` offers those); tightest first.
fn magnitude_clusters(slots: &[Slot], values: &[f64], tol: f64) -> Vec<Vec<usize>> {
    let lengths: Vec<usize> = movable(slots)
        .into_iter()
        .filter(|&i| length_like(&slots[i]) && values[i].abs() > ZERO)
        .collect();
    let groups = chains(lengths, |i| values[i].abs(), tol)
        .into_iter()
        .filter(|(_, g)| {
            !g.iter().all(|&i| {
                same_kind(&slots[i], &slots[g[0]]) && (values[i] < 0.0) == (values[g[0]] < 0.0)
            })
        })
        .collect();
    tightest_first(groups)
}

/// `members` sorted by `size` and cut into runs whose neighbours lie within `tol` (and
/// whole runs within 2 `tol`); the runs of two or more that are not all equal, with their
/// spread.
fn chains(
    mut members: Vec<usize>,
    size: impl Fn(usize) -> f64,
    tol: f64,
) -> Vec<(f64, Vec<usize>)> {
    members.sort_by(|&a, &b| size(a).total_cmp(&size(b)));
    let mut out = Vec::new();
    let mut flush = |group: &mut Vec<usize>| {
        let spread = group.last().map_or(0.0, |&l| size(l) - size(group[0]));
        if group.len() > 1 && spread > 0.0 {
            out.push((spread, std::mem::take(group)));
        }
        group.clear();
    };
    let mut group: Vec<usize> = Vec::new();
    for i in members {
        let joins = group
            .last()
            .is_some_and(|&j| size(i) - size(j) <= tol && size(i) - size(group[0]) <= 2.0 * tol);
        if !joins {
            flush(&mut group);
        }
        group.push(i);
    }
    flush(&mut group);
    out
}

fn tightest_first(mut groups: Vec<(f64, Vec<usize>)>) -> Vec<Vec<usize>> {
    groups.sort_by(|a, b| a.0.total_cmp(&b.0));
    groups.into_iter().map(|(_, g)| g).collect()
}

/// The values with the group's magnitudes set to their mean, each keeping its sign.
fn snapped_magnitudes(values: &[f64], group: &[usize]) -> Vec<f64> {
    let mean = group.iter().map(|&i| values[i].abs()).sum::<f64>() / group.len() as f64;
    let mut out = values.to_vec();
    for &i in group {
        out[i] = mean.copysign(values[i]);
    }
    out
}

/// Candidate mirror symmetries: per axis, the coordinates of one loop, or of one sketch
/// with several loops, that are their own mirror image about the middle of their range
/// within `tol` (each has a partner there), not exactly so already. Designs are mostly
/// symmetric (slots cut on both sides, holes in a row, hexagons), and a part a hair off
/// its symmetry turns IoU_vol's principal axes.
fn mirror_sets(slots: &[Slot], values: &[f64], tol: f64) -> Vec<Vec<usize>> {
    let loops = loop_members(slots);
    let sketches = multi_loop_sketches(slots);
    let mut sets: Vec<Vec<usize>> = Vec::new();
    for axis in 0..2u8 {
        for members in loops.iter().chain(&sketches) {
            sets.push(
                members
                    .iter()
                    .copied()
                    .filter(|&i| slots[i].is_coordinate_on(axis))
                    .collect(),
            );
        }
    }
    sets.retain(|set| {
        let off = mirror_partners(values, set)
            .iter()
            .map(|&(i, j, c)| (values[i] + values[j] - 2.0 * c).abs())
            .fold(0.0, f64::max);
        let (lo, hi) = range(values, set);
        hi - lo > tol && off > 0.0 && off <= tol
    });
    sets
}

/// The values with the set made exactly symmetric: each coordinate and its partner
/// share their offset from the middle.
fn mirrored(values: &[f64], set: &[usize]) -> Vec<f64> {
    let mut out = values.to_vec();
    for (i, j, c) in mirror_partners(values, set) {
        out[i] = c + (values[i] - values[j]) / 2.0;
    }
    out
}

/// For each member: its nearest mirror partner (possibly itself) and the middle.
fn mirror_partners(values: &[f64], set: &[usize]) -> Vec<(usize, usize, f64)> {
    let (lo, hi) = range(values, set);
    let c = (lo + hi) / 2.0;
    set.iter()
        .map(|&i| {
            let want = 2.0 * c - values[i];
            let j = set
                .iter()
                .copied()
                .min_by(|&a, &b| {
                    (values[a] - want)
                        .abs()
                        .total_cmp(&(values[b] - want).abs())
                })
                .expect("not empty");
            (i, j, c)
        })
        .collect()
}

/// The point sets mirror symmetry is looked for in: each loop's points, and each
/// multi-loop sketch's, as (x literal, y literal) pairs.
pub fn symmetry_sets(slots: &[Slot]) -> Vec<Vec<(usize, usize)>> {
    let points = |members: &Vec<usize>| -> Vec<(usize, usize)> {
        let on = |axis: u8| {
            members
                .iter()
                .copied()
                .filter(move |&i| slots[i].is_coordinate_on(axis))
        };
        on(0).zip(on(1)).collect()
    };
    loop_members(slots)
        .iter()
        .chain(&multi_loop_sketches(slots))
        .map(points)
        .filter(|p| p.len() >= 2)
        .collect()
}

/// Versions of a point set made mirror-symmetric about a sketch axis it straddles, when
/// it is too far off for `mirror_sets` but near enough to be meant so: each point paired
/// with the point nearest its mirror image (each the other's), every pair within `share`
/// of the set's extent. DeepCAD puts symmetric profiles about the sketch axis, and equal
/// magnitudes then tie the pairs in the search (`moves::ties`). A perturbed hexagon is
/// 5-10 % off its symmetry (dev part 00540970). Other axes (the middle of the range)
/// turn a slanted rectangle into a trapezoid: measured worse on the perturbed dev parts.
pub fn symmetric_versions(values: &[f64], points: &[(usize, usize)], share: f64) -> Vec<Vec<f64>> {
    let at = |k: usize| [values[points[k].0], values[points[k].1]];
    let n = points.len();
    let [lo, hi] = crate::data::region::bounds(&(0..n).map(at).collect::<Vec<_>>());
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let mut out: Vec<Vec<f64>> = Vec::new();
    // `flip`: the axis the mirror negates
    for flip in 0..2 {
        if !(lo[flip] < 0.0 && hi[flip] > 0.0) || extent <= ZERO {
            continue;
        }
        let keep = 1 - flip;
        let image = |k: usize| {
            let mut p = at(k);
            p[flip] = -p[flip];
            p
        };
        let partner: Vec<(usize, f64)> = (0..n)
            .map(|k| {
                let m = image(k);
                (0..n)
                    .map(|j| {
                        let q = at(j);
                        (j, (q[0] - m[0]).abs().max((q[1] - m[1]).abs()))
                    })
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .expect("not empty")
            })
            .collect();
        let paired = (0..n).all(|k| partner[partner[k].0].0 == k && partner[k].1 <= share * extent);
        if !paired {
            continue;
        }
        let mut v = values.to_vec();
        for k in 0..n {
            let (p, q) = (at(k), at(partner[k].0));
            let ids = [points[k].0, points[k].1];
            v[ids[flip]] = (p[flip] - q[flip]) / 2.0;
            v[ids[keep]] = (p[keep] + q[keep]) / 2.0;
        }
        if v != values && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Each sketch's circles (with two or more), as the literal indices of their centre's x
/// and y and their radius.
pub fn sketch_circles(slots: &[Slot]) -> Vec<Vec<[usize; 3]>> {
    let mut by_sketch: Vec<Vec<[usize; 3]>> = Vec::new();
    for (i, slot) in slots.iter().enumerate() {
        if slot.role != crate::data::LiteralRole::Radius || i < 2 {
            continue;
        }
        match by_sketch.last_mut() {
            Some(c) if slots[c[0][2]].feature == slot.feature => c.push([i - 2, i - 1, i]),
            _ => by_sketch.push(vec![[i - 2, i - 1, i]]),
        }
    }
    by_sketch.retain(|c| c.len() >= 2);
    by_sketch
}

/// Versions of one sketch's circles with a pattern made exact, each to be tried on the
/// one before: circles whose centres lie within `share` of the larger radius made
/// concentric (a ring, a boss on a flange), then circles apart from each other whose
/// radii lie within `share` of the larger made one size (the holes of a bolt pattern).
/// DeepCAD's designers drew them so; a start 15 % off them (a perturbed or proposed one)
/// gets trapped with a crooked ring or odd holes (dev part 00387732).
pub fn circle_pattern_versions(
    values: &[f64],
    circles: &[[usize; 3]],
    share: f64,
) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    let centre = |v: &[f64], c: [usize; 3]| [v[c[0]], v[c[1]]];
    let radius = |v: &[f64], c: [usize; 3]| v[c[2]].abs();
    let distance = |v: &[f64], a: [usize; 3], b: [usize; 3]| {
        let (p, q) = (centre(v, a), centre(v, b));
        (p[0] - q[0]).hypot(p[1] - q[1])
    };
    // concentric: groups joined pair by pair
    let n = circles.len();
    let mut group: Vec<usize> = (0..n).collect();
    for a in 0..n {
        for b in a + 1..n {
            let (ca, cb) = (circles[a], circles[b]);
            let d = distance(values, ca, cb);
            if d <= share * radius(values, ca).max(radius(values, cb)) {
                let (ga, gb) = (group[a], group[b]);
                group.iter_mut().filter(|g| **g == gb).for_each(|g| *g = ga);
            }
        }
    }
    let mut v = values.to_vec();
    for g in 0..n {
        let members: Vec<[usize; 3]> = (0..n)
            .filter(|&k| group[k] == g)
            .map(|k| circles[k])
            .collect();
        if members.len() < 2 {
            continue;
        }
        for axis in 0..2 {
            let ids: Vec<usize> = members.iter().map(|c| c[axis]).collect();
            v = snapped(&v, &ids);
        }
    }
    if v != values {
        out.push(v.clone());
    }
    // one size: runs of near-equal radii whose circles keep clear of each other
    let runs = chains(
        (0..n).collect(),
        |k| radius(&v, circles[k]).max(ZERO).ln(),
        (1.0 + share).ln(),
    );
    for (_, run) in runs {
        let apart = run.iter().enumerate().all(|(x, &a)| {
            run[x + 1..].iter().all(|&b| {
                let (ca, cb) = (circles[a], circles[b]);
                distance(&v, ca, cb) >= radius(&v, ca) + radius(&v, cb)
            })
        });
        if apart {
            let ids: Vec<usize> = run.iter().map(|&k| circles[k][2]).collect();
            v = snapped_magnitudes(&v, &ids);
            out.push(v.clone());
        }
    }
    out
}

fn range(values: &[f64], set: &[usize]) -> (f64, f64) {
    set.iter()
        .map(|&i| values[i])
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        })
}

/// The values with the group set to its mean.
fn snapped(values: &[f64], group: &[usize]) -> Vec<f64> {
    let mean = group.iter().map(|&i| values[i]).sum::<f64>() / group.len() as f64;
    let mut out = values.to_vec();
    for &i in group {
        out[i] = mean;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::layout::layout;
    use super::*;

    /// The slots and numbers of one loop (`moveTo(..)...`, closed) on the XY plane,
    /// extruded by `distance`.
    fn xy_sketch(path: &str, distance: f64) -> (Vec<Slot>, Vec<f64>) {
        let p = super::super::xy_program(&[&format!("{path}.close()")], distance);
        let values = p.literals().iter().map(|l| l.value).collect();
        (layout(&p), values)
    }

    #[test]
    fn near_equal_sides_cluster_and_far_ones_do_not() {
        let (slots, values) = xy_sketch(
            "moveTo(1.0, 0.0).lineTo(1.004, 0.5).lineTo(0.0, 0.502).lineTo(0.0, 0.0)",
            0.3,
        );
        let c = clusters(&slots, &values, 0.01);
        let named: Vec<Vec<f64>> = c
            .iter()
            .map(|g| g.iter().map(|&i| values[i]).collect())
            .collect();
        // x: 1.0 ~ 1.004; y: 0.5 ~ 0.502; the zeros are equal already
        assert_eq!(named, vec![vec![0.5, 0.502], vec![1.0, 1.004]], "{named:?}");
        let s = snapped(&values, &c[1]);
        assert!((s[c[1][0]] - 1.002).abs() < 1e-12);
        assert_eq!(s[c[1][0]], s[c[1][1]]);
    }

    #[test]
    fn near_equal_magnitudes_cluster_across_kinds() {
        // a nearly square plate centred on its origin: x -0.5..0.503, y -0.498..0.5
        let (slots, values) = xy_sketch(
            "moveTo(-0.5, -0.498).lineTo(0.503, -0.498).lineTo(0.503, 0.5).lineTo(-0.5, 0.5)",
            0.2,
        );
        let c = magnitude_clusters(&slots, &values, 0.0035);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].len(), 8, "every corner number");
        let s = snapped_magnitudes(&values, &c[0]);
        for &i in &c[0] {
            assert!((s[i].abs() - 0.50025).abs() < 1e-12);
            assert_eq!(s[i].signum(), values[i].signum());
        }
        // the thickness is no corner's length
        assert!(!c[0].iter().any(|&i| values[i] == 0.2));
        // a tolerance below the gaps finds nothing
        assert!(magnitude_clusters(&slots, &values, 0.0005).is_empty());
    }

    #[test]
    fn nearly_symmetric_loops_are_mirrored() {
        // two slots cut into a bar, one of them 0.004 off the mirror image of the other
        let (slots, values) = xy_sketch("moveTo(0.04, 0.0).lineTo(0.04, 0.05).lineTo(0.3, 0.05).lineTo(0.3, 0.0).lineTo(0.33, 0.0).lineTo(0.33, 0.05).lineTo(0.584, 0.05).lineTo(0.584, 0.0).lineTo(0.625, 0.0).lineTo(0.625, 0.07).lineTo(0.0, 0.07).lineTo(0.0, 0.0)", 0.75);
        let sets = mirror_sets(&slots, &values, 0.01);
        // x is nearly symmetric about 0.3125; y (0, 0.05, 0.07) is not
        assert_eq!(sets.len(), 1, "{sets:?}");
        assert!(sets[0].iter().all(|&i| slots[i].axis == 0));
        let m = mirrored(&values, &sets[0]);
        let xs: Vec<f64> = sets[0].iter().map(|&i| m[i]).collect();
        for &x in &xs {
            assert!(
                xs.iter().any(|&y| (x + y - 0.625).abs() < 1e-12),
                "{x} has no mirror image in {xs:?}"
            );
        }
        // done already: nothing more to offer; too far off: nothing either
        assert!(mirror_sets(&slots, &m, 0.01).is_empty());
        assert!(mirror_sets(&slots, &values, 0.001).is_empty());
    }

    #[test]
    fn a_hexagon_far_off_its_symmetry_gets_a_symmetric_version() {
        // dev part 00540970's hexagon as a perturbed start leaves it: 5-10 % off its
        // symmetry about the sketch's x axis
        let (slots, values) = xy_sketch(
            "moveTo(0.4188, -0.6747).lineTo(1.1684, -0.5902).lineTo(1.603, 0.0).lineTo(1.1845, 0.5924).lineTo(0.3727, 0.583).lineTo(0.0, 0.0)",
            0.5,
        );
        let sets = symmetry_sets(&slots);
        assert_eq!(sets.len(), 1, "the one loop");
        assert_eq!(sets[0].len(), 6, "its six corners");
        let versions = symmetric_versions(&values, &sets[0], 0.12);
        assert_eq!(versions.len(), 1, "x does not straddle the y axis");
        let v = &versions[0];
        let p: Vec<[f64; 2]> = sets[0].iter().map(|&(x, y)| [v[x], v[y]]).collect();
        // each corner's mirror image across the x axis is a corner
        for a in &p {
            assert!(
                p.iter()
                    .any(|b| (b[0] - a[0]).abs() < 1e-12 && (b[1] + a[1]).abs() < 1e-12),
                "{a:?} has no mirror image in {p:?}"
            );
        }
        // the first corner pairs with the fifth, not the fourth
        assert!((p[0][0] - (0.4188 + 0.3727) / 2.0).abs() < 1e-12);
        // too tight a share: nothing
        assert!(symmetric_versions(&values, &sets[0], 0.02).is_empty());
        // a slanted rectangle across the axis comes out square with it
        let (slots, values) = xy_sketch(
            "moveTo(0.37, -0.2).lineTo(0.41, 0.18).lineTo(0.0, 0.19).lineTo(0.0, -0.2)",
            0.4,
        );
        let set = &symmetry_sets(&slots)[0];
        let v = &symmetric_versions(&values, set, 0.12)[0];
        let p: Vec<[f64; 2]> = set.iter().map(|&(x, y)| [v[x], v[y]]).collect();
        assert_eq!((p[0][0], p[1][0]), (0.39, 0.39));
        assert_eq!(
            (p[0][1], p[1][1], p[2][1], p[3][1]),
            (-0.19, 0.19, 0.195, -0.195)
        );
        // an L bracket off the axes is not offered
        let (slots, values) = xy_sketch(
            "moveTo(1.5, 0.0).lineTo(1.5, 0.25).lineTo(0.38, 0.25).lineTo(0.38, 0.96).lineTo(0.0, 0.96).lineTo(0.0, 0.0)",
            0.4,
        );
        assert!(symmetric_versions(&values, &symmetry_sets(&slots)[0], 0.12).is_empty());
    }
    #[test]
    fn a_bolt_pattern_is_made_concentric_and_one_size() {
        // dev part 00387732's flange as its perturbed start leaves it: a disc, a centre
        // hole off its centre, and four bolt holes of four sizes
        let p = super::super::xy_program(
            &[
                "moveTo(0.6473, 0.0).circle(0.7468)",
                "moveTo(0.2691, 0.0).circle(0.1823)",
                "moveTo(0.676, 0.0).circle(0.2377)",
                "moveTo(0.6413, -0.3613).circle(0.1571)",
                "moveTo(0.6606, 0.4186).circle(0.1853)",
                "moveTo(0.9829, 0.0).circle(0.1718)",
            ],
            0.18,
        );
        let slots = layout(&p);
        let values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let circles = sketch_circles(&slots);
        assert_eq!(circles.len(), 1);
        assert_eq!(circles[0].len(), 6);
        let c = &circles[0];
        let versions = circle_pattern_versions(&values, c, 0.25);
        assert_eq!(versions.len(), 2, "concentric, then one size");
        let [concentric, sized] = [&versions[0], &versions[1]];
        // the disc and the centre hole share a centre; the bolt holes keep theirs
        assert_eq!(concentric[c[0][0]], concentric[c[2][0]]);
        assert!((concentric[c[0][0]] - (0.6473 + 0.676) / 2.0).abs() < 1e-12);
        assert_eq!(concentric[c[3][0]], 0.6413);
        // the four bolt holes are one size, their mean; the centre hole and the disc
        // keep theirs
        let r = |k: usize| sized[c[k][2]];
        assert!((r(1) - (0.1823 + 0.1571 + 0.1853 + 0.1718) / 4.0).abs() < 1e-12);
        assert!([3, 4, 5].iter().all(|&k| r(k) == r(1)));
        assert_eq!((r(0), r(2)), (0.7468, 0.2377));
        // a tight share sees no pattern
        assert!(circle_pattern_versions(&values, c, 0.01).is_empty());
    }
}
