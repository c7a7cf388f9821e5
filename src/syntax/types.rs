//! What a CadQuery expression evaluates to, as far as the API table tells: enough to
//! follow a chain like `cq.Workplane("XY").box(1, 2, 3).faces(">Z")` and know each
//! receiver's class.

use tree_sitter::Node;

use super::api::{api, ApiMember, MemberKind};

/// Submodules of `cadquery` whose members the table lists.
const TABLE_SUBMODULES: &[&str] = &["selectors", "exporters", "importers"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    Unknown,
    /// The `cadquery` module (`import cadquery as cq`).
    CqModule,
    /// `cq.selectors`, `cq.exporters`, `cq.importers`.
    Submodule(String),
    /// A class itself (`cq.Workplane`), callable to make an instance.
    Class(String),
    /// An instance of a table class.
    Instance(String),
    /// A method looked up on an instance (or a class/static method on the class).
    Member {
        class: String,
        name: String,
    },
    /// A function of the `cadquery` module or of a submodule.
    Function {
        module: Option<String>,
        name: String,
    },
}

impl Ty {
    /// How the type reads in completion details and hovers.
    pub fn describe(&self) -> Option<String> {
        match self {
            Ty::Unknown => None,
            Ty::CqModule => Some("module cadquery".into()),
            Ty::Submodule(m) => Some(format!("module cadquery.{m}")),
            Ty::Class(c) => Some(format!("class {c}")),
            Ty::Instance(c) => Some(c.clone()),
            Ty::Member { class, name } => Some(format!("{class}.{name}")),
            Ty::Function { module, name } => Some(match module {
                Some(m) => format!("cadquery.{m}.{name}"),
                None => format!("cadquery.{name}"),
            }),
        }
    }
}

/// Names -> types, as bound so far in the walk.
/// foldhash: the analysis looks names up for every statement after each edit, and SipHash
/// was a fifth of that time.
pub type Env = foldhash::HashMap<String, Ty>;

/// The table entry a callable type refers to.
pub fn member_of(ty: &Ty) -> Option<&'static ApiMember> {
    let t = api();
    match ty {
        Ty::Member { class, name } => t.member(class, name),
        Ty::Function {
            module: Some(m),
            name,
        } => t.modules.get(m)?.get(name),
        Ty::Function { module: None, name } => t.functions.get(name),
        _ => None,
    }
}

/// The type of `object.name` given the type of `object`.
pub fn attribute_type(object: &Ty, name: &str) -> Ty {
    let t = api();
    match object {
        Ty::CqModule => {
            if t.classes.contains_key(name) {
                Ty::Class(name.to_string())
            } else if TABLE_SUBMODULES.contains(&name) {
                Ty::Submodule(name.to_string())
            } else if t.functions.contains_key(name) {
                Ty::Function {
                    module: None,
                    name: name.to_string(),
                }
            } else {
                Ty::Unknown
            }
        }
        Ty::Submodule(m) => {
            let in_module = t
                .classes
                .get(name)
                .is_some_and(|c| c.module.as_deref() == Some(m));
            if in_module {
                Ty::Class(name.to_string())
            } else if t.modules.get(m).is_some_and(|f| f.contains_key(name)) {
                Ty::Function {
                    module: Some(m.clone()),
                    name: name.to_string(),
                }
            } else {
                Ty::Unknown
            }
        }
        Ty::Class(c) => match t.member(c, name) {
            Some(m) if matches!(m.kind, MemberKind::Classmethod | MemberKind::Staticmethod) => {
                Ty::Member {
                    class: c.clone(),
                    name: name.to_string(),
                }
            }
            _ => Ty::Unknown,
        },
        Ty::Instance(c) => match t.member(c, name) {
            Some(m) if matches!(m.kind, MemberKind::Property | MemberKind::Attribute) => m
                .returns
                .as_ref()
                .map_or(Ty::Unknown, |r| Ty::Instance(r.clone())),
            Some(_) => Ty::Member {
                class: c.clone(),
                name: name.to_string(),
            },
            None => Ty::Unknown,
        },
        _ => Ty::Unknown,
    }
}

/// The type of calling a value of type `callee`.
pub fn call_type(callee: &Ty) -> Ty {
    match callee {
        Ty::Class(c) => Ty::Instance(c.clone()),
        _ => member_of(callee)
            .and_then(|m| m.returns.as_ref())
            .map_or(Ty::Unknown, |r| Ty::Instance(r.clone())),
    }
}

/// The type of an expression node.
pub fn infer(text: &str, node: Node, env: &Env) -> Ty {
    match node.kind() {
        "identifier" => env
            .get(&text[node.start_byte()..node.end_byte()])
            .cloned()
            .unwrap_or(Ty::Unknown),
        "attribute" => {
            let (Some(object), Some(attr)) = (
                node.child_by_field_name("object"),
                node.child_by_field_name("attribute"),
            ) else {
                return Ty::Unknown;
            };
            attribute_type(
                &infer(text, object, env),
                &text[attr.start_byte()..attr.end_byte()],
            )
        }
        "call" => node
            .child_by_field_name("function")
            .map_or(Ty::Unknown, |f| call_type(&infer(text, f, env))),
        "parenthesized_expression" => node
            .named_child(0)
            .map_or(Ty::Unknown, |inner| infer(text, inner, env)),
        _ => Ty::Unknown,
    }
}
