//! `cadquery-lsp bench runtime`: worker start-up, pool overhead per job over the bare
//! CadQuery execution (as timed inside the worker), throughput on 2 workers, and the wire
//! encoding of large meshes (JSON arrays vs base64 little-endian buffers).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::progress::CancellationToken;

use super::{Built, ExecRequest, Job, JobOutput, MeshOptions, PoolConfig, Wire, WorkerPool};

/// The simple part: an L bracket with a hole, in the canonical style.
const SIMPLE_PART: &str = include_str!("../../examples/bracket.py");
/// A part with a large mesh (fine tessellation of curved faces) for the wire comparison.
const BIG_MESH_PART: &str = "import cadquery as cq\n\
result = cq.Workplane().sphere(1).cut(cq.Workplane().cylinder(3, 0.3))\n";

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Python with CadQuery (default: discovery / managed environment).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Jobs per throughput measurement.
    #[arg(long, default_value_t = 200)]
    pub jobs: usize,
}

fn built(pool: &WorkerPool, req: ExecRequest) -> anyhow::Result<(Built, Duration)> {
    let t = Instant::now();
    let out = pool.execute(Job::Execute(req), &CancellationToken::new())?;
    let elapsed = t.elapsed();
    match out {
        JobOutput::Executed(Ok(b)) => Ok((b, elapsed)),
        JobOutput::Executed(Err(e)) => anyhow::bail!("benchmark script failed: {e}"),
        _ => anyhow::bail!("unexpected job output"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(s: f64) -> String {
    format!("{:.2} ms", s * 1e3)
}

/// Runs `n` jobs from 4 submitting threads; returns jobs per second.
fn throughput(pool: &WorkerPool, req: &ExecRequest, n: usize) -> anyhow::Result<f64> {
    let next = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<()> {
                    while next.fetch_add(1, Ordering::Relaxed) < n {
                        built(pool, req.clone())?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().expect("bench thread")?;
        }
        Ok(())
    })?;
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// Per-job figures over `n` sequential jobs: (round trip, worker total, bare exec) medians.
fn per_job(pool: &WorkerPool, req: &ExecRequest, n: usize) -> anyhow::Result<(f64, f64, f64)> {
    built(pool, req.clone())?; // warm-up
    let mut rt = Vec::new();
    let mut worker = Vec::new();
    let mut exec = Vec::new();
    for _ in 0..n {
        let (b, d) = built(pool, req.clone())?;
        rt.push(d.as_secs_f64());
        worker.push(b.worker_seconds);
        exec.push(b.exec_seconds);
    }
    Ok((median(rt), median(worker), median(exec)))
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let cfg = PoolConfig {
        python: args.python.clone(),
        workers: 2,
        ..PoolConfig::default()
    };
    let pool = WorkerPool::start(cfg.clone())?;
    let hello = pool.worker_info();
    println!(
        "runtime bench: python {} / cadquery {} ({}); build profile: {}",
        hello.python_version,
        hello.cadquery,
        pool.python().display(),
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    );
    println!(
        "worker start-up (2 workers, in parallel): {:.2} s   (CadQuery import inside: {:.2} s)",
        pool.start_time().as_secs_f64(),
        hello.import_s
    );

    let facts = ExecRequest::facts(SIMPLE_PART);
    let full = ExecRequest {
        mesh: Some(MeshOptions::default()),
        edges: true,
        ..facts.clone()
    };
    for (label, req) in [("facts only", &facts), ("mesh+edges", &full)] {
        let (rt, worker, exec) = per_job(&pool, req, 50)?;
        println!(
            "per job, simple part, {label}: round trip {}, worker total {}, bare CadQuery exec {}; \
             pool overhead over the worker {} (target < 5 ms), over bare exec {}",
            ms(rt),
            ms(worker),
            ms(exec),
            ms(rt - worker),
            ms(rt - exec)
        );
    }
    for (label, req) in [("facts only", &facts), ("mesh+edges", &full)] {
        let jps = throughput(&pool, req, args.jobs)?;
        println!(
            "throughput, 2 workers, simple part, {label}: {jps:.1} jobs/s (target >= 40) over {} jobs",
            args.jobs
        );
    }
    drop(pool);

    // wire encodings on a large mesh, each on its own one-worker pool
    let big = ExecRequest {
        code: BIG_MESH_PART.into(),
        mesh: Some(MeshOptions {
            tolerance: 2e-4,
            angular_tolerance: 0.05,
        }),
        edges: true,
        untrusted: false,
    };
    for wire in [Wire::Json, Wire::B64] {
        let pool = WorkerPool::start(PoolConfig {
            workers: 1,
            wire,
            ..cfg.clone()
        })?;
        let (b, _) = built(&pool, big.clone())?;
        let tris = b.mesh.as_ref().map_or(0, |m| m.triangles.len());
        let (rt, worker, _) = per_job(&pool, &big, 10)?;
        println!(
            "large mesh ({tris} triangles) over {wire:?}: round trip {}, worker total {}, transfer+decode {}",
            ms(rt),
            ms(worker),
            ms(rt - worker)
        );
    }
    Ok(())
}
