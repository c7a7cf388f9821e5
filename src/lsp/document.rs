//! An open document: text with its tree-sitter tree (re-parsed incrementally), version and
//! line index, updated together by one method so they can never disagree (ruff's
//! `TextDocument`). Edits from older versions are refused. The analysis and the static findings
//! are kept with the text, computed at most once per version: the analysis reuses the facts of
//! the statements an edit left alone (from the last analysed version), and an edit that cannot
//! change the findings (inside a number or a comment) carries them over.

use std::sync::{Arc, OnceLock};

use super::line_index::{LineCol, LineIndex, PositionEncoding};
use crate::syntax::{carry_over, Diagnostic, FileAnalysis, ParsedDocument};

/// One change of a `didChange` notification, in client positions; `range: None` replaces all.
#[derive(Debug, Clone, PartialEq)]
pub struct TextChange {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

#[derive(Clone)]
pub struct Document {
    parsed: ParsedDocument,
    version: i32,
    index: LineIndex,
    /// Syntax and API findings of this text, computed on first use.
    findings: OnceLock<Arc<Vec<Diagnostic>>>,
    /// Names, types and API findings of this text, computed on first use (diagnostics or a
    /// completion, whichever comes first).
    analysis: OnceLock<Arc<FileAnalysis>>,
    /// The analysis of the last version that had one: what the next analysis reuses.
    earlier: Option<Arc<FileAnalysis>>,
}

/// Why a change was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefused {
    #[error("version {got} is not newer than the document's version {current}")]
    Stale { current: i32, got: i32 },
}

impl Document {
    pub fn new(text: String, version: i32) -> Self {
        let index = LineIndex::new(&text);
        Self {
            parsed: ParsedDocument::new(text),
            version,
            index,
            findings: OnceLock::new(),
            analysis: OnceLock::new(),
            earlier: None,
        }
    }

    /// The analysis of the current text (computed once per version, incrementally).
    pub fn analysis(&self) -> Arc<FileAnalysis> {
        Arc::clone(
            self.analysis
                .get_or_init(|| Arc::new(self.parsed.analyze(self.earlier.as_deref()))),
        )
    }

    /// The syntax and API findings of the current text (checked once per text, or carried
    /// over from the previous text when the edit cannot change them).
    pub fn static_diagnostics(&self) -> Arc<Vec<Diagnostic>> {
        Arc::clone(
            self.findings
                .get_or_init(|| Arc::new(self.parsed.file_diagnostics(&self.analysis()))),
        )
    }

    pub fn text(&self) -> &str {
        self.parsed.text()
    }

    /// The text with its syntax tree, for the static checks.
    pub fn parsed(&self) -> &ParsedDocument {
        &self.parsed
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    #[cfg(test)]
    pub fn index(&self) -> &LineIndex {
        &self.index
    }

    /// Applies the changes in order (each range refers to the text left by the previous
    /// change) and moves to `version`. A version that is not newer is refused untouched.
    pub fn apply(
        &mut self,
        changes: &[TextChange],
        version: i32,
        encoding: PositionEncoding,
    ) -> Result<(), ChangeRefused> {
        if version <= self.version {
            return Err(ChangeRefused::Stale {
                current: self.version,
                got: version,
            });
        }
        for change in changes {
            let known = self.findings.take();
            if let Some(analysis) = self.analysis.take() {
                self.earlier = Some(analysis);
            }
            match change.range {
                None => self.parsed.replace(change.text.as_str()),
                Some((start, end)) => {
                    let a = self.offset(start, encoding);
                    let b = self.offset(end, encoding);
                    // a reversed range is treated as the range between its ends
                    let (a, b) = (a.min(b), a.max(b));
                    let before = known.as_ref().map(|_| self.parsed.clone());
                    // offsets from the index are in bounds and on char boundaries
                    if let Err(e) = self.parsed.edit(a, b, &change.text) {
                        tracing::error!("edit {a}..{b} refused by the parser: {e}");
                    } else if let (Some(before), Some(known)) = (before, known) {
                        let len = change.text.len();
                        if let Some(carried) = carry_over(&before, &self.parsed, a, b, len, &known)
                        {
                            let _ = self.findings.set(Arc::new(carried));
                        }
                    }
                }
            }
            self.index = LineIndex::new(self.parsed.text());
        }
        self.version = version;
        Ok(())
    }

    pub fn line_col(&self, offset: usize, encoding: PositionEncoding) -> LineCol {
        self.index.line_col(self.parsed.text(), offset, encoding)
    }

    pub fn offset(&self, pos: LineCol, encoding: PositionEncoding) -> usize {
        self.index.offset(self.parsed.text(), pos, encoding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextChange {
        TextChange {
            range: Some((
                LineCol {
                    line: sl,
                    character: sc,
                },
                LineCol {
                    line: el,
                    character: ec,
                },
            )),
            text: text.into(),
        }
    }

    #[test]
    fn incremental_changes_apply_in_order() {
        let mut doc = Document::new("r = box(1)\n".into(), 1);
        let changes = [
            edit(0, 4, 0, 7, "cyl"),     // r = cyl(1)
            edit(0, 0, 0, 0, "😀 "),     // 😀 r = cyl(1)
            edit(0, 3, 0, 4, "part"),    // after the emoji (2 UTF-16 units + space)
            edit(1, 0, 1, 0, "x = 1\n"), // new last line
        ];
        doc.apply(&changes, 2, PositionEncoding::Utf16).unwrap();
        assert_eq!(doc.text(), "😀 part = cyl(1)\nx = 1\n");
        // the incrementally edited tree is the tree of the new text
        let fresh = ParsedDocument::new(doc.text());
        assert_eq!(
            doc.parsed().tree().root_node().to_sexp(),
            fresh.tree().root_node().to_sexp()
        );
        assert_eq!(doc.version(), 2);
        assert_eq!(doc.index().line_count(), 3);
    }

    #[test]
    fn findings_carried_over_an_edit_equal_a_fresh_check() {
        let text = "import cadquery as cq\nr = cq.Workplane().box(1, 2, 3)\nr.fillets(0.5)\n";
        let mut doc = Document::new(text.into(), 1);
        assert_eq!(doc.static_diagnostics().len(), 1);
        // inside a number: carried over (already there before any check runs)
        doc.apply(&[edit(1, 26, 1, 27, "25")], 2, PositionEncoding::Utf16)
            .unwrap();
        assert!(
            doc.findings.get().is_some(),
            "the number edit was not carried"
        );
        let fresh = ParsedDocument::new(doc.text()).diagnostics();
        assert_eq!(*doc.static_diagnostics(), fresh);
        // a name: checked again
        doc.apply(&[edit(2, 2, 2, 9, "fillet")], 3, PositionEncoding::Utf16)
            .unwrap();
        assert!(doc.findings.get().is_none());
        assert!(doc.static_diagnostics().is_empty());
    }

    #[test]
    fn stale_versions_are_refused_untouched() {
        let mut doc = Document::new("a".into(), 5);
        let err = doc.apply(&[edit(0, 0, 0, 1, "b")], 5, PositionEncoding::Utf16);
        assert_eq!(err, Err(ChangeRefused::Stale { current: 5, got: 5 }));
        assert_eq!(doc.text(), "a");
        let full = TextChange {
            range: None,
            text: "new".into(),
        };
        doc.apply(&[full], 9, PositionEncoding::Utf16).unwrap();
        assert_eq!((doc.text(), doc.version()), ("new", 9));
    }

    #[test]
    fn out_of_range_edits_clamp_instead_of_panicking() {
        let mut doc = Document::new("ab\n".into(), 1);
        doc.apply(&[edit(0, 9, 7, 3, "!")], 2, PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(doc.text(), "ab!");
    }
}
