//! Hover docs: what the identifier under the cursor is in CadQuery terms (a method with
//! its signatures and docs, a class, a variable's type, a keyword parameter).

use tree_sitter::Node;

use super::analysis::analyze;
use super::api::api;
use super::diagnostic::TextRange;
use super::document::ParsedDocument;
use super::types::{attribute_type, infer, member_of, Ty};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoverDoc {
    /// The identifier hovered.
    pub range: TextRange,
    /// `Workplane.box`, `class Workplane`, `base: Workplane`, `parameter centered`.
    pub title: String,
    /// One line per overload.
    pub signatures: Vec<String>,
    /// First docstring paragraph.
    pub doc: String,
}

pub fn hover_doc(text: &str, offset: usize) -> Option<HoverDoc> {
    ParsedDocument::new(text).hover_doc(offset)
}

fn src<'t>(text: &'t str, n: Node) -> &'t str {
    &text[n.start_byte()..n.end_byte()]
}

/// Hover for a callable or class type.
fn describe(ty: &Ty, range: TextRange) -> Option<HoverDoc> {
    match ty {
        Ty::Class(c) => {
            let class = api().class(c)?;
            Some(HoverDoc {
                range,
                title: format!("class {c}"),
                signatures: class.constructor.iter().map(|s| s.label(c)).collect(),
                doc: class.doc.clone(),
            })
        }
        Ty::Member { class, name }
        | Ty::Function {
            module: Some(class),
            name,
        } => {
            let m = member_of(ty)?;
            Some(HoverDoc {
                range,
                title: format!("{class}.{name}"),
                signatures: m.signatures.iter().map(|s| s.label(name)).collect(),
                doc: m.doc.clone(),
            })
        }
        Ty::Function { module: None, name } => {
            let m = member_of(ty)?;
            Some(HoverDoc {
                range,
                title: format!("cadquery.{name}"),
                signatures: m.signatures.iter().map(|s| s.label(name)).collect(),
                doc: m.doc.clone(),
            })
        }
        _ => None,
    }
}

impl ParsedDocument {
    pub fn hover_doc(&self, offset: usize) -> Option<HoverDoc> {
        let text = self.text();
        let root = self.tree().root_node();
        let node = root
            .descendant_for_byte_range(offset, offset)
            .filter(|n| n.kind() == "identifier")
            .or_else(|| {
                let before = offset.checked_sub(1)?;
                root.descendant_for_byte_range(before, offset)
                    .filter(|n| n.kind() == "identifier")
            })?;
        let range = TextRange::of(node);
        let analysis = analyze(text, self.tree());
        let env = analysis.env_at(node.start_byte());
        let parent = node.parent()?;
        match parent.kind() {
            "attribute" if parent.child_by_field_name("attribute") == Some(node) => {
                let object = infer(text, parent.child_by_field_name("object")?, &env);
                let name = src(text, node);
                let ty = attribute_type(&object, name);
                if let Some(h) = describe(&ty, range) {
                    return Some(h);
                }
                // Properties and attributes: their class and docs.
                if let Ty::Instance(c) = &object {
                    let m = api().member(c, name)?;
                    return Some(HoverDoc {
                        range,
                        title: format!("{c}.{name}"),
                        signatures: m.returns.iter().map(|r| format!("{name}: {r}")).collect(),
                        doc: m.doc.clone(),
                    });
                }
                None
            }
            "keyword_argument" if parent.child_by_field_name("name") == Some(node) => {
                let call = parent.parent()?.parent().filter(|c| c.kind() == "call")?;
                let callee = infer(text, call.child_by_field_name("function")?, &env);
                let name = src(text, node);
                let sigs = match &callee {
                    Ty::Class(c) => &api().class(c)?.constructor,
                    _ => &member_of(&callee)?.signatures,
                };
                let param = sigs
                    .iter()
                    .flat_map(|s| &s.params)
                    .find(|p| p.name == name)?;
                let mut sig = param.name.clone();
                if let Some(a) = &param.annotation {
                    sig.push_str(&format!(": {a}"));
                }
                if let Some(d) = &param.default {
                    sig.push_str(&format!(" = {d}"));
                }
                Some(HoverDoc {
                    range,
                    title: format!("parameter {name}"),
                    signatures: vec![sig],
                    doc: describe(&callee, range)
                        .map(|h| h.signatures.join("\n"))
                        .unwrap_or_default(),
                })
            }
            _ => {
                let name = src(text, node);
                let ty = env.get(name).cloned().unwrap_or(Ty::Unknown);
                if let Some(h) = describe(&ty, range) {
                    return Some(h);
                }
                let desc = ty.describe()?;
                let doc = match &ty {
                    Ty::Instance(c) => api().class(c).map(|k| k.doc.clone()).unwrap_or_default(),
                    _ => String::new(),
                };
                Some(HoverDoc {
                    range,
                    title: format!("{name}: {desc}"),
                    signatures: Vec::new(),
                    doc,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(src: &str) -> Option<HoverDoc> {
        let offset = src.find("$0").unwrap();
        hover_doc(&src.replacen("$0", "", 1), offset)
    }

    #[test]
    fn method_on_a_chain_shows_its_signature_and_doc() {
        let h = at("import cadquery as cq\nr = cq.Workplane().bo$0x(1, 2, 3)\n").unwrap();
        assert_eq!(h.title, "Workplane.box");
        assert!(h.signatures[0].starts_with("box(length: float"), "{h:?}");
        assert!(h.doc.contains("3d box"), "{h:?}");
    }

    #[test]
    fn class_variable_and_keyword() {
        let h = at("import cadquery as cq\nr = cq.Work$0plane()\n").unwrap();
        assert_eq!(h.title, "class Workplane");
        let h = at("import cadquery as cq\nbase = cq.Workplane().box(1, 1, 1)\nba$0se\n").unwrap();
        assert_eq!(h.title, "base: Workplane");
        let h = at("import cadquery as cq\nr = cq.Workplane().box(1, 1, 1, cen$0tered=False)\n")
            .unwrap();
        assert_eq!(h.title, "parameter centered");
        assert!(h.signatures[0].contains("= True"), "{h:?}");
    }

    #[test]
    fn nothing_on_unknown_names() {
        assert_eq!(at("import numpy as np\nnp.ze$0ros(3)\n"), None);
    }
}
