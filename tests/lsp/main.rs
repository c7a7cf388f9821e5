//! End-to-end tests of the language server: in process over a duplex pipe, and the real
//! binary over stdio.

mod execution;
mod features;
mod generate;
mod harness;
mod model_completion;
mod protocol;
mod robustness;
mod stdio;
