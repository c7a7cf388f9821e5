//! The pool: a fair FIFO queue of jobs served by N slots, each owning one persistent
//! worker process. A slot kills and replaces its worker after a timeout, a cancellation
//! or a crash, so one bad script never affects the other jobs.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::progress::{CancellationToken, NoProgress, ProgressSink};

use super::protocol::{
    ExportFormat, Job, JobOutput, RuntimeError, ScriptError, Wire, WireJob, WorkerHello,
};
use super::python;
use super::sandbox::{self, Limits, NetIsolation};
use super::worker::{Outcome, WorkerProcess};

/// Extra time after the job timeout before the worker is killed: the worker's own alarm
/// stops pure-Python loops at the timeout and keeps the (warm) worker alive.
const KILL_GRACE: Duration = Duration::from_millis(1000);

#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Python with CadQuery; `None` = discovery / the managed environment (see `python`).
    pub python: Option<PathBuf>,
    /// Directory whose `.venv` discovery may use (the workspace); `None` = current dir.
    pub workspace: Option<PathBuf>,
    pub workers: usize,
    pub job_timeout: Duration,
    /// RLIMIT_AS per worker.
    pub memory_limit_bytes: u64,
    /// Cut workers off the network where the OS allows.
    pub isolate_network: bool,
    /// Encoding of mesh/edge arrays on the wire (measured by `bench runtime`).
    pub wire: Wire,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            python: None,
            workspace: None,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            job_timeout: Duration::from_secs(10),
            memory_limit_bytes: 2 << 30,
            isolate_network: true,
            wire: Wire::default(),
        }
    }
}

enum Reply {
    Blocking(mpsc::Sender<Result<JobOutput, RuntimeError>>),
    Async(tokio::sync::oneshot::Sender<Result<JobOutput, RuntimeError>>),
}

impl Reply {
    fn send(self, r: Result<JobOutput, RuntimeError>) {
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.send(r);
            }
            Reply::Async(tx) => {
                let _ = tx.send(r);
            }
        }
    }
}

struct Queued {
    id: u64,
    job: Job,
    cancel: CancellationToken,
    reply: Reply,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Queued>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    next_id: AtomicU64,
    python: PathBuf,
    limits: Limits,
    net: NetIsolation,
    timeout: Duration,
    wire: Wire,
    scratch: tempfile::TempDir,
}

/// A pool of sandboxed CadQuery workers. Cheap to clone (one `Arc`), `Send + Sync`:
/// call `execute` from any number of threads, `execute_async` from tokio tasks.
#[derive(Clone)]
pub struct WorkerPool {
    inner: Arc<PoolHandle>,
}

struct PoolHandle {
    shared: Arc<Shared>,
    slots: Vec<std::thread::JoinHandle<()>>,
    hello: WorkerHello,
    start_time: Duration,
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        {
            let mut q = self.shared.queue.lock().expect("queue lock");
            q.closed = true;
            for job in q.jobs.drain(..) {
                job.reply.send(Err(RuntimeError::Closed));
            }
        }
        self.shared.ready.notify_all();
        for slot in self.slots.drain(..) {
            let _ = slot.join();
        }
    }
}

impl WorkerPool {
    /// Finds (or creates) the Python environment and starts `cfg.workers` workers,
    /// returning once all have imported CadQuery.
    pub fn start(cfg: PoolConfig) -> Result<WorkerPool, RuntimeError> {
        Self::start_with_progress(cfg, &NoProgress)
    }

    /// As `start`, reporting environment set-up (first use) to `progress`.
    pub fn start_with_progress(
        cfg: PoolConfig,
        progress: &dyn ProgressSink,
    ) -> Result<WorkerPool, RuntimeError> {
        let python = python::resolve(cfg.python.as_deref(), cfg.workspace.as_deref(), progress)?;
        let net = if cfg.isolate_network {
            sandbox::net_isolation(&python)
        } else {
            NetIsolation::None
        };
        let scratch = tempfile::Builder::new()
            .prefix("cadquery-lsp-")
            .tempdir()
            .map_err(|e| RuntimeError::io("cannot create a scratch directory", e))?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            next_id: AtomicU64::new(1),
            python,
            limits: Limits {
                memory_bytes: cfg.memory_limit_bytes,
                cpu_seconds: cfg.job_timeout.as_secs() + 120,
            },
            net,
            timeout: cfg.job_timeout,
            wire: cfg.wire,
            scratch,
        });
        let t0 = Instant::now();
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut slots = Vec::new();
        for n in 0..cfg.workers.max(1) {
            let shared = shared.clone();
            let ready_tx = ready_tx.clone();
            let slot = std::thread::Builder::new()
                .name(format!("cadquery-slot-{n}"))
                .spawn(move || Slot::new(n, shared).serve(ready_tx))
                .map_err(|e| RuntimeError::io("cannot start a pool thread", e))?;
            slots.push(slot);
        }
        drop(ready_tx);
        let mut handle = PoolHandle {
            shared,
            slots,
            hello: WorkerHello::default(),
            start_time: Duration::ZERO,
        };
        // every slot answers once: its first worker's greeting or why it could not start
        for answer in ready_rx.iter() {
            handle.hello = answer?;
        }
        handle.start_time = t0.elapsed();
        tracing::info!(
            workers = cfg.workers,
            seconds = handle.start_time.as_secs_f64(),
            python = %handle.hello.python,
            cadquery = %handle.hello.cadquery,
            "CadQuery worker pool ready"
        );
        Ok(WorkerPool {
            inner: Arc::new(handle),
        })
    }

    /// The first worker's greeting: Python path and version, CadQuery version, import time.
    pub fn worker_info(&self) -> &WorkerHello {
        &self.inner.hello
    }

    /// Wall time from `start` until every worker had imported CadQuery.
    pub fn start_time(&self) -> Duration {
        self.inner.start_time
    }

    pub fn python(&self) -> &Path {
        &self.inner.shared.python
    }

    fn submit(&self, job: Job, cancel: &CancellationToken, reply: Reply) -> u64 {
        let shared = &self.inner.shared;
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut q = shared.queue.lock().expect("queue lock");
        if q.closed {
            reply.send(Err(RuntimeError::Closed));
            return id;
        }
        q.jobs.push_back(Queued {
            id,
            job,
            cancel: cancel.clone(),
            reply,
        });
        drop(q);
        shared.ready.notify_one();
        id
    }

    /// Takes a job out of the queue if no slot has picked it up yet.
    fn withdraw(&self, id: u64) -> bool {
        let mut q = self.inner.shared.queue.lock().expect("queue lock");
        match q.jobs.iter().position(|j| j.id == id) {
            Some(i) => {
                q.jobs.remove(i);
                true
            }
            None => false,
        }
    }

    /// Runs a job and waits for its answer. Blocking; callable from many threads at once.
    /// Cancelling `cancel` removes a queued job or kills the worker running it.
    pub fn execute(&self, job: Job, cancel: &CancellationToken) -> Result<JobOutput, RuntimeError> {
        let (tx, rx) = mpsc::channel();
        let id = self.submit(job, cancel, Reply::Blocking(tx));
        loop {
            match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(r) => return r,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(RuntimeError::Closed),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // a running job is stopped by its slot, which also watches the token
                    if cancel.is_cancelled() && self.withdraw(id) {
                        return Err(RuntimeError::Cancelled);
                    }
                }
            }
        }
    }

    /// As `execute`, for async callers (the LSP): never blocks the executor.
    pub async fn execute_async(
        &self,
        job: Job,
        cancel: &CancellationToken,
    ) -> Result<JobOutput, RuntimeError> {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let id = self.submit(job, cancel, Reply::Async(tx));
        tokio::select! {
            r = &mut rx => return r.unwrap_or(Err(RuntimeError::Closed)),
            _ = cancel.cancelled() => {}
        }
        if self.withdraw(id) {
            return Err(RuntimeError::Cancelled);
        }
        rx.await.unwrap_or(Err(RuntimeError::Closed))
    }
}

/// One place in the pool: pulls jobs in FIFO order and keeps one live worker.
struct Slot {
    n: usize,
    shared: Arc<Shared>,
    dir: PathBuf,
    worker: Option<WorkerProcess>,
}

impl Slot {
    fn new(n: usize, shared: Arc<Shared>) -> Self {
        let dir = shared.scratch.path().join(format!("worker-{n}"));
        Slot {
            n,
            shared,
            dir,
            worker: None,
        }
    }

    fn spawn_worker(&mut self) -> Result<&mut WorkerProcess, RuntimeError> {
        if self.worker.is_none() {
            std::fs::create_dir_all(&self.dir).map_err(|e| {
                RuntimeError::io(format!("cannot create {}", self.dir.display()), e)
            })?;
            let w = WorkerProcess::spawn(
                &self.shared.python,
                &self.dir,
                self.shared.limits,
                self.shared.net,
            )?;
            tracing::debug!(slot = self.n, pid = w.pid(), "worker started");
            self.worker = Some(w);
        }
        Ok(self.worker.as_mut().expect("worker just started"))
    }

    fn next_job(&self) -> Option<Queued> {
        let mut q = self.shared.queue.lock().expect("queue lock");
        loop {
            if let Some(job) = q.jobs.pop_front() {
                return Some(job);
            }
            if q.closed {
                return None;
            }
            q = self.shared.ready.wait(q).expect("queue lock");
        }
    }

    fn serve(mut self, ready: mpsc::Sender<Result<WorkerHello, RuntimeError>>) {
        let first = self.spawn_worker().map(|w| w.hello.clone());
        let failed = first.is_err();
        let _ = ready.send(first);
        drop(ready);
        if failed {
            return;
        }
        while let Some(job) = self.next_job() {
            if job.cancel.is_cancelled() {
                job.reply.send(Err(RuntimeError::Cancelled));
                continue;
            }
            let answer = self.run(&job);
            job.reply.send(answer);
            if self.worker.is_none() && !self.shared.queue.lock().expect("queue lock").closed {
                // replace a killed worker now, so the next job does not wait for the import
                if let Err(e) = self.spawn_worker() {
                    tracing::error!(slot = self.n, "cannot replace a worker: {e}");
                }
            }
        }
    }

    fn run(&mut self, job: &Queued) -> Result<JobOutput, RuntimeError> {
        let timeout = self.shared.timeout;
        let export_tmp = match &job.job {
            Job::Export { format, .. } => Some(self.dir.join(format!(
                "export-{}.{}",
                job.id,
                format.extension()
            ))),
            _ => None,
        };
        let line = wire_job(
            job.id,
            &job.job,
            timeout,
            self.shared.wire,
            export_tmp.as_deref(),
        )?;
        let worker = self.spawn_worker()?;
        let deadline = Instant::now() + timeout + KILL_GRACE;
        let outcome = worker.run(&line, job.id, deadline, &job.cancel);
        let failure = match outcome {
            Outcome::Reply(reply) => {
                let out = reply.into_output(&job.job)?;
                return finish_export(out, export_tmp.as_deref());
            }
            Outcome::Cancelled => {
                self.discard_worker("cancelled");
                return Err(RuntimeError::Cancelled);
            }
            Outcome::TimedOut => ScriptError::new(
                "Timeout",
                format!(
                    "the script ran longer than {} s and was stopped",
                    timeout.as_secs_f64()
                ),
            ),
            Outcome::Died(how, signal) => {
                let excerpt = self
                    .worker
                    .as_ref()
                    .map(|w| w.stderr_excerpt())
                    .unwrap_or_default();
                tracing::warn!(
                    slot = self.n,
                    "worker {how} while running a script{excerpt}"
                );
                if signal == Some(libc::SIGXCPU) {
                    ScriptError::new("Timeout", "the script used up its CPU time limit")
                } else {
                    ScriptError::new(
                        "WorkerCrashed",
                        format!("the CadQuery worker {how} while running the script"),
                    )
                }
            }
        };
        self.discard_worker(&failure.kind);
        Ok(match &job.job {
            Job::Execute(_) => JobOutput::Executed(Err(failure)),
            Job::Export { .. } => JobOutput::Exported(Err(failure)),
            Job::IouVol { .. } => JobOutput::IouVol(Err(failure)),
        })
    }

    fn discard_worker(&mut self, why: &str) {
        if let Some(mut w) = self.worker.take() {
            tracing::debug!(slot = self.n, pid = w.pid(), why, "worker killed");
            w.kill();
        }
    }
}

fn wire_job(
    id: u64,
    job: &Job,
    timeout: Duration,
    wire: Wire,
    export_tmp: Option<&Path>,
) -> Result<String, RuntimeError> {
    let mut w = WireJob {
        id,
        op: "execute",
        code: None,
        mesh: None,
        edges: false,
        untrusted: false,
        format: None,
        path: None,
        ground_truth: None,
        prediction: None,
        timeout_s: timeout.as_secs_f64(),
        wire,
    };
    match job {
        Job::Execute(r) => {
            w.code = Some(&r.code);
            w.mesh = r.mesh;
            w.edges = r.edges;
            w.untrusted = r.untrusted;
        }
        Job::Export { code, format, .. } => {
            w.op = "export";
            w.code = Some(code);
            w.format = Some(match format {
                ExportFormat::Step => "step",
                ExportFormat::Stl => "stl",
            });
            w.path = export_tmp.map(|p| p.display().to_string());
        }
        Job::IouVol {
            ground_truth,
            prediction,
        } => {
            w.op = "iou_vol";
            w.ground_truth = Some(ground_truth);
            w.prediction = Some(prediction);
        }
    }
    serde_json::to_string(&w).map_err(|e| RuntimeError::Protocol(e.to_string()))
}

/// The worker writes exports into its scratch dir (the only place it may write);
/// move the file to where the caller asked.
fn finish_export(out: JobOutput, tmp: Option<&Path>) -> Result<JobOutput, RuntimeError> {
    let (JobOutput::Exported(Ok(dest)), Some(tmp)) = (&out, tmp) else {
        return Ok(out);
    };
    if std::fs::rename(tmp, dest).is_err() {
        std::fs::copy(tmp, dest)
            .map_err(|e| RuntimeError::io(format!("cannot write {}", dest.display()), e))?;
        let _ = std::fs::remove_file(tmp);
    }
    Ok(out)
}
