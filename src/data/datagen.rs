//! The full datagen pipeline: execute every program in the worker pool (in parallel),
//! reject what is not one clean solid, render the rest in the picture convention and write
//! the pairs. Resumable: ids in manifest.jsonl (written) or rejected.jsonl (rejected) are
//! skipped on the next run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::progress::CancellationToken;
use crate::runtime::{Built, ExecRequest, Job, JobOutput, MeshOptions, PoolConfig, WorkerPool};

use super::cli::{manifest_ids, sample_id, sample_seed, DatagenArgs};
use super::generator::generate;
use super::picture::{self, Applied, Augment};
use super::stats::ProgramStats;

/// Why a program gave no pair.
pub fn rejection(built: &Built) -> Option<&'static str> {
    let f = &built.facts;
    let dims: Vec<f64> = (0..3).map(|k| f.bbox.max[k] - f.bbox.min[k]).collect();
    let longest = dims.iter().cloned().fold(0.0, f64::max);
    let shortest = dims.iter().cloned().fold(f64::INFINITY, f64::min);
    if f.solids == 0 || f.volume <= 0.0 {
        Some("empty")
    } else if f.solids > 1 {
        Some("multi-solid")
    } else if !f.valid {
        Some("invalid-brep")
    } else if f.volume < 1e-4 * longest.powi(3) {
        // Less than 1/10000 of the box around its longest side: wires and flakes.
        Some("tiny-volume")
    } else if shortest < 0.004 * longest {
        Some("sliver")
    } else if built.mesh.as_ref().is_none_or(|m| m.triangles.is_empty()) {
        Some("no-mesh")
    } else {
        None
    }
}

/// A finished pair, ready to write.
struct Pair {
    id: String,
    seed: u64,
    code: String,
    png: Vec<u8>,
    stats: serde_json::Value,
}

/// What one sample became.
enum Outcome {
    Pair(Pair),
    Rejected {
        id: String,
        seed: u64,
        reason: String,
    },
}

/// What every submitting thread shares.
struct SampleMaker<'a> {
    pool: &'a WorkerPool,
    augment: Augment,
    seed: u64,
}

fn make_pair(ctx: &SampleMaker, index: u64) -> anyhow::Result<Outcome> {
    let id = sample_id(ctx.seed, index);
    let seed = sample_seed(ctx.seed, index);
    let program = generate(seed);
    let code = program.to_code();
    let req = ExecRequest {
        code: code.clone(),
        mesh: Some(MeshOptions::default()),
        edges: true,
        untrusted: false,
    };
    let built = match ctx
        .pool
        .execute(Job::Execute(req), &CancellationToken::new())?
    {
        JobOutput::Executed(Ok(b)) => b,
        JobOutput::Executed(Err(e)) => {
            return Ok(Outcome::Rejected {
                id,
                seed,
                reason: format!("error:{}", e.kind),
            })
        }
        other => anyhow::bail!("the pool answered an execution with {other:?}"),
    };
    if let Some(reason) = rejection(&built) {
        return Ok(Outcome::Rejected {
            id,
            seed,
            reason: reason.to_string(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA5A5_5A5A);
    let applied = picture::draw_params(&ctx.augment, &mut rng);
    let mut img: RgbImage = picture::render(&built, &applied)?;
    picture::post_process(&mut img, &applied)?;
    if img.pixels().all(|p| p.0.iter().all(|&c| c > 250)) {
        return Ok(Outcome::Rejected {
            id,
            seed,
            reason: "render-empty".into(),
        });
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    let f = &built.facts;
    let stats = json!({
        "program": ProgramStats::of(&program),
        "volume": f.volume,
        "bbox": [f.bbox.max[0] - f.bbox.min[0], f.bbox.max[1] - f.bbox.min[1], f.bbox.max[2] - f.bbox.min[2]],
        "augment": applied_json(&applied),
    });
    Ok(Outcome::Pair(Pair {
        id,
        seed,
        code,
        png,
        stats,
    }))
}

fn applied_json(a: &Applied) -> serde_json::Value {
    serde_json::to_value(a).unwrap_or(serde_json::Value::Null)
}

/// Totals of a run, for the summary and the benchmark.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub written: usize,
    pub already: usize,
    pub rejected: BTreeMap<String, usize>,
    pub seconds: f64,
}

impl Summary {
    pub fn rejected_total(&self) -> usize {
        self.rejected.values().sum()
    }

    pub fn print(&self) {
        let tried = self.written + self.rejected_total();
        eprintln!(
            "datagen: wrote {} pairs in {:.1} s ({:.1} valid pairs/s); {} already there",
            self.written,
            self.seconds,
            self.written as f64 / self.seconds.max(1e-9),
            self.already
        );
        eprintln!(
            "rejected {} of {} programs ({:.1}%)",
            self.rejected_total(),
            tried,
            100.0 * self.rejected_total() as f64 / tried.max(1) as f64
        );
        for (reason, n) in &self.rejected {
            eprintln!("  {reason}: {n}");
        }
    }
}

/// Options of a datagen run (the CLI's, without the parsing).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub n: usize,
    pub seed: u64,
    pub augment: Augment,
    pub python: Option<PathBuf>,
    pub workers: usize,
    pub progress: bool,
}

pub fn run(out: &Path, args: &DatagenArgs) -> anyhow::Result<()> {
    let augment = match &args.augment {
        Some(text) => Augment::parse(text).map_err(anyhow::Error::msg)?,
        None => Augment::default(),
    };
    let summary = generate_pairs(
        out,
        &RunOptions {
            n: args.n,
            seed: args.seed,
            augment,
            python: args.python.clone(),
            workers: args.workers,
            progress: true,
        },
    )?;
    summary.print();
    Ok(())
}

fn append(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

fn write_pair(out: &Path, manifest: &mut std::fs::File, pair: Pair) -> anyhow::Result<()> {
    let py = out.join(format!("{}.py", pair.id));
    std::fs::write(&py, pair.code).with_context(|| format!("writing {}", py.display()))?;
    let img = out.join(format!("{}.png", pair.id));
    std::fs::write(&img, pair.png).with_context(|| format!("writing {}", img.display()))?;
    // The manifest line goes last: a pair is only "done" once both files exist.
    let line = json!({"id": pair.id, "seed": pair.seed, "stats": pair.stats});
    writeln!(manifest, "{line}")
        .with_context(|| format!("appending to {}/manifest.jsonl", out.display()))
}

/// Writes pairs into `out` until it holds `opts.n`; returns what this run did.
pub fn generate_pairs(out: &Path, opts: &RunOptions) -> anyhow::Result<Summary> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let manifest_path = out.join("manifest.jsonl");
    let rejected_path = out.join("rejected.jsonl");
    let done = manifest_ids(&manifest_path)?;
    let skipped = manifest_ids(&rejected_path)?;
    let mut summary = Summary {
        already: done.len(),
        ..Summary::default()
    };
    if done.len() >= opts.n {
        return Ok(summary);
    }
    let pool = WorkerPool::start(PoolConfig {
        python: opts.python.clone(),
        workers: opts.workers,
        job_timeout: Duration::from_secs(20),
        ..PoolConfig::default()
    })
    .context("starting the CadQuery workers")?;
    let mut manifest = append(&manifest_path)?;
    let mut rejected_log = append(&rejected_path)?;
    let bar = if opts.progress {
        ProgressBar::new(opts.n as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} pairs {per_sec} eta {eta} {msg}")
            .expect("valid template"),
    );
    bar.set_position(done.len() as u64);
    let start = Instant::now();
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let ctx = SampleMaker {
        pool: &pool,
        augment: opts.augment,
        seed: opts.seed,
    };
    // Two submitting threads per worker keep every worker busy while others render.
    let threads = (opts.workers * 2).max(2);
    let (tx, rx) = mpsc::channel::<anyhow::Result<Outcome>>();
    let result = std::thread::scope(|s| -> anyhow::Result<()> {
        for _ in 0..threads {
            let tx = tx.clone();
            let (ctx, next, stop, done, skipped) = (&ctx, &next, &stop, &done, &skipped);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let id = sample_id(ctx.seed, i);
                    if done.contains(&id) || skipped.contains(&id) {
                        continue;
                    }
                    if tx.send(make_pair(ctx, i)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut have = done.len();
        for outcome in rx {
            if have >= opts.n {
                continue; // results in flight after the target: discard, never half-write
            }
            match outcome {
                Ok(Outcome::Pair(pair)) => {
                    write_pair(out, &mut manifest, pair)?;
                    have += 1;
                    summary.written += 1;
                    bar.set_position(have as u64);
                }
                Ok(Outcome::Rejected { id, seed, reason }) => {
                    let line = json!({"id": id, "seed": seed, "stats": {"reason": reason}});
                    writeln!(rejected_log, "{line}")?;
                    *summary.rejected.entry(reason).or_default() += 1;
                    bar.set_message(format!("{} rejected", summary.rejected_total()));
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            if have >= opts.n {
                stop.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    });
    stop.store(true, Ordering::Relaxed);
    bar.finish_and_clear();
    summary.seconds = start.elapsed().as_secs_f64();
    result?;
    Ok(summary)
}
