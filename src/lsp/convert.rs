//! Conversions between protocol positions and the core's byte offsets.
// completion, hover and code actions (landing with the syntax module) use the rest
#![allow(dead_code)]

use tower_lsp_server::ls_types::{Position, Range};

use super::document::Document;
use super::line_index::{LineCol, PositionEncoding};

pub fn line_col(pos: Position) -> LineCol {
    LineCol {
        line: pos.line,
        character: pos.character,
    }
}

pub fn position(doc: &Document, offset: usize, encoding: PositionEncoding) -> Position {
    let lc = doc.line_col(offset, encoding);
    Position::new(lc.line, lc.character)
}

/// The protocol range of the byte range `start..end` of `doc`.
pub fn range(doc: &Document, start: usize, end: usize, encoding: PositionEncoding) -> Range {
    Range::new(position(doc, start, encoding), position(doc, end, encoding))
}

pub fn offset(doc: &Document, pos: Position, encoding: PositionEncoding) -> usize {
    doc.offset(line_col(pos), encoding)
}
