//! Synthetic training data: the canonical program type (`program`), its parser (`parse`),
//! a DeepCAD-like program generator (`generator`, with `profiles`, `frame`, `region`),
//! statistics (`stats`) and the `datagen` command (`cli`, `datagen`).

pub mod cli;
pub mod datagen;
pub mod frame;
pub mod generator;
pub mod parse;
pub mod profiles;
pub mod program;
pub mod region;
pub mod stats;

pub use generator::generate;
pub use parse::ParseError;
pub use program::{
    format_number, Combine, Curve, Extent, Literal, LiteralRole, Loop, Operation, Plane, Point2,
    Program, Sketch, Vec3,
};
