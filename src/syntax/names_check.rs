//! Names read but never bound (or read before their binding at module level), with a
//! fix that renames to the closest defined name.

use std::collections::HashMap;

use super::analysis::{Analysis, Binding};
use super::diagnostic::{codes, Diagnostic, Fix, TextEdit};
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

pub fn check(text: &str, analysis: &Analysis) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Code that builds names at run time: we cannot tell what is defined.
    if analysis.wildcard_import || text.contains("globals()") || text.contains("exec(") {
        return out;
    }
    let mut by_name: HashMap<&str, Vec<&Binding>> = HashMap::new();
    for b in &analysis.bindings {
        by_name.entry(b.name.as_str()).or_default().push(b);
    }
    for u in &analysis.uses {
        if BUILTINS.contains(&u.name.as_str()) || INJECTED.contains(&u.name.as_str()) {
            continue;
        }
        let mut later = None;
        let candidates = by_name.get(u.name.as_str()).map_or(&[][..], Vec::as_slice);
        let defined = candidates.iter().any(|b| {
            match b.scope {
                // Locals: any binding in an enclosing scope (loops make order meaningless).
                Some(s) => s.start <= u.range.start && u.range.end <= s.end,
                None if u.deferred || b.visible_from <= u.range.start => true,
                None => {
                    later.get_or_insert(b.range.start);
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
            let visible = analysis.visible_at(u.range.start);
            if let Some(best) = closest(&u.name, visible.iter().map(|b| b.name.as_str())) {
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
