//! Refinement by render-and-compare: move a program's numbers to raise its agreement with
//! the input picture, rendering every trial with the native evaluator.
//!
//! Why pattern search (per-literal coordinate moves with adaptive steps): the score is
//! piecewise constant at pixel level (no gradients), programs have 20-80 numbers
//! (Nelder-Mead's simplex degenerates in that many dimensions, CMA-ES needs hundreds of
//! evaluations per useful covariance update), and most numbers act on a few pixels each,
//! so one-at-a-time moves with steps that grow on success and shrink on failure converge
//! in a few passes. Orientation (plane directions) is structure, not refined: a proposal
//! decides it. Coarse to fine: 112 px, then 224, then the picture's 448.

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::native::{self, Scene};
use super::picture::Picture;
use super::score::{Agreement, Target};
use crate::data::{Curve, Extent, LiteralRole, Loop, Program};
use crate::progress::{CancellationToken, ProgressEvent, ProgressSink};

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
}

/// Scores programs against one picture at one size.
struct Judge<'a> {
    target: Target,
    base: &'a Program,
    evaluations: usize,
}

impl Judge<'_> {
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
        Some(self.target.score(&r))
    }
}

/// The native agreement of a program with a picture at 224 px (None: nothing to render).
pub fn agreement(program: &Program, picture: &Picture) -> Option<Agreement> {
    let scene = Scene::compile(program).ok()?;
    let r = native::render(&scene, picture.size / 2, picture.size / 2)?;
    Some(Target::new(picture, 2).score(&r))
}

pub fn refine(
    program: &Program,
    picture: &Picture,
    budget: RefineBudget,
    seed: u64,
    progress: &dyn ProgressSink,
    cancel: &CancellationToken,
) -> Refined {
    let start = Instant::now();
    let literals = program.literals();
    let mut values: Vec<f64> = literals.iter().map(|l| l.value).collect();
    let movable: Vec<usize> = literals
        .iter()
        .enumerate()
        .filter(|(_, l)| !matches!(l.role, LiteralRole::PlaneXDir | LiteralRole::PlaneNormal))
        .map(|(i, _)| i)
        .collect();
    let extent = Scene::compile(program)
        .ok()
        .map(|s| {
            let (lo, hi) = s.loose_bounds();
            (0..3).map(|k| hi[k] - lo[k]).fold(0.0, f64::max)
        })
        .filter(|e| e.is_finite() && *e > 0.0)
        .unwrap_or(1.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut fine = Judge {
        target: Target::new(picture, 2),
        base: program,
        evaluations: 0,
    };
    let before = fine.agreement(&values).unwrap_or_default();
    // the last stage at full size: long slanted edges place thin walls to a fraction
    // of a pixel through their staircase, which is what IoU_vol needs
    let stages = [(4u32, 0.3), (2u32, 0.35), (1u32, 0.35)];
    let mut used = 1usize;
    for (factor, share) in stages {
        let mut judge = Judge {
            target: Target::new(picture, factor),
            base: program,
            evaluations: 0,
        };
        let stage_budget = (budget.evaluations as f64 * share) as usize;
        // a pixel at this size, in world units, roughly
        let pixel = extent / (judge.target.size as f64 * 0.6);
        let moves = moves(program, &movable, &values, pixel);
        let initial: Vec<f64> = moves.iter().map(|m| m.step).collect();
        let mut steps = initial.clone();
        let mut best = judge.score(&values);
        let mut order: Vec<usize> = (0..moves.len()).collect();
        let mut restarts = 0;
        'passes: loop {
            order.shuffle(&mut rng);
            let mut moved_any = false;
            for &j in &order {
                if judge.evaluations >= stage_budget
                    || start.elapsed() > budget.time
                    || cancel.is_cancelled()
                {
                    break 'passes;
                }
                let mut moved = false;
                for dir in [1.0, -1.0] {
                    let mut trial = values.clone();
                    let ok = moves[j].along.iter().all(|&(i, w)| {
                        trial[i] = values[i] + dir * steps[j] * w;
                        keeps_meaning(literals[i].role, trial[i], pixel)
                    });
                    if !ok {
                        continue;
                    }
                    let s = judge.score(&trial);
                    if s > best + 1e-9 {
                        best = s;
                        values = trial;
                        moved = true;
                        break;
                    }
                }
                steps[j] *= if moved { 1.6 } else { 0.5 };
                moved_any |= moved;
            }
            progress.report(
                ProgressEvent::new(
                    "refine",
                    (used + judge.evaluations) as u64,
                    Some(budget.evaluations as u64),
                )
                .with_message(format!("agreement {best:.4} at {} px", judge.target.size)),
            );
            if !moved_any && steps.iter().zip(&initial).all(|(s, i)| *s < 0.02 * i) {
                // converged: one restart with fresh steps escapes shallow traps
                if restarts == 1 {
                    break;
                }
                restarts += 1;
                steps.clone_from(&initial);
            }
        }
        used += judge.evaluations;
    }
    let mut refined = program.clone();
    refined
        .set_literals(&values)
        .expect("same program, same count");
    refined.round_numbers();
    let after = fine.agreement(
        &refined
            .literals()
            .iter()
            .map(|l| l.value)
            .collect::<Vec<_>>(),
    );
    Refined {
        program: refined,
        before,
        after: after.unwrap_or_default(),
        evaluations: used + fine.evaluations - 1,
        elapsed: start.elapsed(),
    }
}

/// Radii stay positive and extrusions keep a thickness (a sign change would flip the side).
fn keeps_meaning(role: LiteralRole, v: f64, pixel: f64) -> bool {
    match role {
        LiteralRole::Radius => v > 0.5 * pixel,
        LiteralRole::Distance => v.abs() > 0.5 * pixel,
        _ => true,
    }
}

/// A direction in literal space: literal index and weight; `step` is the initial length.
struct Move {
    along: Vec<(usize, f64)>,
    step: f64,
}

/// Single numbers, plus moves of whole loops (shift in x, shift in y, grow about their
/// centre) and of whole sketches (grow): independent number moves cannot slide a
/// rectangle or a hole without first breaking its shape, and the score punishes that.
fn moves(program: &Program, movable: &[usize], values: &[f64], pixel: f64) -> Vec<Move> {
    debug_assert_eq!(values.len(), program.literals().len());
    let mut out: Vec<Move> = movable
        .iter()
        .map(|&i| Move {
            along: vec![(i, 1.0)],
            step: (0.08 * values[i].abs()).max(3.0 * pixel),
        })
        .collect();
    let mut i = 0usize;
    for (sketch, op) in program.sketches.iter().zip(&program.ops) {
        i += 9; // plane origin, x direction, normal
        let mut sketch_coords: Vec<(usize, u8)> = Vec::new();
        for lp in &sketch.loops {
            // (literal index, 0 = x, 1 = y, 2 = radius)
            let mut coords: Vec<(usize, u8)> = Vec::new();
            match lp {
                Loop::Circle { .. } => {
                    coords.extend([(i, 0), (i + 1, 1), (i + 2, 2)]);
                    i += 3;
                }
                Loop::Path { curves, .. } => {
                    let points = 1 + curves
                        .iter()
                        .map(|c| if matches!(c, Curve::Arc { .. }) { 2 } else { 1 })
                        .sum::<usize>();
                    for _ in 0..points {
                        coords.extend([(i, 0), (i + 1, 1)]);
                        i += 2;
                    }
                }
            }
            for axis in 0..2u8 {
                out.push(Move {
                    along: coords
                        .iter()
                        .filter(|c| c.1 == axis)
                        .map(|c| (c.0, 1.0))
                        .collect(),
                    step: 4.0 * pixel,
                });
            }
            out.push(grow(&coords, values, pixel));
            sketch_coords.extend(coords);
        }
        if sketch.loops.len() > 1 {
            out.push(grow(&sketch_coords, values, pixel));
        }
        i += match op.extent {
            Extent::TwoSided { .. } => 2,
            _ => 1,
        };
    }
    out
}

/// Scaling about the centre of the coordinates' box (radii scale too).
fn grow(coords: &[(usize, u8)], values: &[f64], pixel: f64) -> Move {
    let centre = |axis: u8| {
        let (lo, hi) = coords
            .iter()
            .filter(|c| c.1 == axis)
            .map(|c| values[c.0])
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
    let along: Vec<(usize, f64)> = coords
        .iter()
        .map(|&(i, axis)| match axis {
            2 => (i, values[i]),
            a => (i, values[i] - c[a as usize]),
        })
        .collect();
    let size = along
        .iter()
        .map(|a| a.1.abs())
        .fold(0.0, f64::max)
        .max(1e-9);
    // relative step: 4 % of the loop, at least a few pixels at its far end
    Move {
        along,
        step: 0.04f64.max(3.0 * pixel / size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::retrieval::native_picture;

    #[test]
    fn loop_moves_name_only_sketch_coordinates() {
        let (_, p) = crate::generate::proposals::PrimitiveFits::templates()
            .into_iter()
            .find(|(n, _)| n == "washer-z")
            .unwrap();
        let lits = p.literals();
        let values: Vec<f64> = lits.iter().map(|l| l.value).collect();
        let movable: Vec<usize> = (0..lits.len()).collect();
        for m in moves(&p, &movable, &values, 0.01).iter().skip(lits.len()) {
            for &(i, _) in &m.along {
                assert!(
                    matches!(lits[i].role, LiteralRole::Coordinate | LiteralRole::Radius),
                    "{:?}",
                    lits[i]
                );
            }
        }
    }

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
}
