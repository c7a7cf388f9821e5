//! `cadquery-lsp run FILE` and `cadquery-lsp setup`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::progress::{CancellationToken, ProgressEvent, ProgressSink};

use super::{python, ExecRequest, Job, JobOutput, PoolConfig, WorkerPool};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The CadQuery script to execute.
    pub file: PathBuf,
    /// Print one JSON object (see README "cadquery-lsp run --json").
    #[arg(long)]
    pub json: bool,
    /// Python with CadQuery (default: discovery, then the managed environment).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Wall-clock limit for the script, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Treat the script as generated code: static safety check, restricted builtins.
    #[arg(long)]
    pub untrusted: bool,
}

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// Check this Python instead of discovering / creating the managed environment.
    #[arg(long)]
    pub python: Option<PathBuf>,
}

/// A progress bar on stderr for environment set-up.
pub struct BarProgress(ProgressBar);

impl BarProgress {
    pub fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{bar:20}] {pos}/{len} {wide_msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        BarProgress(bar)
    }
}

impl Default for BarProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for BarProgress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

impl ProgressSink for BarProgress {
    fn report(&self, e: ProgressEvent) {
        self.0.set_prefix(e.stage);
        if let Some(t) = e.total {
            self.0.set_length(t);
        }
        self.0.set_position(e.done);
        if let Some(m) = e.message {
            self.0.set_message(m);
        }
    }
}

fn one_worker(python: Option<PathBuf>, timeout: Duration) -> anyhow::Result<WorkerPool> {
    let progress = BarProgress::new();
    let pool = WorkerPool::start_with_progress(
        PoolConfig {
            python,
            workers: 1,
            job_timeout: timeout,
            ..PoolConfig::default()
        },
        &progress,
    )?;
    Ok(pool)
}

/// `run FILE`: exit code 0 when the script built a solid, 1 when it did not (the error is
/// printed), 2 when the runtime itself failed.
pub fn run_command(args: RunArgs) -> anyhow::Result<()> {
    let code = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let pool = one_worker(args.python, Duration::from_secs_f64(args.timeout.max(0.1)))?;
    let job = Job::Execute(ExecRequest {
        untrusted: args.untrusted,
        ..ExecRequest::facts(code)
    });
    let JobOutput::Executed(result) = pool.execute(job, &CancellationToken::new())? else {
        anyhow::bail!("the worker answered a different kind of job");
    };
    let ok = result.is_ok();
    let mut out = std::io::stdout().lock();
    match (&result, args.json) {
        (Ok(b), true) => {
            let f = &b.facts;
            let v = json!({"ok": true, "result": b.result_name, "volume": f.volume,
                "centroid": f.centroid, "bbox": f.bbox, "solids": f.solids, "valid": f.valid,
                "inertia": f.inertia, "output": b.output});
            writeln!(out, "{v}")?;
        }
        (Err(e), true) => {
            let v = json!({"ok": false, "error": {"type": e.kind, "message": e.message, "line": e.line}});
            writeln!(out, "{v}")?;
        }
        (Ok(b), false) => {
            let f = &b.facts;
            write!(out, "{}", b.output)?;
            writeln!(out, "result    {}", b.result_name)?;
            // {:?}: shortest round-trip digits, exponent for tiny values
            writeln!(out, "volume    {:?}", f.volume)?;
            writeln!(out, "centroid  {:?}", f.centroid)?;
            writeln!(out, "bbox      {:?} .. {:?}", f.bbox.min, f.bbox.max)?;
            writeln!(out, "solids    {}", f.solids)?;
            writeln!(out, "valid     {}", f.valid)?;
        }
        (Err(e), false) => writeln!(out, "error: {e}")?,
    }
    out.flush()?;
    drop(out);
    drop(pool);
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

/// `setup`: find or create the Python environment (progress bar), then prove a worker
/// starts in it.
pub fn setup_command(args: SetupArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let pool = one_worker(args.python, Duration::from_secs(10))?;
    let hello = pool.worker_info();
    eprintln!(
        "ready: {} (Python {}, cadquery {}); CadQuery imports in {:.1} s; set-up took {:.1} s",
        pool.python().display(),
        hello.python_version,
        hello.cadquery,
        hello.import_s,
        t0.elapsed().as_secs_f64()
    );
    if hello.cadquery != python::CADQUERY_VERSION {
        tracing::warn!(
            "this Python has cadquery {}, the project is tested with {}",
            hello.cadquery,
            python::CADQUERY_VERSION
        );
    }
    Ok(())
}
