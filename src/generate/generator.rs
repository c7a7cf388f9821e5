//! The generator: the proposal sources loaded once (the model when there is one, the
//! program library, primitive fits), ready to turn pictures into suggestions. The CLI
//! and the language server both hold one.

use std::path::PathBuf;

use super::model_source::ModelProposals;
use super::picture::Picture;
use super::pipeline::{self, GenerateError, GenerateOptions, GenerateStats, Suggestion};
use super::proposals::{PrimitiveFits, ProposalSource};
use super::retrieval::{Retrieval, RetrievalIndex};
use crate::model::bundle::TrainedModel;
use crate::progress::{CancellationToken, ProgressSink};
use crate::runtime::WorkerPool;

/// Which sources to load.
#[derive(Debug, Clone, Default)]
pub struct GeneratorConfig {
    /// A trained model directory to propose programs.
    pub model_dir: Option<PathBuf>,
    /// Without `model_dir`: use the model built into the binary. Off by default while the
    /// built-in checkpoint is early: its proposals scored IoU 0 on the dev pictures and
    /// cost ~19 s per picture (see models/MODEL_CARD.md).
    pub builtin_model: bool,
    /// A program library file (`generate --build-library`); `None`: the built-in one.
    pub library: Option<PathBuf>,
    /// Leave the program library out.
    pub no_library: bool,
    /// Longest program the model may write, in tokens.
    pub max_tokens: Option<usize>,
}

pub struct Generator {
    sources: Vec<Box<dyn ProposalSource>>,
    /// One line per source: what was loaded, or why not.
    pub loaded: Vec<String>,
}

/// The program library shipped with the binary (built from synthetic programs).
static DEFAULT_LIBRARY: &[u8] = include_bytes!("../../models/library.cqlr");

impl Generator {
    pub fn new(config: &GeneratorConfig) -> anyhow::Result<Generator> {
        let mut sources: Vec<Box<dyn ProposalSource>> = Vec::new();
        let mut loaded = Vec::new();
        match load_model(config)? {
            Some((model, origin)) => {
                loaded.push(format!("model: {origin}"));
                sources.push(Box::new(ModelProposals {
                    model,
                    origin,
                    max_tokens: config.max_tokens.unwrap_or(384),
                }));
            }
            None => loaded.push("model: none (--model DIR or --builtin-model)".into()),
        }
        if !config.no_library {
            let (index, origin) = match &config.library {
                Some(path) => (RetrievalIndex::load(path)?, path.display().to_string()),
                None => (
                    RetrievalIndex::from_bytes(DEFAULT_LIBRARY, "the built-in library")?,
                    "built in".to_string(),
                ),
            };
            loaded.push(format!(
                "program library: {} programs ({origin})",
                index.entries.len()
            ));
            sources.push(Box::new(Retrieval { index }));
        }
        sources.push(Box::new(PrimitiveFits));
        loaded.push("primitive fits".into());
        Ok(Generator { sources, loaded })
    }

    /// Ranked suggestions for a picture; see `pipeline::generate`.
    pub fn generate(
        &self,
        picture: &Picture,
        pool: &WorkerPool,
        opts: &GenerateOptions,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<(Vec<Suggestion>, GenerateStats), GenerateError> {
        let sources: Vec<&dyn ProposalSource> = self.sources.iter().map(|s| s.as_ref()).collect();
        pipeline::generate(picture, &sources, pool, opts, progress, cancel)
    }
}

/// The model to load: a directory when given, else the built-in one when asked for.
fn load_model(config: &GeneratorConfig) -> anyhow::Result<Option<(TrainedModel, String)>> {
    Ok(match &config.model_dir {
        Some(dir) => Some((TrainedModel::load(dir)?, dir.display().to_string())),
        None if config.builtin_model => Some((TrainedModel::embedded()?, "built in".into())),
        None => None,
    })
}
