//! `textDocument/hover`: for the variable holding the part, the facts of the last run.

use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::lsp::convert;
use crate::lsp::session::{LastBuild, Session};

pub fn hover(session: &Session, params: &HoverParams) -> Option<Hover> {
    let at = &params.text_document_position_params;
    let doc = session.snapshot(&at.text_document.uri)?;
    let encoding = session.encoding();
    let offset = convert::offset(&doc, at.position, encoding);
    let (start, end) = identifier_at(doc.text(), offset)?;
    let word = &doc.text()[start..end];
    let build = session
        .last_build(&at.text_document.uri)
        .filter(|b| b.result_name == word)?;
    let markdown = session.features().markdown_hover;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: if markdown {
                MarkupKind::Markdown
            } else {
                MarkupKind::PlainText
            },
            value: part_facts(&build, doc.version(), markdown),
        }),
        range: Some(convert::range(&doc, start, end, encoding)),
    })
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
    if build.version != current_version {
        lines.push(String::new());
        lines.push(format!(
            "from the last run (version {}); save to run the current text",
            build.version
        ));
    }
    lines.join("\n")
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
    }
}
