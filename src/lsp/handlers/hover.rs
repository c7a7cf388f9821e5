//! `textDocument/hover`: for the variable holding the part, the facts of the last run and a
//! rendered preview (where the client shows markdown images); elsewhere the API docs of what
//! is under the cursor (method, class, keyword, a variable's type).

use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::lsp::convert;
use crate::lsp::session::{LastBuild, Session};
use crate::syntax::HoverDoc;

pub fn hover(session: &Session, params: &HoverParams) -> Option<Hover> {
    let at = &params.text_document_position_params;
    let doc = session.snapshot(&at.text_document.uri)?;
    let encoding = session.encoding();
    let offset = convert::offset(&doc, at.position, encoding);
    let markdown = session.features().markdown_hover;
    let (start, end, value) = match part_hover(session, &doc, at, offset, markdown) {
        Some(found) => found,
        None => {
            let api = doc.parsed().hover_doc(offset)?;
            (api.range.start, api.range.end, api_doc(&api, markdown))
        }
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: if markdown {
                MarkupKind::Markdown
            } else {
                MarkupKind::PlainText
            },
            value,
        }),
        range: Some(convert::range(&doc, start, end, encoding)),
    })
}

/// The part's facts when the cursor is on the name the last run took the part from.
fn part_hover(
    session: &Session,
    doc: &crate::lsp::document::Document,
    at: &tower_lsp_server::ls_types::TextDocumentPositionParams,
    offset: usize,
    markdown: bool,
) -> Option<(usize, usize, String)> {
    let (start, end) = identifier_at(doc.text(), offset)?;
    let word = &doc.text()[start..end];
    let build = session
        .last_build(&at.text_document.uri)
        .filter(|b| b.result_name == word)?;
    Some((start, end, part_facts(&build, doc.version(), markdown)))
}

/// A method's, class's or parameter's signatures and docs.
fn api_doc(api: &HoverDoc, markdown: bool) -> String {
    let mut out = Vec::new();
    if markdown {
        out.push(format!("**{}**", api.title));
        if !api.signatures.is_empty() {
            out.push(format!("```python\n{}\n```", api.signatures.join("\n")));
        }
    } else {
        out.push(api.title.clone());
        out.extend(api.signatures.iter().cloned());
    }
    if !api.doc.trim().is_empty() {
        out.push(api.doc.trim().to_string());
    }
    out.join("\n\n")
}

/// The identifier around `offset` (ASCII and Unicode word characters).
fn identifier_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(text.len(), |(i, _)| offset + i);
    (start < end).then_some((start, end))
}

fn part_facts(build: &LastBuild, current_version: i32, markdown: bool) -> String {
    let f = &build.facts;
    let size: Vec<String> = (0..3)
        .map(|i| short(f.bbox.max[i] - f.bbox.min[i]))
        .collect();
    let centroid: Vec<String> = f.centroid.iter().map(|v| short(*v)).collect();
    let heading = if markdown {
        format!("**`{}`: the part**", build.result_name)
    } else {
        format!("{}: the part", build.result_name)
    };
    let mut lines = vec![
        heading,
        String::new(),
        format!("- volume: {}", short(f.volume)),
        format!("- size (x × y × z): {}", size.join(" × ")),
        format!("- centroid: ({})", centroid.join(", ")),
        format!("- solids: {}", f.solids),
        format!("- valid B-rep: {}", if f.valid { "yes" } else { "no" }),
    ];
    if let Some(preview) = build.preview.as_ref().filter(|_| markdown) {
        lines.push(String::new());
        lines.push(format!(
            "![render of `{}`]({})",
            build.result_name,
            file_uri(preview)
        ));
    }
    if build.version != current_version {
        lines.push(String::new());
        lines.push(format!(
            "from the last run (version {}); save to run the current text",
            build.version
        ));
    }
    lines.join("\n")
}

/// A `file://` URI of an absolute path, with the characters markdown links choke on escaped.
fn file_uri(path: &std::path::Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A number with at most 4 decimals and no trailing zeros.
fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_found_around_the_cursor() {
        let text = "résult = cq.box(1)";
        assert_eq!(identifier_at(text, 0), Some((0, 7)));
        assert_eq!(identifier_at(text, 7), Some((0, 7)));
        assert_eq!(identifier_at(text, 8), None);
        assert_eq!(short(2.50000), "2.5");
        assert_eq!(short(-0.00001), "0");
        assert_eq!(
            file_uri(std::path::Path::new("/tmp/a b/p(1).png")),
            "file:///tmp/a%20b/p%281%29.png"
        );
    }
}
