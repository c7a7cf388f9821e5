//! A light Python lexer for what tree-sitter glosses over: unclosed and mismatched
//! brackets, unterminated strings, and where logical lines end (tree-sitter happily
//! joins `r.` and `q = 2` on the next line into `r.q = 2`).

use super::diagnostic::{codes, Diagnostic, Fix, TextEdit, TextRange};

/// A newline that ends a logical line (outside brackets, strings and `\` continuations).
#[derive(Clone, Copy, Debug)]
pub struct LineEnd {
    pub newline: usize,
    /// Offset of the last byte of code on the line (comments and blanks excluded).
    pub last_code: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Lexical {
    pub problems: Vec<Diagnostic>,
    pub line_ends: Vec<LineEnd>,
    /// Where the first bracket/string problem starts: tree-sitter errors past it are
    /// consequences of it and not reported.
    pub first_problem: Option<usize>,
    /// Where each unclosed bracket's closer belongs (opener offset, insert offset, closer).
    pub closers: Vec<(usize, usize, char)>,
}

fn closer_of(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

pub fn scan(text: &str) -> Lexical {
    let b = text.as_bytes();
    let mut lex = Lexical::default();
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut last_code: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\\' if matches!(b.get(i + 1), Some(b'\n')) => {
                i += 2;
                continue;
            }
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => {
                i += 3;
                continue;
            }
            b'\n' => {
                if stack.is_empty() {
                    lex.line_ends.push(LineEnd {
                        newline: i,
                        last_code,
                    });
                    last_code = None;
                }
            }
            b'\'' | b'"' => {
                let end = scan_string(text, i, &mut lex);
                last_code = Some(end.saturating_sub(1).max(i));
                i = end;
                continue;
            }
            b'(' | b'[' | b'{' => {
                stack.push((c, i));
                last_code = Some(i);
            }
            b')' | b']' | b'}' => {
                last_code = Some(i);
                match stack.last() {
                    Some(&(open, _)) if closer_of(open) == c => {
                        stack.pop();
                    }
                    Some(&(open, at)) => {
                        let (line, col) = super::diagnostic::line_col(text, at);
                        lex.problem(Diagnostic::error(
                            TextRange::new(i, i + 1),
                            codes::UNMATCHED_BRACKET,
                            format!(
                                "`{}` does not close `{}` opened at {line}:{col}; expected `{}`",
                                c as char,
                                open as char,
                                closer_of(open) as char
                            ),
                        ));
                        stack.pop();
                    }
                    None => {
                        lex.problem(
                            Diagnostic::error(
                                TextRange::new(i, i + 1),
                                codes::UNMATCHED_BRACKET,
                                format!("`{}` has no matching opening bracket", c as char),
                            )
                            .with_fix(Fix {
                                title: format!("Remove the unmatched `{}`", c as char),
                                edits: vec![TextEdit {
                                    range: TextRange::new(i, i + 1),
                                    new_text: String::new(),
                                }],
                            }),
                        );
                    }
                }
            }
            b' ' | b'\t' | b'\r' | b'\x0c' => {}
            _ => last_code = Some(i),
        }
        i += 1;
    }
    if last_code.is_some() || lex.line_ends.last().is_none_or(|e| e.newline + 1 < b.len()) {
        lex.line_ends.push(LineEnd {
            newline: b.len(),
            last_code,
        });
    }
    for &(open, at) in stack.iter().rev() {
        let closer = closer_of(open) as char;
        let insert_at = closer_position(text, at);
        lex.closers.push((at, insert_at, closer));
        lex.problem(
            Diagnostic::error(
                TextRange::new(at, at + 1),
                codes::UNCLOSED_BRACKET,
                format!("`{}` is never closed", open as char),
            )
            .with_fix(Fix {
                title: format!("Insert the missing `{closer}`"),
                edits: vec![TextEdit {
                    range: TextRange::empty(insert_at),
                    new_text: closer.to_string(),
                }],
            }),
        );
    }
    lex
}

impl Lexical {
    fn problem(&mut self, d: Diagnostic) {
        let at = d.range.start;
        self.first_problem = Some(self.first_problem.map_or(at, |p| p.min(at)));
        self.problems.push(d);
    }
}

/// Scan a string literal starting at its quote; returns the offset just past it.
fn scan_string(text: &str, start: usize, lex: &mut Lexical) -> usize {
    let b = text.as_bytes();
    let q = b[start];
    let triple = b.get(start + 1) == Some(&q) && b.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == q => {
                if !triple {
                    return i + 1;
                }
                if b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                    return i + 3;
                }
                i += 1;
            }
            b'\n' if !triple => {
                let end = if i > start && b[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                unclosed_string(lex, start, end, end, q, false);
                return i;
            }
            _ => i += 1,
        }
    }
    let end = b.len().min(i);
    if triple {
        unclosed_string(lex, start, start + 3, end, q, true);
    } else {
        unclosed_string(lex, start, end, end, q, false);
    }
    end
}

fn unclosed_string(
    lex: &mut Lexical,
    start: usize,
    mark_end: usize,
    insert: usize,
    q: u8,
    triple: bool,
) {
    let quote = if triple {
        (q as char).to_string().repeat(3)
    } else {
        (q as char).to_string()
    };
    lex.problem(
        Diagnostic::error(
            TextRange::new(start, mark_end.max(start + 1)),
            codes::UNCLOSED_STRING,
            format!("string opened with `{quote}` is never closed"),
        )
        .with_fix(Fix {
            title: format!("Insert the missing `{quote}`"),
            edits: vec![TextEdit {
                range: TextRange::empty(insert),
                new_text: quote,
            }],
        }),
    );
}

/// Where the closer of an unclosed bracket belongs: before the first later line that
/// looks like a new statement (indented no deeper than the opener's line and not
/// starting with a closer), after the last code before it.
fn closer_position(text: &str, opener: usize) -> usize {
    let line_start = text[..opener].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[opener..].find('\n').map_or(text.len(), |i| opener + i);
    // `def f(x:` / `if g(x:`: the block header's colon ends the bracket.
    let header = text[line_start..line_end].trim_end();
    let first_word = header
        .trim_start()
        .split(|c: char| !c.is_alphanumeric())
        .next();
    if header.ends_with(':')
        && first_word.is_some_and(|w| super::syntax_check::COMPOUND_KEYWORDS.contains(&w))
    {
        let colon = line_start + header.len() - 1;
        return text[..colon].trim_end().len().max(opener + 1);
    }
    let indent = indentation(&text[line_start..]);
    let mut end = code_end(text, opener, text.len());
    let mut at = text[opener..].find('\n').map(|i| opener + i + 1);
    while let Some(start) = at {
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = &text[start..line_end];
        let trimmed = line.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            let starts_closer = trimmed.starts_with([')', ']', '}']);
            if indentation(line) <= indent && !starts_closer {
                end = code_end(text, opener, start);
                break;
            }
        }
        at = (line_end < text.len()).then_some(line_end + 1);
    }
    end
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// Just past the last code byte in `from..to`, skipping trailing blanks and a trailing
/// comment on that line (a closer must not land inside the comment).
fn code_end(text: &str, from: usize, to: usize) -> usize {
    let mut end = to;
    loop {
        let chunk = &text[from..end];
        let trimmed = chunk.trim_end();
        let mut candidate = from + trimmed.len();
        // Strip a comment on the last line, when the `#` is not inside a string.
        let line_start = text[..candidate].rfind('\n').map_or(0, |i| i + 1).max(from);
        if let Some(hash) = comment_start(&text[line_start..candidate]) {
            candidate = line_start + text[line_start..line_start + hash].trim_end().len();
            if candidate <= from {
                return from + 1;
            }
            end = candidate;
            continue;
        }
        return candidate.max(from + 1);
    }
}

fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') => return Some(i),
            _ => {}
        }
    }
    None
}
