//! Byte offsets <-> LSP positions. The core speaks byte offsets into UTF-8 text; clients speak
//! (line, character) where a character is counted in the negotiated encoding (UTF-16 unless the
//! client offers another). Getting this wrong shifts every squiggle after an emoji or a CJK
//! comment, so it lives in one place with its own tests.
// parts are used by the handlers landing with the syntax module
#![allow(dead_code)]

/// How the client counts the `character` of a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PositionEncoding {
    Utf8,
    #[default]
    Utf16,
    Utf32,
}

/// A position as the client counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub character: u32,
}

/// Start offsets of every line of one text. Rebuilt whenever the text changes (the document
/// owns both, so they can never disagree).
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    len: usize,
    /// ASCII text: every encoding counts bytes, so conversions skip the per-char walk.
    ascii: bool,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        let bytes = text.as_bytes();
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            // a lone CR ends a line too (LSP counts \n, \r\n and \r)
            if bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n') {
                line_starts.push(i + 1);
            }
        }
        Self {
            line_starts,
            len: text.len(),
            ascii: text.is_ascii(),
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The position of a byte offset (clamped to the text, rounded down to a char boundary).
    pub fn line_col(&self, text: &str, offset: usize, encoding: PositionEncoding) -> LineCol {
        let offset = floor_char_boundary(text, offset.min(self.len));
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let character = if self.ascii {
            offset - start
        } else {
            count_units(&text[start..offset], encoding)
        };
        LineCol {
            line: line as u32,
            character: character as u32,
        }
    }

    /// The byte offset of a position. A line past the end maps to the end of the text; a
    /// character past the end of its line maps to the end of that line (before the line
    /// break), as the protocol asks; a position inside a character maps to its start.
    pub fn offset(&self, text: &str, pos: LineCol, encoding: PositionEncoding) -> usize {
        let line = pos.line as usize;
        if line >= self.line_starts.len() {
            return self.len;
        }
        let start = self.line_starts[line];
        let end = self.line_content_end(text, line);
        let wanted = pos.character as usize;
        if self.ascii {
            return (start + wanted).min(end);
        }
        let mut units = 0;
        for (i, c) in text[start..end].char_indices() {
            let width = char_units(c, encoding);
            if units + width > wanted {
                return start + i;
            }
            units += width;
        }
        end
    }

    /// End of a line's content, excluding its line break.
    fn line_content_end(&self, text: &str, line: usize) -> usize {
        let next = self.line_starts.get(line + 1).copied().unwrap_or(self.len);
        let bytes = text.as_bytes();
        let mut end = next;
        if end > self.line_starts[line] && bytes.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > self.line_starts[line] && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        end
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn char_units(c: char, encoding: PositionEncoding) -> usize {
    match encoding {
        PositionEncoding::Utf8 => c.len_utf8(),
        PositionEncoding::Utf16 => c.len_utf16(),
        PositionEncoding::Utf32 => 1,
    }
}

fn count_units(s: &str, encoding: PositionEncoding) -> usize {
    match encoding {
        PositionEncoding::Utf8 => s.len(),
        PositionEncoding::Utf16 => s.chars().map(char::len_utf16).sum(),
        PositionEncoding::Utf32 => s.chars().count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::*;

    fn lc(line: u32, character: u32) -> LineCol {
        LineCol { line, character }
    }

    #[test]
    fn utf16_counts_surrogate_pairs_as_two() {
        let text = "a😀b\nx";
        let idx = LineIndex::new(text);
        // 'b' is at byte 5, UTF-16 column 3, UTF-32 column 2, UTF-8 column 5
        assert_eq!(idx.line_col(text, 5, Utf16), lc(0, 3));
        assert_eq!(idx.line_col(text, 5, Utf32), lc(0, 2));
        assert_eq!(idx.line_col(text, 5, Utf8), lc(0, 5));
        assert_eq!(idx.offset(text, lc(0, 3), Utf16), 5);
        assert_eq!(idx.offset(text, lc(0, 2), Utf32), 5);
        // inside the surrogate pair: the start of the emoji
        assert_eq!(idx.offset(text, lc(0, 2), Utf16), 1);
        assert_eq!(idx.offset(text, lc(1, 1), Utf16), text.len());
    }

    #[test]
    fn positions_past_the_end_clamp() {
        let text = "ab\r\ncd\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 3);
        // past the end of line 0: before its \r\n
        assert_eq!(idx.offset(text, lc(0, 99), Utf16), 2);
        assert_eq!(idx.offset(text, lc(1, 1), Utf16), 5);
        assert_eq!(idx.offset(text, lc(2, 0), Utf16), 7);
        assert_eq!(idx.offset(text, lc(9, 0), Utf16), 7);
        assert_eq!(idx.line_col(text, 99, Utf16), lc(2, 0));
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        let text = "a\rb\r\nc";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 3);
        assert_eq!(idx.line_col(text, 2, Utf16), lc(1, 0));
        assert_eq!(idx.line_col(text, 5, Utf16), lc(2, 0));
    }

    #[test]
    fn offsets_and_positions_round_trip_on_mixed_text() {
        let text = "# é中😀\nx = 'ß'\n\nend";
        let idx = LineIndex::new(text);
        for enc in [Utf8, Utf16, Utf32] {
            for (offset, _) in text.char_indices() {
                let pos = idx.line_col(text, offset, enc);
                assert_eq!(idx.offset(text, pos, enc), offset, "{enc:?} at {offset}");
            }
        }
    }
}
