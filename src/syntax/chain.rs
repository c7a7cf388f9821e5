//! Where a Workplane chain stands after its last call, from the call's name: at a fresh
//! workplane, with a pending sketch, with a solid, or with faces / edges selected. It orders
//! completions so what makes sense next comes first (`extrude` after `rect`, `fillet` after
//! `edges`); everything else still follows in the usual order.

use tree_sitter::Node;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainStage {
    /// A new workplane: sketch or place a primitive.
    Workplane,
    /// Pending 2D geometry: continue it or turn it into a solid.
    Sketch,
    /// A solid on the stack: select, modify, combine.
    Solid,
    Faces,
    Edges,
    /// Vertices or wires selected.
    Points,
}

const SKETCH_CALLS: &[&str] = &[
    "rect",
    "circle",
    "polygon",
    "polyline",
    "lineTo",
    "line",
    "hLine",
    "vLine",
    "hLineTo",
    "vLineTo",
    "moveTo",
    "move",
    "threePointArc",
    "radiusArc",
    "sagittaArc",
    "tangentArcPoint",
    "spline",
    "close",
    "slot2D",
    "ellipse",
    "ellipseArc",
    "offset2D",
    "mirrorX",
    "mirrorY",
    "polarLine",
    "polarLineTo",
];
const SOLID_CALLS: &[&str] = &[
    "box",
    "cylinder",
    "sphere",
    "wedge",
    "extrude",
    "revolve",
    "sweep",
    "loft",
    "union",
    "cut",
    "intersect",
    "fillet",
    "chamfer",
    "hole",
    "cboreHole",
    "cskHole",
    "shell",
    "cutBlind",
    "cutThruAll",
    "twistExtrude",
    "combine",
    "translate",
    "rotate",
    "rotateAboutCenter",
    "mirror",
    "text",
    "split",
    "clean",
];
const WORKPLANE_CALLS: &[&str] = &[
    "Workplane",
    "workplane",
    "transformed",
    "center",
    "pushPoints",
    "rarray",
    "polarArray",
    "copyWorkplane",
    "workplaneFromTagged",
];

/// What comes first at each stage, best first.
fn favoured(stage: ChainStage) -> &'static [&'static str] {
    match stage {
        ChainStage::Workplane => &[
            "rect",
            "circle",
            "box",
            "cylinder",
            "moveTo",
            "polyline",
            "lineTo",
            "polygon",
            "sphere",
            "slot2D",
            "hole",
            "cboreHole",
            "pushPoints",
            "rarray",
            "center",
            "ellipse",
            "spline",
            "transformed",
            "text",
        ],
        ChainStage::Sketch => &[
            "extrude",
            "lineTo",
            "close",
            "revolve",
            "cutBlind",
            "cutThruAll",
            "threePointArc",
            "circle",
            "rect",
            "mirrorY",
            "mirrorX",
            "twistExtrude",
            "sweep",
            "loft",
            "moveTo",
            "hLine",
            "vLine",
        ],
        ChainStage::Solid => &[
            "faces",
            "edges",
            "fillet",
            "chamfer",
            "union",
            "cut",
            "shell",
            "vertices",
            "translate",
            "rotate",
            "mirror",
            "intersect",
            "val",
            "tag",
            "workplane",
        ],
        ChainStage::Faces => &[
            "workplane",
            "shell",
            "edges",
            "fillet",
            "chamfer",
            "wires",
            "vertices",
            "first",
            "last",
            "val",
            "vals",
            "size",
        ],
        ChainStage::Edges => &[
            "fillet", "chamfer", "vertices", "first", "last", "val", "vals", "size",
        ],
        ChainStage::Points => &[
            "fillet",
            "chamfer",
            "workplane",
            "val",
            "vals",
            "first",
            "last",
        ],
    }
}

/// Position of `name` among what comes first at `stage`.
pub fn stage_rank(stage: ChainStage, name: &str) -> Option<usize> {
    favoured(stage).iter().position(|f| *f == name)
}

fn stage_after(call: &str) -> Option<ChainStage> {
    Some(match call {
        "faces" => ChainStage::Faces,
        "edges" => ChainStage::Edges,
        "vertices" | "wires" => ChainStage::Points,
        c if WORKPLANE_CALLS.contains(&c) => ChainStage::Workplane,
        c if SKETCH_CALLS.contains(&c) => ChainStage::Sketch,
        c if SOLID_CALLS.contains(&c) => ChainStage::Solid,
        _ => return None,
    })
}

/// The stage after `receiver` when it is a call (`….rect(1, 2)`, `cq.Workplane("XY")`).
pub fn chain_stage(text: &str, receiver: Node) -> Option<ChainStage> {
    let mut node = receiver;
    while node.kind() == "parenthesized_expression" {
        node = node.named_child(0)?;
    }
    if node.kind() != "call" {
        return None;
    }
    let function = node.child_by_field_name("function")?;
    let name = match function.kind() {
        "attribute" => function.child_by_field_name("attribute")?,
        "identifier" => function,
        _ => return None,
    };
    stage_after(&text[name.start_byte()..name.end_byte()])
}
