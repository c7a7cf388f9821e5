//! The directions refinement searches along. Single numbers alone cannot slide a
//! rectangle or a hole without first breaking its shape (and the score punishes that), so
//! loops and sketches also move as wholes: shift in x or y, grow about their centre,
//! stretch along one axis. Numbers found equal (see `snap`) move as one, so a snapped
//! rectangle stays a rectangle.

use super::layout::Slot;
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

/// Groups of movable literals that hold the same value (exactly: snapping made them so)
/// and the same kind (one sketch's x, one sketch's y, radii, distances, one origin axis).
pub fn ties(slots: &[Slot], values: &[f64]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in movable(slots) {
        let found = groups.iter_mut().find(|g| {
            let j = g[0];
            same_kind(&slots[i], &slots[j]) && values[i] == values[j]
        });
        match found {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// Whether two literals measure the same thing, so equal values are a relation worth
/// keeping (a sketch's x coordinates; radii; extrude distances; one origin axis).
pub fn same_kind(a: &Slot, b: &Slot) -> bool {
    use LiteralRole as R;
    match (a.role, b.role) {
        (R::Coordinate, R::Coordinate) => a.feature == b.feature && a.axis == b.axis,
        (R::PlaneOrigin, R::PlaneOrigin) => a.axis == b.axis,
        (R::Radius, R::Radius) | (R::Distance, R::Distance) => true,
        _ => false,
    }
}

/// Every move: each tie group as one number, then each loop (shift x, shift y, grow,
/// stretch x, stretch y) and each sketch with several loops (grow, stretch x, stretch y).
pub fn moves(slots: &[Slot], values: &[f64]) -> Vec<Move> {
    let mut out: Vec<Move> = ties(slots, values)
        .into_iter()
        .filter_map(|g| Move::new(g.into_iter().map(|i| (i, 1.0)).collect()))
        .collect();
    let loops = slots.iter().filter_map(|s| s.lp).max().map_or(0, |m| m + 1);
    for l in 0..loops {
        let members: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].lp == Some(l))
            .collect();
        for axis in 0..2u8 {
            let shift = members
                .iter()
                .filter(|&&i| slots[i].role == LiteralRole::Coordinate && slots[i].axis == axis)
                .map(|&i| (i, 1.0))
                .collect();
            out.extend(Move::new(shift));
        }
        out.extend(scaled(&members, slots, values, [true, true]));
        out.extend(scaled(&members, slots, values, [true, false]));
        out.extend(scaled(&members, slots, values, [false, true]));
    }
    let features = slots.iter().map(|s| s.feature).max().map_or(0, |m| m + 1);
    for f in 0..features {
        let members: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].feature == f && slots[i].lp.is_some())
            .collect();
        let loops_here = {
            let mut ls: Vec<usize> = members.iter().filter_map(|&i| slots[i].lp).collect();
            ls.dedup();
            ls.len()
        };
        if loops_here > 1 {
            out.extend(scaled(&members, slots, values, [true, true]));
            out.extend(scaled(&members, slots, values, [true, false]));
            out.extend(scaled(&members, slots, values, [false, true]));
        }
    }
    out
}

/// Scaling about the centre of the members' coordinate box, along the chosen sketch axes
/// (radii scale with a uniform growth only). The step is relative: a step of 0.01 grows
/// by 1 %.
fn scaled(members: &[usize], slots: &[Slot], values: &[f64], axes: [bool; 2]) -> Option<Move> {
    let coordinate =
        |i: usize, axis: u8| slots[i].role == LiteralRole::Coordinate && slots[i].axis == axis;
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
        assert!(t.iter().any(|g| g == &radii), "{t:?}");
        // plane directions never move
        assert!(t.iter().flatten().all(|&i| !matches!(
            slots[i].role,
            LiteralRole::PlaneXDir | LiteralRole::PlaneNormal
        )));
    }
}
