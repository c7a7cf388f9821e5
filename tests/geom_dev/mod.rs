//! Shared set-up of the tests that read the dev set (and, for most, a CadQuery runtime).
// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use cadquery_lsp::progress::CancellationToken;
use cadquery_lsp::runtime::{
    Built, ExecRequest, Job, JobOutput, MeshOptions, PoolConfig, WorkerPool,
};

pub struct DevSet {
    pub dir: PathBuf,
    /// Sorted file stems of the dev scripts.
    pub ids: Vec<String>,
    pub pool: WorkerPool,
}

/// The dev folder and its sorted script ids, or None (after saying why) when the shared
/// folder is not given.
pub fn dev_scripts() -> Option<(PathBuf, Vec<String>)> {
    let Ok(shared) = std::env::var("CADQUERY_LSP_SHARED") else {
        eprintln!("skipped: CADQUERY_LSP_SHARED is not set (the dev set lives in ../shared)");
        return None;
    };
    let dir = PathBuf::from(shared).join("data/gencad-dev");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".py").map(String::from)
        })
        .collect();
    ids.sort();
    assert!(!ids.is_empty(), "no dev scripts in {}", dir.display());
    Some((dir, ids))
}

/// The dev set and a 2-worker pool, or None (after saying why) when either is missing.
pub fn dev_set() -> Option<DevSet> {
    let (dir, ids) = dev_scripts()?;
    let pool = match WorkerPool::start(PoolConfig {
        workers: 2,
        ..PoolConfig::default()
    }) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipped: no CadQuery runtime ({e})");
            return None;
        }
    };
    Some(DevSet { dir, ids, pool })
}

impl DevSet {
    pub fn script(&self, id: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{id}.py"))).unwrap()
    }

    /// Execute a script that must build.
    pub fn build(&self, code: String, mesh: MeshOptions, edges: bool) -> Built {
        let job = Job::Execute(ExecRequest {
            code,
            mesh: Some(mesh),
            edges,
            untrusted: false,
        });
        match self.pool.execute(job, &CancellationToken::new()).unwrap() {
            JobOutput::Executed(Ok(b)) => b,
            other => panic!("script did not build: {other:?}"),
        }
    }
}
