//! One walk over the tree in source order: which names are bound where (with their
//! types, for chain typing and completions), which names are read where (for the
//! undefined-name check), and the API checks of every call and attribute on the way,
//! made with the types known at that point.

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Tree};

use super::api::api;
use super::api_check;
use super::diagnostic::{Diagnostic, TextRange};
use super::types::{infer, Env, Ty};

#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub name: String,
    /// The bound name's token.
    pub range: TextRange,
    /// Reads from here on see this binding (the end of its statement).
    pub visible_from: usize,
    /// The function/lambda/class/comprehension the name is local to; `None` at module level.
    pub scope: Option<TextRange>,
    pub ty: Ty,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NameUse {
    pub name: String,
    pub range: TextRange,
    /// Inside a function or lambda body: runs later, so later module-level bindings count.
    pub deferred: bool,
}

#[derive(Debug, Default, PartialEq)]
pub struct Analysis {
    pub bindings: Vec<Binding>,
    pub uses: Vec<NameUse>,
    pub api_diagnostics: Vec<Diagnostic>,
    /// `from somewhere import *` (not cadquery): names can come from anywhere.
    pub wildcard_import: bool,
}

impl Analysis {
    /// The bindings visible at `offset`, the latest per name.
    pub fn visible_at(&self, offset: usize) -> Vec<&Binding> {
        let mut latest: HashMap<&str, &Binding> = HashMap::new();
        for b in &self.bindings {
            let in_scope = b.scope.is_none_or(|s| s.start <= offset && offset <= s.end);
            if in_scope && b.visible_from <= offset {
                latest.insert(&b.name, b);
            }
        }
        let mut out: Vec<&Binding> = latest.into_values().collect();
        out.sort_by_key(|b| b.range.start);
        out
    }

    pub fn env_at(&self, offset: usize) -> Env {
        self.visible_at(offset)
            .into_iter()
            .map(|b| (b.name.clone(), b.ty.clone()))
            .collect()
    }
}

#[derive(Clone, Copy)]
struct Ctx {
    scope: Option<TextRange>,
    deferred: bool,
}

struct Walker<'t> {
    text: &'t str,
    out: Analysis,
    env: Env,
    /// Previous values of names bound so far, to undo a scope's bindings on leaving it
    /// (cheaper than cloning the environment for every function).
    undo: Vec<(String, Option<Ty>)>,
    /// Attributes a script adds to CadQuery classes (plugins: `cq.Workplane.foo = f`).
    plugins: &'t Plugins,
}

/// Attributes a script adds to CadQuery classes, by class.
pub type Plugins = HashMap<String, HashSet<String>>;

const MODULE_LEVEL: Ctx = Ctx {
    scope: None,
    deferred: false,
};

/// The whole file in one walk (the reference the statement-by-statement analysis of
/// `statements` must equal).
pub fn analyze(text: &str, tree: &Tree) -> Analysis {
    let plugins = plugin_attributes(text, tree.root_node());
    let mut w = Walker {
        text,
        out: Analysis::default(),
        env: Env::default(),
        undo: Vec::new(),
        plugins: &plugins,
    };
    w.visit(tree.root_node(), MODULE_LEVEL);
    w.out
}

/// What one top-level statement adds to the analysis, and how it changes the module's names.
pub struct StatementWalk {
    pub facts: Analysis,
    /// The module-level names the statement bound or unbound, with their types after it.
    pub effect: Vec<(String, Option<Ty>)>,
}

/// Walks one top-level statement of `text`; `env` holds the module's names before it and is
/// left holding them after it. The same walk as [`analyze`] makes for that statement.
pub fn analyze_statement(
    text: &str,
    node: Node,
    env: &mut Env,
    plugins: &Plugins,
) -> StatementWalk {
    let mut w = Walker {
        text,
        out: Analysis::default(),
        env: std::mem::take(env),
        undo: Vec::new(),
        plugins,
    };
    w.visit(node, MODULE_LEVEL);
    let mut seen = HashSet::new();
    let effect = w
        .undo
        .iter()
        .filter(|(name, _)| seen.insert(name.as_str()))
        .map(|(name, _)| (name.clone(), w.env.get(name).cloned()))
        .collect();
    *env = w.env;
    StatementWalk {
        facts: w.out,
        effect,
    }
}

/// `X.name = ...` and `setattr(X, "name", ...)` where X ends in a table class name.
pub fn plugin_attributes(text: &str, root: Node) -> Plugins {
    let mut found: Plugins = HashMap::new();
    let source = &text[root.start_byte()..root.end_byte()];
    if !source.contains("setattr") && !source.contains('.') {
        return found;
    }
    let class_of = |n: Node| {
        let t = &text[n.start_byte()..n.end_byte()];
        let last = t.rsplit('.').next().unwrap_or(t).trim();
        api().classes.contains_key(last).then(|| last.to_string())
    };
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "assignment" => {
                if let Some(left) = n
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "attribute")
                {
                    let (obj, attr) = (
                        left.child_by_field_name("object"),
                        left.child_by_field_name("attribute"),
                    );
                    if let (Some(class), Some(attr)) = (obj.and_then(class_of), attr) {
                        found
                            .entry(class)
                            .or_default()
                            .insert(text[attr.start_byte()..attr.end_byte()].to_string());
                    }
                }
            }
            "call"
                if n.child_by_field_name("function")
                    .is_some_and(|f| &text[f.start_byte()..f.end_byte()] == "setattr") =>
            {
                let args = n.child_by_field_name("arguments");
                let a0 = args.and_then(|a| a.named_child(0));
                let a1 = args
                    .and_then(|a| a.named_child(1))
                    .filter(|a| a.kind() == "string");
                if let (Some(class), Some(name)) = (a0.and_then(class_of), a1) {
                    let lit = text[name.start_byte()..name.end_byte()].trim_matches(['"', '\'']);
                    found.entry(class).or_default().insert(lit.to_string());
                }
            }
            _ => {}
        }
        let mut cursor = n.walk();
        stack.extend(n.children(&mut cursor));
    }
    found
}

/// Annotations may name classes defined later (`from __future__ import annotations`,
/// string annotations): read them as deferred.
fn annotation(ctx: Ctx) -> Ctx {
    Ctx {
        deferred: true,
        ..ctx
    }
}

fn is_comprehension(kind: &str) -> bool {
    matches!(
        kind,
        "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression"
    )
}

impl<'t> Walker<'t> {
    fn src(&self, n: Node) -> &'t str {
        &self.text[n.start_byte()..n.end_byte()]
    }

    fn bind(&mut self, name_node: Node, ty: Ty, visible_from: usize, ctx: Ctx) {
        let name = self.src(name_node).to_string();
        let old = self.env.insert(name.clone(), ty.clone());
        self.undo.push((name.clone(), old));
        self.out.bindings.push(Binding {
            name,
            range: TextRange::of(name_node),
            visible_from,
            scope: ctx.scope,
            ty,
        });
    }

    fn bind_name(&mut self, name: &str, at: Node, ty: Ty, ctx: Ctx) {
        let old = self.env.insert(name.to_string(), ty.clone());
        self.undo.push((name.to_string(), old));
        self.out.bindings.push(Binding {
            name: name.to_string(),
            range: TextRange::of(at),
            visible_from: at.end_byte(),
            scope: ctx.scope,
            ty,
        });
    }

    fn enter_scope(&self) -> usize {
        self.undo.len()
    }

    /// Forget the bindings made since `mark`: locals do not outlive their scope.
    fn leave_scope(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let (name, old) = self.undo.pop().expect("undo log is longer than mark");
            match old {
                Some(ty) => self.env.insert(name, ty),
                None => self.env.remove(&name),
            };
        }
    }

    fn visit_children(&mut self, node: Node, ctx: Ctx) {
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        for c in children {
            self.visit(c, ctx);
        }
    }

    fn visit(&mut self, node: Node, ctx: Ctx) {
        match node.kind() {
            // Broken code: its names and calls would only add noise to the syntax error.
            "ERROR" => {}
            "identifier" => self.out.uses.push(NameUse {
                name: self.src(node).to_string(),
                range: TextRange::of(node),
                deferred: ctx.deferred,
            }),
            "import_statement" => self.import(node, ctx),
            "import_from_statement" => self.import_from(node, ctx),
            "future_import_statement" => {}
            "assignment" => {
                self.assignment(node, node.end_byte(), ctx);
            }
            "augmented_assignment" => {
                if let Some(r) = node.child_by_field_name("right") {
                    self.visit(r, ctx);
                }
                if let Some(l) = node.child_by_field_name("left") {
                    self.visit(l, ctx);
                    self.targets(l, Ty::Unknown, node.end_byte(), ctx);
                }
            }
            "named_expression" => {
                if let Some(v) = node.child_by_field_name("value") {
                    self.visit(v, ctx);
                }
                if let Some(n) = node.child_by_field_name("name") {
                    let ty = node
                        .child_by_field_name("value")
                        .map_or(Ty::Unknown, |v| infer(self.text, v, &self.env));
                    self.bind(n, ty, n.end_byte(), ctx);
                }
            }
            "for_statement" => {
                if let Some(r) = node.child_by_field_name("right") {
                    self.visit(r, ctx);
                }
                if let Some(l) = node.child_by_field_name("left") {
                    self.targets(l, Ty::Unknown, l.end_byte(), ctx);
                }
                for field in ["body", "alternative"] {
                    if let Some(b) = node.child_by_field_name(field) {
                        self.visit(b, ctx);
                    }
                }
            }
            "as_pattern" => {
                // `with open(p) as f`, `except E as e`
                let mut cursor = node.walk();
                let children: Vec<Node> = node.children(&mut cursor).collect();
                for c in children {
                    if node.field_name_for_child(child_index(node, c)) == Some("alias") {
                        self.targets(c, Ty::Unknown, c.end_byte(), ctx);
                    } else {
                        self.visit(c, ctx);
                    }
                }
            }
            "except_clause" => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.children(&mut cursor).collect();
                let mut after_as = false;
                for c in children {
                    if after_as && c.kind() == "identifier" {
                        self.bind(c, Ty::Unknown, c.end_byte(), ctx);
                    } else {
                        self.visit(c, ctx);
                    }
                    after_as = c.kind() == "as";
                }
            }
            "function_definition" => self.function(node, ctx),
            "lambda" => {
                let inner = Ctx {
                    scope: Some(TextRange::of(node)),
                    deferred: true,
                };
                if let Some(p) = node.child_by_field_name("parameters") {
                    self.parameters(p, ctx, inner);
                }
                let saved = self.enter_scope();
                if let Some(b) = node.child_by_field_name("body") {
                    self.visit(b, inner);
                }
                self.leave_scope(saved);
            }
            "class_definition" => {
                if let Some(sc) = node.child_by_field_name("superclasses") {
                    self.visit(sc, ctx);
                }
                if let Some(n) = node.child_by_field_name("name") {
                    self.bind(n, Ty::Unknown, n.end_byte(), ctx);
                }
                let inner = Ctx {
                    scope: Some(TextRange::of(node)),
                    deferred: ctx.deferred,
                };
                let saved = self.enter_scope();
                if let Some(b) = node.child_by_field_name("body") {
                    self.visit(b, inner);
                }
                self.leave_scope(saved);
            }
            k if is_comprehension(k) => self.comprehension(node, ctx),
            "global_statement" | "nonlocal_statement" => {
                let mut cursor = node.walk();
                let names: Vec<Node> = node.named_children(&mut cursor).collect();
                for n in names {
                    self.bind(n, Ty::Unknown, n.end_byte(), Ctx { scope: None, ..ctx });
                }
            }
            "keyword_argument" => {
                if let Some(v) = node.child_by_field_name("value") {
                    self.visit(v, ctx);
                }
            }
            "attribute" => {
                if let Some(o) = node.child_by_field_name("object") {
                    self.visit(o, ctx);
                }
                api_check::check_attribute(
                    self.text,
                    node,
                    &self.env,
                    self.plugins,
                    &mut self.out.api_diagnostics,
                );
            }
            "call" => {
                self.visit_children(node, ctx);
                api_check::check_call(self.text, node, &self.env, &mut self.out.api_diagnostics);
            }
            "case_clause" => {
                // Pattern names are bindings; read the guard and body normally.
                let mut cursor = node.walk();
                let children: Vec<Node> = node.children(&mut cursor).collect();
                for c in children {
                    if c.kind() == "case_pattern" {
                        self.pattern_bindings(c, ctx);
                    } else {
                        self.visit(c, ctx);
                    }
                }
            }
            _ => self.visit_children(node, ctx),
        }
    }

    fn pattern_bindings(&mut self, node: Node, ctx: Ctx) {
        if node.kind() == "identifier" {
            self.bind(node, Ty::Unknown, node.end_byte(), ctx);
            return;
        }
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        for c in children {
            self.pattern_bindings(c, ctx);
        }
    }

    fn assignment(&mut self, node: Node, visible_from: usize, ctx: Ctx) -> Ty {
        let right = node.child_by_field_name("right");
        let ty = match right {
            Some(r) if r.kind() == "assignment" => self.assignment(r, visible_from, ctx),
            Some(r) => {
                self.visit(r, ctx);
                infer(self.text, r, &self.env)
            }
            None => Ty::Unknown,
        };
        if let Some(t) = node.child_by_field_name("type") {
            self.visit(t, annotation(ctx));
        }
        if let Some(l) = node.child_by_field_name("left") {
            self.targets(l, ty.clone(), visible_from, ctx);
        }
        ty
    }

    /// Bind the names an assignment target introduces; read the rest (`a.b = `, `a[i] = `).
    fn targets(&mut self, node: Node, ty: Ty, visible_from: usize, ctx: Ctx) {
        match node.kind() {
            "identifier" => self.bind(node, ty, visible_from, ctx),
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "tuple"
            | "list"
            | "parenthesized_expression"
            | "list_splat_pattern"
            | "list_splat"
            | "as_pattern_target" => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                for c in children {
                    self.targets(c, Ty::Unknown, visible_from, ctx);
                }
            }
            "attribute" => {
                // Writing an attribute is not reading an unknown one: only the object is read.
                if let Some(o) = node.child_by_field_name("object") {
                    self.visit(o, ctx);
                }
            }
            _ => self.visit(node, ctx),
        }
    }

    fn function(&mut self, node: Node, ctx: Ctx) {
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        let inner = Ctx {
            scope: Some(TextRange::of(node)),
            deferred: true,
        };
        let saved = self.enter_scope();
        for c in children {
            match node.field_name_for_child(child_index(node, c)) {
                Some("name") => {}
                Some("parameters") => self.parameters(c, ctx, inner),
                Some("body") => self.visit(c, inner),
                Some("return_type") => self.visit(c, annotation(ctx)),
                _ => self.visit(c, ctx),
            }
        }
        self.leave_scope(saved);
        if let Some(n) = node.child_by_field_name("name") {
            self.bind(n, Ty::Unknown, n.end_byte(), ctx);
        }
    }

    /// Parameter names are local to `inner`; defaults and annotations are read outside.
    fn parameters(&mut self, params: Node, outer: Ctx, inner: Ctx) {
        let mut cursor = params.walk();
        let children: Vec<Node> = params.named_children(&mut cursor).collect();
        for p in children {
            match p.kind() {
                "identifier" => self.bind(p, Ty::Unknown, p.start_byte(), inner),
                "default_parameter" | "typed_default_parameter" => {
                    if let Some(v) = p.child_by_field_name("value") {
                        self.visit(v, outer);
                    }
                    if let Some(t) = p.child_by_field_name("type") {
                        self.visit(t, annotation(outer));
                    }
                    if let Some(n) = p.child_by_field_name("name") {
                        self.bind(n, Ty::Unknown, n.start_byte(), inner);
                    }
                }
                "typed_parameter" | "list_splat_pattern" | "dictionary_splat_pattern" => {
                    if let Some(t) = p.child_by_field_name("type") {
                        self.visit(t, annotation(outer));
                    }
                    let mut c2 = p.walk();
                    let names: Vec<Node> = p
                        .named_children(&mut c2)
                        .filter(|n| n.kind() == "identifier" || n.kind().ends_with("splat_pattern"))
                        .collect();
                    for n in names {
                        let id = if n.kind() == "identifier" {
                            Some(n)
                        } else {
                            n.named_child(0)
                        };
                        if let Some(id) = id {
                            self.bind(id, Ty::Unknown, id.start_byte(), inner);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn comprehension(&mut self, node: Node, ctx: Ctx) {
        let inner = Ctx {
            scope: Some(TextRange::of(node)),
            deferred: ctx.deferred,
        };
        let saved = self.enter_scope();
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        // Bind every loop variable first: the body reads them before the `for` in the text.
        for c in &children {
            if c.kind() == "for_in_clause" {
                if let Some(l) = c.child_by_field_name("left") {
                    self.targets(l, Ty::Unknown, node.start_byte(), inner);
                }
            }
        }
        for c in children {
            if c.kind() == "for_in_clause" {
                if let Some(r) = c.child_by_field_name("right") {
                    self.visit(r, inner);
                }
            } else {
                self.visit(c, inner);
            }
        }
        self.leave_scope(saved);
    }

    fn import(&mut self, node: Node, ctx: Ctx) {
        let mut cursor = node.walk();
        let names: Vec<Node> = node.named_children(&mut cursor).collect();
        for n in names {
            let (module, alias) = match n.kind() {
                "aliased_import" => (
                    n.child_by_field_name("name"),
                    n.child_by_field_name("alias"),
                ),
                _ => (Some(n), None),
            };
            let Some(module) = module else { continue };
            let path = self.src(module);
            match alias {
                Some(a) => {
                    let ty = module_type(path);
                    self.bind(a, ty, node.end_byte(), ctx);
                }
                None => {
                    // `import a.b` binds `a`
                    let first = path.split('.').next().unwrap_or(path).trim();
                    let ty = if first == "cadquery" {
                        Ty::CqModule
                    } else {
                        Ty::Unknown
                    };
                    let at = module.named_child(0).unwrap_or(module);
                    self.bind_name(first, at, ty, ctx);
                }
            }
        }
    }

    fn import_from(&mut self, node: Node, ctx: Ctx) {
        let module = node
            .child_by_field_name("module_name")
            .map(|m| self.src(m).to_string())
            .unwrap_or_default();
        let from_cadquery = module == "cadquery" || module.starts_with("cadquery.");
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        for c in children {
            if c.kind() == "wildcard_import" {
                if module == "cadquery" {
                    for name in &api().module_names {
                        let ty = super::types::attribute_type(&Ty::CqModule, name);
                        self.bind_name(name, c, ty, ctx);
                    }
                } else {
                    self.out.wildcard_import = true;
                }
                continue;
            }
            if node.field_name_for_child(child_index(node, c)) != Some("name") {
                continue;
            }
            let (name, alias) = match c.kind() {
                "aliased_import" => (
                    c.child_by_field_name("name"),
                    c.child_by_field_name("alias"),
                ),
                _ => (Some(c), None),
            };
            let Some(name) = name else { continue };
            let imported = self.src(name);
            let ty = if !from_cadquery {
                Ty::Unknown
            } else if module == "cadquery" {
                super::types::attribute_type(&Ty::CqModule, imported)
            } else if api().classes.contains_key(imported) {
                Ty::Class(imported.to_string())
            } else {
                Ty::Unknown
            };
            self.bind(alias.unwrap_or(name), ty, node.end_byte(), ctx);
        }
    }
}

fn module_type(path: &str) -> Ty {
    match path {
        "cadquery" => Ty::CqModule,
        p => match p.strip_prefix("cadquery.") {
            Some(sub) => Ty::Submodule(sub.to_string()),
            None => Ty::Unknown,
        },
    }
}

fn child_index(parent: Node, child: Node) -> u32 {
    let mut cursor = parent.walk();
    let index = parent
        .children(&mut cursor)
        .position(|c| c.id() == child.id());
    index.map_or(u32::MAX, |i| i as u32)
}
