//! `textDocument/completion` and `completionItem/resolve`: the syntax module's API items at
//! the cursor (after `.` on a chain, keyword arguments, names in scope), in its order. The
//! list carries labels and one-line details; resolve adds the signature and the docs.
//! After them, where the code before the cursor is canonical, the model's continuations that
//! executed with the file to a valid solid (computed in the background: `model_completion`).

use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionList, CompletionParams, CompletionResponse,
    CompletionTextEdit, Documentation, MarkupContent, MarkupKind, TextEdit,
};

use std::sync::Arc;

use crate::lsp::convert;
use crate::lsp::model_completion::{Lookup, Proposal};
use crate::lsp::session::Session;
use crate::syntax::{api_completions, ApiItem, ApiItemKind};

pub fn completion(session: &Arc<Session>, params: &CompletionParams) -> Option<CompletionResponse> {
    let at = &params.text_document_position;
    let doc = session.snapshot(&at.text_document.uri)?;
    let encoding = session.encoding();
    let offset = convert::offset(&doc, at.position, encoding);
    // the version's analysis (made once, usually already by the diagnostics) + the cursor's
    // surroundings: never the whole file again per request
    let ctx = doc.parsed().completion_context_in(&doc.analysis(), offset);
    let items = api_completions(&ctx);
    let replace = convert::range(&doc, ctx.replace.start, ctx.replace.end, encoding);
    let mut list: Vec<CompletionItem> = items
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
    // never waits: a job for this position is started or its finished result taken
    let model = session
        .model_completions
        .lookup(session, &at.text_document.uri, &doc, offset);
    let is_incomplete = match model {
        // the client asks again (typing, or a manual invoke) and then gets the proposals
        Lookup::Pending => true,
        // more typing narrows the list on the client; nothing new appears
        Lookup::Off => false,
        Lookup::Ready(proposals) => {
            let typed_from = ctx.replace.start.min(offset);
            let typed = &doc.text()[typed_from..offset];
            list.extend(proposals.iter().enumerate().map(|(i, p)| {
                let range = convert::range(&doc, typed_from, p.end, encoding);
                model_item(i, p, typed, range)
            }));
            false
        }
    };
    Some(CompletionResponse::List(CompletionList {
        is_incomplete,
        items: list,
    }))
}

/// A verified model continuation as an item: labelled by its text, after every API item
/// (`~` sorts after digits), and filtered by the whole inserted text, which starts with what
/// is typed of the current word, so clients keep it while that word is typed.
fn model_item(
    rank: usize,
    proposal: &Proposal,
    typed: &str,
    range: tower_lsp_server::ls_types::Range,
) -> CompletionItem {
    let text = format!("{typed}{}", proposal.insert);
    CompletionItem {
        label: text.trim_end().to_string(),
        kind: Some(CompletionItemKind::TEXT),
        detail: Some(format!(
            "model · valid solid · p {:.2} · volume {}",
            proposal.log_prob.exp(),
            short(proposal.volume)
        )),
        sort_text: Some(format!("~model{rank:03}")),
        filter_text: Some(text.clone()),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit {
            range,
            new_text: text,
        })),
        ..Default::default()
    }
}

/// A number with at most 4 decimals.
fn short(v: f64) -> String {
    format!("{v:.4}")
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
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
