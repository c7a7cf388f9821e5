//! A parsed document: text + tree-sitter tree, re-parsed incrementally after each edit so
//! diagnostics stay fast on large files.

use std::cell::RefCell;

use tree_sitter::{InputEdit, Parser, Point, Tree};

thread_local! {
    // Parsers are cheap to reuse and not `Sync`; one per thread serves every document.
    static PARSER: RefCell<Parser> = RefCell::new(new_parser());
}

fn new_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("tree-sitter-python is compatible with the linked tree-sitter");
    parser
}

/// Parse `text`, reusing `old` (already `edit`ed) for an incremental parse.
pub fn parse(text: &str, old: Option<&Tree>) -> Tree {
    PARSER.with(|p| {
        p.borrow_mut()
            .parse(text, old)
            .expect("parsing without a timeout or cancellation flag always returns a tree")
    })
}

/// Bad input to [`ParsedDocument::edit`]: the edit is refused and the document unchanged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("edit range {start}..{end} is outside the document (length {len})")]
    OutOfBounds {
        start: usize,
        end: usize,
        len: usize,
    },
    #[error("edit range {start}..{end} does not fall on UTF-8 character boundaries")]
    NotCharBoundary { start: usize, end: usize },
}

// Clone: the LSP snapshots documents for background checks (the tree copy is refcounted)
#[derive(Clone)]
pub struct ParsedDocument {
    text: String,
    tree: Tree,
}

impl ParsedDocument {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let tree = parse(&text, None);
        ParsedDocument { text, tree }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Replace bytes `start..old_end` with `new_text` and re-parse incrementally.
    pub fn edit(&mut self, start: usize, old_end: usize, new_text: &str) -> Result<(), EditError> {
        let len = self.text.len();
        if start > old_end || old_end > len {
            return Err(EditError::OutOfBounds {
                start,
                end: old_end,
                len,
            });
        }
        if !self.text.is_char_boundary(start) || !self.text.is_char_boundary(old_end) {
            return Err(EditError::NotCharBoundary {
                start,
                end: old_end,
            });
        }
        let start_position = point_at(&self.text, start);
        let old_end_position = point_at(&self.text, old_end);
        self.text.replace_range(start..old_end, new_text);
        let new_end = start + new_text.len();
        let new_end_position = point_at(&self.text, new_end);
        self.tree.edit(&InputEdit {
            start_byte: start,
            old_end_byte: old_end,
            new_end_byte: new_end,
            start_position,
            old_end_position,
            new_end_position,
        });
        self.tree = parse(&self.text, Some(&self.tree));
        Ok(())
    }

    /// Replace the whole text (full sync).
    pub fn replace(&mut self, text: impl Into<String>) {
        *self = ParsedDocument::new(text);
    }
}

/// tree-sitter's point: 0-based row and byte column.
fn point_at(text: &str, offset: usize) -> Point {
    let before = &text.as_bytes()[..offset];
    let row = before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Point::new(row, offset - line_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_edit_matches_a_fresh_parse() {
        let mut doc =
            ParsedDocument::new("import cadquery as cq\nr = cq.Workplane().box(1, 2, 3)\n");
        doc.edit(48, 49, "5").unwrap();
        assert_eq!(
            doc.text(),
            "import cadquery as cq\nr = cq.Workplane().box(1, 5, 3)\n"
        );
        let fresh = ParsedDocument::new(doc.text().to_string());
        assert_eq!(
            doc.tree().root_node().to_sexp(),
            fresh.tree().root_node().to_sexp()
        );
    }

    #[test]
    fn bad_edits_are_refused_and_lose_nothing() {
        let mut doc = ParsedDocument::new("x = 'é'\n");
        assert!(matches!(
            doc.edit(6, 6, "a"),
            Err(EditError::NotCharBoundary { .. })
        ));
        assert!(matches!(
            doc.edit(3, 99, ""),
            Err(EditError::OutOfBounds { .. })
        ));
        assert_eq!(doc.text(), "x = 'é'\n");
    }
}
