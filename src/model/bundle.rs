//! A trained model on disk: `tokenizer.json`, `config.json`, `model.safetensors` in one
//! directory, loaded with one call, plus the decoding grammar compiled for its tokenizer.

use std::path::Path;

use anyhow::{Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use super::constraint::Grammar;
use super::decode::{propose, Candidate, DecodeOptions};
use super::grammar::{canonical_lark, GrammarLimits};
use super::network::{CadModel, ModelConfig};
use super::picture::picture_input;
use super::tokenizer::CodeTokenizer;

pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";

pub struct TrainedModel {
    pub tokenizer: CodeTokenizer,
    pub network: CadModel,
    pub grammar: Grammar,
}

impl TrainedModel {
    pub fn load(dir: &Path) -> Result<Self> {
        let tokenizer = CodeTokenizer::load(&dir.join(TOKENIZER_FILE))?;
        let config = read_config(dir)?;
        let weights = dir.join(WEIGHTS_FILE);
        anyhow::ensure!(
            weights.exists(),
            "no weights at {}: train a model with `cadquery-lsp train --out {}`",
            weights.display(),
            dir.display()
        );
        // SAFETY: the weights file is not modified while mapped (we never write it in place).
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu)? };
        let network = CadModel::new(&config, vb)
            .with_context(|| format!("the weights in {} do not fit config.json", dir.display()))?;
        let grammar = Grammar::new(&tokenizer, &canonical_lark(GrammarLimits::default()))?;
        Ok(Self {
            tokenizer,
            network,
            grammar,
        })
    }

    /// Candidates for a picture; `constrained = false` decodes without the grammar mask.
    pub fn propose(
        &self,
        picture: &image::DynamicImage,
        options: &DecodeOptions,
        constrained: bool,
    ) -> Result<Vec<Candidate>> {
        let input = picture_input(picture, self.network.config.image_size)?;
        propose(
            &self.network,
            &self.tokenizer,
            constrained.then_some(&self.grammar),
            &input,
            options,
        )
    }
}

pub fn read_config(dir: &Path) -> Result<ModelConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the model config {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a model config", path.display()))
}

pub fn write_config(dir: &Path, config: &ModelConfig) -> Result<()> {
    let path = dir.join(CONFIG_FILE);
    std::fs::write(&path, serde_json::to_string_pretty(config)?)
        .with_context(|| format!("cannot write {}", path.display()))
}
