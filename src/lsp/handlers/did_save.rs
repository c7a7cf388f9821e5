//! `textDocument/didSave`: run the script and report execution and geometry problems.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidSaveTextDocumentParams;

use super::diagnostics;
use crate::lsp::session::Session;

pub fn did_save(session: &Arc<Session>, params: DidSaveTextDocumentParams) {
    if session.settings().execute_on_save {
        diagnostics::schedule_run(session, params.text_document.uri);
    }
}
