//! `textDocument/didChange`: apply the edits in order, right away (before any `.await`, since
//! handlers run concurrently), then re-check the document.

use std::sync::Arc;

use tower_lsp_server::ls_types::{DidChangeTextDocumentParams, MessageType};

use super::diagnostics;
use crate::lsp::convert::line_col;
use crate::lsp::document::TextChange;
use crate::lsp::session::Session;

/// Returns a message for the client's log when the change could not be applied.
pub fn did_change(
    session: &Arc<Session>,
    params: DidChangeTextDocumentParams,
) -> Option<(MessageType, String)> {
    let uri = params.text_document.uri;
    let version = params.text_document.version;
    let changes: Vec<TextChange> = params
        .content_changes
        .into_iter()
        .map(|c| TextChange {
            range: c.range.map(|r| (line_col(r.start), line_col(r.end))),
            text: c.text,
        })
        .collect();
    let encoding = session.encoding();
    match session.edit(&uri, |doc| doc.apply(&changes, version, encoding)) {
        None => Some((
            MessageType::WARNING,
            format!(
                "change to {} ignored: the document is not open (send didOpen first)",
                uri.as_str()
            ),
        )),
        Some(Err(refused)) => Some((
            MessageType::WARNING,
            format!("change to {} ignored: {refused}", uri.as_str()),
        )),
        Some(Ok(())) => {
            diagnostics::schedule(session, uri);
            None
        }
    }
}
