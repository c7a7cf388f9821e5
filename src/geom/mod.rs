//! Geometry: meshes, mass properties, the field's IoU metrics, the renderer, image comparison.

pub mod camera;
pub mod compare;
pub mod eigh;
pub mod iou;
pub mod mass;
pub mod mesh;
pub mod render;
pub mod voxel;

pub use mesh::{Aabb, Mesh, Polyline};
