//! `textDocument/publishDiagnostics`: checks run in the background after a short pause, on a
//! snapshot of the document, and are published only while that version is still current, so
//! a burst of edits yields one result for the final text and never one for stale text.

use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::{Diagnostic, Uri};

use crate::lsp::document::Document;
use crate::lsp::line_index::PositionEncoding;
use crate::lsp::session::Session;

/// Schedules a check of `uri`, cancelling the one still pending for it.
pub fn schedule(session: &Arc<Session>, uri: Uri) {
    let token = session.restart_diagnostics(&uri);
    let session = Arc::clone(session);
    let debounce = Duration::from_millis(session.settings().diagnostics_debounce_ms);
    tokio::spawn(async move {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(debounce) => {}
        }
        let Some(doc) = session.snapshot(&uri) else {
            return;
        };
        let encoding = session.encoding();
        let checked = Arc::clone(&doc);
        let diagnostics = match tokio::task::spawn_blocking(move || check(&checked, encoding)).await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("checking {} failed: {e}", uri.as_str());
                return;
            }
        };
        if token.is_cancelled() || session.version(&uri) != Some(doc.version()) {
            return;
        }
        session
            .client
            .publish_diagnostics(uri, diagnostics, Some(doc.version()))
            .await;
    });
}

/// Syntax and API diagnostics of one document version.
pub fn check(_doc: &Document, _encoding: PositionEncoding) -> Vec<Diagnostic> {
    // The syntax module (syntax::diagnose) is not on main yet; until it lands no static
    // checks run and every published list is empty.
    Vec::new()
}
