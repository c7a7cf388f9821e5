//! Structural variants of a good candidate: what refinement of numbers cannot reach.
//! A solid where the picture shows a thin-walled tube, a hole too many, an extrusion
//! that goes the wrong way: each variant changes the structure once and is then scored
//! against the picture like any other candidate.

use crate::data::{Curve, Extent, Loop, Point2, Program};

/// Wall ratios tried when hollowing a single-loop sketch (inner size / outer size).
const HOLLOW_RATIOS: [f64; 3] = [0.75, 0.88, 0.95];

/// Every single-change variant of `program`, named by the change.
pub fn variants(program: &Program) -> Vec<(String, Program)> {
    let mut out = Vec::new();
    for (s, sketch) in program.sketches.iter().enumerate() {
        if sketch.loops.len() == 1 {
            for ratio in HOLLOW_RATIOS {
                if let Some(inner) = inset(&sketch.loops[0], ratio) {
                    let mut p = program.clone();
                    p.sketches[s].loops.push(inner);
                    out.push((format!("hollow{s}x{ratio}"), p));
                }
            }
        }
        // dropping a hole (inner loops come after the outer one in canonical code)
        for l in 1..sketch.loops.len().min(5) {
            let mut p = program.clone();
            p.sketches[s].loops.remove(l);
            out.push((format!("drop-loop{s}.{l}"), p));
        }
        if let Some(op) = program.ops.get(s) {
            let flipped = match op.extent {
                Extent::OneSided { distance } => Some(Extent::OneSided {
                    distance: -distance,
                }),
                Extent::TwoSided { first, second } => Some(Extent::TwoSided {
                    first: -first,
                    second: -second,
                }),
                Extent::Symmetric { .. } => None,
            };
            if let Some(extent) = flipped {
                let mut p = program.clone();
                p.ops[s].extent = extent;
                out.push((format!("flip{s}"), p));
            }
        }
    }
    for (_, p) in &mut out {
        p.round_numbers();
    }
    out.retain(|(_, p)| p != program);
    out
}

/// The loop shrunk about its centre by `ratio` (a wall of the same shape).
fn inset(l: &Loop, ratio: f64) -> Option<Loop> {
    match l {
        Loop::Circle { center, radius } => Some(Loop::Circle {
            center: *center,
            radius: radius * ratio,
        }),
        Loop::Path { start, curves } => {
            let points: Vec<Point2> = std::iter::once(*start)
                .chain(curves.iter().map(Curve::end))
                .collect();
            let n = points.len() as f64;
            let c = [
                points.iter().map(|p| p[0]).sum::<f64>() / n,
                points.iter().map(|p| p[1]).sum::<f64>() / n,
            ];
            let scale = |p: Point2| [c[0] + (p[0] - c[0]) * ratio, c[1] + (p[1] - c[1]) * ratio];
            // only convex outlines shrink into themselves; a concave one would cross its wall
            if !is_convex(&points) {
                return None;
            }
            Some(Loop::Path {
                start: scale(*start),
                curves: curves
                    .iter()
                    .map(|cv| match cv {
                        Curve::Line { to } => Curve::Line { to: scale(*to) },
                        Curve::Arc { mid, to } => Curve::Arc {
                            mid: scale(*mid),
                            to: scale(*to),
                        },
                    })
                    .collect(),
            })
        }
    }
}

fn is_convex(points: &[Point2]) -> bool {
    let n = points.len();
    if n < 3 {
        return false;
    }
    let mut sign = 0.0f64;
    for i in 0..n {
        let (a, b, c) = (points[i], points[(i + 1) % n], points[(i + 2) % n]);
        let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        if cross.abs() < 1e-12 {
            continue;
        }
        if sign != 0.0 && cross.signum() != sign {
            return false;
        }
        sign = cross.signum();
    }
    sign != 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(code: &str) -> Program {
        Program::parse(code).unwrap()
    }

    const HEADER: &str = "import cadquery as cq\nwp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n";

    #[test]
    fn a_cylinder_gets_tubes_and_a_flip() {
        let p = program(&format!(
            "{HEADER}loop0=wp_sketch0.moveTo(0.5, 0.0).circle(0.5)\nsolid0=wp_sketch0.add(loop0).extrude(0.75)\nsolid=solid0\n"
        ));
        let v = variants(&p);
        let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["hollow0x0.75", "hollow0x0.88", "hollow0x0.95", "flip0"]
        );
        let Loop::Circle { radius, .. } = v[1].1.sketches[0].loops[1] else {
            panic!("an inner circle")
        };
        assert!((radius - 0.44).abs() < 1e-9, "{radius}");
        // every variant is canonical code again
        for (name, p) in &v {
            assert_eq!(&Program::parse(&p.to_code()).unwrap(), p, "{name}");
        }
    }

    #[test]
    fn holes_can_be_dropped_and_concave_outlines_are_not_hollowed() {
        let p = program(&format!(
            "{HEADER}loop0=wp_sketch0.moveTo(0.0, 0.0).lineTo(1.0, 0.0).lineTo(1.0, 0.2).lineTo(0.2, 0.2).lineTo(0.2, 1.0).lineTo(0.0, 1.0).close()\nsolid0=wp_sketch0.add(loop0).extrude(0.1)\nsolid=solid0\n"
        ));
        assert!(variants(&p).iter().all(|(n, _)| !n.starts_with("hollow")));
        let q = program(&format!(
            "{HEADER}loop0=wp_sketch0.moveTo(0.5, 0.0).circle(0.5)\nloop1=wp_sketch0.moveTo(0.5, 0.0).circle(0.1)\nsolid0=wp_sketch0.add(loop0).add(loop1).extrude(0.2)\nsolid=solid0\n"
        ));
        let v = variants(&q);
        let dropped = v.iter().find(|(n, _)| n == "drop-loop0.1").unwrap();
        assert_eq!(dropped.1.sketches[0].loops.len(), 1);
    }
}
