//! Geometric checks the grammar cannot make: a plane whose normal lies along its x direction
//! (CadQuery's y = normal × x is then zero: "gp_Vec::Normalized() - vector has zero norm";
//! 2 of the 4 masked failures of the step-13,000 model on 200 held-out pictures), a segment
//! that ends where the pen already is
//! (`.lineTo` to the current point: "BRepAdaptor_Curve::No geometry"), and a
//! `threePointArc` whose points are collinear or equal (no circle passes through them:
//! "GC_MakeArcOfCircle::Value() - no result"). CadQuery cannot build either; every one of the
//! 47 programs of the step-5,900 model that failed on 200 held-out pictures failed so (45
//! arcs, 2 lines). When the next token ends a coordinate that would make such a segment, the
//! numbers that would are masked, like the tokens the grammar refuses.

use crate::data::frame::dot;
use crate::data::program::cross;
use crate::data::region::dist;
use crate::data::Point2;

/// The sine of the angle below which three points count as collinear: such an arc is a
/// straight line to within a part in 10,000 anyway.
const COLLINEAR_SINE: f64 = 1e-4;
/// Points closer than this are the same point (OCC's confusion tolerance).
const SAME_POINT: f64 = 1e-7;

/// Clears `allowed[t]` for every token `t` that would complete, at the end of `text`, the
/// last coordinate of a degenerate segment's point. Leaves `allowed` untouched when that
/// would clear every allowed token (the grammar must still go on).
pub fn mask_degenerate_segments(text: &[u8], allowed: &mut [bool], token_bytes: &[Vec<u8>]) {
    let line_start = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let Ok(line) = std::str::from_utf8(&text[line_start..]) else {
        return;
    };
    let Some((point, partial)) = point_being_ended(line) else {
        return;
    };
    let degenerate: Vec<usize> = allowed
        .iter()
        .enumerate()
        .filter(|&(_, &ok)| ok)
        .filter_map(|(t, _)| {
            let spelt = std::str::from_utf8(token_bytes.get(t)?).ok()?;
            let value = match partial {
                "" => number(spelt)?,
                _ => number(&format!("{partial}{spelt}"))?,
            };
            point.degenerate_with(value).then_some(t)
        })
        .collect();
    let still_allowed = allowed.iter().filter(|&&ok| ok).count();
    if degenerate.len() < still_allowed {
        for t in degenerate {
            allowed[t] = false;
        }
    }
}

/// A coordinate being written, and what it must not be.
enum PointInProgress {
    /// The y of the end of `.lineTo(x, ` or of the middle of `.threePointArc((x, `: the
    /// point must not be the pen.
    NotThePen { pen: Point2, x: f64 },
    /// The x of the end of `.threePointArc((mx, my), (`: when the pen and the middle are on
    /// one vertical line, an end on it would be collinear whatever its y.
    ArcEndX { pen: Point2, middle: Point2 },
    /// The y of the end of `.threePointArc((mx, my), (x, `: no circle through the points.
    ArcEnd { pen: Point2, middle: Point2, x: f64 },
    /// The last component of a plane's normal `cq.Vector(nx, ny, `: the normal must not lie
    /// along the plane's x direction.
    NormalZ { x_dir: [f64; 3], nx: f64, ny: f64 },
}

impl PointInProgress {
    /// Whether the coordinate being written makes the segment degenerate at `value`.
    fn degenerate_with(&self, value: f64) -> bool {
        match *self {
            PointInProgress::NotThePen { pen, x } => dist(pen, [x, value]) < SAME_POINT,
            PointInProgress::ArcEndX { pen, middle } => {
                (middle[0] - pen[0]).abs() < SAME_POINT && (value - pen[0]).abs() < SAME_POINT
            }
            PointInProgress::ArcEnd { pen, middle, x } => is_degenerate(pen, middle, [x, value]),
            PointInProgress::NormalZ { x_dir, nx, ny } => {
                let n = [nx, ny, value];
                norm(cross(x_dir, n)) <= COLLINEAR_SINE * norm(x_dir) * norm(n)
            }
        }
    }
}

/// When `line` ends inside a coordinate of a segment's point: what it must not be, and what
/// is already written of it.
fn point_being_ended(line: &str) -> Option<(PointInProgress, &str)> {
    if let Some(normal) = plane_normal_being_ended(line) {
        return Some(normal);
    }
    const LINE: &str = ".lineTo(";
    const ARC: &str = ".threePointArc((";
    let (at, call) = [LINE, ARC]
        .into_iter()
        .filter_map(|c| line.rfind(c).map(|i| (i, c)))
        .max_by_key(|(i, _)| *i)?;
    let pen = pen_before(&line[..at])?;
    let args = &line[at + call.len()..];
    match (call, args.split_once("), (")) {
        (ARC, Some((middle, end))) => {
            let middle = pair(middle)?;
            match in_y(end) {
                Some((x, partial)) => Some((PointInProgress::ArcEnd { pen, middle, x }, partial)),
                None => Some((
                    PointInProgress::ArcEndX { pen, middle },
                    still_written(end)?,
                )),
            }
        }
        (_, None) => {
            let (x, partial) = in_y(args)?;
            Some((PointInProgress::NotThePen { pen, x }, partial))
        }
        _ => None,
    }
}

/// When `line` ends inside the last component of a plane's normal: the plane's x direction,
/// the normal's first two components, and what is written of the third.
fn plane_normal_being_ended(line: &str) -> Option<(PointInProgress, &str)> {
    const PLANE: &str = "cq.Plane(cq.Vector(";
    let at = line.rfind(PLANE)?;
    let parts: Vec<&str> = line[at + PLANE.len()..].split("), cq.Vector(").collect();
    let [_, x_dir, normal] = parts[..] else {
        return None;
    };
    let x: Vec<f64> = x_dir.split(", ").map(number).collect::<Option<_>>()?;
    let [x0, x1, x2] = x[..] else {
        return None;
    };
    let mut n = normal.splitn(3, ", ");
    let (nx, ny) = (number(n.next()?)?, number(n.next()?)?);
    let partial = still_written(n.next()?)?;
    Some((
        PointInProgress::NormalZ {
            x_dir: [x0, x1, x2],
            nx,
            ny,
        },
        partial,
    ))
}

fn norm(v: [f64; 3]) -> f64 {
    dot(v, v).sqrt()
}

/// `x, ` then the start of y (no closing bracket yet): x and what is written of y.
fn in_y(point: &str) -> Option<(f64, &str)> {
    let (x, partial) = point.split_once(", ")?;
    Some((number(x)?, still_written(partial)?))
}

/// `partial` when it can be the start of a number still being written (nothing after it).
fn still_written(partial: &str) -> Option<&str> {
    (!partial.contains([')', ',', ' ', '('])).then_some(partial)
}

fn pen_before(before: &str) -> Option<Point2> {
    let starts = [".moveTo(", ".lineTo(", ".threePointArc(("];
    let (at, call) = starts
        .iter()
        .filter_map(|c| before.rfind(c).map(|i| (i, *c)))
        .max_by_key(|(i, _)| *i)?;
    let args = before[at + call.len()..].strip_suffix(')')?;
    match call {
        ".threePointArc((" => {
            let (_, end) = args.strip_suffix(')')?.split_once("), (")?;
            pair(end)
        }
        _ => pair(args),
    }
}

/// `x, y` as two numbers.
fn pair(text: &str) -> Option<Point2> {
    let (x, y) = text.split_once(", ")?;
    Some([number(x)?, number(y)?])
}

/// A plain decimal literal (`-0.25`, `3`), nothing else.
fn number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && digits.bytes().last().is_some_and(|b| b.is_ascii_digit());
    plain.then(|| text.parse().ok()).flatten()
}

/// Whether no circle passes through the three points.
fn is_degenerate(a: Point2, b: Point2, c: Point2) -> bool {
    let (u, v) = ([b[0] - a[0], b[1] - a[1]], [c[0] - a[0], c[1] - a[1]]);
    let (lu, lv) = (dist(a, b), dist(a, c));
    if lu < SAME_POINT || lv < SAME_POINT || dist(b, c) < SAME_POINT {
        return true;
    }
    (u[0] * v[1] - u[1] * v[0]).abs() <= COLLINEAR_SINE * lu * lv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Vec<Vec<u8>> {
        ["0.2", "0.3", "-0.1", ")", "0.", "5", "2", "0.4"]
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .collect()
    }

    fn masked(text: &str) -> Vec<&'static str> {
        let names = ["0.2", "0.3", "-0.1", ")", "0.", "5", "2", "0.4"];
        let mut allowed = vec![true; names.len()];
        mask_degenerate_segments(text.as_bytes(), &mut allowed, &tokens());
        names
            .iter()
            .zip(allowed)
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| *n)
            .collect()
    }

    #[test]
    fn masks_end_points_on_the_line_through_the_pen_and_the_middle() {
        let head = "import cadquery as cq\nloop1=wp_sketch0.moveTo(0.1, 0.2).lineTo(0.3, 0.2)";
        // pen (0.3, 0.2), middle (0.4, 0.2): y = 0.2 is collinear
        let text = format!("{head}.threePointArc((0.4, 0.2), (0.5, ");
        assert_eq!(masked(&text), ["0.2"]);
        // written as digits: `0.` then `2` spells 0.2
        assert_eq!(masked(&format!("{text}0.")), ["2"]);
        // an end point equal to the pen: (0.3, 0.2)
        let text = format!("{head}.threePointArc((0.4, 0.3), (0.3, ");
        assert_eq!(masked(&text), ["0.2"]);
        // the pen after an earlier arc is that arc's end point: (0.5, 0.4)
        let text = format!(
            "{head}.threePointArc((0.4, 0.3), (0.5, 0.4)).threePointArc((0.6, 0.3), (0.7, "
        );
        assert_eq!(masked(&text), ["0.2"]);
        // after moveTo alone; a vertical line: (0.1, 0.2), (0.1, 0.3), (0.1, y) for every y
        let text = "loop0=wp_sketch0.moveTo(0.1, 0.2).threePointArc((0.1, 0.3), (0.1, ";
        assert_eq!(masked(text), ["0.2", "0.3", "-0.1", "5", "2", "0.4"]);
    }

    #[test]
    fn masks_segments_that_end_at_the_pen() {
        let head = "loop1=wp_sketch0.moveTo(0.1, 0.2).lineTo(0.3, 0.4)";
        // a lineTo back to the pen (0.3, 0.4)
        assert_eq!(masked(&format!("{head}.lineTo(0.3, ")), ["0.4"]);
        assert_eq!(masked(&format!("{head}.lineTo(0.5, ")), Vec::<&str>::new());
        // an arc's middle point on the pen
        assert_eq!(masked(&format!("{head}.threePointArc((0.3, ")), ["0.4"]);
        // after moveTo alone
        assert_eq!(
            masked("loop1=wp_sketch0.moveTo(0.1, 0.2).lineTo(0.1, "),
            ["0.2"]
        );
    }

    #[test]
    fn masks_arc_ends_on_the_vertical_through_the_pen_and_the_middle() {
        // pen (0.4, 0.2) and middle (0.4, 0.3): an end at x = 0.4 is collinear for any y
        let head = "loop1=wp_sketch0.moveTo(0.1, 0.2).lineTo(0.4, 0.2)";
        assert_eq!(
            masked(&format!("{head}.threePointArc((0.4, 0.3), (")),
            ["0.4"]
        );
        assert_eq!(
            masked(&format!("{head}.threePointArc((0.5, 0.3), (")),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn leaves_other_places_and_fair_arcs_alone() {
        let head = "loop1=wp_sketch0.moveTo(0.1, 0.2).lineTo(0.3, 0.2)";
        for text in [
            format!("{head}.threePointArc((0.4, 0.3), (0.3, 0.4)"),
            format!("{head}.threePointArc((0.4, "),
            format!("{head}.lineTo(0.5, "),
            format!("{head}.threePointArc((0.4, 0.3), (0.5, 0.4)).close()\n"),
        ] {
            assert!(masked(&text).is_empty(), "{text}");
        }
    }

    #[test]
    fn masks_plane_normals_along_the_x_direction() {
        let head = "wp_sketch3 = cq.Workplane(cq.Plane(cq.Vector(0.2, 0.0, 0.0), ";
        // x = (0.0, 0.2, 0.0) scaled: a normal (0, 0.3, z) lies along it only for z = 0
        let names = ["0.2", "0.3", "-0.1", ")", "0.", "5", "2", "0.4", "0.0", "0"];
        let bytes: Vec<Vec<u8>> = names.iter().map(|t| t.as_bytes().to_vec()).collect();
        let run = |text: &str| {
            let mut allowed = vec![true; names.len()];
            mask_degenerate_segments(text.as_bytes(), &mut allowed, &bytes);
            names
                .iter()
                .zip(allowed)
                .filter(|(_, ok)| !ok)
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
        };
        let text = format!("{head}cq.Vector(0.0, 0.2, 0.0), cq.Vector(0.0, 0.3, ");
        assert_eq!(run(&text), ["0.0", "0"]);
        // the same, written as digits: `0.` then `0`
        assert_eq!(run(&format!("{text}0.")), ["0"]);
        // a normal that leaves the x direction's line whatever its z
        let text = format!("{head}cq.Vector(0.0, 0.2, 0.0), cq.Vector(1.0, 0.3, ");
        assert!(run(&text).is_empty());
        // still writing the x direction or the normal's y: nothing to say yet
        assert!(run(&format!("{head}cq.Vector(0.0, 0.2, ")).is_empty());
        assert!(run(&format!("{head}cq.Vector(0.0, 0.2, 0.0), cq.Vector(0.0, ")).is_empty());
    }

    #[test]
    fn never_masks_every_allowed_token() {
        let text = b"loop0=wp_sketch0.moveTo(0.1, 0.2).threePointArc((0.1, 0.3), (0.1, ";
        let bytes = vec![b"0.2".to_vec(), b"0.4".to_vec()];
        let mut allowed = vec![true, true];
        mask_degenerate_segments(text, &mut allowed, &bytes);
        assert_eq!(allowed, [true, true]);
    }
}
