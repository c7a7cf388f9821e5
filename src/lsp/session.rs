//! State shared by every handler. tower-lsp-server runs handlers concurrently, so state sits in
//! synchronous maps and locks that are only ever held between two `.await`s, never across one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use tower_lsp_server::ls_types::{Diagnostic, MessageType, Uri};
use tower_lsp_server::Client;

use super::document::Document;
use super::line_index::PositionEncoding;
use super::runner::Runner;
use super::settings::Settings;
use crate::progress::CancellationToken;
use crate::runtime::SolidFacts;

/// What the client said it can do, as far as the server cares.
#[derive(Debug, Clone, Default)]
pub struct ClientFeatures {
    pub encoding: PositionEncoding,
    pub configuration: bool,
    pub work_done_progress: bool,
    pub markdown_hover: bool,
    pub markdown_completion: bool,
}

pub struct Session {
    pub client: Client,
    documents: DashMap<Uri, Arc<Document>>,
    settings: RwLock<Settings>,
    features: RwLock<ClientFeatures>,
    /// One token per document for its pending diagnostics run; a newer edit cancels it.
    pending_diagnostics: DashMap<Uri, CancellationToken>,
    shutdown_requested: AtomicBool,
    /// Cancelled at shutdown: stops work that edits must not cancel (running scripts).
    shutdown: CancellationToken,
    /// Diagnostics found so far for each document's current version.
    results: DashMap<Uri, Findings>,
    /// What the last successful run of each document built (kept across edits for hover).
    builds: DashMap<Uri, LastBuild>,
    pub runner: Runner,
    progress_ids: AtomicU64,
    /// Cancellation of each running work-done progress, by token, for
    /// `window/workDoneProgress/cancel`.
    progress_cancels: DashMap<String, CancellationToken>,
    /// Generations are CPU-heavy: one at a time, later ones wait their turn.
    pub generation_turn: tokio::sync::Mutex<()>,
    pub generators: super::generation::Generators,
    /// The candidates of the last generation into each document, for the
    /// "Use candidate N" code actions on the inserted block.
    generated: DashMap<Uri, Vec<GeneratedCandidate>>,
    /// The items of the last completion, for `completionItem/resolve`.
    last_completion: std::sync::Mutex<Vec<crate::syntax::ApiItem>>,
    /// The model's verified continuations, computed in the background per position.
    pub model_completions: super::model_completion::ModelCompletions,
}

/// One candidate of a generation as it was offered: the exact text inserted for it.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedCandidate {
    pub code: String,
    pub score: f64,
}

/// The diagnostics of one document version, by kind; published together.
#[derive(Debug, Clone, Default)]
struct Findings {
    version: i32,
    static_checks: Vec<Diagnostic>,
    execution: Vec<Diagnostic>,
}

/// Which kind of check produced a set of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    Static,
    Execution,
}

#[derive(Debug, Clone)]
pub struct LastBuild {
    pub version: i32,
    pub result_name: String,
    pub facts: SolidFacts,
    /// A PNG of the part in the picture convention, when the client shows images.
    pub preview: Option<std::path::PathBuf>,
}

impl Session {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            documents: DashMap::new(),
            settings: RwLock::new(Settings::default()),
            features: RwLock::new(ClientFeatures::default()),
            pending_diagnostics: DashMap::new(),
            shutdown_requested: AtomicBool::new(false),
            shutdown: CancellationToken::new(),
            results: DashMap::new(),
            builds: DashMap::new(),
            runner: Runner::default(),
            progress_ids: AtomicU64::new(1),
            progress_cancels: DashMap::new(),
            generation_turn: tokio::sync::Mutex::new(()),
            generators: Default::default(),
            generated: DashMap::new(),
            last_completion: Default::default(),
            model_completions: Default::default(),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Merges a settings object; returns the problems to show the user.
    pub fn merge_settings(&self, value: &serde_json::Value) -> Vec<String> {
        self.settings
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .merge(value)
    }

    pub fn features(&self) -> ClientFeatures {
        self.features
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_features(&self, features: ClientFeatures) {
        *self.features.write().unwrap_or_else(|p| p.into_inner()) = features;
    }

    pub fn encoding(&self) -> PositionEncoding {
        self.features().encoding
    }

    pub fn open(&self, uri: Uri, document: Document) {
        self.documents.insert(uri, Arc::new(document));
    }

    pub fn close(&self, uri: &Uri) {
        self.documents.remove(uri);
        self.results.remove(uri);
        self.builds.remove(uri);
        self.generated.remove(uri);
        self.model_completions.forget(uri);
        if let Some((_, token)) = self.pending_diagnostics.remove(uri) {
            token.cancel();
        }
    }

    /// An immutable view of a document, cheap to hand to a background task.
    pub fn snapshot(&self, uri: &Uri) -> Option<Arc<Document>> {
        self.documents.get(uri).map(|d| Arc::clone(&d))
    }

    pub fn version(&self, uri: &Uri) -> Option<i32> {
        self.documents.get(uri).map(|d| d.version())
    }

    /// Runs `edit` on the document under the map's lock (synchronously: callers apply edits
    /// before their first `.await`). Snapshots held elsewhere stay untouched.
    pub fn edit<R>(&self, uri: &Uri, edit: impl FnOnce(&mut Document) -> R) -> Option<R> {
        self.documents
            .get_mut(uri)
            .map(|mut d| edit(Arc::make_mut(&mut d)))
    }

    /// A fresh token for the next diagnostics run of `uri`, cancelling the previous one.
    pub fn restart_diagnostics(&self, uri: &Uri) -> CancellationToken {
        let token = CancellationToken::new();
        if let Some(old) = self.pending_diagnostics.insert(uri.clone(), token.clone()) {
            old.cancel();
        }
        token
    }

    /// The token of the document's current diagnostics run (for work that must not cancel it).
    pub fn diagnostics_token(&self, uri: &Uri) -> Option<CancellationToken> {
        self.pending_diagnostics.get(uri).map(|t| t.clone())
    }

    /// Records diagnostics of `kind` for `version`; returns all diagnostics of that version to
    /// publish, or `None` when the version is no longer current.
    pub fn record(
        &self,
        uri: &Uri,
        version: i32,
        kind: CheckKind,
        diagnostics: Vec<Diagnostic>,
    ) -> Option<Vec<Diagnostic>> {
        if self.version(uri) != Some(version) {
            return None;
        }
        let mut findings = self.results.entry(uri.clone()).or_default();
        if findings.version != version {
            *findings = Findings {
                version,
                ..Findings::default()
            };
        }
        match kind {
            CheckKind::Static => findings.static_checks = diagnostics,
            CheckKind::Execution => findings.execution = diagnostics,
        }
        Some(
            findings
                .static_checks
                .iter()
                .chain(&findings.execution)
                .cloned()
                .collect(),
        )
    }

    pub fn record_build(&self, uri: &Uri, build: LastBuild) {
        self.builds.insert(uri.clone(), build);
    }

    pub fn last_build(&self, uri: &Uri) -> Option<LastBuild> {
        self.builds.get(uri).map(|b| b.clone())
    }

    pub fn next_progress_id(&self) -> u64 {
        self.progress_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Remembers how to cancel the progress `token` until [`Session::forget_progress`].
    pub fn track_progress(&self, token: String, cancel: CancellationToken) {
        self.progress_cancels.insert(token, cancel);
    }

    pub fn forget_progress(&self, token: &str) {
        self.progress_cancels.remove(token);
    }

    /// `window/workDoneProgress/cancel`: false when no running work has that token.
    pub fn cancel_progress(&self, token: &str) -> bool {
        self.progress_cancels
            .get(token)
            .map(|c| c.cancel())
            .is_some()
    }

    pub fn record_generation(&self, uri: &Uri, candidates: Vec<GeneratedCandidate>) {
        self.generated.insert(uri.clone(), candidates);
    }

    pub fn generation(&self, uri: &Uri) -> Vec<GeneratedCandidate> {
        self.generated
            .get(uri)
            .map(|g| g.clone())
            .unwrap_or_default()
    }

    pub fn remember_completion(&self, items: Vec<crate::syntax::ApiItem>) {
        *self
            .last_completion
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = items;
    }

    /// The item of the last completion with this label.
    pub fn completed_item(&self, label: &str) -> Option<crate::syntax::ApiItem> {
        self.last_completion
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|i| i.label == label)
            .cloned()
    }

    pub fn request_shutdown(&self) {
        for entry in self.progress_cancels.iter() {
            entry.value().cancel();
        }
        self.shutdown_requested.store(true, Ordering::SeqCst);
        self.shutdown.cancel();
        for entry in self.pending_diagnostics.iter() {
            entry.value().cancel();
        }
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub fn shutdown_requested(&self) -> bool {
        self.shutdown_requested.load(Ordering::SeqCst)
    }

    /// Logs to stderr and to the client's log (`window/logMessage`).
    pub async fn log(&self, level: MessageType, message: impl Into<String>) {
        let message = message.into();
        match level {
            MessageType::ERROR => tracing::error!("{message}"),
            MessageType::WARNING => tracing::warn!("{message}"),
            _ => tracing::info!("{message}"),
        }
        self.client.log_message(level, message).await;
    }
}
