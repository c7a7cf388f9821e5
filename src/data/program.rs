//! The canonical program: DeepCAD-style sketch-and-extrude models as the model writes them
//! (the GenCAD-Code style of docs/DESIGN.md "Canonical code").
//!
//! A program is a list of features; feature `i` is `sketches[i]` (a plane and closed loops)
//! extruded by `ops[i]` and combined into `solid`. `to_code` prints the canonical text,
//! `Program::parse` (in `parse.rs`) reads it back, and `literals` / `set_literal` expose the
//! numbers to the refinement stage.

use std::fmt::Write as _;

/// A point in sketch coordinates (the plane's x and y).
pub type Point2 = [f64; 2];
/// A point or direction in world coordinates.
pub type Vec3 = [f64; 3];

/// A sketch plane as CadQuery's `cq.Plane(origin, xDir, normal)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub origin: Vec3,
    pub x_dir: Vec3,
    pub normal: Vec3,
}

impl Plane {
    /// The world XY plane through `origin` (normal +Z).
    pub fn xy(origin: Vec3) -> Self {
        Self {
            origin,
            x_dir: [1.0, 0.0, 0.0],
            normal: [0.0, 0.0, 1.0],
        }
    }

    /// The plane's y direction (normal × x), as CadQuery computes it.
    pub fn y_dir(&self) -> Vec3 {
        let n = normalized(self.normal);
        let x = normalized(self.x_dir);
        normalized(cross(n, x))
    }

    /// World position of a sketch point.
    pub fn to_world(&self, p: Point2) -> Vec3 {
        let x = normalized(self.x_dir);
        let y = self.y_dir();
        std::array::from_fn(|i| self.origin[i] + p[0] * x[i] + p[1] * y[i])
    }
}

/// One curve of a path loop; it starts where the previous one ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Curve {
    /// `.lineTo(x, y)`
    Line { to: Point2 },
    /// `.threePointArc((mid), (to))`
    Arc { mid: Point2, to: Point2 },
}

impl Curve {
    pub fn end(&self) -> Point2 {
        match self {
            Curve::Line { to } | Curve::Arc { to, .. } => *to,
        }
    }
}

/// A closed loop of a sketch. The first loop of a sketch is its outer boundary; CadQuery
/// treats loops nested inside it as holes.
#[derive(Debug, Clone, PartialEq)]
pub enum Loop {
    /// `.moveTo(center).circle(radius)`
    Circle { center: Point2, radius: f64 },
    /// `.moveTo(start)` + curves + `.close()`; `close()` adds the line back to `start`
    /// when the last curve does not end there.
    Path { start: Point2, curves: Vec<Curve> },
}

/// A sketch: closed loops on a plane.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    pub plane: Plane,
    pub loops: Vec<Loop>,
}

/// How far the sketch is extruded along its normal.
#[derive(Debug, Clone, PartialEq)]
pub enum Extent {
    /// `.extrude(distance)`; negative goes against the normal.
    OneSided { distance: f64 },
    /// `.extrude(distance, both=True)`: `distance` to each side.
    Symmetric { distance: f64 },
    /// Two extrusions of the same sketch, unioned: `.extrude(first)` and `.extrude(second)`
    /// (second is usually negative). Printed as GenCAD-Code does, repeating the workplane
    /// and loops and going through `solid_temp` for later features.
    TwoSided { first: f64, second: f64 },
}

/// How a feature's solid joins `solid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Combine {
    /// The first feature: `solid=solid0`. Printed as a union anywhere else.
    New,
    Union,
    Cut,
    Intersect,
}

impl Combine {
    pub fn method(self) -> &'static str {
        match self {
            Combine::New | Combine::Union => "union",
            Combine::Cut => "cut",
            Combine::Intersect => "intersect",
        }
    }
}

/// The extrusion of `sketches[i]` and how it joins `solid`.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub extent: Extent,
    pub combine: Combine,
}

/// A canonical program. Invariant: `sketches.len() == ops.len()`; `ops[i]` extrudes
/// `sketches[i]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    pub sketches: Vec<Sketch>,
    pub ops: Vec<Operation>,
}

/// What a numeric literal means, for the refinement stage (which moves numbers within
/// their role) and for statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiteralRole {
    PlaneOrigin,
    PlaneXDir,
    PlaneNormal,
    /// A sketch x or y coordinate (points, arc mid points, circle centres).
    Coordinate,
    Radius,
    /// An extrude distance.
    Distance,
}

/// One number of a program: which feature it belongs to, its role and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Literal {
    pub feature: usize,
    pub role: LiteralRole,
    pub value: f64,
}

/// The precision the canonical code prints numbers with: DeepCAD values are quantized far
/// coarser than 1e-4 relative to the unit part, so four decimals lose nothing visible.
pub const DECIMALS: i32 = 4;

/// The precision of the code `generate` answers with (`Program::to_code_precise`).
/// Refinement leaves numbers on no decimal grid, and IoU_vol (exact OCC booleans after
/// scaling by inertia) is a lottery for a part within 1e-4 of the truth: nearly
/// coincident faces break OCC's fuse, and square sections turn their inertia axes.
/// Measured on dev parts, the truth scaled by 1.2857 scores IoU_vol 0.50 (00467787) and
/// 0.11 (00141107) printed with 4 decimals, 1.00 with 8.
pub const OUTPUT_DECIMALS: i32 = 8;

/// Prints a number the canonical way: at most four decimals, always with a decimal
/// point, never `-0.0`.
pub fn format_number(v: f64) -> String {
    format_number_to(v, DECIMALS)
}

/// Prints a number rounded to `decimals` decimals, as short as it goes, always with a
/// decimal point, never `-0.0`.
pub fn format_number_to(v: f64, decimals: i32) -> String {
    let r = round_number_to(v, decimals);
    if r == 0.0 {
        return "0.0".to_string();
    }
    let s = format!("{r}");
    if s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

/// Rounds a number to what `format_number` prints, so a program holding it survives a
/// print/parse round trip unchanged.
pub fn round_number(v: f64) -> f64 {
    round_number_to(v, DECIMALS)
}

/// Rounds a number to `decimals` decimals.
pub fn round_number_to(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    let r = (v * scale).round() / scale;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

impl Program {
    /// The canonical CadQuery code of the program.
    pub fn to_code(&self) -> String {
        self.to_code_with(DECIMALS)
    }

    /// The canonical code with `OUTPUT_DECIMALS`: what `generate` answers with.
    pub fn to_code_precise(&self) -> String {
        self.to_code_with(OUTPUT_DECIMALS)
    }

    /// The canonical code with numbers printed to `decimals` decimals.
    pub fn to_code_with(&self, decimals: i32) -> String {
        let number = |v: f64| format_number_to(v, decimals);
        let mut out = String::from("import cadquery as cq\n");
        let mut next_loop = 0usize;
        for (i, (sketch, op)) in self.sketches.iter().zip(&self.ops).enumerate() {
            let workplane = workplane_line(i, &sketch.plane, decimals);
            let mut loop_lines = String::new();
            let mut adds = String::new();
            for lp in &sketch.loops {
                let _ = writeln!(
                    loop_lines,
                    "loop{next_loop}=wp_sketch{i}{}",
                    loop_chain(lp, decimals)
                );
                let _ = write!(adds, ".add(loop{next_loop})");
                next_loop += 1;
            }
            let _ = writeln!(out, "# Generating a workplane for sketch {i}");
            out.push_str(&workplane);
            out.push_str(&loop_lines);
            let extrude = |args: String| format!("solid{i}=wp_sketch{i}{adds}.extrude({args})\n");
            let combine = |target: &str| {
                if i == 0 {
                    format!("solid={target}\n")
                } else {
                    format!("solid=solid.{}({target})\n", op.combine.method())
                }
            };
            match &op.extent {
                Extent::OneSided { distance } => {
                    out.push_str(&extrude(number(*distance)));
                    out.push_str(&combine(&format!("solid{i}")));
                }
                Extent::Symmetric { distance } => {
                    out.push_str(&extrude(format!("{}, both=True", number(*distance))));
                    out.push_str(&combine(&format!("solid{i}")));
                }
                Extent::TwoSided { first, second } => {
                    out.push_str(&extrude(number(*first)));
                    // GenCAD-Code's pattern: the first feature starts `solid` and unions
                    // the second half into it; later features build `solid_temp` first.
                    if i == 0 {
                        out.push_str(&combine(&format!("solid{i}")));
                    } else {
                        let _ = writeln!(out, "solid_temp=solid{i}");
                    }
                    out.push_str(&workplane);
                    out.push_str(&loop_lines);
                    out.push_str(&extrude(number(*second)));
                    if i == 0 {
                        let _ = writeln!(out, "solid=solid.union(solid{i})");
                    } else {
                        let _ = writeln!(out, "solid_temp=solid_temp.union(solid{i})");
                        out.push_str(&combine("solid_temp"));
                    }
                }
            }
        }
        out
    }

    /// Every numeric literal, in the order `to_code` prints them (two-sided repeats
    /// counted once).
    pub fn literals(&self) -> Vec<Literal> {
        let mut out = Vec::new();
        // Walks a clone because the walker needs `&mut`; programs are small.
        self.clone().for_each_number_mut(|feature, role, v| {
            out.push(Literal {
                feature,
                role,
                value: *v,
            })
        });
        out
    }

    /// Sets the `index`-th literal of `literals()`. Returns false when out of range.
    pub fn set_literal(&mut self, index: usize, value: f64) -> bool {
        let mut i = 0;
        let mut done = false;
        self.for_each_number_mut(|_, _, v| {
            if i == index {
                *v = value;
                done = true;
            }
            i += 1;
        });
        done
    }

    /// Sets all literals at once, in `literals()` order. Fails (changing nothing) when the
    /// count differs.
    pub fn set_literals(&mut self, values: &[f64]) -> Result<(), String> {
        let n = self.literals().len();
        if values.len() != n {
            return Err(format!(
                "the program has {n} literals, got {} values",
                values.len()
            ));
        }
        let mut it = values.iter();
        self.for_each_number_mut(|_, _, v| *v = *it.next().expect("counted above"));
        Ok(())
    }

    /// Visits every number with its feature index and role, in printing order.
    pub fn for_each_number_mut(&mut self, mut f: impl FnMut(usize, LiteralRole, &mut f64)) {
        use LiteralRole as R;
        for (i, (sketch, op)) in self
            .sketches
            .iter_mut()
            .zip(self.ops.iter_mut())
            .enumerate()
        {
            let plane = &mut sketch.plane;
            for v in &mut plane.origin {
                f(i, R::PlaneOrigin, v);
            }
            for v in &mut plane.x_dir {
                f(i, R::PlaneXDir, v);
            }
            for v in &mut plane.normal {
                f(i, R::PlaneNormal, v);
            }
            for lp in &mut sketch.loops {
                match lp {
                    Loop::Circle { center, radius } => {
                        center.iter_mut().for_each(|v| f(i, R::Coordinate, v));
                        f(i, R::Radius, radius);
                    }
                    Loop::Path { start, curves } => {
                        start.iter_mut().for_each(|v| f(i, R::Coordinate, v));
                        for c in curves {
                            match c {
                                Curve::Line { to } => {
                                    to.iter_mut().for_each(|v| f(i, R::Coordinate, v))
                                }
                                Curve::Arc { mid, to } => {
                                    mid.iter_mut().for_each(|v| f(i, R::Coordinate, v));
                                    to.iter_mut().for_each(|v| f(i, R::Coordinate, v));
                                }
                            }
                        }
                    }
                }
            }
            match &mut op.extent {
                Extent::OneSided { distance } | Extent::Symmetric { distance } => {
                    f(i, R::Distance, distance)
                }
                Extent::TwoSided { first, second } => {
                    f(i, R::Distance, first);
                    f(i, R::Distance, second);
                }
            }
        }
    }

    /// Rounds every number to the printed precision (see `round_number`).
    pub fn round_numbers(&mut self) {
        self.round_numbers_to(DECIMALS);
    }

    /// Rounds every number to `decimals` decimals.
    pub fn round_numbers_to(&mut self, decimals: i32) {
        self.for_each_number_mut(|_, _, v| *v = round_number_to(*v, decimals));
    }

    /// Number of loops over all sketches.
    pub fn loop_count(&self) -> usize {
        self.sketches.iter().map(|s| s.loops.len()).sum()
    }
}

fn workplane_line(i: usize, plane: &Plane, decimals: i32) -> String {
    let v = |p: &Vec3| {
        format!(
            "cq.Vector({}, {}, {})",
            format_number_to(p[0], decimals),
            format_number_to(p[1], decimals),
            format_number_to(p[2], decimals)
        )
    };
    format!(
        "wp_sketch{i} = cq.Workplane(cq.Plane({}, {}, {}))\n",
        v(&plane.origin),
        v(&plane.x_dir),
        v(&plane.normal)
    )
}

fn point(p: &Point2, decimals: i32) -> String {
    format!(
        "{}, {}",
        format_number_to(p[0], decimals),
        format_number_to(p[1], decimals)
    )
}

fn loop_chain(lp: &Loop, decimals: i32) -> String {
    match lp {
        Loop::Circle { center, radius } => {
            format!(
                ".moveTo({}).circle({})",
                point(center, decimals),
                format_number_to(*radius, decimals)
            )
        }
        Loop::Path { start, curves } => {
            let mut s = format!(".moveTo({})", point(start, decimals));
            for c in curves {
                match c {
                    Curve::Line { to } => {
                        let _ = write!(s, ".lineTo({})", point(to, decimals));
                    }
                    Curve::Arc { mid, to } => {
                        let _ = write!(
                            s,
                            ".threePointArc(({}), ({}))",
                            point(mid, decimals),
                            point(to, decimals)
                        );
                    }
                }
            }
            s.push_str(".close()");
            s
        }
    }
}

pub(crate) fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn normalized(a: Vec3) -> Vec3 {
    let n = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    if n == 0.0 {
        a
    } else {
        [a[0] / n, a[1] / n, a[2] / n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plate_with_hole() -> Program {
        Program {
            sketches: vec![Sketch {
                plane: Plane::xy([-0.375, -0.25, 0.0]),
                loops: vec![
                    Loop::Path {
                        start: [0.75, 0.0],
                        curves: vec![
                            Curve::Line { to: [0.75, 0.5] },
                            Curve::Line { to: [0.0, 0.5] },
                            Curve::Line { to: [0.0, 0.0] },
                        ],
                    },
                    Loop::Circle {
                        center: [0.375, 0.25],
                        radius: 0.1,
                    },
                ],
            }],
            ops: vec![Operation {
                extent: Extent::OneSided { distance: 0.125 },
                combine: Combine::New,
            }],
        }
    }

    #[test]
    fn precise_code_keeps_eight_decimals_and_round_trips() {
        let mut p = plate_with_hole();
        p.sketches[0].loops[1] = Loop::Circle {
            center: [0.3394736842105263, 0.25],
            radius: 0.2970394736842105,
        };
        let code = p.to_code_precise();
        assert!(
            code.contains(".moveTo(0.33947368, 0.25).circle(0.29703947)"),
            "{code}"
        );
        assert!(p.to_code().contains(".moveTo(0.3395, 0.25).circle(0.297)"));
        // numbers with few decimals print as they always did
        assert!(code.contains("extrude(0.125)"));
        let mut rounded = p.clone();
        rounded.round_numbers_to(OUTPUT_DECIMALS);
        assert_eq!(Program::parse(&code).unwrap(), rounded);
    }

    #[test]
    fn numbers_print_short() {
        assert_eq!(format_number(0.06842105263157895), "0.0684");
        assert_eq!(format_number(1.0), "1.0");
        assert_eq!(format_number(-0.75), "-0.75");
        assert_eq!(format_number(6.123233995736766e-17), "0.0");
        assert_eq!(format_number(-1e-9), "0.0");
        assert_eq!(format_number(0.0078125), "0.0078");
        assert_eq!(format_number(-2.0), "-2.0");
    }

    #[test]
    fn prints_the_canonical_style() {
        expect_test::expect![[r#"
            import cadquery as cq
            # Generating a workplane for sketch 0
            wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.375, -0.25, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))
            loop0=wp_sketch0.moveTo(0.75, 0.0).lineTo(0.75, 0.5).lineTo(0.0, 0.5).lineTo(0.0, 0.0).close()
            loop1=wp_sketch0.moveTo(0.375, 0.25).circle(0.1)
            solid0=wp_sketch0.add(loop0).add(loop1).extrude(0.125)
            solid=solid0
        "#]]
        .assert_eq(&plate_with_hole().to_code());
    }

    #[test]
    fn two_sided_follows_gencad_pattern() {
        let mut p = plate_with_hole();
        p.sketches.push(Sketch {
            plane: Plane::xy([0.0, 0.0, 0.125]),
            loops: vec![Loop::Path {
                start: [0.0, 0.0],
                curves: vec![
                    Curve::Arc {
                        mid: [0.1, 0.1],
                        to: [0.0, 0.2],
                    },
                    Curve::Line { to: [0.0, 0.0] },
                ],
            }],
        });
        p.ops.push(Operation {
            extent: Extent::TwoSided {
                first: 0.25,
                second: -0.125,
            },
            combine: Combine::Cut,
        });
        let code = p.to_code();
        let second = &code[code.find("# Generating a workplane for sketch 1").unwrap()..];
        expect_test::expect![[r#"
            # Generating a workplane for sketch 1
            wp_sketch1 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.125), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))
            loop2=wp_sketch1.moveTo(0.0, 0.0).threePointArc((0.1, 0.1), (0.0, 0.2)).lineTo(0.0, 0.0).close()
            solid1=wp_sketch1.add(loop2).extrude(0.25)
            solid_temp=solid1
            wp_sketch1 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.125), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))
            loop2=wp_sketch1.moveTo(0.0, 0.0).threePointArc((0.1, 0.1), (0.0, 0.2)).lineTo(0.0, 0.0).close()
            solid1=wp_sketch1.add(loop2).extrude(-0.125)
            solid_temp=solid_temp.union(solid1)
            solid=solid.cut(solid_temp)
        "#]]
        .assert_eq(second);
    }

    #[test]
    fn literals_have_roles_and_can_be_set() {
        let mut p = plate_with_hole();
        let lits = p.literals();
        // 9 plane numbers, 8 path coordinates, 2 centre coordinates, a radius, a distance
        assert_eq!(lits.len(), 9 + 8 + 2 + 1 + 1);
        assert_eq!(lits[0].role, LiteralRole::PlaneOrigin);
        assert_eq!(lits[19].role, LiteralRole::Radius);
        assert_eq!(lits[20].role, LiteralRole::Distance);
        assert!(p.set_literal(20, 0.5));
        assert!(!p.set_literal(21, 0.5));
        assert_eq!(
            p.ops[0].extent,
            Extent::OneSided { distance: 0.5 },
            "set_literal writes the distance"
        );
        let mut values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        values[19] = 0.2;
        p.set_literals(&values).unwrap();
        assert!(p.to_code().contains(".circle(0.2)"));
        assert!(p.set_literals(&values[1..]).is_err());
    }

    #[test]
    fn plane_maps_sketch_points_to_world() {
        let plane = Plane {
            origin: [0.0, 0.0, 1.0],
            x_dir: [1.0, 0.0, 0.0],
            normal: [0.0, -1.0, 0.0],
        };
        // normal -Y, x +X -> y = n × x = +Z
        let w = plane.to_world([2.0, 3.0]);
        assert!((w[0] - 2.0).abs() < 1e-12 && w[1].abs() < 1e-12 && (w[2] - 4.0).abs() < 1e-12);
    }
}
