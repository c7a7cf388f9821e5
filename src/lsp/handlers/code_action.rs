//! `textDocument/codeAction`: quick fixes from the static checks' repairs, "Generate CadQuery
//! from image" on a line that mentions a picture, and "Use candidate N" on a generated block.
//! Edits are pinned to the document version they were computed for (a client refuses them
//! on newer text).

use serde_json::json;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Command, DocumentChanges,
    OneOf, OptionalVersionedTextDocumentIdentifier, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use super::execute_command::GENERATE;
use crate::lsp::convert;
use crate::lsp::document::Document;
use crate::lsp::image_refs::image_refs;
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
    for d in doc.static_diagnostics().iter() {
        // touching counts: a cursor right after the problem still offers its fix
        if d.range.start > end || start > d.range.end {
            continue;
        }
        let diagnostic = convert::diagnostic(&doc, d, encoding);
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
                edit: Some(versioned_edit(uri, &doc, edits)),
                is_preferred: Some(i == 0),
                ..Default::default()
            }));
        }
    }
    actions.extend(generate_actions(uri, &doc, start, end, encoding));
    actions.extend(candidate_actions(session, uri, &doc, start, end, encoding));
    actions
}

fn versioned_edit(
    uri: &Uri,
    doc: &Document,
    edits: Vec<OneOf<TextEdit, tower_lsp_server::ls_types::AnnotatedTextEdit>>,
) -> WorkspaceEdit {
    WorkspaceEdit {
        document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier {
                uri: uri.clone(),
                version: Some(doc.version()),
            },
            edits,
        }])),
        ..Default::default()
    }
}

/// The line span `start..end` touches, as byte offsets of its first and last line.
fn lines_of(text: &str, start: usize, end: usize) -> (usize, usize) {
    let first = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let last = text[end..].find('\n').map_or(text.len(), |i| end + i);
    (first, last)
}

/// "Generate CadQuery from image" for each picture mentioned on the lines of the range; the
/// code goes after the line of the mention.
fn generate_actions(
    uri: &Uri,
    doc: &Document,
    start: usize,
    end: usize,
    encoding: crate::lsp::line_index::PositionEncoding,
) -> Vec<CodeActionOrCommand> {
    let text = doc.text();
    let (first, last) = lines_of(text, start, end);
    let document_path = uri.to_file_path();
    image_refs(doc.parsed())
        .into_iter()
        .filter(|r| r.end >= first && r.start <= last)
        .map(|r| {
            let image = r.resolve(document_path.as_deref());
            let after = text[r.end..]
                .find('\n')
                .map_or(text.len(), |i| r.end + i + 1);
            let title = format!("Generate CadQuery from image {}", r.written);
            let arguments = json!({
                "image": image.to_string_lossy(),
                "uri": uri.as_str(),
                "position": convert::position(doc, after, encoding),
            });
            CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                kind: Some(CodeActionKind::REFACTOR),
                command: Some(Command {
                    title,
                    command: GENERATE.into(),
                    arguments: Some(vec![arguments]),
                }),
                ..Default::default()
            })
        })
        .collect()
}

/// "Use candidate N (match 0.87)" when the range touches the block of the last generation
/// into this document, whichever candidate the block holds now.
fn candidate_actions(
    session: &Session,
    uri: &Uri,
    doc: &Document,
    start: usize,
    end: usize,
    encoding: crate::lsp::line_index::PositionEncoding,
) -> Vec<CodeActionOrCommand> {
    let candidates = session.generation(uri);
    let text = doc.text();
    let Some((current, at)) = candidates.iter().enumerate().find_map(|(i, c)| {
        text.match_indices(c.code.as_str())
            .map(|(at, _)| at)
            .find(|&at| at <= end && start <= at + c.code.len())
            .map(|at| (i, at))
    }) else {
        return Vec::new();
    };
    let block = at..at + candidates[current].code.len();
    candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != current)
        .map(|(i, c)| {
            let edit = TextEdit {
                range: convert::range(doc, block.start, block.end, encoding),
                new_text: c.code.clone(),
            };
            CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Use candidate {} (match {:.2})", i + 1, c.score),
                kind: Some(CodeActionKind::REFACTOR_REWRITE),
                edit: Some(versioned_edit(uri, doc, vec![OneOf::Left(edit)])),
                ..Default::default()
            })
        })
        .collect()
}
