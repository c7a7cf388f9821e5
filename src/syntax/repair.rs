//! Repair of broken CadQuery code from any source (a user's file, a remote model):
//! close what is unclosed, drop statements that cannot be parsed or read undefined
//! names (or rename to the closest defined name), apply unambiguous API fixes, and
//! assign the built solid to `solid` when no result variable exists.

use super::analysis::analyze;
use super::diagnostic::{apply_edits, codes, Diagnostic, TextEdit, TextRange};
use super::document::ParsedDocument;
use super::lexical;
use super::types::Ty;

/// Names the runtime takes the result from, in its order (DESIGN.md, metrics).
const RESULT_NAMES: &[&str] = &["solid", "result", "shape", "part", "object", "obj", "res"];
/// Each round fixes at least one problem; broken code rarely needs more.
const MAX_ROUNDS: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repaired {
    pub code: String,
    /// What was done, one line each, in order.
    pub fixes_applied: Vec<String>,
}

fn is_syntax(d: &Diagnostic) -> bool {
    matches!(
        d.code,
        codes::SYNTAX | codes::UNCLOSED_BRACKET | codes::UNMATCHED_BRACKET | codes::UNCLOSED_STRING
    )
}

pub fn repair(code: &str) -> Repaired {
    let mut code = code.to_string();
    let mut fixes = Vec::new();
    close_unclosed(&mut code, &mut fixes);
    for _ in 0..MAX_ROUNDS {
        let doc = ParsedDocument::new(code.clone());
        let diags = doc.diagnostics();
        // 1. Statements that do not parse: drop them (a truncated last line, `x = `, ...).
        if let Some(d) = diags.iter().find(|d| is_syntax(d)) {
            if !drop_statement(&doc, d, &mut code, &mut fixes, "does not parse") {
                break;
            }
            continue;
        }
        // 2. API misuse with exactly one fix (a typo'd method or keyword): apply it.
        let api_fixes: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| {
                matches!(d.code, codes::UNKNOWN_METHOD | codes::KEYWORD) && d.fixes.len() == 1
            })
            .collect();
        if !api_fixes.is_empty() {
            let edits: Vec<TextEdit> = api_fixes
                .iter()
                .flat_map(|d| d.fixes[0].edits.clone())
                .collect();
            for d in &api_fixes {
                let (line, _) = super::diagnostic::line_col(&code, d.range.start);
                fixes.push(format!("line {line}: {} ({})", d.fixes[0].title, d.message));
            }
            code = apply_edits(&code, &edits);
            continue;
        }
        // 3. Undefined names: rename to the closest defined name, or drop the statement.
        if let Some(d) = diags.iter().find(|d| d.code == codes::UNDEFINED_NAME) {
            if let Some(fix) = d.fixes.first() {
                let (line, _) = super::diagnostic::line_col(&code, d.range.start);
                fixes.push(format!("line {line}: {} ({})", fix.title, d.message));
                code = apply_edits(&code, &fix.edits);
            } else if !drop_statement(&doc, d, &mut code, &mut fixes, "reads an undefined name") {
                break;
            }
            continue;
        }
        break;
    }
    assign_result(&mut code, &mut fixes);
    Repaired {
        code,
        fixes_applied: fixes,
    }
}

/// Insert missing string quotes and closing brackets, and remove unmatched closers.
fn close_unclosed(code: &mut String, fixes: &mut Vec<String>) {
    // Strings first: an unclosed quote hides the brackets after it.
    for _ in 0..MAX_ROUNDS {
        let lex = lexical::scan(code);
        let Some(d) = lex
            .problems
            .iter()
            .find(|d| d.code == codes::UNCLOSED_STRING)
        else {
            break;
        };
        let (line, _) = super::diagnostic::line_col(code, d.range.start);
        fixes.push(format!("line {line}: {}", d.fixes[0].title));
        *code = apply_edits(code, &d.fixes[0].edits);
    }
    let lex = lexical::scan(code);
    let mut edits = Vec::new();
    for d in &lex.problems {
        if d.code == codes::UNMATCHED_BRACKET && !d.fixes.is_empty() {
            let (line, _) = super::diagnostic::line_col(code, d.range.start);
            fixes.push(format!("line {line}: {}", d.fixes[0].title));
            edits.extend(d.fixes[0].edits.clone());
        }
    }
    // Closers that land at the same place go innermost first: `lex.closers` lists the
    // innermost opener first.
    let mut by_place: Vec<(usize, String)> = Vec::new();
    for &(opener, at, closer) in &lex.closers {
        let (line, col) = super::diagnostic::line_col(code, opener);
        fixes.push(format!(
            "line {line}: closed `{}` opened at {line}:{col}",
            &code[opener..opener + 1]
        ));
        match by_place.iter_mut().find(|(p, _)| *p == at) {
            Some((_, s)) => s.push(closer),
            None => by_place.push((at, closer.to_string())),
        }
    }
    edits.extend(by_place.into_iter().map(|(at, s)| TextEdit {
        range: TextRange::empty(at),
        new_text: s,
    }));
    *code = apply_edits(code, &edits);
}

/// Delete the whole lines of the top-level statement that holds `d`.
fn drop_statement(
    doc: &ParsedDocument,
    d: &Diagnostic,
    code: &mut String,
    fixes: &mut Vec<String>,
    why: &str,
) -> bool {
    let root = doc.tree().root_node();
    let at = d.range.start.min(code.len().saturating_sub(1));
    let mut cursor = root.walk();
    let stmt = root
        .children(&mut cursor)
        .find(|s| s.start_byte() <= at && at < s.end_byte().max(s.start_byte() + 1));
    let (start, end) = match stmt {
        Some(s) => (s.start_byte(), s.end_byte()),
        None => (at, at + 1),
    };
    let line_start = code[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = code[end.min(code.len())..]
        .find('\n')
        .map_or(code.len(), |i| end + i + 1);
    if line_start >= line_end {
        return false;
    }
    let (line, _) = super::diagnostic::line_col(code, line_start);
    let first = code[line_start..line_end]
        .lines()
        .next()
        .unwrap_or("")
        .trim();
    fixes.push(format!(
        "line {line}: dropped `{first}`: it {why} ({})",
        d.message
    ));
    code.replace_range(line_start..line_end, "");
    true
}

/// No `solid`/`result`/... at module level: assign the last built Workplane to `solid`.
fn assign_result(code: &mut String, fixes: &mut Vec<String>) {
    let doc = ParsedDocument::new(code.clone());
    let analysis = analyze(code, doc.tree());
    let module_level = || analysis.bindings.iter().filter(|b| b.scope.is_none());
    if module_level().any(|b| RESULT_NAMES.contains(&b.name.as_str())) {
        return;
    }
    let built = module_level()
        .filter(|b| matches!(&b.ty, Ty::Instance(c) if matches!(c.as_str(), "Workplane" | "Solid" | "Compound" | "Shape")))
        .max_by_key(|b| b.visible_from);
    if let Some(b) = built {
        if !code.is_empty() && !code.ends_with('\n') {
            code.push('\n');
        }
        code.push_str(&format!("solid = {}\n", b.name));
        fixes.push(format!(
            "assigned the last built solid `{}` to `solid`",
            b.name
        ));
    }
}
