//! cadquery-lsp: pictures of parts -> CadQuery code, plus diagnostics and completions.
//!
//! Data flows one way: picture -> proposals -> executions -> renders -> scores ->
//! suggestions -> edits. See ARCHITECTURE.md for the invariants between modules.

pub mod check;
pub mod data;
pub mod generate;
pub mod geom;
pub mod lsp;
pub mod model;
pub mod progress;
pub mod runtime;
pub mod scoring;
pub mod syntax;
