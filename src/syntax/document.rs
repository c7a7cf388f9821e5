//! A parsed document: text + tree-sitter tree, re-parsed incrementally after each edit so
//! diagnostics stay fast on large files.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Where the text (and the tree's shape) may differ between two versions of a document:
/// bytes `start..old_end` of the older text became `start..new_end` of the newer one, and
/// everything outside is the same text parsed the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangedWindow {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl ChangedWindow {
    /// This window followed by `next` (in the coordinates of the text between them).
    fn then(self, next: ChangedWindow) -> ChangedWindow {
        let (old_end, new_end) = if next.old_end <= self.new_end {
            (self.old_end, (self.new_end + next.new_end) - next.old_end)
        } else {
            (self.old_end + (next.old_end - self.new_end), next.new_end)
        };
        ChangedWindow {
            start: self.start.min(next.start),
            old_end,
            new_end,
        }
    }

    /// Grows the window to cover `range` of the newer text.
    fn cover(&mut self, range: std::ops::Range<usize>) {
        self.start = self.start.min(range.start);
        if range.end > self.new_end {
            self.old_end += range.end - self.new_end;
            self.new_end = range.end;
        }
    }
}

/// How many edits a document remembers: an analysis older than that is matched by text.
const EDIT_LOG: usize = 64;

// Documents made independently never share a lineage: their edit logs are unrelated.
static NEXT_LINEAGE: AtomicU64 = AtomicU64::new(1);

// Clone: the LSP snapshots documents for background checks (the tree copy is refcounted).
// A clone keeps the lineage: only the live document is edited further.
#[derive(Clone)]
pub struct ParsedDocument {
    text: String,
    tree: Tree,
    /// Which document this text descends from, and how many edits it has had.
    lineage: u64,
    generation: u64,
    /// The windows of the last edits, each with the generation it produced.
    edits: VecDeque<(u64, ChangedWindow)>,
}

impl ParsedDocument {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let tree = parse(&text, None);
        ParsedDocument {
            text,
            tree,
            lineage: NEXT_LINEAGE.fetch_add(1, Ordering::Relaxed),
            generation: 0,
            edits: VecDeque::new(),
        }
    }

    /// (lineage, generation): which version of which document this text is.
    pub fn version_id(&self) -> (u64, u64) {
        (self.lineage, self.generation)
    }

    /// The window that holds every change since version `since` of this document, if it
    /// is this document's and recent enough to be in the log; `None` means "compare by text".
    pub fn changed_since(&self, since: (u64, u64)) -> Option<ChangedWindow> {
        let (lineage, generation) = since;
        if lineage != self.lineage || generation > self.generation {
            return None;
        }
        if generation == self.generation {
            let end = self.text.len();
            return Some(ChangedWindow {
                start: end,
                old_end: end,
                new_end: end,
            });
        }
        let first = self.edits.iter().position(|(g, _)| *g == generation + 1)?;
        self.edits
            .iter()
            .skip(first)
            .map(|(_, w)| *w)
            .reduce(ChangedWindow::then)
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
        let same_token = self.keeps_token(start, old_end, new_text);
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
        let mut window = ChangedWindow {
            start,
            old_end,
            new_end,
        };
        if !same_token {
            let tree = parse(&self.text, Some(&self.tree));
            // a re-parse may change the shape beyond the edited bytes (an opened string,
            // an `else:` joining the `if` above): those ranges count as changed too
            for range in self.tree.changed_ranges(&tree) {
                window.cover(range.start_byte..range.end_byte);
            }
            self.tree = tree;
        }
        self.generation += 1;
        if self.edits.len() == EDIT_LOG {
            self.edits.pop_front();
        }
        self.edits.push_back((self.generation, window));
        Ok(())
    }

    /// Whether replacing `start..old_end` with `new_text` keeps the tree's shape: an edit
    /// strictly inside one decimal number or one comment that leaves it the same kind of
    /// token. Then the edited tree is the tree of the new text, and the re-parse is skipped:
    /// in the Python grammar the module's statement list is "fragile" (built while parse
    /// stacks were split), so tree-sitter re-reads every top-level statement after any
    /// edit, a fifth of a full parse.
    fn keeps_token(&self, start: usize, old_end: usize, new_text: &str) -> bool {
        let root = self.tree.root_node();
        if root.has_error() {
            return false;
        }
        if self.keeps_identifier(start, old_end, new_text) {
            return true;
        }
        let Some(token) = root.descendant_for_byte_range(start, old_end) else {
            return false;
        };
        if token.child_count() > 0 || token.start_byte() >= start || old_end >= token.end_byte() {
            return false; // the token's first and last characters stay
        }
        let removed = &self.text[start..old_end];
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let source = &self.text[token.start_byte()..token.end_byte()];
        let token_stays = match token.kind() {
            // `12`, `0.25`: no `0x`, `_`, exponent or `j` whose meaning digits could change
            "integer" => digits(source) && !source.starts_with('0'),
            "float" => {
                source.bytes().filter(|&b| b == b'.').count() == 1
                    && digits(&source.replace('.', ""))
            }
            "comment" => true,
            _ => false,
        };
        let edit_fits = match token.kind() {
            "comment" => !(removed.contains(['\n', '\r']) || new_text.contains(['\n', '\r'])),
            _ => digits(removed) && digits(new_text),
        };
        token_stays && edit_fits
    }

    /// Whether the edit stays within one identifier (its ends included) and leaves a plain
    /// identifier that cannot merge with its neighbours: typing in a name is the commonest
    /// edit, and a name's text is not part of the tree's shape. Keywords (soft ones and
    /// tree-sitter-python's `print`/`exec` too) would change the parse, so they are re-parsed.
    fn keeps_identifier(&self, start: usize, old_end: usize, new_text: &str) -> bool {
        let root = self.tree.root_node();
        let covers = |n: &tree_sitter::Node| {
            n.kind() == "identifier" && n.start_byte() <= start && old_end <= n.end_byte()
        };
        // an insertion at a name's end touches the next token first
        let token = root
            .descendant_for_byte_range(start, old_end)
            .filter(covers)
            .or_else(|| {
                let before = start.checked_sub(1)?;
                root.descendant_for_byte_range(before, start).filter(covers)
            });
        let Some(token) = token else {
            return false;
        };
        let (from, to) = (token.start_byte(), token.end_byte());
        if start == old_end && start == from {
            return false; // tree-sitter puts an insertion at a node's start before the node
        }
        let old_name = &self.text[from..to];
        let new_name = [&self.text[from..start], new_text, &self.text[old_end..to]].concat();
        let bytes = self.text.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || !b.is_ascii();
        // `1.` then `e5` would lex as one float; `r` then `"..."` as a string prefix
        let before_ok = match from.checked_sub(1).map(|i| bytes[i]) {
            Some(b'.') => !from
                .checked_sub(2)
                .is_some_and(|i| bytes[i].is_ascii_digit()),
            Some(b) => !word(b),
            None => true,
        };
        let after_ok = bytes
            .get(to)
            .is_none_or(|&b| !word(b) && b != b'"' && b != b'\'');
        plain_name(old_name) && plain_name(&new_name) && before_ok && after_ok
    }

    /// Replace the whole text (full sync).
    pub fn replace(&mut self, text: impl Into<String>) {
        *self = ParsedDocument::new(text);
    }
}

/// An ASCII identifier that no Python version nor tree-sitter-python reads as a keyword.
fn plain_name(name: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "case", "class",
        "continue", "def", "del", "elif", "else", "except", "exec", "finally", "for", "from",
        "global", "if", "import", "in", "is", "lambda", "match", "nonlocal", "not", "or", "pass",
        "print", "raise", "return", "try", "type", "while", "with", "yield",
    ];
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !KEYWORDS.contains(&name)
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

    /// Every node as (kind, start, end): the whole shape of a tree.
    fn shape(tree: &Tree) -> Vec<(String, usize, usize)> {
        let mut out = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(n) = stack.pop() {
            out.push((n.kind().to_string(), n.start_byte(), n.end_byte()));
            let mut cursor = n.walk();
            stack.extend(n.children(&mut cursor));
        }
        out
    }

    #[test]
    fn edits_inside_numbers_and_comments_keep_the_tree_of_a_fresh_parse() {
        let mut doc = ParsedDocument::new(
            "import cadquery as cq\nr = cq.Workplane().box(12, 0.25, 3)  # a box\nq = r.faces('>Z')\n",
        );
        let edits: [(&str, usize, usize, &str); 6] = [
            ("12", 1, 1, "7"),         // 172
            ("0.25", 2, 3, "75"),      // 0.755
            ("# a box", 4, 4, "big "), // # a big box
            ("0.755", 3, 3, "0"),      // 0.7055
            ("172", 1, 2, ""),         // 12
            ("# a", 1, 1, "#"),        // ## a big box
        ];
        for (token, from, to, new) in edits {
            let at = doc.text().find(token).unwrap();
            assert!(doc.keeps_token(at + from, at + to, new), "{token:?}");
            doc.edit(at + from, at + to, new).unwrap();
            let fresh = ParsedDocument::new(doc.text());
            assert_eq!(
                shape(doc.tree()),
                shape(fresh.tree()),
                "after editing {token:?}"
            );
        }
        assert_eq!(
            doc.text(),
            "import cadquery as cq\nr = cq.Workplane().box(12, 0.7055, 3)  ## a big box\nq = r.faces('>Z')\n"
        );
        // what changes a token's kind or meaning is parsed again
        let at = doc.text().find("0.7055").unwrap();
        assert!(doc.keeps_token(at + 2, at + 3, "9"));
        assert!(!doc.keeps_token(at + 1, at + 2, "")); // the dot
        assert!(!doc.keeps_token(at + 4, at + 6, "")); // up to the last character
        assert!(!doc.keeps_token(at + 2, at + 3, "e")); // an exponent
        assert!(!doc.keeps_token(at, at + 1, "2")); // the first character
        let at = doc.text().find("a big").unwrap();
        assert!(!doc.keeps_token(at, at + 1, "\n"));
    }

    #[test]
    fn edits_of_names_keep_the_tree_of_a_fresh_parse() {
        let text = "import cadquery as cq\nwp = cq.Workplane('XY')\nr = wp.box(1, 2, 3).faces('>Z').close()\nif r:\n    q = r\n";
        // every one-character deletion and insertion ('e', '_', '1', 'f') anywhere: when
        // the re-parse is skipped, the edited tree must be the fresh one
        let mut skipped = 0;
        for at in 0..=text.len() {
            let edits = [
                (at, at + 1, ""),
                (at, at, "e"),
                (at, at, "_"),
                (at, at, "1"),
                (at, at, "f"),
            ];
            for (from, to, new) in edits.into_iter().filter(|e| e.1 <= text.len()) {
                let mut doc = ParsedDocument::new(text);
                if !doc.keeps_token(from, to, new) {
                    continue;
                }
                skipped += 1;
                doc.edit(from, to, new).unwrap();
                let fresh = ParsedDocument::new(doc.text());
                assert_eq!(shape(doc.tree()), shape(fresh.tree()), "{:?}", doc.text());
            }
        }
        assert!(
            skipped > 60,
            "only {skipped} name edits skipped the re-parse"
        );
        // edits that make a keyword or leave no plain name are parsed again
        let doc = ParsedDocument::new("i = x.e\nn = 1\nr = 1 if n else 2\n");
        let at = |s: &str| doc.text().find(s).unwrap();
        assert!(!doc.tree().root_node().has_error());
        assert!(!doc.keeps_token(at("i ") + 1, at("i ") + 1, "f")); // if
        assert!(!doc.keeps_token(at("n ") + 1, at("n ") + 1, "ot")); // not
        assert!(!doc.keeps_token(at("x.e"), at("x.e") + 1, "1")); // 1.e
        assert!(!doc.keeps_token(at("x.e"), at("x.e") + 1, "é"));
        assert!(!doc.keeps_token(at("x.e"), at("x.e") + 1, "")); // .e
        assert!(doc.keeps_token(at("x.e") + 2, at("x.e") + 3, "f")); // x.f
        assert!(doc.keeps_token(at("x.e") + 3, at("x.e") + 3, "f")); // x.ef
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
