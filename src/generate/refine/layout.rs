//! Where each literal of a program sits: which feature, which loop, which axis. Moves and
//! snapping need this to know which numbers belong together.

use crate::data::{Curve, Extent, LiteralRole, Loop, Program};

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

/// Each loop's literals (coordinates and radius), loop by loop.
pub fn loop_members(slots: &[Slot]) -> Vec<Vec<usize>> {
    let loops = slots.iter().filter_map(|s| s.lp).max().map_or(0, |m| m + 1);
    (0..loops)
        .map(|l| {
            (0..slots.len())
                .filter(|&i| slots[i].lp == Some(l))
                .collect()
        })
        .collect()
}

/// The loop literals of each sketch that has more than one loop, sketch by sketch.
pub fn multi_loop_sketches(slots: &[Slot]) -> Vec<Vec<usize>> {
    let features = slots.iter().map(|s| s.feature).max().map_or(0, |m| m + 1);
    (0..features)
        .map(|f| -> Vec<usize> {
            (0..slots.len())
                .filter(|&i| slots[i].feature == f && slots[i].lp.is_some())
                .collect()
        })
        .filter(|members| {
            // a sketch's loops are consecutive
            let mut loops: Vec<usize> = members.iter().filter_map(|&i| slots[i].lp).collect();
            loops.dedup();
            loops.len() > 1
        })
        .collect()
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
}
