//! Plain geometry data exchanged between the runtime (which produces it from CadQuery)
//! and everything that measures or draws it.

use serde::{Deserialize, Serialize};

/// A closed triangle mesh as tessellated by CadQuery/OCCT.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mesh {
    pub vertices: Vec<[f64; 3]>,
    /// Counter-clockwise seen from outside.
    pub triangles: Vec<[u32; 3]>,
    /// B-rep face index of each triangle (same length as `triangles`).
    pub face_ids: Vec<u32>,
    /// Per B-rep face: is the surface planar? Curved faces get faint shading in renders.
    pub face_is_planar: Vec<bool>,
}

impl Mesh {
    /// Whether any B-rep face is curved (the data set frames such parts a little wider).
    pub fn has_curved_faces(&self) -> bool {
        self.face_is_planar.iter().any(|planar| !planar)
    }
}

/// One B-rep edge discretised into a polyline (seam edges included).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Polyline {
    pub points: Vec<[f64; 3]>,
}

/// Axis-aligned bounding box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aabb {
    pub min: [f64; 3],
    pub max: [f64; 3],
}
