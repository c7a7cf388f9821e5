//! CadQuery API misuse on typed receivers: unknown methods and attributes (with a
//! did-you-mean fix), calls that no signature accepts (too many/missing arguments,
//! unknown or repeated keywords), and malformed selector strings.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::api::{api, ApiMember, Signature};
use super::diagnostic::{codes, Diagnostic, Fix, TextEdit, TextRange};
use super::selector::parse_selector;
use super::suggest::closest;
use super::types::{infer, member_of, Env, Ty};

/// Methods whose first argument is a selector string.
const SELECTOR_METHODS: &[(&str, &str)] = &[
    ("Workplane", "faces"),
    ("Workplane", "edges"),
    ("Workplane", "vertices"),
    ("Workplane", "wires"),
    ("Workplane", "solids"),
    ("Workplane", "shells"),
    ("Workplane", "compounds"),
    ("Sketch", "faces"),
    ("Sketch", "edges"),
    ("Sketch", "vertices"),
    ("Sketch", "wires"),
];

fn src<'t>(text: &'t str, n: Node) -> &'t str {
    &text[n.start_byte()..n.end_byte()]
}

fn rename_fix(range: TextRange, to: &str) -> Fix {
    Fix {
        title: format!("Change to `{to}`"),
        edits: vec![TextEdit {
            range,
            new_text: to.to_string(),
        }],
    }
}

/// `obj.name` read from a typed object whose class has no such member.
pub fn check_attribute(
    text: &str,
    node: Node,
    env: &Env,
    plugins: &HashMap<String, HashSet<String>>,
    out: &mut Vec<Diagnostic>,
) {
    let (Some(object), Some(attr)) = (
        node.child_by_field_name("object"),
        node.child_by_field_name("attribute"),
    ) else {
        return;
    };
    let name = src(text, attr);
    if name.starts_with('_') {
        return;
    }
    let t = api();
    let (owner, known): (String, Vec<&str>) = match infer(text, object, env) {
        Ty::Instance(c) => {
            let Some(class) = t.class(&c) else { return };
            if class.dynamic_attributes || class.methods.contains_key(name) {
                return;
            }
            if plugins.get(&c).is_some_and(|p| p.contains(name)) {
                return;
            }
            (
                format!("`{c}`"),
                class.methods.keys().map(String::as_str).collect(),
            )
        }
        Ty::CqModule => {
            if t.module_names.iter().any(|n| n == name) {
                return;
            }
            (
                "module `cadquery`".to_string(),
                t.module_names.iter().map(String::as_str).collect(),
            )
        }
        _ => return,
    };
    let range = TextRange::of(attr);
    let mut d = Diagnostic::error(
        range,
        codes::UNKNOWN_METHOD,
        format!("{owner} has no attribute `{name}`"),
    );
    if let Some(best) = closest(name, known) {
        d.message.push_str(&format!("; did you mean `{best}`?"));
        d = d.with_fix(rename_fix(range, best));
    }
    out.push(d);
}

struct Args<'t> {
    positional: Vec<Node<'t>>,
    keywords: Vec<(Node<'t>, &'t str)>,
    /// `*xs` or `**kw`: the count is unknown, skip arity checks.
    splat: bool,
}

fn arguments<'t>(text: &'t str, list: Node<'t>) -> Args<'t> {
    let mut args = Args {
        positional: Vec::new(),
        keywords: Vec::new(),
        splat: false,
    };
    let mut cursor = list.walk();
    for a in list.named_children(&mut cursor) {
        match a.kind() {
            "keyword_argument" => {
                if let Some(n) = a.child_by_field_name("name") {
                    args.keywords.push((n, src(text, n)));
                }
            }
            "list_splat" | "dictionary_splat" => args.splat = true,
            "comment" => {}
            _ => args.positional.push(a),
        }
    }
    args
}

/// Why one signature does not accept the arguments.
fn bind_errors(name: &str, sig: &Signature, args: &Args, list: Node) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    let by_position: Vec<_> = sig.params.iter().filter(|p| p.by_position()).collect();
    let varargs = sig
        .params
        .iter()
        .any(|p| p.kind == super::api::ParamKind::VarPositional);
    let varkw = sig
        .params
        .iter()
        .any(|p| p.kind == super::api::ParamKind::VarKeyword);
    if args.positional.len() > by_position.len() && !varargs {
        let extra = args.positional[by_position.len()];
        let last = args.positional.last().unwrap_or(&extra);
        errs.push(Diagnostic::error(
            TextRange::new(extra.start_byte(), last.end_byte()),
            codes::ARITY,
            format!(
                "`{name}` takes at most {} positional argument{} but {} were given",
                by_position.len(),
                if by_position.len() == 1 { "" } else { "s" },
                args.positional.len()
            ),
        ));
    }
    let mut filled: HashSet<&str> = by_position
        .iter()
        .take(args.positional.len())
        .map(|p| p.name.as_str())
        .collect();
    let mut seen_kw: HashSet<&str> = HashSet::new();
    for &(node, kw) in &args.keywords {
        let range = TextRange::of(node);
        if !seen_kw.insert(kw) {
            errs.push(Diagnostic::error(
                range,
                codes::KEYWORD,
                format!("keyword argument `{kw}` is repeated"),
            ));
            continue;
        }
        match sig.params.iter().find(|p| p.name == kw && p.by_keyword()) {
            Some(p) if filled.contains(p.name.as_str()) => errs.push(Diagnostic::error(
                range,
                codes::KEYWORD,
                format!("`{name}` got two values for `{kw}`: one by position, one by keyword"),
            )),
            Some(p) => {
                filled.insert(&p.name);
            }
            None if varkw => {}
            None => {
                let open: Vec<&str> = sig
                    .params
                    .iter()
                    .filter(|p| p.by_keyword() && !filled.contains(p.name.as_str()))
                    .map(|p| p.name.as_str())
                    .collect();
                let mut d = Diagnostic::error(
                    range,
                    codes::KEYWORD,
                    format!("`{name}` has no parameter `{kw}`"),
                );
                if let Some(best) = closest(kw, open.iter().copied()) {
                    d.message.push_str(&format!("; did you mean `{best}`?"));
                    d = d.with_fix(rename_fix(range, best));
                } else if !open.is_empty() {
                    d.message.push_str(&format!(
                        " (it takes {})",
                        open.iter()
                            .map(|o| format!("`{o}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                errs.push(d);
            }
        }
    }
    let missing: Vec<&str> = sig
        .params
        .iter()
        .filter(|p| p.required() && !filled.contains(p.name.as_str()))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        errs.push(Diagnostic::error(
            TextRange::of(list),
            codes::ARITY,
            format!(
                "`{name}` is missing required argument{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    errs
}

/// Arity, keywords and selector strings of one call with a known callee.
pub fn check_call(text: &str, node: Node, env: &Env, out: &mut Vec<Diagnostic>) {
    let (Some(function), Some(list)) = (
        node.child_by_field_name("function"),
        node.child_by_field_name("arguments"),
    ) else {
        return;
    };
    if list.kind() != "argument_list" || list.has_error() {
        return;
    }
    let callee = infer(text, function, env);
    let (name, sigs): (String, &[Signature]) = match &callee {
        Ty::Class(c) => match api().class(c) {
            Some(class) => (c.clone(), &class.constructor),
            None => return,
        },
        _ => match member_of(&callee) {
            Some(ApiMember { signatures, .. }) => {
                let n = match &callee {
                    Ty::Member { name, .. } | Ty::Function { name, .. } => name.clone(),
                    _ => return,
                };
                (n, signatures.as_slice())
            }
            None => return,
        },
    };
    let args = arguments(text, list);
    if sigs.is_empty() {
        return;
    }
    if !args.splat {
        let mut best: Option<Vec<Diagnostic>> = None;
        for sig in sigs {
            let errs = bind_errors(&name, sig, &args, list);
            if errs.is_empty() {
                best = None;
                break;
            }
            if best.as_ref().is_none_or(|b| errs.len() < b.len()) {
                best = Some(errs);
            }
        }
        if let Some(mut errs) = best {
            if sigs.len() > 1 {
                for e in &mut errs {
                    e.message.push_str(&format!(
                        " (no overload of `{name}` accepts these arguments)"
                    ));
                }
            }
            out.extend(errs);
        }
    }
    check_selector_argument(text, &callee, &sigs[0], &args, out);
}

fn check_selector_argument(
    text: &str,
    callee: &Ty,
    sig: &Signature,
    args: &Args,
    out: &mut Vec<Diagnostic>,
) {
    let takes_selector = match callee {
        Ty::Member { class, name } => SELECTOR_METHODS.contains(&(class.as_str(), name.as_str())),
        Ty::Class(c) => c == "StringSyntaxSelector",
        _ => false,
    };
    if !takes_selector {
        return;
    }
    let Some(first) = sig.params.first() else {
        return;
    };
    let arg = args.positional.first().copied().or_else(|| {
        args.keywords
            .iter()
            .find(|(_, kw)| *kw == first.name)
            .and_then(|(n, _)| n.parent())
            .and_then(|kw| kw.child_by_field_name("value"))
    });
    let Some(arg) = arg.filter(|a| a.kind() == "string") else {
        return;
    };
    // Only plain literals: f-strings and escapes make the text differ from the value.
    let mut cursor = arg.walk();
    let parts: Vec<Node> = arg.named_children(&mut cursor).collect();
    let start = parts.iter().find(|p| p.kind() == "string_start");
    let prefix = start.map_or("", |s| src(text, *s));
    if parts
        .iter()
        .any(|p| matches!(p.kind(), "interpolation" | "escape_sequence"))
        || prefix.to_ascii_lowercase().contains(['f', 'b'])
    {
        return;
    }
    let (content_start, content) = match parts.iter().find(|p| p.kind() == "string_content") {
        Some(c) => (c.start_byte(), src(text, *c)),
        None => return, // "" selects everything
    };
    if let Err(e) = parse_selector(content) {
        let at = content_start + e.offset;
        let end = if e.offset >= content.len() {
            at
        } else {
            at + content[e.offset..].chars().next().map_or(1, char::len_utf8)
        };
        let range = if end > at {
            TextRange::new(at, end)
        } else {
            TextRange::new(at.saturating_sub(1).max(content_start), at)
        };
        out.push(Diagnostic::error(
            range,
            codes::SELECTOR,
            format!("invalid selector `{content}`: {}", e.message),
        ));
    }
}
