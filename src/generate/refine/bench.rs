//! `cadquery-lsp bench refine`: what the refinement inner loop costs on the dev parts
//! (native render ms per evaluation at each size, evaluations/s) and what a whole
//! refinement takes per part, from a perturbed start as in the perturbed-truth test.
//! Runs on one thread; the figures are of the build it runs in (say which).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{Rng, SeedableRng};

use super::{refine, Judge, RefineBudget};
use crate::data::Program;
use crate::generate::picture::Picture;
use crate::progress::{CancellationToken, NoProgress};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Folder of ID.png / ID.py pairs (default: $CADQUERY_LSP_SHARED/data/gencad-dev).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Evaluations per refinement.
    #[arg(long, default_value_t = RefineBudget::default().evaluations)]
    pub evaluations: usize,
    /// Renders timed per part and size.
    #[arg(long, default_value_t = 10)]
    pub repeats: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let dir = match args.dir {
        Some(d) => d,
        None => PathBuf::from(std::env::var("CADQUERY_LSP_SHARED").context(
            "no --dir and CADQUERY_LSP_SHARED is not set: give the folder of ID.png / ID.py pairs",
        )?)
        .join("data/gencad-dev"),
    };
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".py").map(String::from)
        })
        .filter(|id| dir.join(format!("{id}.png")).exists())
        .collect();
    ids.sort();
    anyhow::ensure!(
        !ids.is_empty(),
        "no ID.py / ID.png pairs in {}",
        dir.display()
    );
    println!(
        "part        ms per evaluation at 112 / 224 / 448 px   refine: evals      s   evals/s  agreement"
    );
    let mut per_size: [Vec<f64>; 3] = Default::default();
    let mut refine_s = Vec::new();
    let mut rates = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let code = std::fs::read_to_string(dir.join(format!("{id}.py")))?;
        let program = Program::parse(&code).with_context(|| format!("{id}.py"))?;
        let picture = Picture::load(&dir.join(format!("{id}.png")))?;
        let values: Vec<f64> = program.literals().iter().map(|l| l.value).collect();
        let mut ms = [0.0; 3];
        for (k, factor) in [4u32, 2, 1].into_iter().enumerate() {
            let mut judge = Judge::new(&picture, factor, &program);
            let times: Vec<f64> = (0..args.repeats.max(1))
                .map(|_| {
                    let t = Instant::now();
                    judge.score(&values);
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            ms[k] = median(times);
            per_size[k].push(ms[k]);
        }
        // the perturbed-truth start: every number scaled by a factor in [0.85, 1.15]
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1000 + n as u64);
        let mut start = program.clone();
        start.for_each_number_mut(|_, _, v| *v *= rng.random_range(0.85..=1.15));
        start.round_numbers();
        let r = refine(
            &start,
            &picture,
            RefineBudget {
                evaluations: args.evaluations,
                time: Duration::from_secs(600),
            },
            7,
            &NoProgress,
            &CancellationToken::new(),
        );
        let s = r.elapsed.as_secs_f64();
        let rate = r.evaluations as f64 / s.max(1e-9);
        refine_s.push(s);
        rates.push(rate);
        println!(
            "{id}    {:6.2} / {:6.2} / {:6.2}                    {:5}  {:5.2}  {:7.0}   {:.4} -> {:.4}",
            ms[0], ms[1], ms[2], r.evaluations, s, rate, r.before.total, r.after.total
        );
    }
    let [a, b, c] = per_size.map(median);
    println!(
        "median      {a:6.2} / {b:6.2} / {c:6.2} ms            refine p50 {:.2} s, max {:.2} s, {:.0} evals/s",
        median(refine_s.clone()),
        refine_s.iter().cloned().fold(0.0, f64::max),
        median(rates)
    );
    Ok(())
}
