//! Generation: picture -> proposals -> execute -> render -> score -> refine -> rerank ->
//! suggestions. See docs/DESIGN.md "Generation pipeline".

pub mod bench;
pub mod cli;
pub mod generator;
pub mod holes;
pub mod model_source;
pub mod native;
pub mod pick;
pub mod picture;
pub mod pipeline;
pub mod proposals;
pub mod refine;
pub mod retrieval;
pub mod score;
mod side_by_side;
pub mod variants;

pub use generator::{Generator, GeneratorConfig};
