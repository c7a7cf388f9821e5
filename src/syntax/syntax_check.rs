//! Syntax diagnostics: the lexer's bracket/string problems, tree-sitter's ERROR and
//! MISSING nodes turned into messages that point at the offending token, and statements
//! that run on past the end of their line.

use tree_sitter::{Node, Tree};

use super::diagnostic::{codes, Diagnostic, TextRange};
use super::lexical::{Lexical, LineEnd};
use super::statements::TopStatement;

pub(super) const COMPOUND_KEYWORDS: &[&str] = &[
    "if", "elif", "else", "for", "while", "def", "class", "with", "try", "except", "finally",
    "async", "match", "case",
];

/// `top`: the module's statements when known (then only those a logical line ends inside
/// are looked up in the tree, instead of visiting every statement).
pub fn check(
    text: &str,
    tree: &Tree,
    lex: &Lexical,
    top: Option<&[TopStatement]>,
) -> Vec<Diagnostic> {
    let mut out = lex.problems.clone();
    let cutoff = lex.first_problem.unwrap_or(usize::MAX);
    let mut from_tree = Vec::new();
    collect_errors(text, tree.root_node(), &mut from_tree);
    match top {
        Some(top) if tree.root_node().kind() == "module" => {
            statements_run_on(text, tree, top, &lex.line_ends, &mut from_tree)
        }
        _ => line_runs_on(text, tree.root_node(), &lex.line_ends, &mut from_tree),
    }
    for d in from_tree {
        // Errors after an unclosed bracket or string are its consequences.
        let after_problem = d.range.end.max(d.range.start + 1) > cutoff;
        let duplicate = out.iter().any(|o| o.range.overlaps(widen(d.range)));
        if !after_problem && !duplicate {
            out.push(d);
        }
    }
    out.sort_by_key(|d| (d.range.start, d.range.end));
    out
}

fn widen(r: TextRange) -> TextRange {
    TextRange::new(r.start, r.end.max(r.start + 1))
}

fn collect_errors(text: &str, node: Node, out: &mut Vec<Diagnostic>) {
    if !node.has_error() {
        return;
    }
    if node.is_missing() {
        out.push(missing(text, node));
        return;
    }
    if node.is_error() {
        out.push(error_node(text, node));
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        collect_errors(text, child, out);
    }
}

fn missing(text: &str, node: Node) -> Diagnostic {
    let at = node.start_byte();
    // A zero-width range is hard to see: mark the token before the gap.
    let prev = text[..at].trim_end();
    let start = prev.char_indices().next_back().map_or(at, |(i, _)| i);
    let end = at.max(start + prev[start..].len());
    Diagnostic::error(
        TextRange::new(start, end),
        codes::SYNTAX,
        format!("expected `{}` here", node.kind()),
    )
}

/// Leaf tokens (named or not) of a subtree, in order.
fn leaves<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    if node.child_count() == 0 {
        if node.end_byte() > node.start_byte() {
            out.push(node);
        }
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        leaves(child, out);
    }
}

fn snippet(text: &str) -> String {
    let one_line = text.lines().next().unwrap_or("").trim();
    if one_line.chars().count() > 30 {
        format!("{}…", one_line.chars().take(30).collect::<String>())
    } else {
        one_line.to_string()
    }
}

/// What must follow a token that ends a statement too early, if it is such a token.
fn expectation_after(token: &str) -> Option<&'static str> {
    match token {
        "." => Some("a method or attribute name"),
        "=" | "+" | "-" | "*" | "/" | "//" | "%" | "**" | "==" | "!=" | "<" | ">" | "<=" | ">="
        | "+=" | "-=" | "*=" | "/=" | "and" | "or" | "not" | "in" | "is" | "," | "(" | "["
        | "{" | "return" | "lambda" | "@" | "|" | "&" | "^" | "<<" | ">>" => Some("an expression"),
        "import" => Some("a module name"),
        "as" => Some("a name"),
        _ => None,
    }
}

fn error_node(text: &str, node: Node) -> Diagnostic {
    let src = &text[node.start_byte()..node.end_byte()];
    let mut toks = Vec::new();
    leaves(node, &mut toks);
    let statement_level = node
        .parent()
        .is_none_or(|p| matches!(p.kind(), "module" | "block"));
    if statement_level {
        if let Some(first) = toks.first() {
            let kw = &text[first.start_byte()..first.end_byte()];
            if COMPOUND_KEYWORDS.contains(&kw) {
                let line_end = src
                    .find('\n')
                    .map_or(node.end_byte(), |i| node.start_byte() + i);
                let header = text[node.start_byte()..line_end].trim_end();
                if !header.ends_with(':') {
                    let end = node.start_byte() + header.len();
                    let last = header.char_indices().next_back().map_or(0, |(i, _)| i);
                    return Diagnostic::error(
                        TextRange::new(node.start_byte() + last, end),
                        codes::SYNTAX,
                        format!("expected `:` at the end of the `{kw}` line"),
                    );
                }
            }
        }
        if let Some(last) = toks.last() {
            let tok = &text[last.start_byte()..last.end_byte()];
            if let Some(what) = expectation_after(tok) {
                return Diagnostic::error(
                    TextRange::of(*last),
                    codes::SYNTAX,
                    format!("expected {what} after `{tok}`"),
                );
            }
        }
        let line_end = src
            .find('\n')
            .map_or(node.end_byte(), |i| node.start_byte() + i);
        return Diagnostic::error(
            TextRange::new(node.start_byte(), line_end.max(node.start_byte() + 1)),
            codes::SYNTAX,
            format!("invalid syntax in `{}`", snippet(src)),
        );
    }
    // Inside a statement: the ERROR holds the tokens that do not fit.
    let only_expressions = toks.iter().all(|t| t.is_named());
    if only_expressions && !toks.is_empty() {
        if let Some(next) = node.next_sibling().filter(|n| n.is_named()) {
            let between = &text[node.end_byte()..next.start_byte()];
            if !between.contains('\n') {
                return Diagnostic::error(
                    TextRange::new(node.start_byte(), next.end_byte()),
                    codes::SYNTAX,
                    format!(
                        "expected an operator or `,` between `{}` and `{}`",
                        snippet(src),
                        snippet(&text[next.start_byte()..next.end_byte()])
                    ),
                );
            }
        }
    }
    Diagnostic::error(
        TextRange::new(
            node.start_byte(),
            node.end_byte().max(node.start_byte() + 1),
        ),
        codes::SYNTAX,
        format!("unexpected `{}`", snippet(src)),
    )
}

/// Simple statements that tree-sitter parsed across a logical line end: Python ends the
/// statement at that newline, so the line is incomplete (`r.` then `q = 2`).
fn line_runs_on(text: &str, root: Node, line_ends: &[LineEnd], out: &mut Vec<Diagnostic>) {
    visit_run_on(text, vec![root], line_ends, out);
}

/// Visits the children of the nodes on `stack` (and of the blocks and compound statements
/// found among them), checking every simple statement.
fn visit_run_on(
    text: &str,
    mut stack: Vec<Node>,
    line_ends: &[LineEnd],
    out: &mut Vec<Diagnostic>,
) {
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            statement_runs_on(text, child, line_ends, &mut stack, out);
        }
    }
}

/// A simple statement is checked, a compound one or a block is left on `stack` to visit.
fn statement_runs_on<'t>(
    text: &str,
    node: Node<'t>,
    line_ends: &[LineEnd],
    stack: &mut Vec<Node<'t>>,
    out: &mut Vec<Diagnostic>,
) {
    match node.kind() {
        "block" | "module" => stack.push(node),
        k if k.ends_with("_statement") && !is_compound(k) => {
            check_statement(text, node, line_ends, out)
        }
        _ if node.named_child_count() > 0 && is_compound(node.kind()) => stack.push(node),
        _ => {}
    }
}

/// [`line_runs_on`] for the module's statements `top`: a statement no logical line ends
/// inside has nothing to report, so only the others are found in the tree.
fn statements_run_on(
    text: &str,
    tree: &Tree,
    top: &[TopStatement],
    line_ends: &[LineEnd],
    out: &mut Vec<Diagnostic>,
) {
    let root = tree.root_node();
    for t in top {
        if line_end_inside(line_ends, t.start, t.end).is_none() {
            continue;
        }
        let mut cursor = root.walk();
        if cursor.goto_first_child_for_byte(t.start).is_none() {
            continue;
        }
        let node = cursor.node();
        debug_assert_eq!((node.start_byte(), node.kind_id()), (t.start, t.kind));
        let mut stack = Vec::new();
        statement_runs_on(text, node, line_ends, &mut stack, out);
        visit_run_on(text, stack, line_ends, out);
    }
}

/// The first logical line end inside `start..end`.
fn line_end_inside(line_ends: &[LineEnd], start: usize, end: usize) -> Option<&LineEnd> {
    let at = line_ends.partition_point(|e| e.newline < start);
    line_ends.get(at).filter(|e| e.newline < end)
}

fn is_compound(kind: &str) -> bool {
    matches!(
        kind,
        "if_statement"
            | "for_statement"
            | "while_statement"
            | "try_statement"
            | "with_statement"
            | "match_statement"
            | "function_definition"
            | "class_definition"
            | "decorated_definition"
            | "elif_clause"
            | "else_clause"
            | "except_clause"
            | "finally_clause"
            | "case_clause"
    )
}

fn check_statement(text: &str, stmt: Node, line_ends: &[LineEnd], out: &mut Vec<Diagnostic>) {
    let Some(line_end) = line_end_inside(line_ends, stmt.start_byte(), stmt.end_byte()) else {
        return;
    };
    let Some(last) = line_end.last_code else {
        return;
    };
    let tok_node = stmt
        .descendant_for_byte_range(last, last + 1)
        .unwrap_or(stmt);
    let tok = &text[tok_node.start_byte()..tok_node.end_byte()];
    let message = match expectation_after(tok) {
        Some(what) => format!("line ends after `{tok}`: expected {what}"),
        None => {
            "statement continues on the next line: wrap it in brackets or end the line with `\\`"
                .to_string()
        }
    };
    out.push(Diagnostic::error(
        TextRange::of(tok_node),
        codes::SYNTAX,
        message,
    ));
}
