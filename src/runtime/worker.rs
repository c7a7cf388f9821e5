//! One persistent Python worker process: start it (CadQuery imported once), send it a
//! job, wait for the answer under a deadline and a cancellation token, kill it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::progress::CancellationToken;

use super::protocol::{RuntimeError, WireReply, WorkerHello};
use super::sandbox::{self, Limits, NetIsolation};

/// The worker program, shipped inside the binary.
pub const WORKER_PY: &str = include_str!("worker.py");

/// How long CadQuery may take to import (cold disk caches are slow).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How often a waiting job looks at its cancellation token.
const POLL: Duration = Duration::from_millis(20);
/// Stderr lines kept to explain a worker that died.
const STDERR_TAIL: usize = 20;

pub(crate) enum Outcome {
    Reply(Box<WireReply>),
    TimedOut,
    Cancelled,
    /// The process ended; the text says how (exit code or signal).
    Died(String, Option<i32>),
}

pub(crate) struct WorkerProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    pub hello: WorkerHello,
    pub start_time: Duration,
}

impl WorkerProcess {
    /// Starts a worker with its cwd in `dir` and waits until CadQuery is imported.
    pub fn spawn(
        python: &Path,
        dir: &Path,
        limits: Limits,
        net: NetIsolation,
    ) -> Result<Self, RuntimeError> {
        let t0 = Instant::now();
        let mut cmd = Command::new(python);
        cmd.arg("-c")
            .arg(WORKER_PY)
            .current_dir(dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // temp files land where the sandbox allows writes
            .env("TMPDIR", dir)
            // one thread each: the pool is the parallelism, and thread stacks count against RLIMIT_AS
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("OMP_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        sandbox::confine(&mut cmd, dir, limits, net);
        let mut child = cmd.spawn().map_err(|e| {
            RuntimeError::WorkerStart(format!(
                "cannot run {}: {e}. Pass --python, set CADQUERY_LSP_PYTHON or run `cadquery-lsp setup`",
                python.display()
            ))
        })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let pid = child.id();

        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("worker-{pid}-out"))
            .spawn(move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) => break,
                        Ok(_) => {
                            if tx.send(Ok(line)).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            })
            .map_err(|e| RuntimeError::io("cannot start a reader thread", e))?;

        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = stderr_tail.clone();
        std::thread::Builder::new()
            .name(format!("worker-{pid}-err"))
            .spawn(move || drain_stderr(pid, stderr, &tail))
            .map_err(|e| RuntimeError::io("cannot start a reader thread", e))?;

        let mut worker = WorkerProcess {
            child,
            stdin,
            lines,
            stderr_tail,
            hello: WorkerHello::default(),
            start_time: Duration::ZERO,
        };
        let hello = match worker.lines.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) => serde_json::from_str::<WorkerHello>(&line).map_err(|e| {
                RuntimeError::WorkerStart(format!("unreadable greeting {line:?}: {e}"))
            })?,
            Ok(Err(e)) => return Err(RuntimeError::io("reading the worker's greeting", e)),
            Err(RecvTimeoutError::Timeout) => {
                return Err(RuntimeError::WorkerStart(format!(
                    "{} did not import CadQuery within {} s",
                    python.display(),
                    START_TIMEOUT.as_secs()
                )))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let (how, _) = worker.reap();
                return Err(RuntimeError::WorkerStart(format!(
                    "{} {how} before it was ready{}",
                    python.display(),
                    worker.stderr_excerpt()
                )));
            }
        };
        if !hello.ready {
            return Err(RuntimeError::WorkerStart(format!(
                "CadQuery cannot be imported by {} ({}). Run `cadquery-lsp setup`, or pass \
                 --python / set CADQUERY_LSP_PYTHON to a Python that has cadquery 2.8",
                python.display(),
                hello.error.as_deref().unwrap_or("unknown error")
            )));
        }
        worker.hello = hello;
        worker.start_time = t0.elapsed();
        tracing::debug!(
            pid,
            seconds = worker.start_time.as_secs_f64(),
            "worker ready"
        );
        Ok(worker)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one job line and waits for the reply with the same id.
    pub fn run(
        &mut self,
        line: &str,
        id: u64,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> Outcome {
        if let Err(e) = self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| self.stdin.write_all(b"\n"))
            .and_then(|_| self.stdin.flush())
        {
            tracing::debug!("writing to worker failed: {e}");
            let (how, signal) = self.reap();
            return Outcome::Died(how, signal);
        }
        loop {
            if cancel.is_cancelled() {
                return Outcome::Cancelled;
            }
            let now = Instant::now();
            if now >= deadline {
                return Outcome::TimedOut;
            }
            match self.lines.recv_timeout(POLL.min(deadline - now)) {
                Ok(Ok(text)) => match serde_json::from_str::<WireReply>(&text) {
                    Ok(reply) if reply.id == id => return Outcome::Reply(Box::new(reply)),
                    Ok(reply) => tracing::warn!(got = reply.id, id, "stale worker reply dropped"),
                    Err(e) => {
                        let head: String = text.chars().take(200).collect();
                        tracing::error!("unreadable worker reply ({e}): {head}");
                        let (how, signal) = self.reap();
                        return Outcome::Died(format!("sent garbage and {how}"), signal);
                    }
                },
                Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => {
                    let (how, signal) = self.reap();
                    return Outcome::Died(how, signal);
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Kills the process group and collects the exit status: "exited with code N" /
    /// "was killed by signal N".
    fn reap(&mut self) -> (String, Option<i32>) {
        // give a dying process a moment to finish on its own so its real status is seen
        let until = Instant::now() + Duration::from_millis(500);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
                _ => break None,
            }
        };
        let status = status.or_else(|| {
            sandbox::kill_group(self.child.id());
            self.child.wait().ok()
        });
        sandbox::kill_group(self.child.id());
        describe(status)
    }

    pub fn stderr_excerpt(&self) -> String {
        let tail = self.stderr_tail.lock().expect("stderr tail lock");
        if tail.is_empty() {
            String::new()
        } else {
            format!(
                "; its last messages:\n{}",
                Vec::from(tail.clone()).join("\n")
            )
        }
    }

    pub fn kill(&mut self) {
        sandbox::kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn describe(status: Option<ExitStatus>) -> (String, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => (format!("exited with code {code}"), None),
            (_, Some(sig)) => (
                format!("was killed by signal {sig} ({})", signal_name(sig)),
                Some(sig),
            ),
            _ => ("ended".to_string(), None),
        },
        None => ("ended (status unknown)".to_string(), None),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGXCPU => "SIGXCPU, CPU limit",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// Logs the worker's stderr (C libraries, stray writes) at debug level, keeping the last
/// lines to explain a crash; a flood is read and dropped, never buffered.
fn drain_stderr(pid: u32, stderr: std::process::ChildStderr, tail: &Mutex<VecDeque<String>>) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // read_until on a flood of one endless line would grow without bound: cap by chunks
        match reader.by_ref().take(4096).read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                tracing::debug!(pid, "worker: {line}");
                let mut t = tail.lock().expect("stderr tail lock");
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
            Err(_) => break,
        }
    }
}
