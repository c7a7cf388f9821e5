//! Names read but never bound (or read before their binding at module level), with a
//! fix that renames to the closest defined name.

use std::cell::OnceCell;
use std::sync::OnceLock;

// foldhash: this runs over every name use after each edit
use foldhash::{HashMap, HashSet};

use super::analysis::Analysis;
use super::diagnostic::{codes, moved, Diagnostic, Fix, TextEdit, TextRange};
use super::suggest::closest;

/// Python 3.11's builtins (`dir(builtins)`).
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "False",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "None",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "True",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
    "__name__",
    "__file__",
    "__doc__",
    "__builtins__",
    "__spec__",
    "__import__",
    "__debug__",
    "__loader__",
    "__package__",
];

/// What CQ-editor, cq-cli and OCP CAD Viewer inject into the scripts they run.
const INJECTED: &[&str] = &[
    "show_object",
    "debug",
    "log",
    "show",
    "cq_editor",
    "self",
    "cls",
    "__path__",
    "__qualname__",
    "__module__",
    "__annotations__",
    "__class__",
];

/// Builtins and injected names as a set: not a linear search of 160 names per name use.
fn always_defined() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| BUILTINS.iter().chain(INJECTED).copied().collect())
}

/// A binding as the check reads it, at its place in the checked text.
#[derive(Clone, Copy)]
struct BindingAt<'a> {
    name: &'a str,
    start: usize,
    visible_from: usize,
    scope: Option<TextRange>,
}

/// A name use as the check reads it, at its place in the checked text.
struct UseAt<'a> {
    name: &'a str,
    range: TextRange,
    deferred: bool,
}

/// The names bound and read in a text, gathered from the facts of its statements (each
/// moved to where its statement now is) without copying any name.
#[derive(Default)]
pub struct Names<'a> {
    bindings: Vec<BindingAt<'a>>,
    uses: Vec<UseAt<'a>>,
    wildcard_import: bool,
}

impl<'a> Names<'a> {
    /// Adds `facts`, found `delta` bytes before where their text now is.
    pub fn add(&mut self, facts: &'a Analysis, delta: isize) {
        self.bindings
            .extend(facts.bindings.iter().map(|b| BindingAt {
                name: &b.name,
                start: moved(b.range.start, delta),
                visible_from: moved(b.visible_from, delta),
                scope: b.scope.map(|s| s.moved(delta)),
            }));
        self.uses.extend(facts.uses.iter().map(|u| UseAt {
            name: &u.name,
            range: u.range.moved(delta),
            deferred: u.deferred,
        }));
        self.wildcard_import |= facts.wildcard_import;
    }
}

pub fn check(text: &str, names: &Names) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Code that builds names at run time: we cannot tell what is defined.
    if names.wildcard_import || text.contains("globals()") || text.contains("exec(") {
        return out;
    }
    let mut by_name: HashMap<&str, Vec<&BindingAt>> = HashMap::default();
    for b in &names.bindings {
        by_name.entry(b.name).or_default().push(b);
    }
    // only a name that is not defined needs it: built on the first one
    let visible_names = OnceCell::new();
    for u in &names.uses {
        if always_defined().contains(u.name) {
            continue;
        }
        let mut later = None;
        let candidates = by_name.get(u.name).map_or(&[][..], Vec::as_slice);
        let defined = candidates.iter().any(|b| {
            match b.scope {
                // Locals: any binding in an enclosing scope (loops make order meaningless).
                Some(s) => s.start <= u.range.start && u.range.end <= s.end,
                None if u.deferred || b.visible_from <= u.range.start => true,
                None => {
                    later.get_or_insert(b.start);
                    false
                }
            }
        });
        if defined {
            continue;
        }
        let mut d = match later {
            Some(at) => {
                let (line, _) = super::diagnostic::line_col(text, at);
                Diagnostic::error(
                    u.range,
                    codes::UNDEFINED_NAME,
                    format!("`{}` is used before it is defined (on line {line})", u.name),
                )
            }
            None => Diagnostic::error(
                u.range,
                codes::UNDEFINED_NAME,
                format!("`{}` is not defined", u.name),
            ),
        };
        if later.is_none() {
            let visible = visible_names
                .get_or_init(|| VisibleNames::new(&by_name))
                .at(u.range.start);
            if let Some(best) = closest(u.name, visible.iter().copied()) {
                d.message.push_str(&format!("; did you mean `{best}`?"));
                d = d.with_fix(Fix {
                    title: format!("Change to `{best}`"),
                    edits: vec![TextEdit {
                        range: u.range,
                        new_text: best.to_string(),
                    }],
                });
            }
        }
        out.push(d);
    }
    out
}

/// The names bound and visible at an offset, ordered like `Analysis::visible_at` (by the start
/// of each name's latest visible binding), without scanning every binding for every use:
/// a file with tens of thousands of assignments made that quadratic (100 s for 5 MB).
struct VisibleNames<'a> {
    names: Vec<NameBindings<'a>>,
}

struct NameBindings<'a> {
    name: &'a str,
    /// Module-level bindings as (visible_from, latest range start among those visible by
    /// then), sorted by visible_from: a binary search answers "latest visible at offset".
    module: Vec<(usize, usize)>,
    /// Bindings inside a function/class scope: few per name, checked one by one.
    scoped: Vec<&'a BindingAt<'a>>,
}

impl<'a> VisibleNames<'a> {
    fn new(by_name: &HashMap<&'a str, Vec<&'a BindingAt<'a>>>) -> Self {
        let names = by_name
            .iter()
            .map(|(name, bindings)| {
                let mut module: Vec<(usize, usize)> = bindings
                    .iter()
                    .filter(|b| b.scope.is_none())
                    .map(|b| (b.visible_from, b.start))
                    .collect();
                module.sort_unstable();
                let mut latest = 0;
                for entry in &mut module {
                    latest = latest.max(entry.1);
                    entry.1 = latest;
                }
                let scoped = bindings
                    .iter()
                    .copied()
                    .filter(|b| b.scope.is_some())
                    .collect();
                NameBindings {
                    name,
                    module,
                    scoped,
                }
            })
            .collect();
        Self { names }
    }

    fn at(&self, offset: usize) -> Vec<&'a str> {
        let mut visible: Vec<(usize, &'a str)> = self
            .names
            .iter()
            .filter_map(|n| {
                let upto = n.module.partition_point(|(from, _)| *from <= offset);
                let module = upto.checked_sub(1).map(|i| n.module[i].1);
                let scoped = n
                    .scoped
                    .iter()
                    .filter(|b| {
                        b.scope
                            .is_some_and(|s| s.start <= offset && offset <= s.end)
                            && b.visible_from <= offset
                    })
                    .map(|b| b.start)
                    .max();
                module.max(scoped).map(|start| (start, n.name))
            })
            .collect();
        visible.sort_unstable();
        visible.into_iter().map(|(_, name)| name).collect()
    }
}
