//! Choosing among a model's sampled programs by the picture, before anything is executed:
//! each program's native render is scored against the picture (`refine::agreement`), those
//! whose loops cross each other (OCCT's solid then mostly has no positive volume) are put
//! last, and the few that agree best are then ranked by how much solid they share with
//! the others that agree well (a minimum-Bayes-risk choice under IoU_vol): one view leaves
//! depth and thickness open, and a part that many good samples agree on is a safer answer
//! than the one sample that fits the picture's pixels best.
//!
//! Tuned on held-out synthetic pictures 200-399 (32 samples each, built in CadQuery) and
//! checked on pictures 0-199; see models/MODEL_CARD.md for the figures.

use super::native::volume::{iou, moments, Columns};
use super::native::Scene;
use super::picture::Picture;
use super::refine::{agreement, has_crossing_loops, has_folded_loop};
use crate::data::Program;

/// A loop that crosses itself or has a zero-length edge: CadQuery often still builds a
/// sound solid, so only a nudge.
const BAD_LOOP: f64 = 0.05;
/// How many of the best-agreeing programs share their solids.
const CONSENSUS_POOL: usize = 8;
/// Agreement difference that weighs a program e times less as a witness.
const CONSENSUS_TEMPERATURE: f64 = 0.2;
/// Weight of the shared solid against the agreement.
const CONSENSUS_WEIGHT: f64 = 1.0;
/// Columns per side of the grid on which solids are compared (a 64 x 64 grid puts the
/// estimate within 0.02 of CadQuery's IoU_vol for half of the model's programs).
const GRID: usize = 64;
/// How far from its centroid (in radii of gyration) the comparison grid reaches at most: a
/// needle-like solid would otherwise spread the columns too thin for the others.
const MAX_REACH: f64 = 4.0;

/// One program's standing.
#[derive(Debug, Clone, Copy)]
struct Standing {
    index: usize,
    /// The native agreement with the picture (`Agreement::total`).
    agreement: f64,
    /// Its loops cross each other: it goes after every program whose loops do not.
    crossing: bool,
    /// The agreement less `BAD_LOOP` where a loop crosses itself.
    checked: f64,
}

/// Indices of the programs that render, best first: programs with crossing loops after
/// all others; of the rest, the `CONSENSUS_POOL` that agree best with the picture ranked by
/// agreement (less the bad-loop nudge) plus consensus, then the others by agreement; ties
/// keep the given order.
pub fn rank_by_picture(programs: &[&Program], picture: &Picture) -> Vec<usize> {
    let mut standings: Vec<Standing> = programs
        .iter()
        .enumerate()
        .filter_map(|(index, p)| {
            let agreement = agreement(p, picture)?.total;
            let crossing = has_crossing_loops(p);
            let nudge = if !crossing && has_folded_loop(p) {
                BAD_LOOP
            } else {
                0.0
            };
            Some(Standing {
                index,
                agreement,
                crossing,
                checked: agreement - nudge,
            })
        })
        .collect();
    // the pool: the best by agreement alone, each program a witness for the others
    standings.sort_by(|a, b| {
        b.agreement
            .total_cmp(&a.agreement)
            .then(a.index.cmp(&b.index))
    });
    let pool = standings.len().min(CONSENSUS_POOL);
    let support = consensus(
        &standings[..pool]
            .iter()
            .map(|s| (programs[s.index], s.agreement))
            .collect::<Vec<_>>(),
    );
    // (standing, outside the pool, score): the pool before the rest
    let mut ranked: Vec<(Standing, bool, f64)> = standings
        .iter()
        .enumerate()
        .map(|(k, s)| match support.get(k) {
            Some(c) => (*s, false, s.checked + CONSENSUS_WEIGHT * c),
            None => (*s, true, s.checked),
        })
        .collect();
    ranked.sort_by(|a, b| {
        (a.0.crossing.cmp(&b.0.crossing))
            .then(a.1.cmp(&b.1))
            .then(b.2.total_cmp(&a.2))
            .then(a.0.index.cmp(&b.0.index))
    });
    ranked.into_iter().map(|(s, _, _)| s.index).collect()
}

/// For each program, the mean IoU_vol (estimated natively) of its solid with every
/// program's, each weighted by exp(agreement / temperature): how much of it the programs
/// that agree with the picture share. 0 for a program whose solid cannot be measured.
fn consensus(programs: &[(&Program, f64)]) -> Vec<f64> {
    let measured: Vec<Option<(Scene, super::native::volume::Moments)>> = programs
        .iter()
        .map(|(p, _)| {
            let scene = Scene::compile(p).ok()?;
            let m = moments(&scene, GRID)?;
            Some((scene, m))
        })
        .collect();
    // one grid that holds every solid, so that columns line up
    let half = measured
        .iter()
        .flatten()
        .map(|(_, m)| m.reach)
        .fold(0.0, f64::max)
        .min(MAX_REACH);
    let columns: Vec<Option<Columns>> = measured
        .iter()
        .map(|m| m.as_ref().map(|(s, m)| Columns::sample(s, m, GRID, half)))
        .collect();
    let best = programs
        .iter()
        .map(|(_, a)| *a)
        .fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = programs
        .iter()
        .map(|(_, a)| ((a - best) / CONSENSUS_TEMPERATURE).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    columns
        .iter()
        .map(|a| {
            let Some(a) = a else { return 0.0 };
            columns
                .iter()
                .zip(&weights)
                .map(|(b, w)| b.as_ref().map_or(0.0, |b| w * iou(a, b)))
                .sum::<f64>()
                / total
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::native;
    use crate::generate::refine::xy_program as xy_part;

    fn picture_of(p: &Program) -> Picture {
        Picture::from_image(&native::drawing_of(p), "drawing").unwrap()
    }

    const PLATE: &str =
        "moveTo(0.0, 0.0).lineTo(2.0, 0.0).lineTo(2.0, 1.0).lineTo(0.0, 1.0).close()";

    #[test]
    fn the_drawn_part_comes_first_and_crossing_loops_last() {
        let plate = xy_part(&[PLATE], 0.2);
        let rod = xy_part(&["moveTo(0.25, 0.0).circle(0.25)"], 2.0);
        // the plate with a hole through its edge: renders much like the plate
        let notched = xy_part(&[PLATE, "moveTo(1.0, 0.95).circle(0.1)"], 0.2);
        let picture = picture_of(&plate);
        let order = rank_by_picture(&[&rod, &notched, &plate], &picture);
        assert_eq!(order, vec![2, 0, 1]);
    }

    /// The plate with a pocket cut from below, out of sight of the picture's view.
    fn hollow_plate() -> Program {
        let plane = "cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0))";
        Program::parse(&format!(
            "import cadquery as cq\nwp_sketch0 = cq.Workplane({plane})\nloop0=wp_sketch0.{PLATE}\nsolid0=wp_sketch0.add(loop0).extrude(0.2)\nsolid=solid0\nwp_sketch1 = cq.Workplane({plane})\nloop1=wp_sketch1.moveTo(0.2, 0.2).lineTo(1.8, 0.2).lineTo(1.8, 0.8).lineTo(0.2, 0.8).close()\nsolid1=wp_sketch1.add(loop1).extrude(0.17)\nsolid=solid.cut(solid1)\n"
        ))
        .unwrap()
    }

    #[test]
    fn of_close_fits_the_one_the_others_agree_with_wins() {
        let picture = picture_of(&xy_part(&[PLATE], 0.2));
        // the hollow plate looks exactly like the picture; three plates a little too
        // thick or thin look a little worse, but they agree with each other on a solid
        // plate, and that is the safer answer
        let hollow = hollow_plate();
        let solid: Vec<Program> = [0.21, 0.19, 0.215]
            .iter()
            .map(|h| xy_part(&[PLATE], *h))
            .collect();
        let fit = |p: &Program| agreement(p, &picture).unwrap().total;
        assert!(solid.iter().all(|p| fit(p) < fit(&hollow)));
        let programs = [&hollow, &solid[0], &solid[1], &solid[2]];
        let order = rank_by_picture(&programs, &picture);
        assert_ne!(order[0], 0, "{order:?}");
        // consensus only reorders; nothing is lost
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
    }

    #[test]
    fn programs_that_do_not_render_are_left_out() {
        let picture = picture_of(&xy_part(&[PLATE], 0.2));
        let empty = Program {
            sketches: vec![],
            ops: vec![],
        };
        assert_eq!(rank_by_picture(&[&empty], &picture), Vec::<usize>::new());
        assert_eq!(
            rank_by_picture(&[&empty, &xy_part(&[PLATE], 0.2)], &picture),
            vec![1]
        );
    }
}
