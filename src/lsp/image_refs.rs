//! Pictures a document mentions: a `.png` / `.jpg` / `.jpeg` path inside a string or a
//! comment, where the "Generate CadQuery from image" action is offered.

use std::path::{Path, PathBuf};

use crate::syntax::ParsedDocument;

#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    /// Byte range of the path in the text.
    pub start: usize,
    pub end: usize,
    /// The path as written.
    pub written: String,
}

impl ImageRef {
    /// The picture's path: as written when absolute, else relative to the document's folder.
    pub fn resolve(&self, document: Option<&Path>) -> PathBuf {
        let written = Path::new(&self.written);
        match document.and_then(Path::parent) {
            Some(dir) if written.is_relative() => dir.join(written),
            _ => written.to_path_buf(),
        }
    }
}

const EXTENSIONS: [&str; 3] = [".png", ".jpg", ".jpeg"];

fn in_path(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '"' | '\'' | '#' | '(' | ')' | '[' | ']' | '`' | ',')
}

/// Every picture path in a string or comment of the document, in text order.
pub fn image_refs(doc: &ParsedDocument) -> Vec<ImageRef> {
    let text = doc.text();
    let lower = text.to_ascii_lowercase();
    let root = doc.tree().root_node();
    let mut out: Vec<ImageRef> = Vec::new();
    for ext in EXTENSIONS {
        for (at, _) in lower.match_indices(ext) {
            let end = at + ext.len();
            // `.jpeg` also contains `.jpe`, never `.jpg`; a longer name like `a.pngx` is no match
            if text[end..].chars().next().is_some_and(in_path) {
                continue;
            }
            let start = text[..at]
                .char_indices()
                .rev()
                .take_while(|(_, c)| in_path(*c))
                .last()
                .map_or(at, |(i, _)| i);
            if start == at {
                continue; // a bare extension
            }
            let inside = root.descendant_for_byte_range(start, end).is_some_and(|n| {
                let mut node = Some(n);
                while let Some(n) = node {
                    if matches!(n.kind(), "string" | "comment") {
                        return true;
                    }
                    node = n.parent();
                }
                false
            });
            if inside {
                out.push(ImageRef {
                    start,
                    end,
                    written: text[start..end].to_string(),
                });
            }
        }
    }
    out.sort_by_key(|r| r.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_strings_and_comments_are_found_not_in_code() {
        let doc = ParsedDocument::new(
            "# from drawings/bracket.PNG\nsrc = 'photos/a b.jpg'\nx = img.png\ny = \"c.jpeg\"\n",
        );
        let found: Vec<_> = image_refs(&doc).into_iter().map(|r| r.written).collect();
        assert_eq!(found, ["drawings/bracket.PNG", "b.jpg", "c.jpeg"]);
        let r = &image_refs(&doc)[0];
        assert_eq!(
            r.resolve(Some(Path::new("/w/part.py"))),
            Path::new("/w/drawings/bracket.PNG")
        );
    }
}
