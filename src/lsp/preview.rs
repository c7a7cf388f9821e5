//! Hover previews: the part of the last run rendered in the picture convention to a PNG in
//! a cache directory, one file per document (the version in the name, so clients that
//! cache images by address still show the new one).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::geom::render::render;
use crate::runtime::Built;

/// The preview size: the convention's picture size.
const SIZE: u32 = 448;

/// The user's cache directory for previews.
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "cadquery-lsp").map(|d| d.cache_dir().join("previews"))
}

/// Renders what a run built to `<dir>/<document hash>-v<version>.png`, removing the
/// document's older previews.
pub fn write(dir: &Path, document: &str, version: i32, built: &Built) -> Result<PathBuf, String> {
    let mesh = built
        .mesh
        .as_ref()
        .ok_or("the run returned no mesh to render")?;
    let picture = render(mesh, &built.edges, Some(built.facts.bbox), SIZE, SIZE);
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the preview directory {}: {e}", dir.display()))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    document.hash(&mut hasher);
    let stem = format!("{:016x}", hasher.finish());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&stem) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let path = dir.join(format!("{stem}-v{version}.png"));
    picture
        .rgb
        .save(&path)
        .map_err(|e| format!("cannot write the preview {}: {e}", path.display()))?;
    Ok(path)
}
