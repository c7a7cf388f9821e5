//! The CadQuery runtime: find or create a Python with CadQuery (`python`), and run scripts
//! in a pool of persistent, sandboxed worker processes (`pool`, `worker`, `sandbox`) that
//! return solid facts, meshes and edges as plain data (`protocol`).

pub mod bench;
pub mod cli;
pub mod pool;
pub mod protocol;
pub mod python;
pub mod sandbox;
mod worker;

pub use pool::{PoolConfig, WorkerPool};
pub use protocol::{
    Built, ExecRequest, Execution, ExportFormat, Job, JobOutput, MeshOptions, RuntimeError,
    ScriptError, SolidFacts, Wire, WorkerHello,
};
pub use worker::WORKER_PY;
