//! An open document: text, version and line index, updated together by one method so they can
//! never disagree (ruff's `TextDocument`). Edits from older versions are refused.
// parts are used by the handlers landing with the syntax module
#![allow(dead_code)]

use super::line_index::{LineCol, LineIndex, PositionEncoding};

/// One change of a `didChange` notification, in client positions; `range: None` replaces all.
#[derive(Debug, Clone, PartialEq)]
pub struct TextChange {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    version: i32,
    index: LineIndex,
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
            text,
            version,
            index,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn version(&self) -> i32 {
        self.version
    }

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
            match change.range {
                None => self.text.clone_from(&change.text),
                Some((start, end)) => {
                    let a = self.index.offset(&self.text, start, encoding);
                    let b = self.index.offset(&self.text, end, encoding);
                    // a reversed range is treated as the range between its ends
                    let (a, b) = (a.min(b), a.max(b));
                    self.text.replace_range(a..b, &change.text);
                }
            }
            self.index = LineIndex::new(&self.text);
        }
        self.version = version;
        Ok(())
    }

    pub fn line_col(&self, offset: usize, encoding: PositionEncoding) -> LineCol {
        self.index.line_col(&self.text, offset, encoding)
    }

    pub fn offset(&self, pos: LineCol, encoding: PositionEncoding) -> usize {
        self.index.offset(&self.text, pos, encoding)
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
        assert_eq!(doc.version(), 2);
        assert_eq!(doc.index().line_count(), 3);
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
