//! One file per LSP method: each binds the protocol message to plain functions of the core.

pub mod diagnostics;
pub mod did_change;
pub mod did_change_configuration;
pub mod did_close;
pub mod did_open;
pub mod initialize;
