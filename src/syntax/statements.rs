//! The analysis of a file statement by statement, reusing what an earlier analysis found for
//! the top-level statements an edit did not touch. A statement's facts (bindings, name uses,
//! API findings) depend only on its own text, on the types of the module-level names it
//! mentions when it starts, and on the plugin attributes of the whole file; when all three
//! are unchanged its earlier facts are reused, moved to where the statement now starts.
//! Everything after an edited binding that mentions the rebound name is walked again.

use foldhash::HashMap;
use std::sync::{Arc, OnceLock};

use tree_sitter::Node;

use super::analysis::{analyze_statement, plugin_attributes, Analysis, Plugins};
use super::diagnostic::moved;
use super::document::{ChangedWindow, ParsedDocument};
use super::types::{Env, Ty};

/// What one top-level statement contributed, with offsets of the text it was walked in.
#[derive(Debug)]
struct StatementFacts {
    text: Box<str>,
    /// The statement's node kind: the same text must parse to the same statement
    /// ([`ERROR_FREE_NEVER`] for a statement with syntax errors, never reused).
    kind: u16,
    /// The node kind, errors or not: what the syntax checks look at.
    node_kind: u16,
    /// Where the statement started in the text it was walked in.
    origin: usize,
    /// Every name the statement mentions, with its module-level type before the statement
    /// (`None`: unbound). A superset of what the walk read from the environment.
    mentions: Vec<(String, Option<Ty>)>,
    /// The module-level names it bound or unbound, with their types after it.
    effect: Vec<(String, Option<Ty>)>,
    plugins: Plugins,
    facts: Analysis,
}

/// A top-level statement of the analysed text: where it is and its node kind.
#[derive(Clone, Copy, Debug)]
pub struct TopStatement {
    pub start: usize,
    pub end: usize,
    pub kind: u16,
}

/// The analysis of one text, kept to speed up the analysis of the next version.
#[derive(Debug, Default)]
pub struct FileAnalysis {
    /// Top-level statements in order, with where each starts in this text.
    statements: Vec<(usize, Arc<StatementFacts>)>,
    plugins: Plugins,
    /// The facts of the whole text in one list, made when first asked for: the diagnostics
    /// read the statements' own lists, so an edit does not copy every name of the file.
    flat: OnceLock<Analysis>,
    reused: usize,
    /// Whether the edit log placed the changes (else every statement was matched by text).
    placed_by_edit_log: bool,
    /// The document version analysed (see [`ParsedDocument::version_id`]).
    version: (u64, u64),
}

/// One top-level statement of the new text on its way to its facts.
enum Slot<'t, 'e> {
    /// An earlier statement whose text and parse are unchanged, now at `start`, the
    /// `index`-th child of the module. `settled`: every statement before it is unchanged
    /// too, so the names it reads have the same types and its facts hold as they are.
    Kept {
        facts: &'e Arc<StatementFacts>,
        start: usize,
        index: usize,
        node: Option<Node<'t>>,
        settled: bool,
    },
    /// A statement to find among the earlier ones by its text, or to walk.
    New(Node<'t>),
}

impl FileAnalysis {
    /// Analyses the text of `doc`, reusing the unchanged statements of `earlier`. When
    /// `earlier` is an analysis of an earlier version of the same document, the document's
    /// edit log says where the text changed and only the statements there are looked at;
    /// otherwise every statement is matched by its text.
    pub fn new(doc: &ParsedDocument, earlier: Option<&FileAnalysis>) -> FileAnalysis {
        let text = doc.text();
        let root = doc.tree().root_node();
        let before: &[(usize, Arc<StatementFacts>)] =
            earlier.map_or(&[], |e| e.statements.as_slice());
        let window = earlier.and_then(|e| doc.changed_since(e.version));
        let around = window.and_then(|w| slots_around(root, text, before, w));
        let placed_by_edit_log = around.is_some();
        let (slots, dropped) = around.unwrap_or_else(|| slots_by_text(root, text, before));
        let source = |n: &Node| &text[n.start_byte()..n.end_byte()];
        // the earlier statements that were not kept, by text: an edit may move statements
        let mut by_text: HashMap<&str, Vec<&Arc<StatementFacts>>> = HashMap::default();
        for s in dropped {
            let same = by_text.entry(&s.text).or_default();
            // a file of many equal statements must not make the search quadratic
            if s.kind != ERROR_FREE_NEVER && same.len() < SAME_TEXT_CANDIDATES {
                same.push(s);
            }
        }
        let candidates = |n: &Node| -> &[&Arc<StatementFacts>] {
            if n.has_error() {
                return &[];
            }
            let same = by_text.get(source(n)).map_or(&[][..], Vec::as_slice);
            match same.iter().all(|s| s.kind == n.kind_id()) {
                true => same,
                false => &[],
            }
        };
        let mut plugins = Plugins::new();
        let mut add_plugins = |own: &Plugins| {
            for (class, names) in own {
                plugins
                    .entry(class.clone())
                    .or_default()
                    .extend(names.iter().cloned());
            }
        };
        for slot in &slots {
            match slot {
                Slot::Kept { facts, .. } => add_plugins(&facts.plugins),
                Slot::New(n) => match candidates(n).first() {
                    Some(s) => add_plugins(&s.plugins),
                    None => add_plugins(&plugin_attributes(text, *n)),
                },
            }
        }
        // plugins change what every attribute check says: walk everything again
        let reusable = earlier.is_some_and(|e| e.plugins == plugins);
        if !reusable && earlier.is_some() {
            return FileAnalysis::new(doc, None);
        }

        let mut env = Env::default();
        let mut statements = Vec::with_capacity(slots.len());
        let mut reused = 0;
        let node_at = |index: usize| {
            let node = root.child(index as u32);
            node.expect("a kept statement's index is a child of the module")
        };
        let same_names = |s: &StatementFacts, env: &Env| {
            s.mentions
                .iter()
                .all(|(name, ty)| env.get(name.as_str()) == ty.as_ref())
        };
        for slot in slots {
            // the earlier facts that still hold, or the node to walk
            let (start, found) = match slot {
                Slot::Kept {
                    facts,
                    start,
                    index,
                    node,
                    settled,
                } => {
                    let holds =
                        facts.kind != ERROR_FREE_NEVER && (settled || same_names(facts, &env));
                    match holds {
                        true => (start, Ok(facts)),
                        false => (start, Err(node.unwrap_or_else(|| node_at(index)))),
                    }
                }
                Slot::New(n) => {
                    let found = candidates(&n).iter().find(|s| same_names(s, &env));
                    (n.start_byte(), found.copied().ok_or(n))
                }
            };
            let facts = match found {
                Ok(s) => {
                    reused += 1;
                    for (name, ty) in &s.effect {
                        match ty {
                            Some(ty) => env.insert(name.clone(), ty.clone()),
                            None => env.remove(name),
                        };
                    }
                    Arc::clone(s)
                }
                Err(n) => Arc::new(walk(text, n, &mut env, &plugins)),
            };
            statements.push((start, facts));
        }
        FileAnalysis {
            statements,
            plugins,
            flat: OnceLock::new(),
            reused,
            placed_by_edit_log,
            version: doc.version_id(),
        }
    }

    /// The facts of the whole text, as [`super::analysis::analyze`] finds them.
    pub fn analysis(&self) -> &Analysis {
        self.flat.get_or_init(|| {
            let mut analysis = Analysis::default();
            // exact sizes first: growing vectors of ~10,000 entries by doubling moved them
            let total =
                |f: fn(&Analysis) -> usize| self.statements.iter().map(|(_, s)| f(&s.facts)).sum();
            analysis.bindings.reserve_exact(total(|a| a.bindings.len()));
            analysis.uses.reserve_exact(total(|a| a.uses.len()));
            analysis
                .api_diagnostics
                .reserve_exact(total(|a| a.api_diagnostics.len()));
            for (start, s) in &self.statements {
                append_moved(&mut analysis, &s.facts, s.origin, *start);
            }
            analysis
        })
    }

    /// Each statement's own facts with how far they moved since they were found (add it to
    /// their offsets), in order.
    pub(super) fn statement_facts(&self) -> impl Iterator<Item = (isize, &Analysis)> {
        self.statements
            .iter()
            .map(|(start, s)| (*start as isize - s.origin as isize, &s.facts))
    }

    /// The top-level statements, in order.
    pub(super) fn top_level(&self) -> Vec<TopStatement> {
        self.statements
            .iter()
            .map(|(start, s)| TopStatement {
                start: *start,
                end: start + s.text.len(),
                kind: s.node_kind,
            })
            .collect()
    }

    /// How many top-level statements were reused from the earlier analysis.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// Whether the document's edit log placed the changes, so that only the statements
    /// around them were visited in the tree.
    pub fn placed_by_edit_log(&self) -> bool {
        self.placed_by_edit_log
    }

    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }
}

/// Every top-level statement of the new text against the earlier ones: an edit leaves the
/// statements before and after it as they were, in order, so those are matched pairwise
/// from both ends (a memcmp each); the rest is returned to be looked up by text.
fn slots_by_text<'t, 'e>(
    root: Node<'t>,
    text: &str,
    before: &'e [(usize, Arc<StatementFacts>)],
) -> (Vec<Slot<'t, 'e>>, Vec<&'e Arc<StatementFacts>>) {
    let mut cursor = root.walk();
    let nodes: Vec<Node> = if root.kind() == "module" {
        root.children(&mut cursor).collect()
    } else {
        vec![root] // an ERROR root: one unit, as the whole walk sees it
    };
    // error recovery may parse the same text differently: such statements never match
    let same = |s: &StatementFacts, n: &Node| {
        !n.has_error() && s.kind == n.kind_id() && *s.text == text[n.start_byte()..n.end_byte()]
    };
    let prefix = before
        .iter()
        .zip(&nodes)
        .take_while(|((_, s), n)| same(s, n))
        .count();
    let suffix = before[prefix..]
        .iter()
        .rev()
        .zip(nodes[prefix..].iter().rev())
        .take_while(|((_, s), n)| same(s, n))
        .count();
    let dropped = before[prefix..before.len() - suffix]
        .iter()
        .map(|(_, s)| s)
        .collect();
    let shift = before.len() as isize - nodes.len() as isize;
    let suffix_from = nodes.len() - suffix;
    let slots = nodes
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let kept = |j: usize, settled: bool| Slot::Kept {
                facts: &before[j].1,
                start: n.start_byte(),
                index: i,
                node: Some(n),
                settled,
            };
            if i < prefix {
                kept(i, true)
            } else if i >= suffix_from {
                kept((i as isize + shift) as usize, false)
            } else {
                Slot::New(n)
            }
        })
        .collect();
    (slots, dropped)
}

/// The top-level statements of the new text when `window` holds every change since the
/// earlier analysis: the statements around the window are found in the tree, those before
/// and after it are the earlier ones (moved by the edit's length), without visiting the
/// module's other children. `None` when what the tree says does not fit the earlier list.
fn slots_around<'t, 'e>(
    root: Node<'t>,
    text: &str,
    before: &'e [(usize, Arc<StatementFacts>)],
    window: ChangedWindow,
) -> Option<(Vec<Slot<'t, 'e>>, Vec<&'e Arc<StatementFacts>>)> {
    if root.kind() != "module" || before.is_empty() {
        return None;
    }
    let count = root.child_count() as usize;
    // from the statement that ends at the window's start (an insertion may extend it) to the
    // last one starting inside the window
    let mut cursor = root.walk();
    let mut around = Vec::new();
    let first = match cursor.goto_first_child_for_byte(window.start.saturating_sub(1)) {
        Some(first) => {
            loop {
                let node = cursor.node();
                if node.start_byte() > window.new_end {
                    break;
                }
                around.push(node);
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            first
        }
        None => count,
    };
    let new_start = around
        .first()
        .map_or(window.start, |n| n.start_byte().min(window.start));
    let new_end = around
        .last()
        .map_or(window.new_end, |n| n.end_byte().max(window.new_end));
    let delta = window.new_end as isize - window.old_end as isize;
    let old_end = moved(new_end, -delta);
    let prefix = before.partition_point(|(s, f)| s + f.text.len() <= new_start);
    let suffix = before.partition_point(|(s, _)| *s < old_end);
    if prefix != first || prefix > suffix || first + around.len() + (before.len() - suffix) != count
    {
        return None;
    }
    // the text outside the window is the earlier text: the kept statements next to the
    // window must be where the window says (a check of the window's arithmetic)
    let in_place =
        |start: usize, f: &StatementFacts| text.get(start..start + f.text.len()) == Some(&*f.text);
    let intact = before[..prefix].last().is_none_or(|(s, f)| in_place(*s, f))
        && before[suffix..]
            .first()
            .is_none_or(|(s, f)| in_place(moved(*s, delta), f));
    if !intact {
        return None;
    }
    let mut slots = Vec::with_capacity(count);
    for (i, (start, facts)) in before[..prefix].iter().enumerate() {
        slots.push(Slot::Kept {
            facts,
            start: *start,
            index: i,
            node: None,
            settled: true,
        });
    }
    let after = first + around.len();
    slots.extend(around.into_iter().map(Slot::New));
    for (i, (start, facts)) in before[suffix..].iter().enumerate() {
        slots.push(Slot::Kept {
            facts,
            start: moved(*start, delta),
            index: after + i,
            node: None,
            settled: false,
        });
    }
    let dropped = before[prefix..suffix].iter().map(|(_, s)| s).collect();
    Some((slots, dropped))
}

/// How many earlier statements with the same text are tried for reuse (equal statements
/// differ only in the types of the names they mention; a few cover the usual cases).
const SAME_TEXT_CANDIDATES: usize = 4;

/// The kind recorded for a statement with syntax errors.
const ERROR_FREE_NEVER: u16 = u16::MAX;

fn walk(text: &str, node: Node, env: &mut Env, plugins: &Plugins) -> StatementFacts {
    let mut names: Vec<&str> = Vec::new();
    identifiers(text, node, &mut names);
    names.sort_unstable();
    names.dedup();
    let mentions = names
        .into_iter()
        .map(|name| (name.to_string(), env.get(name).cloned()))
        .collect();
    let own_plugins = plugin_attributes(text, node);
    let walked = analyze_statement(text, node, env, plugins);
    StatementFacts {
        text: text[node.start_byte()..node.end_byte()].into(),
        // a statement with errors is never reused: error recovery depends on what surrounds it
        kind: if node.has_error() {
            ERROR_FREE_NEVER
        } else {
            node.kind_id()
        },
        node_kind: node.kind_id(),
        origin: node.start_byte(),
        mentions,
        effect: walked.effect,
        plugins: own_plugins,
        facts: walked.facts,
    }
}

fn identifiers<'t>(text: &'t str, node: Node, out: &mut Vec<&'t str>) {
    // the cursor's root is `node`: it never leaves the statement
    let mut cursor = node.walk();
    'next: loop {
        let n = cursor.node();
        if n.kind() == "identifier" {
            out.push(&text[n.start_byte()..n.end_byte()]);
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'next;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// Appends `facts`, found for a statement that started at `from`, moved to start at `to`.
fn append_moved(out: &mut Analysis, facts: &Analysis, from: usize, to: usize) {
    let delta = to as isize - from as isize;
    out.bindings.extend(facts.bindings.iter().map(|b| {
        let mut b = b.clone();
        b.range = b.range.moved(delta);
        b.visible_from = moved(b.visible_from, delta);
        b.scope = b.scope.map(|s| s.moved(delta));
        b
    }));
    out.uses.extend(facts.uses.iter().map(|u| {
        let mut u = u.clone();
        u.range = u.range.moved(delta);
        u
    }));
    out.api_diagnostics
        .extend(facts.api_diagnostics.iter().map(|d| d.moved(delta)));
    out.wildcard_import |= facts.wildcard_import;
}
