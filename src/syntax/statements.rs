//! The analysis of a file statement by statement, reusing what an earlier analysis found for
//! the top-level statements an edit did not touch. A statement's facts (bindings, name uses,
//! API findings) depend only on its own text, on the types of the module-level names it
//! mentions when it starts, and on the plugin attributes of the whole file; when all three
//! are unchanged its earlier facts are reused, moved to where the statement now starts.
//! Everything after an edited binding that mentions the rebound name is walked again.

use foldhash::HashMap;
use std::sync::Arc;

use tree_sitter::{Node, Tree};

use super::analysis::{analyze_statement, plugin_attributes, Analysis, Plugins};
use super::diagnostic::TextRange;
use super::types::{Env, Ty};

/// What one top-level statement contributed, with offsets of the text it was walked in.
#[derive(Debug)]
struct StatementFacts {
    text: Box<str>,
    /// The statement's node kind: the same text must parse to the same statement.
    kind: u16,
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

/// The analysis of one text, kept to speed up the analysis of the next version.
#[derive(Debug, Default)]
pub struct FileAnalysis {
    /// Top-level statements in order, with where each starts in this text.
    statements: Vec<(usize, Arc<StatementFacts>)>,
    plugins: Plugins,
    analysis: Analysis,
    reused: usize,
}

impl FileAnalysis {
    /// Analyses `text` (parsed as `tree`), reusing the unchanged statements of `earlier`.
    pub fn new(text: &str, tree: &Tree, earlier: Option<&FileAnalysis>) -> FileAnalysis {
        let root = tree.root_node();
        let mut cursor = root.walk();
        let nodes: Vec<Node> = if root.kind() == "module" {
            root.children(&mut cursor).collect()
        } else {
            vec![root] // an ERROR root: one unit, as the whole walk sees it
        };
        let before: &[(usize, Arc<StatementFacts>)] =
            earlier.map_or(&[], |e| e.statements.as_slice());
        let source = |n: &Node| &text[n.start_byte()..n.end_byte()];
        // error recovery may parse the same text differently: such statements never match
        let same = |s: &StatementFacts, n: &Node| {
            !n.has_error() && s.kind == n.kind_id() && *s.text == *source(n)
        };
        // an edit leaves the statements before and after it as they were, in order: match
        // those pairwise (a memcmp each) and look up by text only what lies between
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
        let earlier_refs: Vec<&Arc<StatementFacts>> = before.iter().map(|(_, s)| s).collect();
        // the statements between, by text: an edit may move statements, it does not change them
        let mut by_text: HashMap<&str, Vec<&Arc<StatementFacts>>> = HashMap::default();
        for s in &earlier_refs[prefix..before.len() - suffix] {
            let same = by_text.entry(&s.text).or_default();
            // a file of many equal statements must not make the search quadratic
            if s.kind != ERROR_FREE_NEVER && same.len() < SAME_TEXT_CANDIDATES {
                same.push(s);
            }
        }
        let shift = before.len() as isize - nodes.len() as isize;
        let candidates: Vec<&[&Arc<StatementFacts>]> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if i < prefix {
                    return std::slice::from_ref(&earlier_refs[i]);
                }
                if i >= nodes.len() - suffix {
                    return std::slice::from_ref(&earlier_refs[(i as isize + shift) as usize]);
                }
                if n.has_error() {
                    return &[][..];
                }
                let same = by_text.get(source(n)).map_or(&[][..], Vec::as_slice);
                match same.iter().all(|s| s.kind == n.kind_id()) {
                    true => same,
                    false => &[][..],
                }
            })
            .collect();
        let mut plugins = Plugins::new();
        for (n, found) in nodes.iter().zip(&candidates) {
            let own = match found.first() {
                Some(s) => s.plugins.clone(),
                None => plugin_attributes(text, *n),
            };
            for (class, names) in own {
                plugins.entry(class).or_default().extend(names);
            }
        }
        // plugins change what every attribute check says: walk everything again
        let reusable = earlier.is_some_and(|e| e.plugins == plugins);

        let mut env = Env::default();
        let mut statements = Vec::with_capacity(nodes.len());
        let mut reused = 0;
        for (n, found) in nodes.iter().zip(&candidates) {
            let same_names = |s: &&&Arc<StatementFacts>| {
                s.mentions
                    .iter()
                    .all(|(name, ty)| env.get(name.as_str()) == ty.as_ref())
            };
            let facts = match found.iter().find(same_names).filter(|_| reusable) {
                Some(&s) => {
                    reused += 1;
                    for (name, ty) in &s.effect {
                        match ty {
                            Some(ty) => env.insert(name.clone(), ty.clone()),
                            None => env.remove(name),
                        };
                    }
                    Arc::clone(s)
                }
                None => Arc::new(walk(text, *n, &mut env, &plugins)),
            };
            statements.push((n.start_byte(), facts));
        }
        let mut analysis = Analysis::default();
        // exact sizes first: growing vectors of ~10,000 entries by doubling moved them again
        let total = |f: fn(&Analysis) -> usize| statements.iter().map(|(_, s)| f(&s.facts)).sum();
        analysis.bindings.reserve_exact(total(|a| a.bindings.len()));
        analysis.uses.reserve_exact(total(|a| a.uses.len()));
        analysis
            .api_diagnostics
            .reserve_exact(total(|a| a.api_diagnostics.len()));
        for (start, s) in &statements {
            append_moved(&mut analysis, &s.facts, s.origin, *start);
        }
        FileAnalysis {
            statements,
            plugins,
            analysis,
            reused,
        }
    }

    /// The facts of the whole text, as [`super::analysis::analyze`] finds them.
    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// How many top-level statements were reused from the earlier analysis.
    pub fn reused(&self) -> usize {
        self.reused
    }

    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }
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
    let at = |o: usize| (o as isize + delta) as usize;
    let range = |r: TextRange| TextRange::new(at(r.start), at(r.end));
    out.bindings.extend(facts.bindings.iter().map(|b| {
        let mut b = b.clone();
        b.range = range(b.range);
        b.visible_from = at(b.visible_from);
        b.scope = b.scope.map(range);
        b
    }));
    out.uses.extend(facts.uses.iter().map(|u| {
        let mut u = u.clone();
        u.range = range(u.range);
        u
    }));
    out.api_diagnostics
        .extend(facts.api_diagnostics.iter().map(|d| {
            let mut d = d.clone();
            d.range = range(d.range);
            for fix in &mut d.fixes {
                for edit in &mut fix.edits {
                    edit.range = range(edit.range);
                }
            }
            d
        }));
    out.wildcard_import |= facts.wildcard_import;
}
