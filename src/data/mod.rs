//! Synthetic training data: the canonical program type (`program`), its parser (`parse`),
//! a DeepCAD-like program generator and the `datagen` command.

pub mod parse;
pub mod program;

pub use parse::ParseError;
pub use program::{
    format_number, Combine, Curve, Extent, Literal, LiteralRole, Loop, Operation, Plane, Point2,
    Program, Sketch, Vec3,
};
