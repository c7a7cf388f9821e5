//! tree-sitter-python parsing, the CadQuery API table, static checks, cursor context
//! for completions, hover docs and repair. Plain data in and out: byte offsets, no
//! protocol types.

mod diagnostic;
mod document;
mod lexical;
mod syntax_check;
#[cfg(test)]
mod tests;

pub use diagnostic::{
    apply_edits, codes, line_col, render, Diagnostic, Fix, Severity, TextEdit, TextRange, SOURCE,
};
pub use document::{parse, EditError, ParsedDocument};

/// All static diagnostics for a CadQuery/Python source text, sorted by position.
pub fn diagnose(text: &str) -> Vec<Diagnostic> {
    ParsedDocument::new(text).diagnostics()
}

impl ParsedDocument {
    /// Diagnostics for the current text and tree (no re-parse).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let lex = lexical::scan(self.text());
        syntax_check::check(self.text(), self.tree(), &lex)
    }
}
