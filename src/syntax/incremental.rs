//! Reusing the static diagnostics across an edit that cannot change them: a change inside one
//! number literal or one comment, on one line, in a file without syntax errors. No check
//! reads a number's value or a comment's text (the API checks look at names, arity, keywords
//! and selector strings; names at identifiers), so the findings stay the same and only move
//! with the text after the edit. Any other edit re-checks the whole file.

use super::diagnostic::{Diagnostic, TextRange};
use super::document::ParsedDocument;

/// Kinds of leaf tokens whose text no check reads.
const NEUTRAL_TOKENS: [&str; 3] = ["integer", "float", "comment"];

/// The leaf token around `start..end`, with its kind, when it is of a neutral kind.
fn neutral_token(doc: &ParsedDocument, start: usize, end: usize) -> Option<(TextRange, u16)> {
    let node = doc
        .tree()
        .root_node()
        .descendant_for_byte_range(start, end)?;
    (node.child_count() == 0
        && NEUTRAL_TOKENS.contains(&node.kind())
        && node.start_byte() <= start
        && end <= node.end_byte())
    .then(|| (TextRange::of(node), node.kind_id()))
}

/// The diagnostics of `after` from those of `before`, when the edit that turned `before` into
/// `after` (bytes `start..old_end` replaced by `new_len` bytes) cannot change them; `None`
/// when the file must be checked again.
pub fn carry_over(
    before: &ParsedDocument,
    after: &ParsedDocument,
    start: usize,
    old_end: usize,
    new_len: usize,
    diagnostics: &[Diagnostic],
) -> Option<Vec<Diagnostic>> {
    let removed = before.text().get(start..old_end)?;
    let inserted = after.text().get(start..start + new_len)?;
    if removed.contains('\n') || inserted.contains('\n') {
        return None; // line numbers appear in messages
    }
    if before.tree().root_node().has_error() || after.tree().root_node().has_error() {
        return None; // syntax messages quote the source around the error
    }
    let (old_token, old_kind) = neutral_token(before, start, old_end)?;
    let (new_token, new_kind) = neutral_token(after, start, start + new_len)?;
    if old_kind != new_kind || old_token.start != new_token.start {
        return None; // `1` -> `1.5`, or a token merged with its neighbour
    }
    if diagnostics.iter().any(|d| d.range.overlaps(old_token)) {
        return None; // a finding about this very token
    }
    let delta = new_len as isize - (old_end - start) as isize;
    let shift = |r: TextRange| {
        if r.start >= old_end {
            TextRange::new(
                (r.start as isize + delta) as usize,
                (r.end as isize + delta) as usize,
            )
        } else {
            r
        }
    };
    Some(
        diagnostics
            .iter()
            .map(|d| {
                let mut d = d.clone();
                d.range = shift(d.range);
                for fix in &mut d.fixes {
                    for edit in &mut fix.edits {
                        edit.range = shift(edit.range);
                    }
                }
                d
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edits `text` at `at` (replacing `len` bytes) both ways and compares carried findings
    /// with a fresh check; `None` when the edit is not carried.
    fn carried(text: &str, at: usize, len: usize, new: &str) -> Option<Vec<Diagnostic>> {
        let before = ParsedDocument::new(text);
        let mut after = before.clone();
        after.edit(at, at + len, new).unwrap();
        let out = carry_over(
            &before,
            &after,
            at,
            at + len,
            new.len(),
            &before.diagnostics(),
        )?;
        assert_eq!(
            out,
            after.diagnostics(),
            "carried findings differ from a fresh check"
        );
        Some(out)
    }

    #[test]
    fn number_and_comment_edits_carry_the_findings_moved() {
        let text = "import cadquery as cq\nr = cq.Workplane().box(1, 2, 3)  # size\nr.fillets(0.5)\nq = undefined_name\n";
        let at = text.find("2, 3").unwrap();
        let found = carried(text, at, 1, "25").expect("a number edit is carried");
        assert_eq!(found.len(), 2, "{found:?}");
        let at = text.find("size").unwrap();
        carried(text, at, 4, "the size in mm").expect("a comment edit is carried");
    }

    #[test]
    fn other_edits_are_checked_again() {
        let text = "import cadquery as cq\nr = cq.Workplane().box(1, 2, 3)\n";
        let at = text.find("box").unwrap();
        assert!(carried(text, at, 3, "bax").is_none(), "a name");
        let at = text.find("1,").unwrap();
        assert!(carried(text, at, 1, "1.5").is_none(), "integer to float");
        assert!(carried(text, at, 1, "1\n").is_none(), "a new line");
        assert!(carried(text, at + 1, 1, "").is_none(), "a comma");
        let broken = "import cadquery as cq\nr = cq.Workplane().box(1, 2, 3\n";
        let at = broken.find("2,").unwrap();
        assert!(
            carried(broken, at, 1, "4").is_none(),
            "a file with a syntax error"
        );
    }
}
