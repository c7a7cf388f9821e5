//! tree-sitter-python parsing, the CadQuery API table, static checks, cursor context
//! for completions, hover docs and repair. Plain data in and out: byte offsets, no
//! protocol types.

mod analysis;
pub mod api;
mod api_check;
pub mod bench;
mod completion;
#[cfg(test)]
mod completion_tests;
mod diagnostic;
mod document;
mod hover;
mod lexical;
mod names_check;
mod ranking;
mod repair;
#[cfg(test)]
mod repair_tests;
pub mod selector;
mod suggest;
mod syntax_check;
#[cfg(test)]
mod tests;
pub mod types;

pub use completion::{
    api_completions, completion_context, ApiItem, ApiItemKind, CompletionContext, CursorPlace,
    ScopeName,
};
pub use diagnostic::{
    apply_edits, codes, line_col, render, Diagnostic, Fix, Severity, TextEdit, TextRange, SOURCE,
};
pub use document::{parse, EditError, ParsedDocument};
pub use hover::{hover_doc, HoverDoc};
pub use repair::{repair, Repaired};

/// All static diagnostics for a CadQuery/Python source text, sorted by position.
pub fn diagnose(text: &str) -> Vec<Diagnostic> {
    ParsedDocument::new(text).diagnostics()
}

impl ParsedDocument {
    /// Diagnostics for the current text and tree (no re-parse).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let text = self.text();
        let lex = lexical::scan(text);
        let mut out = syntax_check::check(text, self.tree(), &lex);
        let analysis = analysis::analyze(text, self.tree());
        out.extend(analysis.api_diagnostics.iter().cloned());
        // Names inside broken statements are noise next to the syntax error.
        let broken: Vec<TextRange> = out.iter().map(|d| d.range).collect();
        out.extend(
            names_check::check(text, &analysis)
                .into_iter()
                .filter(|d| !broken.iter().any(|b| b.overlaps(d.range))),
        );
        out.sort_by_key(|d| (d.range.start, d.range.end));
        out
    }
}
