//! Refinement by render-and-compare: move a program's numbers to raise its agreement with
//! the input picture, rendering every trial with the native evaluator.
//!
//! Why pattern search (moves along chosen directions with steps that grow on success and
//! shrink on failure): the score is piecewise constant at pixel level (no gradients),
//! programs have 20-80 numbers (Nelder-Mead's simplex degenerates in that many
//! dimensions, CMA-ES needs hundreds of evaluations per useful covariance update), and
//! most numbers act on a few pixels each, so one-at-a-time moves converge in a few passes.
//! The directions matter more than the method: besides single numbers, loops and sketches
//! move as wholes, and numbers that snapping found equal move as one.
//!
//! Schedule, coarse to fine: search at 112 px with large first steps, then at 224 px;
//! snap near-equal numbers together; search again at 224 and at the picture's 448 px
//! (thin walls and long slanted edges need the full size), and snap once more. Orientation
//! (plane directions) is structure, not refined: a proposal decides it.

mod anchor;
pub mod bench;
mod grid;
mod guard;
mod layout;
mod moves;
mod snap;

pub use guard::{has_crossing_loops, has_folded_loop};

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::native::{self, Scene};
use super::picture::Picture;
use super::score::{Agreement, Target};
use crate::data::Program;
use crate::progress::{CancellationToken, ProgressEvent, ProgressSink};
use layout::Slot;

/// How much work one refinement may do. Evaluations keep runs deterministic for a seed;
/// the time limit is a safety net that may cut a run short.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefineBudget {
    pub evaluations: usize,
    pub time: Duration,
}

impl Default for RefineBudget {
    fn default() -> Self {
        Self {
            evaluations: 1500,
            time: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Refined {
    pub program: Program,
    /// Agreement at 224 px before and after.
    pub before: Agreement,
    pub after: Agreement,
    pub evaluations: usize,
    pub elapsed: Duration,
    /// Groups of numbers snapped to one value.
    pub snapped: usize,
    /// The time limit stopped it before its evaluations were spent: the result then
    /// depends on the machine's speed and load.
    pub cut_short: bool,
}

/// How far apart (a share of the sketch's extent) a feature's numbers may be from an
/// earlier feature's for it to count as a repeat (`layout::twins`): a proposal's or a
/// perturbed start's copies drift apart by up to 30 % of each number.
const TWIN_CLOSENESS: f64 = 0.25;
/// How much agreement (224 px) making twins one may cost.
const TWIN_SLACK: f64 = 0.01;

/// Lines this many degrees or less off a sketch axis are straightened before the search
/// (`layout::aligned`): a perturbed start's are up to 18 degrees off.
const ALIGN_ANGLE: f64 = 20.0;
/// How much agreement (224 px) straightening must gain to be kept.
const ALIGN_GAIN: f64 = 0.002;

/// How far off a mirror symmetry (a share of the points' extent) a sketch may be for
/// refinement to try it exact (`snap::symmetric_versions`), and what that may cost in
/// agreement (224 px) before the search.
const SYMMETRY_SHARE: f64 = 0.12;
const SYMMETRY_SLACK: f64 = 0.01;

/// How far off a circle pattern (concentric, one size; a share of the larger radius) a
/// sketch may be for refinement to try it exact (`snap::circle_pattern_versions`).
const PATTERN_SHARE: f64 = 0.25;

/// What a profile CadQuery cannot build costs in agreement (more than any picture gives).
const UNBUILDABLE: f64 = 2.0;

/// Scores programs against one picture at one size.
struct Judge<'a> {
    target: Target,
    base: &'a Program,
    evaluations: usize,
}

impl<'a> Judge<'a> {
    fn new(picture: &Picture, factor: u32, base: &'a Program) -> Judge<'a> {
        Judge {
            target: Target::new(picture, factor),
            base,
            evaluations: 0,
        }
    }

    fn score(&mut self, values: &[f64]) -> f64 {
        self.agreement(values)
            .map_or(f64::NEG_INFINITY, |a| a.total)
    }

    fn agreement(&mut self, values: &[f64]) -> Option<Agreement> {
        self.evaluations += 1;
        let mut p = self.base.clone();
        p.set_literals(values).ok()?;
        let scene = Scene::compile(&p).ok()?;
        let r = native::render(&scene, self.target.size, self.target.size)?;
        let mut a = self.target.score(&r);
        // below every buildable program, but still ranked by the picture: a start that
        // is already bad (a perturbed or proposed profile) can be walked out of it
        if guard::has_bad_loop(&p) {
            a.total -= UNBUILDABLE;
        }
        Some(a)
    }
}

/// The native agreement of a program with a picture at 224 px (None: nothing to render).
pub fn agreement(program: &Program, picture: &Picture) -> Option<Agreement> {
    let scene = Scene::compile(program).ok()?;
    let r = native::render(&scene, picture.size / 2, picture.size / 2)?;
    Some(Target::new(picture, 2).score(&r))
}

/// One refinement run: the values being improved and what limits the work.
struct Search<'a> {
    program: &'a Program,
    picture: &'a Picture,
    slots: Vec<Slot>,
    values: Vec<f64>,
    /// The largest side of the part's box, world units.
    extent: f64,
    rng: rand_chacha::ChaCha8Rng,
    start: Instant,
    budget: RefineBudget,
    used: usize,
    snapped: usize,
    progress: &'a dyn ProgressSink,
    cancel: &'a CancellationToken,
}

/// First steps of a stage, in pixels of that stage (single numbers may start larger:
/// a share of their own value).
struct Stage {
    factor: u32,
    /// Cumulative share of the evaluation budget at which the stage ends.
    until: f64,
    first_px: f64,
    relative_first: bool,
}

impl Search<'_> {
    /// A pixel at picture size `size`, in world units, roughly (the framing fits the
    /// part's box into 400x300 of 448 px).
    fn pixel(&self, size: u32) -> f64 {
        self.extent / (size as f64 * 0.6)
    }

    fn stopped(&self) -> bool {
        self.out_of_time() || self.cancel.is_cancelled()
    }

    fn out_of_time(&self) -> bool {
        self.start.elapsed() > self.budget.time
    }

    fn report(&self, size: u32, best: f64) {
        self.progress.report(
            ProgressEvent::new(
                "refine",
                self.used as u64,
                Some(self.budget.evaluations as u64),
            )
            .with_message(format!("agreement {best:.4} at {size} px")),
        );
    }

    fn search(&mut self, stage: &Stage) {
        let limit = (self.budget.evaluations as f64 * stage.until) as usize;
        if self.used >= limit {
            return;
        }
        let mut judge = Judge::new(self.picture, stage.factor, self.program);
        let px = self.pixel(judge.target.size);
        let moves = moves::moves(&self.slots, &self.values);
        let initial: Vec<f64> = moves
            .iter()
            .map(|m| {
                let mut reach = stage.first_px * px;
                if stage.relative_first && m.along.len() == 1 {
                    reach = reach.max(0.08 * self.values[m.along[0].0].abs());
                }
                reach / m.reach
            })
            .collect();
        let mut steps = initial.clone();
        let mut best = judge.score(&self.values);
        let mut order: Vec<usize> = (0..moves.len()).collect();
        let mut restarted = false;
        'passes: loop {
            order.shuffle(&mut self.rng);
            let mut moved_any = false;
            for &j in &order {
                if self.used + judge.evaluations >= limit || self.stopped() {
                    break 'passes;
                }
                let mut moved = false;
                for dir in [1.0, -1.0] {
                    let mut trial = self.values.clone();
                    let ok = moves[j].along.iter().all(|&(i, w)| {
                        trial[i] = self.values[i] + dir * steps[j] * w;
                        guard::keeps_meaning(self.slots[i].role, self.values[i], trial[i], px)
                    });
                    if !ok {
                        continue;
                    }
                    let s = judge.score(&trial);
                    if s > best + 1e-9 {
                        best = s;
                        self.values = trial;
                        moved = true;
                        break;
                    }
                }
                steps[j] *= if moved { 1.6 } else { 0.5 };
                moved_any |= moved;
            }
            self.report(judge.target.size, best);
            // converged when no move goes further than a quarter pixel
            let settled = steps
                .iter()
                .zip(&moves)
                .all(|(s, m)| s * m.reach < 0.25 * px);
            if !moved_any && settled {
                // one restart with fresh steps escapes shallow traps
                if restarted {
                    break;
                }
                restarted = true;
                steps.clone_from(&initial);
            }
        }
        self.used += judge.evaluations;
    }

    /// Tries each near-equal group at its mean; keeps it when the score drops by at most
    /// `slack` (an equality the picture cannot tell apart is the design's, most likely).
    fn snap(&mut self, factor: u32, tol_px: f64, slack: f64) {
        if self.stopped() {
            return;
        }
        let mut judge = Judge::new(self.picture, factor, self.program);
        let tol = tol_px * self.pixel(judge.target.size);
        let reference = judge.score(&self.values);
        let mut best = reference;
        // each relation finds its groups on the values the one before left
        for relation in snap::Relation::IN_ORDER {
            for group in relation.candidates(&self.slots, &self.values, tol) {
                if self.stopped() {
                    break;
                }
                let trial = relation.applied(&self.values, &group);
                let s = judge.score(&trial);
                if s >= best - slack && s >= reference - 2.0 * slack {
                    best = s;
                    self.values = trial;
                    self.snapped += 1;
                }
            }
        }
        self.used += judge.evaluations;
    }

    /// Makes each point set that is within `share` of a mirror symmetry exactly
    /// symmetric (`snap::symmetric_versions`, the best-scoring axis), kept when the
    /// score drops by at most `slack`.
    fn symmetrize(&mut self, factor: u32, share: f64, slack: f64) {
        let mut judge = Judge::new(self.picture, factor, self.program);
        let mut best = judge.score(&self.values);
        for set in snap::symmetry_sets(&self.slots) {
            if self.stopped() {
                break;
            }
            let tried = snap::symmetric_versions(&self.values, &set, share)
                .into_iter()
                .map(|t| (judge.score(&t), t))
                .reduce(|a, b| if b.0 > a.0 { b } else { a });
            if let Some((s, t)) = tried {
                if s >= best - slack {
                    best = best.max(s);
                    self.values = t;
                    self.snapped += 1;
                }
            }
        }
        self.used += judge.evaluations;
    }

    /// Makes the twins (`layout::twins`) one with what they repeat, at the blend of the
    /// `weights` the picture likes best (see `layout::merge_twins`), when that costs at
    /// most `TWIN_SLACK` of agreement at 224 px. Whether they were merged.
    fn merge_twins(&mut self, twins: &[(usize, usize)], weights: &[f64]) -> bool {
        if twins.is_empty() {
            return false;
        }
        let mut judge = Judge::new(self.picture, 2, self.program);
        let now = judge.score(&self.values);
        let best = weights
            .iter()
            .map(|&w| {
                let mut slots = self.slots.clone();
                let values = layout::merge_twins(&mut slots, &self.values, twins, w);
                (judge.score(&values), slots, values)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        self.used += judge.evaluations;
        match best {
            Some((s, slots, values)) if s >= now - TWIN_SLACK => {
                (self.slots, self.values) = (slots, values);
                true
            }
            _ => false,
        }
    }

    /// Makes each sketch's near circle patterns exact (`snap::circle_pattern_versions`),
    /// each step kept when the score drops by at most `slack`.
    fn patterns(&mut self, factor: u32, share: f64, slack: f64) {
        let mut judge = Judge::new(self.picture, factor, self.program);
        let mut best = judge.score(&self.values);
        for circles in snap::sketch_circles(&self.slots) {
            for trial in snap::circle_pattern_versions(&self.values, &circles, share) {
                if self.stopped() {
                    break;
                }
                let s = judge.score(&trial);
                if s >= best - slack {
                    best = best.max(s);
                    self.values = trial;
                    self.snapped += 1;
                } else {
                    // each version builds on the one before
                    break;
                }
            }
        }
        self.used += judge.evaluations;
    }

    /// Rounds to DeepCAD's grids (see `grid`): the whole part at a DeepCAD size on the
    /// 1/128 grid, or failing that each sketch on its own grid at the best-scoring of its
    /// likely scales; each kept when the score drops by at most `slack`.
    fn snap_to_grid(&mut self, factor: u32, slack: f64) {
        let mut judge = Judge::new(self.picture, factor, self.program);
        let mut best = judge.score(&self.values);
        if let Some(t) = grid::unit_grid(self.program, &self.slots, &self.values) {
            if judge.score(&t) >= best - slack {
                self.values = t;
                self.snapped += 1;
                self.used += judge.evaluations;
                return;
            }
        }
        for sketch in grid::sketches(&self.slots, &self.values) {
            if self.stopped() {
                break;
            }
            let trials: Vec<(f64, Vec<f64>)> = grid::scales(sketch.extent)
                .into_iter()
                .map(|scale| grid::sketch_snapped(&self.values, &sketch.members, scale))
                .filter(|t| t != &self.values)
                .map(|t| (judge.score(&t), t))
                .collect();
            if let Some((s, t)) = trials.into_iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
                if s >= best - slack {
                    best = best.max(s);
                    self.values = t;
                    self.snapped += 1;
                }
            }
        }
        self.used += judge.evaluations;
    }
}

/// How thoroughly to refine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Coarse to fine up to the picture's full size, with snapping and grid rounding:
    /// the answer.
    Full,
    /// At 112 and 224 px only, nothing snapped: a cheap look at where a candidate can
    /// get, to choose which candidates deserve the full run.
    Coarse,
}

pub fn refine(
    program: &Program,
    picture: &Picture,
    budget: RefineBudget,
    seed: u64,
    progress: &dyn ProgressSink,
    cancel: &CancellationToken,
) -> Refined {
    refine_with(
        program,
        picture,
        budget,
        Schedule::Full,
        seed,
        progress,
        cancel,
    )
}

pub fn refine_with(
    program: &Program,
    picture: &Picture,
    budget: RefineBudget,
    schedule: Schedule,
    seed: u64,
    progress: &dyn ProgressSink,
    cancel: &CancellationToken,
) -> Refined {
    let start = Instant::now();
    let start_values: Vec<f64> = program.literals().iter().map(|l| l.value).collect();
    let extent = Scene::compile(program)
        .ok()
        .map(|s| {
            let (lo, hi) = s.loose_bounds();
            (0..3).map(|k| hi[k] - lo[k]).fold(0.0, f64::max)
        })
        .filter(|e| e.is_finite() && *e > 0.0)
        .unwrap_or(1.0);
    let mut fine = Judge::new(picture, 2, program);
    let before = fine.agreement(&start_values).unwrap_or_default();
    let mut search = Search {
        program,
        picture,
        slots: layout::layout(program),
        values: start_values.clone(),
        extent,
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        start,
        budget,
        used: 1,
        snapped: 0,
        progress,
        cancel,
    };
    // a feature that repeats another is refined as one with it, unless the picture says
    // they differ
    let twins = layout::twins(program, TWIN_CLOSENESS);
    let merged = search.merge_twins(&twins, &[0.5]);
    // lines a few degrees off a sketch axis are straightened first when the picture
    // clearly prefers that (a proposal's slanted lines are mostly meant)
    let straight = layout::aligned(
        &search.values,
        &layout::lines(program),
        ALIGN_ANGLE.to_radians(),
    );
    if straight != search.values && fine.score(&straight) >= fine.score(&search.values) + ALIGN_GAIN
    {
        search.values = straight;
    }
    // so are loops far off the axes, when the picture clearly prefers that
    let mut now = fine.score(&search.values);
    for lp in layout::path_loops(program) {
        if let Some(square) = rectilinear_untangled(program, &search.values, &lp) {
            let s = fine.score(&square);
            if s >= now + ALIGN_GAIN {
                (search.values, now) = (square, s);
            }
        }
    }
    let stage = |factor, until, first_px, relative_first| Stage {
        factor,
        until,
        first_px,
        relative_first,
    };
    match schedule {
        Schedule::Full => {
            search.symmetrize(2, SYMMETRY_SHARE, SYMMETRY_SLACK);
            search.patterns(2, PATTERN_SHARE, SYMMETRY_SLACK);
            search.search(&stage(4, 0.3, 3.0, true));
            // twins too far apart at the start may have come near (either one may
            // have found the picture's numbers)
            if !merged {
                search.merge_twins(&twins, &[0.5, 0.0, 1.0]);
            }
            search.search(&stage(2, 0.6, 2.0, false));
            search.symmetrize(2, SYMMETRY_SHARE, 0.003);
            search.snap(2, 1.5, 0.003);
            search.search(&stage(2, 0.75, 1.5, false));
            search.search(&stage(1, 1.0, 1.5, false));
            search.snap(1, 2.0, 0.0015);
            search.values = anchor::reanchored(&search.slots, &start_values, &search.values);
            search.snap_to_grid(2, 0.003);
        }
        Schedule::Coarse => {
            search.search(&stage(4, 0.5, 3.0, true));
            search.search(&stage(2, 1.0, 2.0, false));
        }
    }
    let cut_short = search.out_of_time();
    let mut refined = program.clone();
    refined
        .set_literals(&search.values)
        .expect("same program, same count");
    refined.round_numbers_to(crate::data::program::OUTPUT_DECIMALS);
    let rounded: Vec<f64> = refined.literals().iter().map(|l| l.value).collect();
    let mut after = fine.agreement(&rounded).unwrap_or_default();
    let speck = SPECK_PX * search.pixel(picture.size);
    if let Some((cleaned, a)) = without_specks(&refined, picture, speck, after.total) {
        (refined, after) = (cleaned, a);
    }
    // never hand back something the picture likes less than the start
    let keep_start = after.total < before.total;
    Refined {
        program: if keep_start { program.clone() } else { refined },
        before,
        after: if keep_start { before } else { after },
        evaluations: search.used + fine.evaluations - 1,
        elapsed: start.elapsed(),
        snapped: search.snapped,
        cut_short,
    }
}

/// `layout::rectilinear`'s version of a loop, untangled where it crosses itself: two
/// parallel lines swap places (a start 15 % off puts a comb's narrow tooth back to front).
/// None when there is no version, or no single swap untangles it.
fn rectilinear_untangled(
    program: &Program,
    values: &[f64],
    lp: &layout::PathLoop,
) -> Option<Vec<f64>> {
    let (square, pairs) = layout::rectilinear(values, lp)?;
    let builds = |v: &[f64]| {
        let mut p = program.clone();
        p.set_literals(v).is_ok() && !guard::has_bad_loop(&p)
    };
    if builds(&square) {
        return Some(square);
    }
    let n = pairs.len();
    // lines k and k + 2j are parallel
    (0..n)
        .flat_map(|k| (k + 2..n).step_by(2).map(move |m| (k, m)))
        .map(|(k, m)| {
            let mut v = square.clone();
            let (a, b) = (pairs[k], pairs[m]);
            let (x, y) = (square[a[0]], square[b[0]]);
            for i in a {
                v[i] = y;
            }
            for i in b {
                v[i] = x;
            }
            v
        })
        .find(|v| builds(v))
}

/// Holes smaller than this many pixels of the picture are specks: refinement shrank a
/// hole the part does not have.
const SPECK_PX: f64 = 3.0;

/// `program` without the inner loops (holes) whose box is smaller than `speck` on both
/// sides, with its agreement, when the picture likes it at least as well (`agreement` is
/// the program's own); None when there is nothing to drop.
fn without_specks(
    program: &Program,
    picture: &Picture,
    speck: f64,
    agreement_now: f64,
) -> Option<(Program, Agreement)> {
    let mut cleaned = program.clone();
    let mut dropped = false;
    for sketch in &mut cleaned.sketches {
        let count = sketch.loops.len();
        sketch.loops.retain(|l| count == 1 || !is_speck(l, speck));
        dropped |= sketch.loops.len() < count;
    }
    if !dropped || cleaned.sketches.iter().any(|s| s.loops.is_empty()) {
        return None;
    }
    let a = agreement(&cleaned, picture)?;
    (a.total >= agreement_now).then_some((cleaned, a))
}

fn is_speck(l: &crate::data::Loop, speck: f64) -> bool {
    use crate::data::{Curve, Loop};
    match l {
        Loop::Circle { radius, .. } => 2.0 * radius.abs() < speck,
        Loop::Path { start, curves } => {
            let points: Vec<_> = std::iter::once(*start)
                .chain(curves.iter().flat_map(|c| match c {
                    Curve::Line { to } => vec![*to],
                    Curve::Arc { mid, to } => vec![*mid, *to],
                }))
                .collect();
            let [lo, hi] = crate::data::region::bounds(&points);
            hi[0] - lo[0] < speck && hi[1] - lo[1] < speck
        }
    }
}

/// A test program: `loops` (each the chain after `wp_sketch0.`, a path with its
/// `.close()`) sketched together on the XY plane at the origin and extruded by `distance`.
#[cfg(test)]
pub(crate) fn xy_program(loops: &[&str], distance: f64) -> Program {
    let mut code = String::from(
        "import cadquery as cq\n\
         wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n",
    );
    let mut added = String::new();
    for (k, l) in loops.iter().enumerate() {
        code += &format!("loop{k}=wp_sketch0.{l}\n");
        added += &format!(".add(loop{k})");
    }
    code += &format!("solid0=wp_sketch0{added}.extrude({distance:?})\nsolid=solid0\n");
    Program::parse(&code).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::LiteralRole;

    #[test]
    fn a_hole_shrunk_to_a_speck_is_dropped() {
        // the example bracket's answer before this rule: a 0.011-wide hole at a corner
        let code = "import cadquery as cq\n\
            wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.76, -0.47, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
            loop0=wp_sketch0.moveTo(1.4279, 0.0).lineTo(1.4279, 0.22).lineTo(0.2112, 0.22).lineTo(0.2112, 0.8658).lineTo(0.0, 0.8658).lineTo(0.0, 0.0).close()\n\
            loop1=wp_sketch0.moveTo(0.691, 0.2266).circle(0.0056)\n\
            solid0=wp_sketch0.add(loop0).add(loop1).extrude(0.2835, both=True)\n\
            solid=solid0\n";
        let with_speck = Program::parse(code).unwrap();
        let mut clean = with_speck.clone();
        clean.sketches[0].loops.truncate(1);
        let picture = crate::generate::retrieval::native_picture(&clean).unwrap();
        let now = agreement(&with_speck, &picture).unwrap().total;
        let (dropped, a) = without_specks(&with_speck, &picture, 0.016, now).unwrap();
        assert_eq!(dropped, clean);
        assert!(a.total >= now);
        // a hole the size of a few pixels stays; so does a lone loop
        assert!(without_specks(&with_speck, &picture, 0.005, now).is_none());
        assert!(without_specks(&clean, &picture, 10.0, 0.0).is_none());
    }
    use crate::generate::retrieval::native_picture;

    #[test]
    fn refinement_recovers_a_scaled_hole() {
        // the truth: a washer; the start: its hole 30 % too large
        let (_, truth) = crate::generate::proposals::PrimitiveFits::templates()
            .into_iter()
            .find(|(n, _)| n == "washer-z")
            .unwrap();
        let picture = native_picture(&truth).unwrap();
        let mut start = truth.clone();
        let lits = truth.literals();
        let hole = lits.len() - 2; // the inner radius, before the distance
        assert_eq!(lits[hole].role, LiteralRole::Radius);
        start.set_literal(hole, lits[hole].value * 1.3);
        let r = refine(
            &start,
            &picture,
            RefineBudget {
                evaluations: 300,
                time: Duration::from_secs(60),
            },
            1,
            &crate::progress::NoProgress,
            &CancellationToken::new(),
        );
        assert!(r.after.total > r.before.total);
        let got = r.program.literals()[hole].value / r.program.literals()[hole - 3].value;
        let want = lits[hole].value / lits[hole - 3].value;
        assert!(
            (got - want).abs() < 0.03,
            "hole/outer {got:.3}, want {want:.3}"
        );
    }
    #[test]
    fn a_crossed_comb_is_made_rectilinear_and_untangled() {
        // dev part 00694405 as its perturbed start leaves it: walls up to 45 degrees off
        // and crossing
        let p = xy_program(&["moveTo(0.0358, 0.0).lineTo(0.0393, 0.056).lineTo(0.3346, 0.0512).lineTo(0.2873, 0.0).lineTo(0.3151, 0.0).lineTo(0.3589, 0.057).lineTo(0.6585, 0.0529).lineTo(0.5264, 0.0).lineTo(0.5488, 0.0).lineTo(0.6002, 0.0694).lineTo(0.0, 0.0722).lineTo(0.0, 0.0).close()"], 0.8);
        assert!(guard::has_bad_loop(&p));
        let values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let lp = &layout::path_loops(&p)[0];
        let v = rectilinear_untangled(&p, &values, lp).expect("a version");
        let mut q = p.clone();
        q.set_literals(&v).unwrap();
        assert!(!guard::has_bad_loop(&q), "{}", q.to_code());
        // every line along an axis, the walls left to right as in the design
        for &[a, b] in &lp.lines {
            assert!(v[a] == v[b] || v[a + 1] == v[b + 1], "{}", q.to_code());
        }
        let walls: Vec<f64> = (0..6).map(|k| v[9 + 4 * k]).collect();
        assert!(walls.windows(2).take(4).all(|w| w[0] < w[1]), "{walls:?}");
        // an upright rectangle has no version; a loop with an odd count of lines neither
        for path in [
            "moveTo(0.0, 0.0).lineTo(1.0, 0.0).lineTo(1.0, 0.5).lineTo(0.0, 0.5)",
            "moveTo(0.0, 0.0).lineTo(1.0, 0.1).lineTo(0.4, 0.5)",
        ] {
            let r = xy_program(&[&format!("{path}.close()")], 0.8);
            let rv: Vec<f64> = r.literals().iter().map(|l| l.value).collect();
            assert!(rectilinear_untangled(&r, &rv, &layout::path_loops(&r)[0]).is_none());
        }
    }
}
