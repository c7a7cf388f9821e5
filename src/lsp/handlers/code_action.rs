//! `textDocument/codeAction`: quick fixes from the static checks' repairs, as edits pinned
//! to the document version they were computed for (a client refuses them on newer text).

use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, DocumentChanges, OneOf,
    OptionalVersionedTextDocumentIdentifier, TextDocumentEdit, TextEdit, WorkspaceEdit,
};

use crate::lsp::convert;
use crate::lsp::session::Session;

pub fn code_actions(session: &Session, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
    let uri = &params.text_document.uri;
    let Some(doc) = session.snapshot(uri) else {
        return Vec::new();
    };
    let encoding = session.encoding();
    let start = convert::offset(&doc, params.range.start, encoding);
    let end = convert::offset(&doc, params.range.end, encoding);
    let mut actions = Vec::new();
    for d in doc.parsed().diagnostics() {
        // touching counts: a cursor right after the problem still offers its fix
        if d.range.start > end || start > d.range.end {
            continue;
        }
        let diagnostic = convert::diagnostic(&doc, &d, encoding);
        for (i, fix) in d.fixes.iter().enumerate() {
            let edits = fix
                .edits
                .iter()
                .map(|e| {
                    OneOf::Left(TextEdit {
                        range: convert::range(&doc, e.range.start, e.range.end, encoding),
                        new_text: e.new_text.clone(),
                    })
                })
                .collect();
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: fix.title.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic.clone()]),
                edit: Some(WorkspaceEdit {
                    document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                        text_document: OptionalVersionedTextDocumentIdentifier {
                            uri: uri.clone(),
                            version: Some(doc.version()),
                        },
                        edits,
                    }])),
                    ..Default::default()
                }),
                is_preferred: Some(i == 0),
                ..Default::default()
            }));
        }
    }
    actions
}
