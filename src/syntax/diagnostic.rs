//! Plain diagnostic types: byte ranges into the document text, no protocol types.
//! `src/lsp` converts ranges to UTF-16 positions itself.

use std::fmt::Write as _;

/// A half-open byte range `start..end` into the document text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

impl TextRange {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "range {start}..{end} is reversed");
        TextRange { start, end }
    }

    pub fn empty(at: usize) -> Self {
        TextRange { start: at, end: at }
    }

    pub fn of(node: tree_sitter::Node) -> Self {
        TextRange::new(node.start_byte(), node.end_byte())
    }

    pub fn contains(&self, offset: usize) -> bool {
        self.start <= offset && offset < self.end
    }

    pub fn overlaps(&self, other: TextRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The range `delta` bytes further on (facts found before an edit moved their text).
    pub fn moved(self, delta: isize) -> TextRange {
        TextRange::new(moved(self.start, delta), moved(self.end, delta))
    }
}

/// The offset `delta` bytes further on.
pub fn moved(offset: usize, delta: isize) -> usize {
    (offset as isize + delta) as usize
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Info,
    Hint,
}

/// Replace `range` with `new_text` (an insertion when the range is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub range: TextRange,
    pub new_text: String,
}

/// A quick fix: edits that resolve a diagnostic, applied together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<TextEdit>,
}

/// Diagnostic codes, one per check, so clients and tests can filter them.
pub mod codes {
    pub const SYNTAX: &str = "syntax";
    pub const UNCLOSED_BRACKET: &str = "unclosed-bracket";
    pub const UNMATCHED_BRACKET: &str = "unmatched-bracket";
    pub const UNCLOSED_STRING: &str = "unclosed-string";
    pub const UNKNOWN_METHOD: &str = "unknown-method";
    pub const ARITY: &str = "arity";
    pub const KEYWORD: &str = "keyword";
    pub const SELECTOR: &str = "selector";
    pub const UNDEFINED_NAME: &str = "undefined-name";
}

pub const SOURCE: &str = "cadquery-lsp";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub range: TextRange,
    pub severity: Severity,
    pub code: &'static str,
    pub source: &'static str,
    pub message: String,
    pub fixes: Vec<Fix>,
}

impl Diagnostic {
    /// A copy found `delta` bytes before where its text now is: every range moved.
    pub fn moved(&self, delta: isize) -> Diagnostic {
        let mut d = self.clone();
        d.range = d.range.moved(delta);
        for fix in &mut d.fixes {
            for edit in &mut fix.edits {
                edit.range = edit.range.moved(delta);
            }
        }
        d
    }

    pub fn error(range: TextRange, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            range,
            severity: Severity::Error,
            code,
            source: SOURCE,
            message: message.into(),
            fixes: Vec::new(),
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fixes.push(fix);
        self
    }
}

/// Apply non-overlapping edits to `text` (any order). Used by tests, repair and clients
/// without their own edit machinery.
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> String {
    let mut sorted: Vec<&TextEdit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for e in sorted {
        if e.range.start < at {
            continue; // overlapping edit: the first one wins
        }
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.new_text);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// 1-based line and column (in characters) of a byte offset, for messages and snapshots.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Render diagnostics as text for snapshot tests: one block per diagnostic, with the
/// source line and a caret marker under the range.
pub fn render(text: &str, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let (line, col) = line_col(text, d.range.start);
        let _ = writeln!(
            out,
            "{line}:{col} {:?} [{}] {}",
            d.severity, d.code, d.message
        );
        let line_start = text[..d.range.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[d.range.start..]
            .find('\n')
            .map_or(text.len(), |i| d.range.start + i);
        let src = &text[line_start..line_end];
        let _ = writeln!(out, "  | {src}");
        let pad = text[line_start..d.range.start].chars().count();
        let width = text[d.range.start..d.range.end.min(line_end).max(d.range.start)]
            .chars()
            .count()
            .max(1);
        let _ = writeln!(out, "  | {}{}", " ".repeat(pad), "^".repeat(width));
        for fix in &d.fixes {
            let _ = write!(out, "  fix: {}", fix.title);
            for e in &fix.edits {
                let (l1, c1) = line_col(text, e.range.start);
                let (l2, c2) = line_col(text, e.range.end);
                let _ = write!(out, " | {l1}:{c1}-{l2}:{c2} -> {:?}", e.new_text);
            }
            out.push('\n');
        }
    }
    out
}
