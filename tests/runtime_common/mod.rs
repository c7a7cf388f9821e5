//! Shared set-up for the runtime tests: a pool found through the normal Python discovery
//! (CADQUERY_LSP_PYTHON here, the environment `cadquery-lsp setup` made in CI).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use cadquery_lsp::progress::CancellationToken;
use cadquery_lsp::runtime::{
    Built, ExecRequest, Execution, Job, JobOutput, PoolConfig, ScriptError, WorkerPool,
};

pub fn pool(workers: usize, timeout: Duration) -> WorkerPool {
    WorkerPool::start(PoolConfig {
        workers,
        job_timeout: timeout,
        ..PoolConfig::default()
    })
    .expect("start a CadQuery pool (set CADQUERY_LSP_PYTHON or run `cadquery-lsp setup`)")
}

pub fn run(pool: &WorkerPool, req: ExecRequest) -> Execution {
    match pool.execute(Job::Execute(req), &CancellationToken::new()) {
        Ok(JobOutput::Executed(e)) => e,
        other => panic!("unexpected answer: {other:?}"),
    }
}

pub fn exec(pool: &WorkerPool, code: &str) -> Execution {
    run(pool, ExecRequest::facts(code))
}

pub fn built(pool: &WorkerPool, code: &str) -> Built {
    exec(pool, code).unwrap_or_else(|e| panic!("script failed: {e}\n{code}"))
}

pub fn failed(pool: &WorkerPool, code: &str) -> ScriptError {
    match exec(pool, code) {
        Ok(b) => panic!("script unexpectedly built {}: {code}", b.result_name),
        Err(e) => e,
    }
}

pub fn untrusted(pool: &WorkerPool, code: &str) -> Execution {
    run(
        pool,
        ExecRequest {
            untrusted: true,
            ..ExecRequest::facts(code)
        },
    )
}

/// A box whose volume tells which job it came from.
pub fn box_script(x: f64) -> String {
    format!("import cadquery as cq\nresult = cq.Workplane().box({x}, 1, 1)\n")
}

pub fn assert_serves(pool: &WorkerPool) {
    let b = built(pool, &box_script(2.0));
    assert!((b.facts.volume - 2.0).abs() < 1e-9, "{}", b.facts.volume);
}

/// The shared data directory, or None (and a note) when the tests run without it.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    match std::env::var_os("CADQUERY_LSP_SHARED") {
        Some(d) => Some(PathBuf::from(d)),
        None => {
            eprintln!("{test}: skipped, CADQUERY_LSP_SHARED is not set");
            None
        }
    }
}
