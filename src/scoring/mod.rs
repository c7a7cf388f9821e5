//! Glue between the runtime and geom for the command line: `render` draws a script's part in
//! the picture convention, `eval` scores predicted scripts against ground truth with the
//! field's metrics. (geom itself never sees the runtime: it takes plain meshes and facts.)

pub mod eval;
pub mod render;

use crate::geom::iou::MeasuredSolid;
use crate::geom::mass::MassProperties;
use crate::runtime::{Built, SolidFacts};

/// The B-rep mass properties the metrics normalise by.
pub fn brep_mass(facts: &SolidFacts) -> MassProperties {
    MassProperties {
        volume: facts.volume,
        centroid: facts.centroid,
        inertia: facts.inertia,
    }
}

/// A built solid as the IoU metrics see it (None when the worker sent no mesh).
pub fn measured(built: &Built) -> Option<MeasuredSolid<'_>> {
    Some(MeasuredSolid {
        mesh: built.mesh.as_ref()?,
        brep: brep_mass(&built.facts),
    })
}
