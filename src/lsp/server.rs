//! The `LanguageServer` implementation: each method forwards to its handler file.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeActionParams, CodeActionResponse, CompletionItem, CompletionParams, CompletionResponse,
    DidChangeConfigurationParams, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandParams, Hover, HoverParams,
    InitializeParams, InitializeResult, InitializedParams, LSPAny, MessageType, NumberOrString,
    WorkDoneProgressCancelParams,
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

    /// `window/workDoneProgress/cancel` (tower-lsp-server has no trait method for it).
    pub async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        let key = match params.token {
            NumberOrString::Number(n) => n.to_string(),
            NumberOrString::String(s) => s,
        };
        if !self.session.cancel_progress(&key) {
            tracing::info!("cancel of progress {key}: nothing running under that token");
        }
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

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        handlers::did_save::did_save(&self.session, params);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::did_close::did_close(&self.session, params).await;
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(Some(handlers::code_action::code_actions(
            &self.session,
            &params,
        )))
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        Ok(handlers::hover::hover(&self.session, &params))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        Ok(handlers::completion::completion(&self.session, &params))
    }

    async fn completion_resolve(&self, item: CompletionItem) -> Result<CompletionItem> {
        Ok(handlers::completion::resolve(&self.session, item))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        handlers::execute_command::execute_command(&self.session, params).await
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::did_change_configuration::did_change_configuration(
            &self.session,
            params.settings,
        )
        .await;
    }
}
