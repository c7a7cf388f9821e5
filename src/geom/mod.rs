//! Geometry: meshes, mass properties, the field's IoU metrics, the renderer, image comparison.

pub mod mesh;

pub use mesh::{Aabb, Mesh, Polyline};
