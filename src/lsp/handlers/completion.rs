//! `textDocument/completion` and `completionItem/resolve`: the syntax module's API items at
//! the cursor (after `.` on a chain, keyword arguments, names in scope), in its order. The
//! list carries labels and one-line details; resolve adds the signature and the docs.

use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionList, CompletionParams, CompletionResponse,
    CompletionTextEdit, Documentation, MarkupContent, MarkupKind, TextEdit,
};

use crate::lsp::convert;
use crate::lsp::session::Session;
use crate::syntax::{api_completions, ApiItem, ApiItemKind};

pub fn completion(session: &Session, params: &CompletionParams) -> Option<CompletionResponse> {
    let at = &params.text_document_position;
    let doc = session.snapshot(&at.text_document.uri)?;
    let encoding = session.encoding();
    let offset = convert::offset(&doc, at.position, encoding);
    // the version's analysis (made once, usually already by the diagnostics) + the cursor's
    // surroundings: never the whole file again per request
    let ctx = doc.parsed().completion_context_in(&doc.analysis(), offset);
    let items = api_completions(&ctx);
    let replace = convert::range(&doc, ctx.replace.start, ctx.replace.end, encoding);
    let list = items
        .iter()
        .enumerate()
        .map(|(i, item)| CompletionItem {
            label: item.label.clone(),
            kind: Some(kind(item.kind)),
            // the order is ours: clients sort by sort_text, then filter by what is typed
            sort_text: Some(format!("{i:05}")),
            filter_text: Some(item.label.clone()),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: replace,
                new_text: item.insert_text.clone(),
            })),
            ..Default::default()
        })
        .collect();
    session.remember_completion(items);
    Some(CompletionResponse::List(CompletionList {
        // more typing narrows the list on the client; nothing new appears
        is_incomplete: false,
        items: list,
    }))
}

/// Adds the signature (`detail`) and docs of the item, from the last completion's items.
pub fn resolve(session: &Session, mut item: CompletionItem) -> CompletionItem {
    let Some(api) = session.completed_item(&item.label) else {
        return item;
    };
    item.detail = api.detail.clone();
    if let Some(doc) = documentation(&api, session.features().markdown_completion) {
        item.documentation = Some(doc);
    }
    item
}

fn documentation(item: &ApiItem, markdown: bool) -> Option<Documentation> {
    let doc = item.documentation.as_deref()?.trim();
    if doc.is_empty() {
        return None;
    }
    Some(Documentation::MarkupContent(MarkupContent {
        kind: if markdown {
            MarkupKind::Markdown
        } else {
            MarkupKind::PlainText
        },
        value: doc.to_string(),
    }))
}

fn kind(kind: ApiItemKind) -> CompletionItemKind {
    match kind {
        ApiItemKind::Method => CompletionItemKind::METHOD,
        ApiItemKind::Property => CompletionItemKind::PROPERTY,
        ApiItemKind::Class => CompletionItemKind::CLASS,
        ApiItemKind::Function => CompletionItemKind::FUNCTION,
        ApiItemKind::Module => CompletionItemKind::MODULE,
        ApiItemKind::Keyword => CompletionItemKind::FIELD,
        ApiItemKind::Variable => CompletionItemKind::VARIABLE,
    }
}
