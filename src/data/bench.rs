//! `cadquery-lsp bench datagen`: how fast programs are drawn, and how many valid
//! (picture, code) pairs per second the full pipeline writes with the worker pool.

use std::path::PathBuf;
use std::time::Instant;

use super::cli::sample_seed;
use super::datagen::{generate_pairs, RunOptions};
use super::generator::generate;
use super::picture::Augment;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Valid pairs to write.
    #[arg(long, default_value_t = 200)]
    pub n: usize,
    /// Python with CadQuery (default: discovery / managed environment).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// CadQuery worker processes.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Augment the pictures as `datagen --augment all` does.
    #[arg(long)]
    pub augment: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let t = Instant::now();
    let n = 2000;
    let mut chars = 0;
    for i in 0..n {
        chars += generate(sample_seed(7, i)).to_code().len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "program generation: {:.0} programs/s ({:.0} chars of code each on average)",
        n as f64 / secs,
        chars as f64 / n as f64
    );
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let summary = generate_pairs(
        dir.path(),
        &RunOptions {
            n: args.n,
            seed: 7,
            augment: if args.augment {
                Augment::ALL
            } else {
                Augment::default()
            },
            python: args.python,
            workers: args.workers,
            progress: false,
        },
    )?;
    let total = t.elapsed().as_secs_f64();
    let tried = summary.written + summary.rejected_total();
    println!(
        "datagen: {} valid pairs in {:.1} s with {} workers = {:.1} valid pairs/s \
         (pool start-up included; {:.1}/s after it)",
        summary.written,
        total,
        args.workers,
        summary.written as f64 / total,
        summary.written as f64 / summary.seconds.max(1e-9)
    );
    println!(
        "rejected {} of {} programs ({:.1}%): {:?}",
        summary.rejected_total(),
        tried,
        100.0 * summary.rejected_total() as f64 / tried.max(1) as f64,
        summary.rejected
    );
    Ok(())
}
