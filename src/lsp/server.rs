//! The `LanguageServer` implementation: each method forwards to its handler file.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DidChangeConfigurationParams, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, InitializeParams, InitializeResult, InitializedParams, MessageType,
};
use tower_lsp_server::{Client, LanguageServer};

use super::handlers;
use super::session::Session;

pub struct Server {
    session: Arc<Session>,
    /// Settings problems found in `initializationOptions`, shown once the client is ready.
    startup_problems: std::sync::Mutex<Vec<String>>,
}

impl Server {
    pub fn new(client: Client) -> Self {
        Self {
            session: Arc::new(Session::new(client)),
            startup_problems: Default::default(),
        }
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let (result, problems) = handlers::initialize::initialize(&self.session, &params);
        *self
            .startup_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problems;
        Ok(result)
    }

    async fn initialized(&self, _: InitializedParams) {
        let problems = std::mem::take(
            &mut *self
                .startup_problems
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        handlers::did_change_configuration::report(&self.session, problems).await;
        if self.session.features().configuration {
            handlers::did_change_configuration::pull(&self.session).await;
        }
        self.session
            .log(
                MessageType::INFO,
                format!("cadquery-lsp {} ready", env!("CARGO_PKG_VERSION")),
            )
            .await;
    }

    async fn shutdown(&self) -> Result<()> {
        self.session.request_shutdown();
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::did_open::did_open(&self.session, params);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        if let Some((level, message)) = handlers::did_change::did_change(&self.session, params) {
            self.session.log(level, message).await;
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::did_close::did_close(&self.session, params).await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::did_change_configuration::did_change_configuration(
            &self.session,
            params.settings,
        )
        .await;
    }
}
