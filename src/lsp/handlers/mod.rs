//! One file per LSP method: each binds the protocol message to plain functions of the core.

pub mod code_action;
pub mod completion;
pub mod diagnostics;
pub mod did_change;
pub mod did_change_configuration;
pub mod did_close;
pub mod did_open;
pub mod did_save;
pub mod execute_command;
pub mod hover;
pub mod initialize;
