//! The full datagen pipeline: execute every program in the worker pool, reject what is not
//! one clean solid, render the rest in the picture convention and write the pairs.

use std::path::Path;

use super::cli::DatagenArgs;

pub fn run(_out: &Path, _args: &DatagenArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "datagen with pictures needs the CadQuery runtime and the renderer, which are not in \
         this build yet; use --code-only to write the canonical code and manifest"
    )
}
