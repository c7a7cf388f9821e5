//! Finding a Python that has CadQuery, or making one: `--python`, `CADQUERY_LSP_PYTHON`,
//! the active virtualenv, the workspace `.venv`, else a virtualenv of our own in the user
//! cache directory, created once (under a lock) and trusted only after a verified import.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use fs2::FileExt;

use crate::progress::{ProgressEvent, ProgressSink};

use super::protocol::RuntimeError;

/// The CadQuery release the project is built and tested against.
pub const CADQUERY_VERSION: &str = "2.8.0";
/// What the worker imports besides CadQuery.
const WORKER_PACKAGES: &[&str] = &["numpy"];
/// Written into the managed env only after `import cadquery` worked there.
const READY_MARKER: &str = "cadquery-lsp-ready";

/// Where a Python came from (for messages and `setup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    EnvVar,
    VirtualEnv,
    WorkspaceVenv,
    Managed,
}

#[derive(Debug, Clone)]
pub struct Found {
    pub python: PathBuf,
    pub source: Source,
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// True when `python` can find the cadquery package (without paying for its import).
fn has_cadquery(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import importlib.util,sys; sys.exit(importlib.util.find_spec('cadquery') is None)",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The managed environment: `<user cache>/cadquery-lsp/env-cadquery-<version>`.
pub fn managed_env_dir() -> Result<PathBuf, RuntimeError> {
    let dirs = directories::ProjectDirs::from("", "", "cadquery-lsp").ok_or_else(|| {
        RuntimeError::Python(
            "no home directory to keep a Python environment in: pass --python or set \
             CADQUERY_LSP_PYTHON"
                .into(),
        )
    })?;
    Ok(dirs
        .cache_dir()
        .join(format!("env-cadquery-{CADQUERY_VERSION}")))
}

/// Discovery without creating anything; `None` when only a new managed env would do.
pub fn discover(explicit: Option<&Path>, workspace: Option<&Path>) -> Option<Found> {
    if let Some(p) = explicit {
        return Some(Found {
            python: p.to_path_buf(),
            source: Source::Flag,
        });
    }
    if let Some(p) = std::env::var_os("CADQUERY_LSP_PYTHON").filter(|p| !p.is_empty()) {
        return Some(Found {
            python: PathBuf::from(p),
            source: Source::EnvVar,
        });
    }
    let candidates = [
        std::env::var_os("VIRTUAL_ENV").map(|v| (venv_python(Path::new(&v)), Source::VirtualEnv)),
        workspace
            .map(Path::to_path_buf)
            .or_else(|| std::env::current_dir().ok())
            .map(|w| (venv_python(&w.join(".venv")), Source::WorkspaceVenv)),
    ];
    for (python, source) in candidates.into_iter().flatten() {
        if python.exists() {
            if has_cadquery(&python) {
                return Some(Found { python, source });
            }
            tracing::info!("{} has no cadquery; not using it", python.display());
        }
    }
    let env = managed_env_dir().ok()?;
    env.join(READY_MARKER).exists().then(|| Found {
        python: venv_python(&env),
        source: Source::Managed,
    })
}

/// Discovery, falling back to creating the managed environment (first use).
pub fn resolve(
    explicit: Option<&Path>,
    workspace: Option<&Path>,
    progress: &dyn ProgressSink,
) -> Result<PathBuf, RuntimeError> {
    if let Some(found) = discover(explicit, workspace) {
        tracing::debug!(python = %found.python.display(), source = ?found.source, "using Python");
        return Ok(found.python);
    }
    bootstrap(&managed_env_dir()?, progress)
}

fn run_step(cmd: &mut Command, what: &str) -> Result<(), RuntimeError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RuntimeError::Python(format!("{what}: cannot run {cmd:?}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(RuntimeError::Python(format!(
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )))
}

/// A system Python 3 to build the virtualenv with.
fn base_python() -> Result<PathBuf, RuntimeError> {
    for name in ["python3", "python"] {
        let ok = Command::new(name)
            .args(["-c", "import sys; sys.exit(sys.version_info < (3, 9))"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(PathBuf::from(name));
        }
    }
    Err(RuntimeError::Python(
        "no Python 3.9 or newer on PATH to create the CadQuery environment with: install \
         python3 (with the venv module), or pass --python / set CADQUERY_LSP_PYTHON to a Python \
         that has cadquery"
            .into(),
    ))
}

/// Creates the managed env at `env` (pip install cadquery) unless another process did
/// it first; returns its python. A half-made env (no marker) is removed and redone.
pub fn bootstrap(env: &Path, progress: &dyn ProgressSink) -> Result<PathBuf, RuntimeError> {
    let stage = "Python environment";
    let parent = env.parent().unwrap_or(env);
    std::fs::create_dir_all(parent)
        .map_err(|e| RuntimeError::io(format!("cannot create {}", parent.display()), e))?;
    let mut lock_name = env.file_name().unwrap_or_default().to_os_string();
    lock_name.push(".lock");
    let lock_path = env.with_file_name(lock_name);
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| RuntimeError::io(format!("cannot create {}", lock_path.display()), e))?;
    if lock.try_lock_exclusive().is_err() {
        progress.report(
            ProgressEvent::new(stage, 0, None)
                .with_message("waiting for another cadquery-lsp to finish installing"),
        );
        lock.lock_exclusive()
            .map_err(|e| RuntimeError::io(format!("cannot lock {}", lock_path.display()), e))?;
    }
    let python = venv_python(env);
    if env.join(READY_MARKER).exists() {
        return Ok(python);
    }
    let t0 = Instant::now();
    tracing::info!("creating a CadQuery environment in {}", env.display());
    if env.exists() {
        // an earlier attempt stopped half-way: start clean
        std::fs::remove_dir_all(env)
            .map_err(|e| RuntimeError::io(format!("cannot remove {}", env.display()), e))?;
    }
    let total = Some(4);
    progress.report(ProgressEvent::new(stage, 0, total).with_message("creating a virtualenv"));
    let base = base_python()?;
    run_step(
        Command::new(&base).arg("-m").arg("venv").arg(env),
        "creating a virtualenv (on Debian/Ubuntu: apt install python3-venv)",
    )?;
    progress.report(
        ProgressEvent::new(stage, 1, total)
            .with_message(format!("pip install cadquery=={CADQUERY_VERSION}")),
    );
    pip_install(&python, progress, stage)?;
    progress.report(ProgressEvent::new(stage, 3, total).with_message("checking the import"));
    run_step(
        Command::new(&python).args([
            "-c",
            &format!(
                "import cadquery, numpy; assert cadquery.__version__ == '{CADQUERY_VERSION}', cadquery.__version__"
            ),
        ]),
        "importing the freshly installed cadquery",
    )?;
    std::fs::write(
        env.join(READY_MARKER),
        format!("cadquery {CADQUERY_VERSION}\n"),
    )
    .map_err(|e| RuntimeError::io("cannot write the environment marker", e))?;
    progress.report(ProgressEvent::new(stage, 4, total).with_message("ready"));
    tracing::info!(
        seconds = t0.elapsed().as_secs_f64(),
        "CadQuery environment ready"
    );
    Ok(python)
}

/// `pip install`, reporting each package pip collects so a long download shows progress.
fn pip_install(
    python: &Path,
    progress: &dyn ProgressSink,
    stage: &str,
) -> Result<(), RuntimeError> {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
    ])
    .arg(format!("cadquery=={CADQUERY_VERSION}"))
    .args(WORKER_PACKAGES)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        RuntimeError::Python(format!("cannot run pip in {}: {e}", python.display()))
    })?;
    let stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            s.push_str(&line);
            s.push('\n');
        }
        s
    });
    let mut log = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped stdout"))
        .lines()
        .map_while(Result::ok)
    {
        if line.starts_with("Collecting") || line.starts_with("Installing") {
            progress.report(ProgressEvent::new(stage, 2, Some(4)).with_message(line.clone()));
        }
        log.push(line);
    }
    let status = child
        .wait()
        .map_err(|e| RuntimeError::io("waiting for pip", e))?;
    let errors = errors.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let tail: Vec<&str> = log
        .iter()
        .rev()
        .take(15)
        .rev()
        .map(String::as_str)
        .collect();
    Err(RuntimeError::Python(format!(
        "pip install cadquery=={CADQUERY_VERSION} failed ({status}); nothing was marked usable, so \
         running `cadquery-lsp setup` again retries from scratch (check the network or a proxy):\n{}\n{}",
        tail.join("\n"),
        errors.trim_end()
    )))
}
