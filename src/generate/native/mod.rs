//! The native evaluator: canonical programs rendered without CadQuery, by casting one ray
//! per pixel through extruded profiles combined with interval CSG. The refinement inner
//! loop runs on it; CadQuery checks the winner.

pub mod interval;
pub mod profile;
pub mod render;
pub mod scene;
pub mod volume;

pub use render::{render, render_with, solid_bounds, NativeRender, NO_FACE};
pub use scene::{Scene, SceneError};
