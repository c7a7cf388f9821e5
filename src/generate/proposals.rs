//! Proposal sources: where candidate programs come from. Every source answers the same
//! question (a picture -> candidate programs) so the pipeline can mix them; the model
//! (grammar-constrained decoding) joins as one more source when it is trained.

use super::native::{self, Scene};
use super::picture::Picture;
use super::score::Target;
use crate::data::{Combine, Curve, Extent, Loop, Operation, Plane, Program, Sketch};

/// One candidate from a source.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub program: Program,
    /// Which source made it, e.g. "primitive:box-z" or "retrieval:#123".
    pub source: String,
    /// The model's log-probability of the code, when a model proposed it.
    pub log_prob: Option<f64>,
}

impl Proposal {
    pub fn code(&self) -> String {
        self.program.to_code()
    }
}

pub trait ProposalSource: Send + Sync {
    fn name(&self) -> &str;
    /// Up to `limit` proposals for the picture, best first as far as the source can tell.
    fn propose(&self, picture: &Picture, limit: usize) -> Vec<Proposal>;
}

/// The floor: plates, blocks, bars, discs, rods and rings along each axis, ranked by how
/// well their native render matches the picture. Always valid solids, never the answer
/// to a detailed part, but refinement fits their sizes.
pub struct PrimitiveFits;

/// Which world axis a primitive's extrusion follows, as GenCAD-Code planes write it.
fn plane_along(axis: usize) -> Plane {
    match axis {
        0 => Plane {
            origin: [0.0; 3],
            x_dir: [0.0, 1.0, 0.0],
            normal: [1.0, 0.0, 0.0],
        },
        1 => Plane {
            origin: [0.0; 3],
            x_dir: [1.0, 0.0, 0.0],
            normal: [0.0, -1.0, 0.0],
        },
        _ => Plane::xy([0.0; 3]),
    }
}

fn single(plane: Plane, loops: Vec<Loop>, depth: f64) -> Program {
    Program {
        sketches: vec![Sketch { plane, loops }],
        ops: vec![Operation {
            extent: Extent::OneSided { distance: depth },
            combine: Combine::New,
        }],
    }
}

fn rectangle(a: f64, b: f64) -> Loop {
    Loop::Path {
        start: [0.0, 0.0],
        curves: vec![
            Curve::Line { to: [a, 0.0] },
            Curve::Line { to: [a, b] },
            Curve::Line { to: [0.0, b] },
        ],
    }
}

fn circle(r: f64) -> Loop {
    Loop::Circle {
        center: [0.0, 0.0],
        radius: r,
    }
}

impl PrimitiveFits {
    /// Every template with its name.
    pub fn templates() -> Vec<(String, Program)> {
        let axis_name = ["x", "y", "z"];
        let mut out = Vec::new();
        // boxes: a box along z with sides (a, b, c) covers every orientation of a box
        for (name, a, b, c) in [
            ("plate", 1.0, 1.0, 0.1),
            ("long-plate", 1.0, 0.4, 0.08),
            ("block", 1.0, 1.0, 0.6),
            ("cube", 1.0, 1.0, 1.0),
            ("bar", 1.0, 0.15, 0.15),
            ("post", 0.2, 0.2, 1.0),
        ] {
            out.push((
                format!("box-{name}"),
                single(plane_along(2), vec![rectangle(a, b)], c),
            ));
        }
        for (axis, axis_name) in axis_name.iter().enumerate() {
            for (name, h) in [("disc", 0.2), ("cylinder", 1.0), ("rod", 4.0)] {
                out.push((
                    format!("{name}-{axis_name}"),
                    single(plane_along(axis), vec![circle(0.5)], h),
                ));
            }
            for (name, h) in [("washer", 0.15), ("tube", 1.5)] {
                out.push((
                    format!("{name}-{axis_name}"),
                    single(plane_along(axis), vec![circle(0.5), circle(0.35)], h),
                ));
            }
        }
        out
    }
}

impl ProposalSource for PrimitiveFits {
    fn name(&self) -> &str {
        "primitive"
    }

    fn propose(&self, picture: &Picture, limit: usize) -> Vec<Proposal> {
        let mut templates = Self::templates();
        templates.sort_by(|a, b| a.0.cmp(&b.0));
        best_by_coarse_render(
            picture,
            templates
                .into_iter()
                .map(|(name, p)| (format!("primitive:{name}"), p))
                .collect(),
            limit,
        )
    }
}

/// The `limit` programs whose 112 px native render agrees best with the picture, best
/// first; equal scores keep the order given. Programs that render nothing are dropped.
pub fn best_by_coarse_render(
    picture: &Picture,
    programs: Vec<(String, Program)>,
    limit: usize,
) -> Vec<Proposal> {
    use rayon::prelude::*;
    let target = Target::new(picture, 4);
    let mut scored: Vec<(f64, String, Program)> = programs
        .into_par_iter()
        .filter_map(|(source, p)| {
            let scene = Scene::compile(&p).ok()?;
            let r = native::render(&scene, target.size, target.size)?;
            Some((target.score(&r).total, source, p))
        })
        .collect();
    // stable: ties stay in the caller's order
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(limit)
        .map(|(_, source, program)| Proposal {
            program,
            source,
            log_prob: None,
        })
        .collect()
}
