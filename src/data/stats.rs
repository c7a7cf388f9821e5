//! Statistics of programs that need no execution (sketch, loop, curve, operation and
//! extent counts), aggregated into the histograms the data docs compare between the real
//! dev parts and a synthetic draw.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::program::{Combine, Curve, Extent, Loop, Program};

/// Counts of one program, as written to the datagen manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProgramStats {
    pub sketches: usize,
    pub loops: usize,
    pub lines: usize,
    pub arcs: usize,
    pub circles: usize,
    pub unions: usize,
    pub cuts: usize,
    pub intersects: usize,
    pub one_sided: usize,
    pub symmetric: usize,
    pub two_sided: usize,
}

impl ProgramStats {
    pub fn of(p: &Program) -> Self {
        let mut s = ProgramStats {
            sketches: p.sketches.len(),
            loops: p.loop_count(),
            ..Default::default()
        };
        for lp in p.sketches.iter().flat_map(|k| &k.loops) {
            match lp {
                Loop::Circle { .. } => s.circles += 1,
                Loop::Path { start, curves } => {
                    for c in curves {
                        match c {
                            Curve::Line { .. } => s.lines += 1,
                            Curve::Arc { .. } => s.arcs += 1,
                        }
                    }
                    // close() draws the last line when the path does not end at its start.
                    let end = curves.last().map(Curve::end);
                    if end.is_some_and(|e| e != *start) {
                        s.lines += 1;
                    }
                }
            }
        }
        for op in &p.ops {
            match op.combine {
                Combine::New => {}
                Combine::Union => s.unions += 1,
                Combine::Cut => s.cuts += 1,
                Combine::Intersect => s.intersects += 1,
            }
            match op.extent {
                Extent::OneSided { .. } => s.one_sided += 1,
                Extent::Symmetric { .. } => s.symmetric += 1,
                Extent::TwoSided { .. } => s.two_sided += 1,
            }
        }
        s
    }
}

/// Histograms over a set of programs: each maps a bucket label to a count.
#[derive(Debug, Clone, Default)]
pub struct Histograms {
    pub programs: usize,
    pub sketches: BTreeMap<String, usize>,
    pub loops_per_sketch: BTreeMap<String, usize>,
    pub curves: BTreeMap<String, usize>,
    /// Later features by operation (the first is always a new body).
    pub operations: BTreeMap<String, usize>,
    pub extents: BTreeMap<String, usize>,
}

fn bucket(n: usize, cap: usize) -> String {
    if n >= cap {
        format!("{cap}+")
    } else {
        n.to_string()
    }
}

impl Histograms {
    pub fn add(&mut self, p: &Program) {
        let s = ProgramStats::of(p);
        self.programs += 1;
        *self.sketches.entry(bucket(s.sketches, 4)).or_default() += 1;
        for k in &p.sketches {
            *self
                .loops_per_sketch
                .entry(bucket(k.loops.len(), 3))
                .or_default() += 1;
        }
        for (name, n) in [("line", s.lines), ("arc", s.arcs), ("circle", s.circles)] {
            *self.curves.entry(name.into()).or_default() += n;
        }
        for (name, n) in [
            ("union", s.unions),
            ("cut", s.cuts),
            ("intersect", s.intersects),
        ] {
            *self.operations.entry(name.into()).or_default() += n;
        }
        for (name, n) in [
            ("one-sided", s.one_sided),
            ("symmetric", s.symmetric),
            ("two-sided", s.two_sided),
        ] {
            *self.extents.entry(name.into()).or_default() += n;
        }
    }

    pub fn of<'a>(programs: impl IntoIterator<Item = &'a Program>) -> Self {
        let mut h = Self::default();
        programs.into_iter().for_each(|p| h.add(p));
        h
    }

    /// The share of `label` in one histogram (0 when empty).
    pub fn share(hist: &BTreeMap<String, usize>, label: &str) -> f64 {
        let total: usize = hist.values().sum();
        if total == 0 {
            0.0
        } else {
            *hist.get(label).unwrap_or(&0) as f64 / total as f64
        }
    }

    fn named(&self) -> [(&'static str, &BTreeMap<String, usize>); 5] {
        [
            ("sketches per part", &self.sketches),
            ("loops per sketch", &self.loops_per_sketch),
            ("curves", &self.curves),
            ("later operations", &self.operations),
            ("extents", &self.extents),
        ]
    }
}

/// A markdown table comparing two histogram sets as percentages, one row per bucket.
pub fn comparison_table(left: (&str, &Histograms), right: (&str, &Histograms)) -> String {
    let mut out = format!(
        "| statistic | bucket | {} (n={}) | {} (n={}) |\n|---|---|---|---|\n",
        left.0, left.1.programs, right.0, right.1.programs
    );
    for ((name, a), (_, b)) in left.1.named().into_iter().zip(right.1.named()) {
        let labels: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for label in labels {
            let _ = writeln!(
                out,
                "| {name} | {label} | {:.1}% | {:.1}% |",
                100.0 * Histograms::share(a, label),
                100.0 * Histograms::share(b, label)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_closing_line_and_each_operation() {
        let code = "import cadquery as cq\n\
wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
loop0=wp_sketch0.moveTo(1.0, 0.0).lineTo(1.0, 1.0).lineTo(0.0, 1.0).lineTo(0.0, 0.0).close()\n\
loop1=wp_sketch0.moveTo(0.5, 0.5).circle(0.1)\n\
solid0=wp_sketch0.add(loop0).add(loop1).extrude(0.5)\n\
solid=solid0\n\
wp_sketch1 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.5), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
loop2=wp_sketch1.moveTo(0.0, 0.0).threePointArc((0.5, 0.2), (1.0, 0.0)).lineTo(0.0, 0.0).close()\n\
solid1=wp_sketch1.add(loop2).extrude(-0.25, both=True)\n\
solid=solid.cut(solid1)\n";
        let p = Program::parse(code).unwrap();
        let s = ProgramStats::of(&p);
        assert_eq!((s.sketches, s.loops), (2, 3));
        assert_eq!((s.lines, s.arcs, s.circles), (5, 1, 1));
        assert_eq!((s.unions, s.cuts, s.symmetric, s.one_sided), (0, 1, 1, 1));
        let h = Histograms::of([&p, &p]);
        assert_eq!(h.sketches["2"], 2);
        assert_eq!(h.loops_per_sketch["2"], 2);
        let table = comparison_table(("a", &h), ("b", &h));
        assert!(
            table.contains("| curves | line | 71.4% | 71.4% |"),
            "{table}"
        );
    }
}
