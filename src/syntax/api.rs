//! The CadQuery API table, generated from CadQuery itself by `scripts/gen_api_table.py`
//! and embedded in the binary: classes, methods with their signatures, first docstring
//! paragraphs and return classes (chain typing).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ApiTable {
    pub cadquery_version: String,
    /// Every public name of the `cadquery` module (`dir(cq)`).
    pub module_names: Vec<String>,
    pub classes: BTreeMap<String, ApiClass>,
    /// `cq.exporters`, `cq.importers`: module -> function -> entry.
    pub modules: BTreeMap<String, BTreeMap<String, ApiMember>>,
    /// Functions at `cq.<name>`.
    pub functions: BTreeMap<String, ApiMember>,
}

#[derive(Debug, Deserialize)]
pub struct ApiClass {
    pub doc: String,
    pub constructor: Vec<Signature>,
    pub methods: BTreeMap<String, ApiMember>,
    /// Any attribute name is valid (the class defines `__getattr__`).
    #[serde(default)]
    pub dynamic_attributes: bool,
    /// Set for classes that live in a submodule (`cq.selectors.<Name>`).
    #[serde(default)]
    pub module: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    Method,
    Staticmethod,
    Classmethod,
    Property,
    Attribute,
    Function,
}

#[derive(Debug, Deserialize)]
pub struct ApiMember {
    pub kind: MemberKind,
    /// Several for overloaded (multimethod) members, none for properties/attributes.
    pub signatures: Vec<Signature>,
    /// The table class a call (or property read) returns, when known.
    pub returns: Option<String>,
    pub doc: String,
}

#[derive(Debug, Deserialize)]
pub struct Signature {
    pub params: Vec<Param>,
    /// The table class returned (`~T` and `Self` resolved to the owner), when known.
    pub returns: Option<String>,
    pub return_annotation: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    PositionalOnly,
    PositionalOrKeyword,
    VarPositional,
    KeywordOnly,
    VarKeyword,
}

#[derive(Debug, Deserialize)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    /// Python `repr` of the default, `None` when the parameter is required.
    pub default: Option<String>,
    pub annotation: Option<String>,
}

impl Param {
    pub fn required(&self) -> bool {
        self.default.is_none()
            && matches!(
                self.kind,
                ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword | ParamKind::KeywordOnly
            )
    }

    pub fn by_position(&self) -> bool {
        matches!(
            self.kind,
            ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
        )
    }

    pub fn by_keyword(&self) -> bool {
        matches!(
            self.kind,
            ParamKind::PositionalOrKeyword | ParamKind::KeywordOnly
        )
    }
}

impl Signature {
    /// `name(length: float, width: float, centered: bool = True) -> Workplane`
    pub fn label(&self, name: &str) -> String {
        let mut out = format!("{name}(");
        let mut keyword_only_marked = false;
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if p.kind == ParamKind::KeywordOnly && !keyword_only_marked {
                keyword_only_marked = true;
                out.push_str("*, ");
            }
            match p.kind {
                ParamKind::VarPositional => {
                    keyword_only_marked = true;
                    out.push('*')
                }
                ParamKind::VarKeyword => out.push_str("**"),
                _ => {}
            }
            out.push_str(&p.name);
            if let Some(a) = &p.annotation {
                let _ = write!(out, ": {a}");
            }
            match (&p.annotation, &p.default) {
                (Some(_), Some(d)) => {
                    let _ = write!(out, " = {d}");
                }
                (None, Some(d)) => {
                    let _ = write!(out, "={d}");
                }
                _ => {}
            }
        }
        out.push(')');
        if let Some(r) = self.returns.as_ref().or(self.return_annotation.as_ref()) {
            if r != "None" {
                let _ = write!(out, " -> {r}");
            }
        }
        out
    }
}

static TABLE: OnceLock<ApiTable> = OnceLock::new();

/// The embedded table (parsed once, on first use).
pub fn api() -> &'static ApiTable {
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!("cadquery_api.json")).expect(
            "src/syntax/cadquery_api.json is valid: regenerate it with scripts/gen_api_table.py",
        )
    })
}

impl ApiTable {
    pub fn class(&self, name: &str) -> Option<&ApiClass> {
        self.classes.get(name)
    }

    pub fn member(&self, class: &str, name: &str) -> Option<&ApiMember> {
        self.classes.get(class)?.methods.get(name)
    }

    /// Names reachable as `cq.<name>`: top-level classes and functions, and submodules.
    pub fn top_level_names(&self) -> impl Iterator<Item = &str> {
        self.classes
            .iter()
            .filter(|(_, c)| c.module.is_none())
            .map(|(n, _)| n.as_str())
            .chain(self.functions.keys().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_knows_the_workplane_chain() {
        let t = api();
        assert!(t.cadquery_version.starts_with("2."));
        let box_ = t.member("Workplane", "box").unwrap();
        assert_eq!(box_.returns.as_deref(), Some("Workplane"));
        assert_eq!(
            box_.signatures[0].label("box"),
            "box(length: float, width: float, height: float, centered: Union[bool, Tuple[bool, bool, bool]] = True, combine: Union[bool, Literal['cut', 'a', 's']] = True, clean: bool = True) -> Workplane"
        );
        assert_eq!(
            t.member("Workplane", "sketch").unwrap().returns.as_deref(),
            Some("Sketch")
        );
        assert_eq!(
            t.member("Workplane", "add").unwrap().returns.as_deref(),
            Some("Workplane")
        );
        assert!(
            t.member("Workplane", "objects").is_some(),
            "instance attributes are listed"
        );
        assert!(
            t.class("Location").unwrap().constructor.len() > 1,
            "overloads are kept"
        );
    }
}
