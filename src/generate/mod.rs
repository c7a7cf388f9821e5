//! Generation: picture -> proposals -> execute -> render -> score -> refine -> rerank ->
//! suggestions. See docs/DESIGN.md "Generation pipeline".

pub mod native;
pub mod picture;
pub mod view;
