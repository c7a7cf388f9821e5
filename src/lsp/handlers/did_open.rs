//! `textDocument/didOpen`: start tracking the document and check it.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;

use super::diagnostics;
use crate::lsp::document::Document;
use crate::lsp::session::Session;

pub fn did_open(session: &Arc<Session>, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    session.open(doc.uri.clone(), Document::new(doc.text, doc.version));
    diagnostics::schedule(session, doc.uri);
}
