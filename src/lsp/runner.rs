//! The server's CadQuery worker pool, started on first use with the current settings (a
//! first use may install CadQuery, shown as progress) and restarted when they change. A
//! failed start is remembered, so it is reported once rather than on every save.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::session::Session;
use super::settings::Settings;
use super::work_progress::{run_with_progress, Reporting};
use crate::runtime::{PoolConfig, WorkerPool};

#[derive(Debug, Clone, PartialEq)]
struct PoolKey {
    python: Option<PathBuf>,
    workers: usize,
    timeout_ms: u64,
}

impl PoolKey {
    fn of(settings: &Settings) -> Self {
        Self {
            python: settings.python_path.clone(),
            workers: settings.pool_size,
            timeout_ms: settings.execution_timeout_ms,
        }
    }
}

enum State {
    Stopped,
    Running(PoolKey, WorkerPool),
    Failed(PoolKey),
}

pub struct Runner {
    state: tokio::sync::Mutex<State>,
    workspace: std::sync::RwLock<Option<PathBuf>>,
}

/// Why no pool is available.
pub enum Unavailable {
    /// Reported to the user now (first failure with these settings).
    New(String),
    /// Already reported.
    Known,
}

impl Default for Runner {
    fn default() -> Self {
        Self {
            state: tokio::sync::Mutex::new(State::Stopped),
            workspace: Default::default(),
        }
    }
}

impl Runner {
    pub fn set_workspace(&self, dir: Option<PathBuf>) {
        *self.workspace.write().unwrap_or_else(|p| p.into_inner()) = dir;
    }

    /// The pool for the current settings, starting it if needed.
    pub async fn pool(&self, session: &Arc<Session>) -> Result<WorkerPool, Unavailable> {
        let settings = session.settings();
        let key = PoolKey::of(&settings);
        // an async lock: concurrent first uses wait for one start instead of starting several
        let mut state = self.state.lock().await;
        match &*state {
            State::Running(k, pool) if *k == key => return Ok(pool.clone()),
            State::Failed(k) if *k == key => return Err(Unavailable::Known),
            _ => {}
        }
        let cfg = PoolConfig {
            python: settings.python_path.clone(),
            workspace: self
                .workspace
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            workers: settings.pool_size,
            job_timeout: Duration::from_millis(settings.execution_timeout_ms),
            ..PoolConfig::default()
        };
        let started = run_with_progress(
            session,
            Reporting::titled("Starting CadQuery"),
            move |progress| {
                WorkerPool::start_with_progress(cfg, progress).map_err(|e| e.to_string())
            },
            |_| None,
        )
        .await
        .and_then(|r| r);
        match started {
            Ok(pool) => {
                *state = State::Running(key, pool.clone());
                Ok(pool)
            }
            Err(reason) => {
                let message = format!(
                    "cannot run CadQuery scripts, so execution diagnostics are off: {reason}"
                );
                *state = State::Failed(key);
                Err(Unavailable::New(message))
            }
        }
    }
}
