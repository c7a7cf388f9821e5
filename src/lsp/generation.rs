//! The server's use of the generation pipeline, in plain data: the settings mapped to the
//! pipeline's options, the proposal sources, and the candidates as the editors get them
//! (code fitted to the document, a score in 0..1, the render as PNG bytes). No protocol
//! types here; `handlers::execute_command` converts and applies.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::settings::Settings;
use crate::generate::generator::{Generator, GeneratorConfig};
use crate::generate::picture::Picture;
use crate::generate::pipeline::{GenerateError, GenerateOptions, Suggestion};
use crate::progress::{CancellationToken, ProgressEvent, ProgressSink};
use crate::runtime::WorkerPool;

/// The proposal sources, loaded on the first generation and kept while `modelPath` stays
/// the same (the program library alone takes a moment to load).
#[derive(Default)]
pub struct Generators {
    loaded: Mutex<Option<(Option<PathBuf>, Arc<Generator>)>>,
}

impl Generators {
    /// The generator for `model` (a blocking load the first time).
    pub fn get(&self, model: Option<&Path>) -> Result<Arc<Generator>, String> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((key, generator)) = loaded.as_ref() {
            if key.as_deref() == model {
                return Ok(Arc::clone(generator));
            }
        }
        let config = GeneratorConfig {
            model_dir: model.map(Path::to_path_buf),
            ..GeneratorConfig::default()
        };
        let generator = Arc::new(Generator::new(&config).map_err(|e| {
            format!("cannot load the generation sources: {e:#}; check `cadquery.modelPath`")
        })?);
        tracing::info!("generation sources: {}", generator.loaded.join("; "));
        *loaded = Some((model.map(Path::to_path_buf), Arc::clone(&generator)));
        Ok(generator)
    }
}

/// One candidate as offered to the user, best first.
#[derive(Debug, Clone)]
pub struct Offered {
    /// The code to insert, fitted to the document it goes into.
    pub code: String,
    /// Agreement of its render with the picture, 0..1.
    pub score: f64,
    /// Its render in the picture convention, PNG.
    pub render_png: Vec<u8>,
}

pub fn options(settings: &Settings) -> GenerateOptions {
    let budget = Duration::from_millis(settings.generation_budget_ms);
    GenerateOptions {
        suggestions: settings.candidate_count as usize,
        refine_evaluations: settings.refine_executions as usize,
        // refinement is the stage that scales with time (the rest is a few seconds at
        // most); each refinement gets this safety net, and a coarse look comes before the
        // full run, so the two phases stay within half the budget
        refine_time: budget / 4,
        ..GenerateOptions::default()
    }
}

/// Overall percentage of a pipeline event: propose 0-15, execute 15-40, refine 40-95.
pub fn overall_percent(event: &ProgressEvent) -> Option<u32> {
    let (from, to) = match event.stage.as_str() {
        "propose" => (0, 15),
        "execute" => (15, 40),
        "refine" => (40, 95),
        _ => return None,
    };
    let fraction = event.percent()?;
    Some(from + (to - from) * fraction / 100)
}

/// Why a generation gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum GenerationFailure {
    /// The model or the program library could not be loaded.
    #[error("{0}")]
    Sources(String),
    #[error(transparent)]
    Pipeline(#[from] GenerateError),
}

/// Runs the pipeline on a loaded picture with the sources for the settings' model;
/// candidates fitted to `document`.
pub fn generate(
    generators: &Generators,
    picture: &Picture,
    document: &str,
    pool: &WorkerPool,
    settings: &Settings,
    progress: &dyn ProgressSink,
    cancel: &CancellationToken,
) -> Result<Vec<Offered>, GenerationFailure> {
    let generator = generators
        .get(settings.model_path.as_deref())
        .map_err(GenerationFailure::Sources)?;
    let (suggestions, _stats) =
        generator.generate(picture, pool, &options(settings), progress, cancel)?;
    Ok(suggestions.iter().map(|s| offered(s, document)).collect())
}

fn offered(s: &Suggestion, document: &str) -> Offered {
    let mut png = Vec::new();
    // encoding an in-memory RGB image cannot fail short of running out of memory
    let _ = s
        .render
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png);
    Offered {
        code: fit_to_document(&s.code, document),
        score: s.scores.agreement.total.clamp(0.0, 1.0),
        render_png: png,
    }
}

/// The generated script without the import lines the document already has.
pub fn fit_to_document(code: &str, document: &str) -> String {
    let has = |line: &str| document.lines().any(|l| l.trim() == line.trim());
    let kept: Vec<&str> = code
        .lines()
        .filter(|l| {
            !(l.trim_start().starts_with("import ") || l.trim_start().starts_with("from "))
                || !has(l)
        })
        .collect();
    let mut out = kept.join("\n");
    out.push('\n');
    out
}

/// The picture at `path`, read and checked on a blocking thread.
pub fn load_picture(path: &Path) -> Result<Picture, String> {
    Picture::load(path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_the_document_has_are_dropped() {
        let code = "import cadquery as cq\nsolid = cq.Workplane().box(1, 1, 1)\n";
        assert_eq!(
            fit_to_document(code, "import cadquery as cq\n\n"),
            "solid = cq.Workplane().box(1, 1, 1)\n"
        );
        assert_eq!(fit_to_document(code, ""), code);
    }

    #[test]
    fn stages_map_to_one_rising_percentage() {
        let at = |stage, done| overall_percent(&ProgressEvent::new(stage, done, Some(10)));
        assert_eq!(at("propose", 10), Some(15));
        assert_eq!(at("execute", 5), Some(27));
        assert_eq!(at("refine", 10), Some(95));
        assert_eq!(at("unknown", 1), None);
    }
}
