//! Generation: picture -> proposals -> execute -> render -> score -> refine -> rerank ->
//! suggestions. See docs/DESIGN.md "Generation pipeline".

pub mod native;
pub mod picture;
pub mod pipeline;
pub mod proposals;
pub mod refine;
pub mod retrieval;
pub mod score;
