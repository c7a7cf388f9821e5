//! Which trial values refinement refuses to consider: changes of meaning that the
//! picture might even like, but that the user did not write and CadQuery may not build.

use crate::data::region::polygon;
use crate::data::{Curve, LiteralRole, Loop, Point2, Program};

/// Radii stay positive, and extrusion distances keep their sign and a thickness: a sign
/// change moves a feature to the other side of its sketch plane, which a single view
/// cannot tell from the original (the framing hides the shift), so only the start's
/// sign has a reason behind it.
pub fn keeps_meaning(role: LiteralRole, old: f64, new: f64, pixel: f64) -> bool {
    match role {
        LiteralRole::Radius => new > 0.5 * pixel,
        LiteralRole::Distance => new.abs() > 0.5 * pixel && (new >= 0.0) == (old >= 0.0),
        _ => true,
    }
}

/// Points closer than this are one point once numbers are rounded to 4 decimals (the
/// printed precision), and OCCT refuses a face with a zero-length edge.
const SAME_POINT: f64 = 1.5e-4;

/// Whether some loop of the program crosses itself or has a (near) zero-length edge, or
/// some sketch has one circle twice or two loops whose outlines cross. CadQuery does not
/// build such a profile as the ray caster's even-odd fill shows it (the face fails, comes
/// out inverted, or a ring of no width comes out a disc), so refinement must not walk into
/// one even where the picture likes it.
pub fn has_bad_loop(program: &Program) -> bool {
    has_crossing_loops(program) || has_folded_loop(program)
}

/// Whether some loop crosses itself or has a (near) zero-length edge: the part of
/// `has_bad_loop` after which CadQuery often still builds a sound solid.
pub fn has_folded_loop(program: &Program) -> bool {
    program.sketches.iter().flat_map(|s| &s.loops).any(|lp| {
        let Loop::Path { start, curves } = lp else {
            return false;
        };
        // arcs as two chords through their middle point: enough to see a loop fold over
        let mut points = vec![*start];
        for c in curves {
            if let Curve::Arc { mid, .. } = c {
                points.push(*mid);
            }
            points.push(c.end());
        }
        // close() adds no edge when the last curve already ends at the start
        if points.last() != Some(start) {
            points.push(*start);
        }
        let degenerate = points.windows(2).any(|w| {
            (w[0][0] - w[1][0]).abs() < SAME_POINT && (w[0][1] - w[1][1]).abs() < SAME_POINT
        });
        degenerate || crosses_itself(&points)
    })
}

fn has_double_circle(loops: &[Loop]) -> bool {
    let circles: Vec<(Point2, f64)> = loops
        .iter()
        .filter_map(|l| match l {
            Loop::Circle { center, radius } => Some((*center, *radius)),
            _ => None,
        })
        .collect();
    circles.iter().enumerate().any(|(k, a)| {
        circles[k + 1..].iter().any(|b| {
            (a.0[0] - b.0[0]).abs() < SAME_POINT
                && (a.0[1] - b.0[1]).abs() < SAME_POINT
                && (a.1 - b.1).abs() < SAME_POINT
        })
    })
}

/// Whether some sketch has two loops whose outlines cross, or one circle twice: the part
/// of `has_bad_loop` after which OCCT's solid is mostly broken (no positive volume), where
/// a loop that crosses itself still often builds a sound solid.
pub fn has_crossing_loops(program: &Program) -> bool {
    program
        .sketches
        .iter()
        .any(|s| has_double_circle(&s.loops) || loops_cross(&s.loops))
}

/// Whether the outlines of two loops of one sketch cross (a hole that cuts the outer
/// boundary or another hole): OCCT then often makes a face whose volume comes out negative
/// or near zero, though the even-odd fill looks right (21 of the 125 such model samples
/// built for 200 held-out pictures came out broken).
fn loops_cross(loops: &[Loop]) -> bool {
    let closed: Vec<Vec<Point2>> = loops
        .iter()
        .map(|lp| {
            let mut p = polygon(lp);
            if let Some(&first) = p.first() {
                p.push(first);
            }
            p
        })
        .collect();
    closed.iter().enumerate().any(|(k, a)| {
        closed[k + 1..].iter().any(|b| {
            a.windows(2)
                .any(|s| b.windows(2).any(|t| properly_cross(s[0], s[1], t[0], t[1])))
        })
    })
}

/// Whether a closed polyline (last point = first) has two non-adjacent segments that
/// properly cross.
fn crosses_itself(points: &[Point2]) -> bool {
    let n = points.len().saturating_sub(1);
    (0..n).any(|i| {
        (i + 1..n).any(|j| {
            let (a, b, c, d) = (points[i], points[i + 1], points[j], points[j + 1]);
            // the first and last segments share the start point
            let adjacent = j == i + 1 || (i == 0 && j == n - 1);
            overlap(a, b, c, d) || (!adjacent && properly_cross(a, b, c, d))
        })
    })
}

/// Whether two segments lie on one line and share a stretch of it (a loop that runs back
/// over itself: CadQuery's face comes out wrong, the even-odd fill looks right).
fn overlap(a: Point2, b: Point2, c: Point2, d: Point2) -> bool {
    let along = [b[0] - a[0], b[1] - a[1]];
    let length = along[0].hypot(along[1]);
    if length < SAME_POINT {
        return false;
    }
    let unit = [along[0] / length, along[1] / length];
    let off_line = |p: Point2| ((p[0] - a[0]) * unit[1] - (p[1] - a[1]) * unit[0]).abs();
    if off_line(c) > SAME_POINT || off_line(d) > SAME_POINT {
        return false;
    }
    let at = |p: Point2| (p[0] - a[0]) * unit[0] + (p[1] - a[1]) * unit[1];
    let (lo, hi) = (at(c).min(at(d)), at(c).max(at(d)));
    hi.min(length) - lo.max(0.0) > SAME_POINT
}

fn properly_cross(a: Point2, b: Point2, c: Point2, d: Point2) -> bool {
    let side = |p: Point2, q: Point2, r: Point2| {
        (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    };
    let (d1, d2) = (side(a, b, c), side(a, b, d));
    let (d3, d4) = (side(c, d, a), side(c, d, b));
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(curves: &str) -> Program {
        super::super::xy_program(&[&format!("moveTo(0.0, 0.0).{curves}.close()")], 0.5)
    }

    #[test]
    fn bow_ties_and_zero_length_edges_are_bad_loops() {
        assert!(!has_bad_loop(&square(
            "lineTo(1.0, 0.0).lineTo(1.0, 1.0).lineTo(0.0, 1.0)"
        )));
        // the last curve may end at the start: close() then adds nothing
        assert!(!has_bad_loop(&square(
            "lineTo(1.0, 0.0).lineTo(1.0, 1.0).lineTo(0.0, 1.0).lineTo(0.0, 0.0)"
        )));
        assert!(has_bad_loop(&square(
            "lineTo(1.0, 0.0).lineTo(0.0, 1.0).lineTo(1.0, 1.0)"
        )));
        assert!(has_bad_loop(&square(
            "lineTo(1.0, 0.0).lineTo(1.0, 1.0).lineTo(1.0, 1.0).lineTo(0.0, 1.0)"
        )));
    }

    #[test]
    fn loops_that_run_back_over_themselves_are_bad() {
        // a comb whose tooth was put back to front: the bottom edge runs back over itself
        assert!(has_bad_loop(&square(
            "lineTo(0.6, 0.0).lineTo(0.6, 0.1).lineTo(0.7, 0.1).lineTo(0.7, 0.0).lineTo(0.3, 0.0).lineTo(0.3, 0.2).lineTo(0.0, 0.2)"
        )));
        // a spike: up and straight back down
        assert!(has_bad_loop(&square(
            "lineTo(1.0, 0.0).lineTo(1.0, 1.0).lineTo(0.5, 1.0).lineTo(0.5, 1.5).lineTo(0.5, 1.0).lineTo(0.0, 1.0)"
        )));
        // lines on one line that only meet end to end are fine
        assert!(!has_bad_loop(&square(
            "lineTo(0.5, 0.0).lineTo(1.0, 0.0).lineTo(1.0, 1.0).lineTo(0.0, 1.0)"
        )));
    }

    #[test]
    fn distances_keep_their_side() {
        let px = 0.01;
        assert!(keeps_meaning(LiteralRole::Distance, 0.02, 0.03, px));
        assert!(!keeps_meaning(LiteralRole::Distance, 0.02, -0.03, px));
        assert!(keeps_meaning(LiteralRole::Distance, -0.02, -0.03, px));
        assert!(!keeps_meaning(LiteralRole::Distance, 0.02, 0.001, px));
        assert!(!keeps_meaning(LiteralRole::Radius, 0.02, -0.01, px));
    }
    #[test]
    fn holes_that_cut_the_outline_or_each_other_are_bad() {
        let plate = |holes: &[&str]| {
            let mut loops =
                vec!["moveTo(0.0, 0.0).lineTo(2.0, 0.0).lineTo(2.0, 1.0).lineTo(0.0, 1.0).close()"];
            loops.extend_from_slice(holes);
            super::super::xy_program(&loops, 0.5)
        };
        assert!(!has_bad_loop(&plate(&[
            "moveTo(0.5, 0.5).circle(0.2)",
            "moveTo(1.5, 0.5).circle(0.2)"
        ])));
        // through the top edge
        assert!(has_bad_loop(&plate(&["moveTo(0.5, 0.9).circle(0.2)"])));
        // two holes that overlap
        assert!(has_bad_loop(&plate(&[
            "moveTo(0.5, 0.5).circle(0.2)",
            "moveTo(0.7, 0.5).circle(0.2)"
        ])));
        // a square hole across the right edge
        assert!(has_bad_loop(&plate(&[
            "moveTo(1.8, 0.4).lineTo(2.2, 0.4).lineTo(2.2, 0.6).lineTo(1.8, 0.6).close()"
        ])));
    }

    #[test]
    fn one_circle_twice_in_a_sketch_is_bad() {
        let sketch = |r: f64| {
            super::super::xy_program(
                &[
                    "moveTo(0.5, 0.0).circle(0.5)",
                    &format!("moveTo(0.5, 0.0).circle({r:?})"),
                ],
                0.5,
            )
        };
        // a ring of no width
        assert!(has_bad_loop(&sketch(0.5)));
        assert!(!has_bad_loop(&sketch(0.4)));
    }
}
