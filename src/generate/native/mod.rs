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

/// A program's native render at picture size, as a picture file would hold it (tests).
#[cfg(test)]
pub(crate) fn drawing_of(program: &crate::data::Program) -> image::DynamicImage {
    let scene = Scene::compile(program).unwrap();
    image::DynamicImage::ImageRgb8(render(&scene, 448, 448).unwrap().to_image())
}
