//! The directions refinement searches along. Single numbers alone cannot slide a
//! rectangle or a hole without first breaking its shape (and the score punishes that), so
//! loops and sketches also move as wholes: shift in x or y, grow about their centre,
//! stretch along one axis. Numbers found equal (see `snap`) move as one, so a snapped
//! rectangle stays a rectangle.

use super::layout::{loop_members, multi_loop_sketches, Slot};
use crate::data::LiteralRole;

/// A direction in literal space: (literal index, weight). A step of `s` moves literal i by
/// `s * weight`; `reach` is the largest |weight|, so `s * reach` is how far the move goes.
#[derive(Debug, Clone)]
pub struct Move {
    pub along: Vec<(usize, f64)>,
    pub reach: f64,
}

impl Move {
    fn new(along: Vec<(usize, f64)>) -> Option<Move> {
        let reach = along.iter().map(|a| a.1.abs()).fold(0.0, f64::max);
        (reach > 1e-12).then_some(Move { along, reach })
    }
}

/// Literal indices that refinement may move: everything but plane directions (which are
/// structure, decided by a proposal).
pub fn movable(slots: &[Slot]) -> Vec<usize> {
    slots
        .iter()
        .enumerate()
        .filter(|(_, s)| !matches!(s.role, LiteralRole::PlaneXDir | LiteralRole::PlaneNormal))
        .map(|(i, _)| i)
        .collect()
}

/// Groups of movable literals that move as one, with the sign each moves by: numbers of
/// the same kind that hold the same value, and lengths of any kind whose magnitudes are
/// exactly equal (snapping made them so, or the program was written so: DeepCAD's
/// numbers sit on coarse grids, so a radius equal to its centre's x, or a square's x
/// equal to its y, is one design value). Zeros only tie within a kind.
pub fn ties(slots: &[Slot], values: &[f64]) -> Vec<Vec<(usize, f64)>> {
    let mut groups: Vec<Vec<(usize, f64)>> = Vec::new();
    for i in movable(slots) {
        let found = groups.iter_mut().find_map(|g| {
            tie_sign(&slots[g[0].0], &slots[i], values[g[0].0], values[i]).map(|w| (g, w))
        });
        match found {
            Some((g, w)) => g.push((i, w)),
            None => groups.push(vec![(i, 1.0)]),
        }
    }
    groups
}

/// Whether literal b moves with literal a, and with which sign.
fn tie_sign(a: &Slot, b: &Slot, va: f64, vb: f64) -> Option<f64> {
    if same_kind(a, b) && va == vb {
        return Some(1.0);
    }
    let magnitude = va.abs();
    (length_like(a) && length_like(b) && magnitude > ZERO && magnitude == vb.abs()).then(|| {
        if (va < 0.0) == (vb < 0.0) {
            1.0
        } else {
            -1.0
        }
    })
}

/// Magnitudes below this are zeros: an origin or a corner on an axis, not a length.
pub const ZERO: f64 = 1e-9;

/// Literals that are lengths in the part's units (not directions).
pub fn length_like(s: &Slot) -> bool {
    use LiteralRole as R;
    matches!(
        s.role,
        R::Coordinate | R::Radius | R::Distance | R::PlaneOrigin
    )
}

/// Whether two literals measure the same thing, so equal values are a relation worth
/// keeping (a sketch's x coordinates; radii; extrude distances; one origin axis).
pub fn same_kind(a: &Slot, b: &Slot) -> bool {
    use LiteralRole as R;
    match (a.role, b.role) {
        // one sketch, or a loop and its twin's (`layout::merge_twins`)
        (R::Coordinate, R::Coordinate) => {
            (a.feature == b.feature || (a.lp.is_some() && a.lp == b.lp)) && a.axis == b.axis
        }
        (R::PlaneOrigin, R::PlaneOrigin) => a.axis == b.axis,
        (R::Radius, R::Radius) | (R::Distance, R::Distance) => true,
        _ => false,
    }
}

/// Every move: each tie group as one number, then each loop (shift x, shift y, grow,
/// stretch x, stretch y) and each sketch with several loops (grow, stretch x, stretch y),
/// these dragging along the numbers tied to theirs, so that what snapping made one stays
/// one (a bolt pattern's radii, concentric circles, holes in a row).
pub fn moves(slots: &[Slot], values: &[f64]) -> Vec<Move> {
    let groups = ties(slots, values);
    let mut out: Vec<Move> = groups.iter().cloned().filter_map(Move::new).collect();
    let mut whole: Vec<Move> = Vec::new();
    for members in loop_members(slots) {
        for axis in 0..2u8 {
            let shift = members
                .iter()
                .filter(|&&i| slots[i].is_coordinate_on(axis))
                .map(|&i| (i, 1.0))
                .collect();
            whole.extend(Move::new(shift));
        }
        whole.extend(stretches(&members, slots, values));
    }
    for members in multi_loop_sketches(slots) {
        whole.extend(stretches(&members, slots, values));
    }
    out.extend(whole.into_iter().filter_map(|m| with_ties(m, &groups)));
    out
}

/// The move with every number tied to one of its own moving the same way (by the tie's
/// sign); numbers the move names keep their own weight.
fn with_ties(m: Move, groups: &[Vec<(usize, f64)>]) -> Option<Move> {
    let mut along = m.along.clone();
    for &(i, w) in &m.along {
        let Some((group, sign)) = groups
            .iter()
            .find_map(|g| g.iter().find(|t| t.0 == i).map(|t| (g, t.1)))
        else {
            continue;
        };
        for &(j, sj) in group {
            if !along.iter().any(|a| a.0 == j) {
                along.push((j, w * sj * sign));
            }
        }
    }
    Move::new(along)
}

/// Grow, stretch x, stretch y (see `scaled`).
fn stretches<'a>(
    members: &'a [usize],
    slots: &'a [Slot],
    values: &'a [f64],
) -> impl Iterator<Item = Move> + 'a {
    [[true, true], [true, false], [false, true]]
        .into_iter()
        .filter_map(move |axes| scaled(members, slots, values, axes))
}

/// Scaling about the centre of the members' coordinate box, along the chosen sketch axes
/// (radii scale with a uniform growth only). The step is relative: a step of 0.01 grows
/// by 1 %.
fn scaled(members: &[usize], slots: &[Slot], values: &[f64], axes: [bool; 2]) -> Option<Move> {
    let coordinate = |i: usize, axis: u8| slots[i].is_coordinate_on(axis);
    let centre = |axis: u8| {
        let (lo, hi) = members
            .iter()
            .filter(|&&i| coordinate(i, axis))
            .map(|&i| values[i])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
        if lo.is_finite() {
            (lo + hi) / 2.0
        } else {
            0.0
        }
    };
    let c = [centre(0), centre(1)];
    let along = members
        .iter()
        .filter_map(|&i| match slots[i].role {
            LiteralRole::Radius if axes == [true, true] => Some((i, values[i])),
            LiteralRole::Coordinate if axes[slots[i].axis as usize] => {
                Some((i, values[i] - c[slots[i].axis as usize]))
            }
            _ => None,
        })
        .collect();
    Move::new(along)
}

#[cfg(test)]
mod tests {
    use super::super::layout::layout;
    use super::*;

    fn washer() -> crate::data::Program {
        crate::generate::proposals::PrimitiveFits::templates()
            .into_iter()
            .find(|(n, _)| n == "washer-z")
            .unwrap()
            .1
    }

    #[test]
    fn group_moves_name_only_sketch_numbers() {
        let p = washer();
        let slots = layout(&p);
        let values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let singles = ties(&slots, &values).len();
        for m in moves(&slots, &values).iter().skip(singles) {
            for &(i, _) in &m.along {
                assert!(
                    matches!(slots[i].role, LiteralRole::Coordinate | LiteralRole::Radius),
                    "{:?}",
                    slots[i]
                );
            }
        }
    }

    #[test]
    fn equal_numbers_of_one_kind_are_tied() {
        let p = washer();
        let slots = layout(&p);
        let mut values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let radii: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].role == LiteralRole::Radius)
            .collect();
        assert_eq!(radii.len(), 2);
        values[radii[1]] = values[radii[0]];
        let t = ties(&slots, &values);
        let plain = |g: &Vec<(usize, f64)>| g.iter().map(|m| m.0).collect::<Vec<_>>();
        assert!(t.iter().any(|g| plain(g) == radii), "{t:?}");
        // plane directions never move
        assert!(t.iter().flatten().all(|&(i, _)| !matches!(
            slots[i].role,
            LiteralRole::PlaneXDir | LiteralRole::PlaneNormal
        )));
    }

    #[test]
    fn equal_magnitudes_tie_across_kinds_with_their_sign() {
        let p = crate::data::Program::parse(
            "import cadquery as cq\n\
             wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
             loop0=wp_sketch0.moveTo(-0.5, 0.0).lineTo(0.5, 0.0).lineTo(0.5, 0.5).lineTo(-0.5, 0.5).close()\n\
             solid0=wp_sketch0.add(loop0).extrude(0.25)\n\
             solid=solid0\n",
        )
        .unwrap();
        let slots = layout(&p);
        let values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let t = ties(&slots, &values);
        let half: Vec<&Vec<(usize, f64)>> =
            t.iter().filter(|g| values[g[0].0].abs() == 0.5).collect();
        // every 0.5 and -0.5, x and y, is one group; the minus ones move the other way
        assert_eq!(half.len(), 1, "{t:?}");
        assert_eq!(half[0].len(), 6);
        for &(i, w) in half[0] {
            assert_eq!(w * values[i].signum(), values[half[0][0].0].signum());
        }
        // zeros of x and of y stay apart, and the distance is alone
        let zero_groups = t.iter().filter(|g| values[g[0].0] == 0.0).count();
        assert!(zero_groups >= 2, "{t:?}");
        assert!(t.iter().any(|g| g.len() == 1 && values[g[0].0] == 0.25));
    }
    #[test]
    fn whole_loop_moves_drag_the_numbers_tied_to_theirs() {
        // two holes of one size: growing one grows the other
        let p = super::super::xy_program(
            &[
                "moveTo(0.0, 0.0).circle(1.0)",
                "moveTo(-0.5, 0.1).circle(0.2)",
                "moveTo(0.5, -0.3).circle(0.2)",
            ],
            0.25,
        );
        let slots = layout(&p);
        let values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let radius = |k: usize| {
            (0..slots.len())
                .filter(|&i| slots[i].role == LiteralRole::Radius)
                .nth(k)
                .unwrap()
        };
        let (small, other) = (radius(1), radius(2));
        let ms = moves(&slots, &values);
        // loop 1's grow: its radius and its centre, nothing of loop 0
        let grow = ms
            .iter()
            .skip(ties(&slots, &values).len())
            .find(|m| m.along.iter().any(|a| a.0 == small) && m.along.len() >= 2)
            .expect("a grow of loop 1");
        let weight = |i: usize| grow.along.iter().find(|a| a.0 == i).map(|a| a.1);
        assert_eq!(weight(other), weight(small), "{grow:?}");
        assert_eq!(weight(radius(0)), None);
    }
}
