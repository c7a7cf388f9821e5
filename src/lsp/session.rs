//! State shared by every handler. tower-lsp-server runs handlers concurrently, so state sits in
//! synchronous maps and locks that are only ever held between two `.await`s, never across one.
// parts are used by the handlers landing with the syntax module
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use tower_lsp_server::ls_types::{MessageType, Uri};
use tower_lsp_server::Client;

use super::document::Document;
use super::line_index::PositionEncoding;
use super::settings::Settings;
use crate::progress::CancellationToken;

/// What the client said it can do, as far as the server cares.
#[derive(Debug, Clone, Default)]
pub struct ClientFeatures {
    pub encoding: PositionEncoding,
    pub configuration: bool,
    pub work_done_progress: bool,
    pub markdown_hover: bool,
    pub apply_edit: bool,
}

pub struct Session {
    pub client: Client,
    documents: DashMap<Uri, Arc<Document>>,
    settings: RwLock<Settings>,
    features: RwLock<ClientFeatures>,
    /// One token per document for its pending diagnostics run; a newer edit cancels it.
    pending_diagnostics: DashMap<Uri, CancellationToken>,
    shutdown_requested: AtomicBool,
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

    pub fn request_shutdown(&self) {
        self.shutdown_requested.store(true, Ordering::SeqCst);
        for entry in self.pending_diagnostics.iter() {
            entry.value().cancel();
        }
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
