//! Where the cursor stands, for completion: after `.` on a chain (with the receiver's
//! type), inside an argument list (which call, which argument), at a new statement, or
//! elsewhere; and which names are in scope there. Then the API items to offer.

use tree_sitter::Node;

use super::analysis::{analyze, Analysis};
use super::api::{api, MemberKind};
use super::chain::{chain_stage, stage_rank, ChainStage};
use super::diagnostic::TextRange;
use super::document::ParsedDocument;
use super::ranking::member_rank;
use super::statements::FileAnalysis;
use super::types::{infer, member_of, Ty};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CursorPlace {
    /// After `receiver.`: complete the receiver's members.
    Member { receiver: Ty },
    /// Inside a call's argument list: `index` counts the commas before the cursor;
    /// `keyword` is set when the cursor is in the value of `name=`.
    Argument {
        callee: Ty,
        callee_name: Option<String>,
        index: usize,
        keyword: Option<String>,
    },
    /// At the start of a statement.
    NewStatement,
    /// Inside a string or a comment: nothing to complete.
    StringOrComment,
    /// Anywhere else in an expression.
    Expression,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeName {
    pub name: String,
    pub ty: Ty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionContext {
    pub place: CursorPlace,
    /// The part of an identifier already typed before the cursor.
    pub prefix: String,
    /// What a chosen item replaces: the typed prefix (and the rest of the identifier).
    pub replace: TextRange,
    /// Names bound before the cursor in its scope, with types where known.
    pub names: Vec<ScopeName>,
    /// After `.` on a chain whose last call tells what the stack holds.
    pub stage: Option<ChainStage>,
}

pub fn completion_context(text: &str, offset: usize) -> CompletionContext {
    ParsedDocument::new(text).completion_context(offset)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Brackets open at `offset`, and whether `offset` is inside a string or comment.
struct Nesting {
    open: Vec<usize>,
    in_string_or_comment: bool,
    /// Top-level commas since the innermost open bracket.
    commas: usize,
    /// Offset just after the last top-level comma (or the bracket).
    arg_start: usize,
}

/// Scans `text[from..offset]`; `from` must be outside any string, comment or bracket.
fn nesting(text: &str, from: usize, offset: usize) -> Nesting {
    let b = text.as_bytes();
    let mut open: Vec<(usize, usize, usize)> = Vec::new(); // (bracket, commas, arg_start)
    let mut i = from;
    while i < offset {
        match b[i] {
            b'#' => {
                let end = text[i..].find('\n').map_or(text.len(), |e| i + e);
                if end >= offset {
                    return Nesting {
                        open: vec![],
                        in_string_or_comment: true,
                        commas: 0,
                        arg_start: offset,
                    };
                }
                i = end;
                continue;
            }
            q @ (b'\'' | b'"') => {
                let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
                let mut j = i + if triple { 3 } else { 1 };
                let mut closed = false;
                while j < b.len() {
                    match b[j] {
                        b'\\' => j += 1,
                        c if c == q
                            && (!triple
                                || (b.get(j + 1) == Some(&q) && b.get(j + 2) == Some(&q))) =>
                        {
                            j += if triple { 3 } else { 1 };
                            closed = true;
                            break;
                        }
                        b'\n' if !triple => break,
                        _ => {}
                    }
                    j += 1;
                }
                if (closed && j > offset) || (!closed && j >= offset) {
                    return Nesting {
                        open: vec![],
                        in_string_or_comment: true,
                        commas: 0,
                        arg_start: offset,
                    };
                }
                i = j;
                continue;
            }
            b'(' | b'[' | b'{' => open.push((i, 0, i + 1)),
            b')' | b']' | b'}' => {
                open.pop();
            }
            b',' => {
                if let Some(top) = open.last_mut() {
                    top.1 += 1;
                    top.2 = i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let (commas, arg_start) = open.last().map_or((0, offset), |t| (t.1, t.2));
    Nesting {
        open: open.iter().map(|t| t.0).collect(),
        in_string_or_comment: false,
        commas,
        arg_start,
    }
}

/// The expression node that ends exactly at `end` (the receiver of `.` or the callee of `(`).
fn expression_ending_at(doc: &ParsedDocument, end: usize) -> Option<Node<'_>> {
    let root = doc.tree().root_node();
    // Start at the receiver's last token and take the largest expression ending there.
    let mut node = root.descendant_for_byte_range(end.checked_sub(1)?, end)?;
    while let Some(p) = node.parent() {
        let expression = matches!(
            p.kind(),
            "call" | "attribute" | "parenthesized_expression" | "subscript" | "argument_list"
        );
        if p.end_byte() != end || !expression {
            break;
        }
        node = p;
    }
    if node.kind() == "argument_list" {
        node = node.parent().filter(|p| p.kind() == "call")?;
    }
    Some(node)
}

fn skip_space_back(text: &str, mut at: usize) -> usize {
    let b = text.as_bytes();
    while at > 0 && matches!(b[at - 1], b' ' | b'\t' | b'\r' | b'\n' | b'\\') {
        at -= 1;
    }
    at
}

impl ParsedDocument {
    /// The completion context at `offset`, analysing the whole text first: for one-off use.
    /// A server keeps the analysis of each version and calls [`Self::completion_context_in`].
    pub fn completion_context(&self, offset: usize) -> CompletionContext {
        self.context_with(&analyze(self.text(), self.tree()), offset)
    }

    /// The completion context at `offset`, with the names in scope taken from `analysis` (the
    /// analysis of this very text); the rest is read around the cursor.
    pub fn completion_context_in(
        &self,
        analysis: &FileAnalysis,
        offset: usize,
    ) -> CompletionContext {
        self.context_with(analysis.analysis(), offset)
    }

    /// Where the local scan for brackets and strings can start: the top-level statement
    /// around `offset` (or the end of the one before it); the file's start when the tree has
    /// errors, since error recovery may split an unclosed bracket's statement.
    fn scan_start(&self, offset: usize) -> usize {
        let root = self.tree().root_node();
        if root.has_error() {
            return 0;
        }
        let mut cursor = root.walk();
        // the first statement ending at or after the cursor (a comment ends right before it)
        if cursor
            .goto_first_child_for_byte(offset.saturating_sub(1))
            .is_none()
        {
            // after the last statement
            let last = root.child_count().saturating_sub(1);
            return root.child(last).map_or(0, |c| c.end_byte().min(offset));
        }
        let node = cursor.node();
        if node.start_byte() <= offset {
            node.start_byte()
        } else {
            node.prev_sibling().map_or(0, |p| p.end_byte())
        }
    }

    fn context_with(&self, analysis: &Analysis, offset: usize) -> CompletionContext {
        let text = self.text();
        let offset = offset.min(text.len());
        let offset = (0..=offset)
            .rev()
            .find(|&o| text.is_char_boundary(o))
            .unwrap_or(0);
        let b = text.as_bytes();
        let mut word_start = offset;
        while word_start > 0 && is_ident(b[word_start - 1]) {
            word_start -= 1;
        }
        let mut word_end = offset;
        while word_end < b.len() && is_ident(b[word_end]) {
            word_end += 1;
        }
        let names = scope_names(analysis, offset);
        let nest = nesting(text, self.scan_start(offset), offset);
        let mut stage = None;
        let place = if nest.in_string_or_comment {
            CursorPlace::StringOrComment
        } else {
            self.place(analysis, offset, word_start, &nest, &mut stage)
        };
        CompletionContext {
            place,
            prefix: text[word_start..offset].to_string(),
            replace: TextRange::new(word_start, word_end),
            names,
            stage,
        }
    }

    fn place(
        &self,
        analysis: &Analysis,
        offset: usize,
        word_start: usize,
        nest: &Nesting,
        stage: &mut Option<ChainStage>,
    ) -> CursorPlace {
        let text = self.text();
        let before = skip_space_back(text, word_start);
        if before > 0 && text.as_bytes()[before - 1] == b'.' {
            let receiver_end = skip_space_back(text, before - 1);
            let env = analysis.env_at(offset);
            let receiver_node = expression_ending_at(self, receiver_end);
            *stage = receiver_node.and_then(|n| chain_stage(text, n));
            let receiver = receiver_node.map_or(Ty::Unknown, |n| infer(text, n, &env));
            return CursorPlace::Member { receiver };
        }
        if let Some(&open) = nest.open.last() {
            if text.as_bytes()[open] == b'(' {
                let callee_end = skip_space_back(text, open);
                let callee_node = (callee_end > 0 && {
                    let c = text.as_bytes()[callee_end - 1];
                    is_ident(c) || c == b')' || c == b']'
                })
                .then(|| expression_ending_at(self, callee_end))
                .flatten();
                if let Some(callee_node) = callee_node {
                    let env = analysis.env_at(offset);
                    let callee = infer(text, callee_node, &env);
                    let callee_name = match &callee {
                        Ty::Member { name, .. } | Ty::Function { name, .. } => Some(name.clone()),
                        Ty::Class(c) => Some(c.clone()),
                        _ => None,
                    };
                    let segment = &text[nest.arg_start..word_start];
                    let keyword = segment
                        .split_once('=')
                        .map(|(k, _)| k.trim())
                        .filter(|k| !k.is_empty() && k.bytes().all(is_ident))
                        .map(str::to_string);
                    return CursorPlace::Argument {
                        callee,
                        callee_name,
                        index: nest.commas,
                        keyword,
                    };
                }
            }
            return CursorPlace::Expression;
        }
        let line_start = text[..word_start].rfind('\n').map_or(0, |i| i + 1);
        let continued = text[..line_start]
            .trim_end_matches(['\n', '\r'])
            .ends_with('\\');
        if text[line_start..word_start].trim().is_empty() && !continued {
            CursorPlace::NewStatement
        } else {
            CursorPlace::Expression
        }
    }
}

fn scope_names(analysis: &Analysis, offset: usize) -> Vec<ScopeName> {
    analysis
        .visible_at(offset)
        .into_iter()
        .map(|b| ScopeName {
            name: b.name.clone(),
            ty: b.ty.clone(),
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiItemKind {
    Method,
    Property,
    Class,
    Function,
    Module,
    /// `name=` of the call the cursor is in.
    Keyword,
    Variable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiItem {
    pub label: String,
    pub kind: ApiItemKind,
    /// Signature or type, one line.
    pub detail: Option<String>,
    /// First paragraph of the docstring.
    pub documentation: Option<String>,
    /// Text to insert (`name=` for keywords).
    pub insert_text: String,
    /// Lower sorts first.
    pub rank: u32,
}

fn member_items(class: &str, class_level: bool) -> Vec<ApiItem> {
    let Some(c) = api().class(class) else {
        return Vec::new();
    };
    c.methods
        .iter()
        .filter(|(_, m)| {
            !class_level || matches!(m.kind, MemberKind::Classmethod | MemberKind::Staticmethod)
        })
        .map(|(name, m)| {
            let callable = !matches!(m.kind, MemberKind::Property | MemberKind::Attribute);
            ApiItem {
                label: name.clone(),
                kind: if callable {
                    ApiItemKind::Method
                } else {
                    ApiItemKind::Property
                },
                detail: match m.signatures.first() {
                    Some(s) => Some(s.label(name)),
                    None => m.returns.clone(),
                },
                documentation: (!m.doc.is_empty()).then(|| m.doc.clone()),
                insert_text: name.clone(),
                rank: member_rank(class, name),
            }
        })
        .collect()
}

fn module_items(module: Option<&str>) -> Vec<ApiItem> {
    let t = api();
    let mut out = Vec::new();
    let names: Vec<String> = match module {
        None => t.module_names.clone(),
        Some(m) => t
            .classes
            .iter()
            .filter(|(_, c)| c.module.as_deref() == Some(m))
            .map(|(n, _)| n.clone())
            .chain(t.modules.get(m).into_iter().flat_map(|f| f.keys().cloned()))
            .collect(),
    };
    for name in names {
        let base = module.map_or(Ty::CqModule, |m| Ty::Submodule(m.to_string()));
        let ty = super::types::attribute_type(&base, &name);
        let (kind, detail, doc) = match &ty {
            Ty::Class(c) => {
                let class = t.class(c);
                (
                    ApiItemKind::Class,
                    class
                        .and_then(|k| k.constructor.first())
                        .map(|s| s.label(c)),
                    class.map(|k| k.doc.clone()),
                )
            }
            Ty::Function { .. } => {
                let m = member_of(&ty);
                (
                    ApiItemKind::Function,
                    m.and_then(|m| m.signatures.first()).map(|s| s.label(&name)),
                    m.map(|m| m.doc.clone()),
                )
            }
            _ => (ApiItemKind::Module, None, None),
        };
        out.push(ApiItem {
            rank: member_rank("cadquery", &name),
            label: name.clone(),
            kind,
            detail,
            documentation: doc.filter(|d| !d.is_empty()),
            insert_text: name,
        });
    }
    out
}

fn keyword_items(callee: &Ty, index: usize) -> Vec<ApiItem> {
    let (name, sigs) = match callee {
        Ty::Class(c) => match api().class(c) {
            Some(k) => (c.clone(), &k.constructor),
            None => return Vec::new(),
        },
        _ => match (member_of(callee), callee) {
            (Some(m), Ty::Member { name, .. } | Ty::Function { name, .. }) => {
                (name.clone(), &m.signatures)
            }
            _ => return Vec::new(),
        },
    };
    let mut out: Vec<ApiItem> = Vec::new();
    for sig in sigs {
        for (i, p) in sig.params.iter().enumerate() {
            // Parameters before the cursor's position are already given by position.
            if !p.by_keyword()
                || (p.by_position() && i < index)
                || out.iter().any(|o| o.label == format!("{}=", p.name))
            {
                continue;
            }
            let mut detail = p.name.clone();
            if let Some(a) = &p.annotation {
                detail.push_str(&format!(": {a}"));
            }
            if let Some(d) = &p.default {
                detail.push_str(&format!(" = {d}"));
            }
            out.push(ApiItem {
                label: format!("{}=", p.name),
                kind: ApiItemKind::Keyword,
                detail: Some(detail),
                documentation: Some(sig.label(&name)),
                insert_text: format!("{}=", p.name),
                rank: 10 + i as u32,
            });
        }
    }
    out
}

fn variable_items(ctx: &CompletionContext) -> Vec<ApiItem> {
    ctx.names
        .iter()
        .map(|n| ApiItem {
            label: n.name.clone(),
            kind: ApiItemKind::Variable,
            detail: n.ty.describe(),
            documentation: None,
            insert_text: n.name.clone(),
            // Typed CadQuery values are what a chain usually continues from.
            rank: if matches!(n.ty, Ty::Instance(_) | Ty::CqModule) {
                50
            } else {
                60
            },
        })
        .collect()
}

/// Does `label` match what was typed? Case-insensitive subsequence, so `fil` finds
/// `fillet` and `cbh` finds `cboreHole`; clients refine further.
fn matches_prefix(label: &str, prefix: &str) -> bool {
    let mut chars = label.chars().map(|c| c.to_ascii_lowercase());
    prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .all(|p| chars.any(|c| c == p))
}

/// The API items to offer at a completion context, best first.
pub fn api_completions(ctx: &CompletionContext) -> Vec<ApiItem> {
    let mut items = match &ctx.place {
        CursorPlace::Member { receiver } => match receiver {
            Ty::Instance(c) => member_items(c, false),
            Ty::Class(c) => member_items(c, true),
            Ty::CqModule => module_items(None),
            Ty::Submodule(m) => module_items(Some(m)),
            _ => Vec::new(),
        },
        CursorPlace::Argument {
            callee,
            index,
            keyword,
            ..
        } => {
            let mut v = variable_items(ctx);
            if keyword.is_none() {
                v.extend(keyword_items(callee, *index));
            }
            v
        }
        CursorPlace::NewStatement | CursorPlace::Expression => variable_items(ctx),
        CursorPlace::StringOrComment => Vec::new(),
    };
    items.retain(|i| !i.label.starts_with('_') && matches_prefix(&i.label, &ctx.prefix));
    // What makes sense at this point of a Workplane chain first, in its own order.
    if let (
        Some(stage),
        CursorPlace::Member {
            receiver: Ty::Instance(class),
        },
    ) = (ctx.stage, &ctx.place)
    {
        if class != "Workplane" {
            return sorted(items, &ctx.prefix);
        }
        for item in &mut items {
            if let Some(r) = stage_rank(stage, &item.label) {
                item.rank = r as u32;
            }
        }
    }
    sorted(items, &ctx.prefix)
}

/// What starts with the typed text comes before what merely contains its letters; then by
/// rank and label.
fn sorted(mut items: Vec<ApiItem>, prefix: &str) -> Vec<ApiItem> {
    let prefix = prefix.to_ascii_lowercase();
    let starts = |i: &ApiItem| !i.label.to_ascii_lowercase().starts_with(&prefix);
    items.sort_by(|a, b| (starts(a), a.rank, &a.label).cmp(&(starts(b), b.rank, &b.label)));
    items
}
