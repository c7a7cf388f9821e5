//! tree-sitter-python parsing, the CadQuery API table, static checks, cursor context
//! for completions, hover docs and repair. Plain data in and out: byte offsets, no
//! protocol types.

mod analysis;
pub mod api;
mod api_check;
pub mod bench;
mod chain;
mod completion;
#[cfg(test)]
mod completion_tests;
mod diagnostic;
mod document;
mod hover;
mod incremental;
mod lexical;
mod names_check;
mod ranking;
mod repair;
#[cfg(test)]
mod repair_tests;
pub mod selector;
mod statements;
#[cfg(test)]
mod statements_tests;
mod suggest;
mod syntax_check;
#[cfg(test)]
mod tests;
pub mod types;

pub use chain::ChainStage;
pub use completion::{
    api_completions, completion_context, ApiItem, ApiItemKind, CompletionContext, CursorPlace,
    ScopeName,
};
pub use diagnostic::{
    apply_edits, codes, line_col, render, Diagnostic, Fix, Severity, TextEdit, TextRange, SOURCE,
};
pub use document::{parse, EditError, ParsedDocument};
pub use hover::{hover_doc, HoverDoc};
pub use incremental::carry_over;
pub use repair::{repair, Repaired};
pub use statements::FileAnalysis;

/// The union of ranges as sorted, disjoint ranges (so overlap tests are a binary search,
/// not a scan per diagnostic: files with many diagnostics made that quadratic).
fn merged_ranges(ranges: impl Iterator<Item = TextRange>) -> Vec<TextRange> {
    let mut ranges: Vec<TextRange> = ranges.collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<TextRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start < last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Same answer as `ranges.iter().any(|b| b.overlaps(range))` for the output of `merged_ranges`.
fn overlaps_any(merged: &[TextRange], range: TextRange) -> bool {
    let i = merged.partition_point(|m| m.end <= range.start);
    merged.get(i).is_some_and(|m| m.overlaps(range))
}

/// All static diagnostics for a CadQuery/Python source text, sorted by position.
pub fn diagnose(text: &str) -> Vec<Diagnostic> {
    ParsedDocument::new(text).diagnostics()
}

impl ParsedDocument {
    /// Diagnostics for the current text and tree (no re-parse).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let analysis = analysis::analyze(self.text(), self.tree());
        let mut names = names_check::Names::default();
        names.add(&analysis, 0);
        self.diagnostics_with(analysis.api_diagnostics.iter().cloned(), &names, None)
    }

    /// The analysis of this text, reusing the unchanged statements of an earlier one.
    pub fn analyze(&self, earlier: Option<&FileAnalysis>) -> FileAnalysis {
        FileAnalysis::new(self, earlier)
    }

    /// Diagnostics for the current text from its analysis (see [`ParsedDocument::analyze`]),
    /// read statement by statement.
    pub fn file_diagnostics(&self, analysis: &FileAnalysis) -> Vec<Diagnostic> {
        let mut names = names_check::Names::default();
        let mut api = Vec::new();
        for (delta, facts) in analysis.statement_facts() {
            names.add(facts, delta);
            api.extend(facts.api_diagnostics.iter().map(|d| d.moved(delta)));
        }
        let top = analysis.top_level();
        self.diagnostics_with(api.into_iter(), &names, Some(&top))
    }

    fn diagnostics_with(
        &self,
        api_diagnostics: impl Iterator<Item = Diagnostic>,
        names: &names_check::Names,
        top: Option<&[statements::TopStatement]>,
    ) -> Vec<Diagnostic> {
        let text = self.text();
        let lex = lexical::scan(text);
        let mut out = syntax_check::check(text, self.tree(), &lex, top);
        out.extend(api_diagnostics);
        // Names inside broken statements are noise next to the syntax error.
        let broken = merged_ranges(out.iter().map(|d| d.range));
        out.extend(
            names_check::check(text, names)
                .into_iter()
                .filter(|d| !overlaps_any(&broken, d.range)),
        );
        out.sort_by_key(|d| (d.range.start, d.range.end));
        out
    }
}
