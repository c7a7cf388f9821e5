//! `bench generate`: time per picture on this machine, with and without refinement, and
//! executions per picture (targets: p50 under 3 s without, under 10 s with).

use std::path::PathBuf;
use std::time::Instant;

use super::generator::{Generator, GeneratorConfig};
use super::picture::Picture;
use super::pipeline::GenerateOptions;
use crate::progress::{CancellationToken, NoProgress};
use crate::runtime::{PoolConfig, WorkerPool};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Folder of pictures (default: $CADQUERY_LSP_SHARED/data/gencad-dev, else examples/).
    #[arg(long)]
    pub pictures: Option<PathBuf>,
    /// At most this many pictures.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// A trained model directory instead of the built-in model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Add the model built into the binary.
    #[arg(long)]
    pub builtin_model: bool,
    /// Native evaluations per refined candidate (as `generate --evaluations`).
    #[arg(long, default_value_t = 900)]
    pub evaluations: usize,
    /// Wall-clock limit of each refinement (as `generate --budget`).
    #[arg(long, default_value_t = 20.0)]
    pub budget: f64,
    #[arg(long)]
    pub python: Option<PathBuf>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let dir = args.pictures.clone().unwrap_or_else(|| {
        std::env::var_os("CADQUERY_LSP_SHARED")
            .map(|d| PathBuf::from(d).join("data/gencad-dev"))
            .filter(|d| d.is_dir())
            .unwrap_or_else(|| PathBuf::from("examples"))
    });
    let mut pictures = super::cli::pictures_in(&dir)?;
    pictures.truncate(args.limit);
    let t = Instant::now();
    let generator = Generator::new(&GeneratorConfig {
        model_dir: args.model.clone(),
        builtin_model: args.builtin_model,
        ..GeneratorConfig::default()
    })?;
    println!(
        "sources loaded in {:.0} ms: {}",
        t.elapsed().as_secs_f64() * 1e3,
        generator.loaded.join("; ")
    );
    let pool = WorkerPool::start(PoolConfig {
        python: args.python.clone(),
        workers: 2,
        ..PoolConfig::default()
    })?;
    println!(
        "{} pictures from {}, 2 workers, RAYON_NUM_THREADS={}",
        pictures.len(),
        dir.display(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into())
    );
    for refine in [false, true] {
        let opts = GenerateOptions {
            refine_top: if refine { 2 } else { 0 },
            refine_time: std::time::Duration::from_secs_f64(args.budget),
            refine_evaluations: args.evaluations,
            ..GenerateOptions::default()
        };
        let mut seconds = Vec::new();
        let mut executions = Vec::new();
        let mut evaluations = Vec::new();
        let mut cut_short = 0;
        for (_, path) in &pictures {
            let picture = Picture::load(path)?;
            let t = Instant::now();
            let (_, stats) = generator.generate(
                &picture,
                &pool,
                &opts,
                &NoProgress,
                &CancellationToken::new(),
            )?;
            seconds.push(t.elapsed().as_secs_f64());
            executions.push(stats.executions as f64);
            evaluations.push(stats.refine_evaluations as f64);
            cut_short += stats.refine_cut_short;
        }
        seconds.sort_by(f64::total_cmp);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        println!(
            "{:<18} p50 {:.2} s  p90 {:.2} s  max {:.2} s  executions/picture {:.1}  native evaluations/picture {:.0}  refinements cut short by time {}",
            if refine { "with refinement" } else { "without refinement" },
            percentile(&seconds, 0.5),
            percentile(&seconds, 0.9),
            seconds[seconds.len() - 1],
            mean(&executions),
            mean(&evaluations),
            cut_short,
        );
    }
    Ok(())
}
