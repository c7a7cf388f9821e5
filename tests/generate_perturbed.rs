//! THE perturbed-truth test of refinement: every number of each dev part's true program is
//! scaled by a random factor in [0.85, 1.15] (seeded); refinement against the real picture
//! must bring IoU_vol (exact, CadQuery) back to >= 0.95 for at least 16 of the 20 parts.
//! Needs CADQUERY_LSP_SHARED and a Python with CadQuery (the runtime's discovery); says
//! when skipped. Prints the per-part table: IoU_vol before and after, and the native
//! agreement (224 px) of the truth, the start and the result, which tells a bad score
//! (result beats truth, IoU low) from a weak search (truth beats result).

mod geom_dev;

use std::path::PathBuf;
use std::time::Duration;

use cadquery_lsp::data::{LiteralRole, Program};
use cadquery_lsp::generate::picture::Picture;
use cadquery_lsp::generate::refine::{agreement, refine, RefineBudget};
use cadquery_lsp::progress::{CancellationToken, NoProgress};
use cadquery_lsp::runtime::{Job, JobOutput, PoolConfig, WorkerPool};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

fn perturbed(program: &Program, seed: u64) -> Program {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut p = program.clone();
    p.for_each_number_mut(|_, _, v| *v *= rng.random_range(0.85..=1.15));
    p.round_numbers();
    p
}

/// The truth with every position and size moved by at most 0.3 % (well under a pixel of
/// the picture): what IoU_vol gives a perfect-looking answer. Symmetric parts (squares,
/// tubes, hexagons) have degenerate inertia axes, and IoU_vol aligns by those, so such a
/// part can score far below 0.95 even here; this column says which failures are the
/// metric's.
fn jittered(program: &Program, seed: u64) -> Program {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut p = program.clone();
    p.for_each_number_mut(|_, role, v| {
        if !matches!(role, LiteralRole::PlaneXDir | LiteralRole::PlaneNormal) {
            *v *= rng.random_range(0.997..=1.003);
        }
    });
    p
}

/// Jittered copies of the truth per part: the `jitter` column.
const JITTERS: u64 = 3;

fn iou_vol(pool: &WorkerPool, truth: &str, prediction: &str) -> f64 {
    let job = Job::IouVol {
        ground_truth: truth.to_string(),
        prediction: prediction.to_string(),
    };
    match pool.execute(job, &CancellationToken::new()) {
        Ok(JobOutput::IouVol(Ok(v))) => v,
        Ok(JobOutput::IouVol(Err(e))) => {
            eprintln!("IoU_vol failed: {e}");
            0.0
        }
        other => panic!("unexpected pool answer: {other:?}"),
    }
}

struct Row {
    id: String,
    truth: String,
    /// The truth jittered (see `jittered`), JITTERS times.
    jitters: Vec<String>,
    start: String,
    refined: String,
    agree_truth: f64,
    agree_start: f64,
    agree_refined: f64,
    snapped: usize,
    evaluations: usize,
    seconds: f64,
}

// Slow (5-6 min in a dev build, the truth's IoU_vol computed with CadQuery for 20 parts 4
// times over), so not in the default run: run with `--ignored --nocapture` (the built binary
// directly on a busy machine) to see the per-part table. Last run: 16/20, session 12, 1,500
// evaluations per part, mean IoU_vol 0.650 -> 0.922.
//
// Session 12 brought back the comb 00694405 (its perturbed walls cross; a rectilinear,
// untangled version of the loop starts the search: `refine::rectilinear_untangled`) and
// 00387732's ring and bolt pattern (circle patterns, twins merged after the coarse stage),
// though 00387732 still scores 0: its truth B-rep is invalid in OCC and the IoU booleans fail.
// 00812431's truth scores only 0.938 against its own picture: CadQuery keeps two circle edges
// inside its merged top face, which the native renderer drops.
//
// Why 16 is hard: IoU_vol is a lottery for a part within ~1e-4 of the truth but not on it.
// On parts with degenerate inertia axes (squares, disks, hexagons) its axis alignment is set
// by rounding noise, so it turns when proportions move by 0.3 % (the jitter column: 11 parts
// stable), and OCC's fuse fails on nearly coincident faces (a plate scored 0.50). A picture
// pins proportions only to about a pixel (0.3-0.5 % of the part). What beats the lottery is
// landing on the truth's own numbers: refine's grid snap (`refine/grid.rs`) puts the part at
// a DeepCAD size with every number on DeepCAD's grids, and the output keeps 8 decimals; with
// nearly axis-parallel lines straightened before the search (00211465's bar end), that
// brings 00002718, 00141107, 00211465, 00427410, 00629922, 00694405 and 00765253 back
// exactly (IoU_vol 1.0000). The square plate 00828865 (97/128 wide, not a usual size) stays
// a lottery; so do 00812431 and 00961053 (their truths fail 3 and 2 of 3 jitter tries).
#[test]
#[ignore = "slow (5-6 min): run with --ignored; 16/20 on the last run (session 12)"]
fn refinement_recovers_perturbed_dev_parts() {
    let Some((dir, ids)) = geom_dev::dev_scripts() else {
        return;
    };
    let pool = match WorkerPool::start(PoolConfig {
        workers: 2,
        // exact booleans of detailed parts can take longer than a script run
        job_timeout: Duration::from_secs(60),
        ..PoolConfig::default()
    }) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipped: no CadQuery runtime ({e})");
            return;
        }
    };
    // evaluations, not time, bound the work: the result must not depend on machine load
    let budget = RefineBudget {
        evaluations: 1500,
        time: Duration::from_secs(120),
    };
    // CADQUERY_LSP_PARTS=ID,ID runs a subset (same starts as in the full run) and reports
    // without asserting: for working on the parts that fail.
    let only: Option<Vec<String>> = std::env::var("CADQUERY_LSP_PARTS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let chosen: Vec<(usize, &String)> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| only.as_ref().is_none_or(|o| o.contains(id)))
        .collect();
    let rows: Vec<Row> = chosen
        .par_iter()
        .map(|&(n, id)| {
            let truth = std::fs::read_to_string(dir.join(format!("{id}.py"))).unwrap();
            let program = Program::parse(&truth).unwrap();
            let start = perturbed(&program, 1000 + n as u64);
            let picture = Picture::load(&dir.join(format!("{id}.png"))).unwrap();
            let r = refine(
                &start,
                &picture,
                budget,
                7,
                &NoProgress,
                &CancellationToken::new(),
            );
            let total = |p: &Program| agreement(p, &picture).map_or(f64::NAN, |a| a.total);
            Row {
                id: id.clone(),
                // seeded by the part's place in the whole set, as the start is
                jitters: (0..JITTERS)
                    .map(|k| jittered(&program, 7000 + 10 * n as u64 + k).to_code_precise())
                    .collect(),
                agree_truth: total(&program),
                agree_start: r.before.total,
                agree_refined: r.after.total,
                truth,
                start: start.to_code(),
                refined: r.program.to_code_precise(),
                snapped: r.snapped,
                evaluations: r.evaluations,
                seconds: r.elapsed.as_secs_f64(),
            }
        })
        .collect();
    let ious: Vec<(f64, f64, usize)> = rows
        .par_iter()
        .map(|r| {
            let floor = r
                .jitters
                .iter()
                .filter(|j| iou_vol(&pool, &r.truth, j) >= 0.95)
                .count();
            (
                iou_vol(&pool, &r.truth, &r.start),
                iou_vol(&pool, &r.truth, &r.refined),
                floor,
            )
        })
        .collect();
    if let Some(dump) = std::env::var_os("CADQUERY_LSP_DUMP") {
        let dump = PathBuf::from(dump);
        for r in &rows {
            std::fs::write(dump.join(format!("{}_start.py", r.id)), &r.start).unwrap();
            std::fs::write(dump.join(format!("{}_refined.py", r.id)), &r.refined).unwrap();
        }
    }
    eprintln!(
        "part      IoU_vol start -> refined  jitter  agreement truth  start -> refined  snapped  evals     s"
    );
    for (r, (b, a, floor)) in rows.iter().zip(&ious) {
        eprintln!(
            "{}  {b:.4} -> {a:.4} {}   {floor}/{JITTERS}     {:.4}  {:.4} -> {:.4}   {:7}  {:5}  {:4.1}",
            r.id,
            if *a >= 0.95 { " " } else { "x" },
            r.agree_truth,
            r.agree_start,
            r.agree_refined,
            r.snapped,
            r.evaluations,
            r.seconds
        );
    }
    let good = ious.iter().filter(|r| r.1 >= 0.95).count();
    let stable = ious.iter().filter(|r| r.2 == JITTERS as usize).count();
    eprintln!(
        "jitter: the truth moved by <= 0.3 % keeps IoU_vol >= 0.95 in all {JITTERS} tries on {stable} of {} parts",
        rows.len()
    );
    let mean_before = ious.iter().map(|r| r.0).sum::<f64>() / ious.len() as f64;
    let mean_after = ious.iter().map(|r| r.1).sum::<f64>() / ious.len() as f64;
    eprintln!(
        "{good}/{} at IoU_vol >= 0.95; mean {mean_before:.4} -> {mean_after:.4}",
        rows.len()
    );
    if only.is_none() {
        assert!(good >= 16, "only {good} of {} parts recovered", rows.len());
    }
}
