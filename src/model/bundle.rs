//! A trained model: `tokenizer.json`, `config.json`, `model.safetensors` in one
//! directory, loaded with one call, plus the decoding grammar compiled for its tokenizer.
//! The default model (repository `models/`, f16 weights) is compiled into the binary, so
//! the main job needs no path and no network; `--model DIR` loads another one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::constraint::Grammar;
use super::decode::{continue_from, propose, Candidate, DecodeOptions, Stop};
use super::grammar::{canonical_lark, GrammarLimits};
use super::network::{CadModel, ModelConfig};
use super::picture::picture_input;
use super::tokenizer::CodeTokenizer;

pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";

const EMBEDDED_TOKENIZER: &str = include_str!("../../models/tokenizer.json");
const EMBEDDED_CONFIG: &str = include_str!("../../models/config.json");
static EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../../models/model.safetensors");

pub struct TrainedModel {
    pub tokenizer: CodeTokenizer,
    pub network: CadModel,
    grammar: PendingGrammar,
}

/// The decoding grammar, compiled on a background thread from the start of a load:
/// compiling it is most of a load's time (~0.6 s), and a caller that loads the model
/// early (the language server at start-up) need not wait for it. The first decode
/// under the mask waits until it is ready.
struct PendingGrammar {
    compiling: Mutex<Option<JoinHandle<Result<Grammar>>>>,
    ready: OnceLock<std::result::Result<Grammar, String>>,
}

impl PendingGrammar {
    fn start(tokenizer: &CodeTokenizer) -> Self {
        let tokenizer = tokenizer.clone();
        let handle = std::thread::spawn(move || {
            Grammar::new(&tokenizer, &canonical_lark(GrammarLimits::default()))
        });
        Self {
            compiling: Mutex::new(Some(handle)),
            ready: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<&Grammar> {
        let done = self.ready.get_or_init(|| {
            let handle = self.compiling.lock().ok().and_then(|mut h| h.take());
            match handle.map(JoinHandle::join) {
                Some(Ok(Ok(grammar))) => Ok(grammar),
                Some(Ok(Err(e))) => Err(format!("{e:#}")),
                Some(Err(_)) | None => Err("the grammar compile thread panicked".into()),
            }
        });
        done.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
    }
}

impl TrainedModel {
    /// A model directory (a training run's output or an exported model).
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).with_context(|| {
                format!(
                    "cannot read {}: is {} a model directory (train one with `cadquery-lsp train --out DIR`)?",
                    path.display(),
                    dir.display()
                )
            })
        };
        let tokenizer =
            String::from_utf8(read(TOKENIZER_FILE)?).context("tokenizer.json is not UTF-8")?;
        let config = String::from_utf8(read(CONFIG_FILE)?).context("config.json is not UTF-8")?;
        Self::from_parts(&tokenizer, &config, &read(WEIGHTS_FILE)?)
            .with_context(|| format!("cannot load the model in {}", dir.display()))
    }

    /// The default model, compiled into the binary from the repository's `models/`.
    pub fn embedded() -> Result<Self> {
        Self::from_parts(EMBEDDED_TOKENIZER, EMBEDDED_CONFIG, EMBEDDED_WEIGHTS)
            .context("the embedded default model does not load (rebuild from models/)")
    }

    /// `dir` when given, else the embedded default.
    pub fn load_or_default(dir: Option<&Path>) -> Result<Self> {
        match dir {
            Some(d) => Self::load(d),
            None => Self::embedded(),
        }
    }

    /// From the three files' contents; weights of any float dtype become f32 in memory.
    /// The grammar goes on compiling in the background (see `grammar`).
    pub fn from_parts(tokenizer: &str, config: &str, weights: &[u8]) -> Result<Self> {
        let tokenizer = CodeTokenizer::from_json(tokenizer)?;
        let grammar = PendingGrammar::start(&tokenizer);
        let config: ModelConfig =
            serde_json::from_str(config).context("config.json is not a model config")?;
        let tensors = candle_core::safetensors::load_buffer(weights, &Device::Cpu)
            .context("the weights are not a safetensors file")?;
        let tensors = tensors
            .into_iter()
            .map(|(k, t)| Ok((k, t.to_dtype(DType::F32)?)))
            .collect::<Result<HashMap<String, Tensor>>>()?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let mut network =
            CadModel::new(&config, vb).context("the weights do not fit config.json")?;
        network.freeze()?;
        anyhow::ensure!(
            config.vocab_size == tokenizer.vocab_size(),
            "config.json says {} tokens but tokenizer.json has {}",
            config.vocab_size,
            tokenizer.vocab_size()
        );
        Ok(Self {
            tokenizer,
            network,
            grammar,
        })
    }

    /// The decoding grammar compiled for this model's tokenizer; waits for the
    /// background compile started by the load if it has not finished.
    pub fn grammar(&self) -> Result<&Grammar> {
        self.grammar.get()
    }

    /// Candidates for a picture; `constrained = false` decodes without the grammar mask.
    pub fn propose(
        &self,
        picture: &image::DynamicImage,
        options: &DecodeOptions,
        constrained: bool,
    ) -> Result<Vec<Candidate>> {
        let input = picture_input(picture, self.network.config.image_size)?;
        let grammar = match constrained {
            true => Some(self.grammar()?),
            false => None,
        };
        propose(&self.network, &self.tokenizer, grammar, &input, options)
    }
}

impl TrainedModel {
    /// In-file completion: `n` distinct continuations of the canonical code `prefix` (the
    /// file up to the cursor) for a picture, each the rest of the current statement or
    /// the next one (`Candidate::continuation`, with the whole code in `code`), best
    /// first. Decoding is constrained by the grammar; a prefix it refuses is an error
    /// naming the line where it goes wrong.
    pub fn continue_code(
        &self,
        picture: &image::DynamicImage,
        prefix: &str,
        n: usize,
        opts: &DecodeOptions,
    ) -> Result<Vec<Candidate>> {
        self.continue_code_until(picture, prefix, n, opts, Stop::Statement)
    }

    /// `continue_code` that stops at `stop` (`Stop::Program`: up to the end of the program).
    pub fn continue_code_until(
        &self,
        picture: &image::DynamicImage,
        prefix: &str,
        n: usize,
        opts: &DecodeOptions,
        stop: Stop,
    ) -> Result<Vec<Candidate>> {
        let input = picture_input(picture, self.network.config.image_size)?;
        let options = DecodeOptions {
            candidates: n,
            ..opts.clone()
        };
        continue_from(
            &self.network,
            &self.tokenizer,
            Some(self.grammar()?),
            &input,
            prefix,
            stop,
            &options,
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

/// Writes a shippable model directory from a training run's output: config, tokenizer,
/// and the weights as f16 (half the size; loading widens them back to f32). Returns the
/// size of the weights file in bytes.
pub fn export_f16(run: &Path, out: &Path) -> Result<u64> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let weights = run.join(WEIGHTS_FILE);
    let tensors = candle_core::safetensors::load(&weights, &Device::Cpu)
        .with_context(|| format!("cannot read the weights {}", weights.display()))?;
    let half = tensors
        .into_iter()
        .map(|(k, t)| Ok((k, t.to_dtype(DType::F16)?)))
        .collect::<Result<HashMap<String, Tensor>>>()?;
    let target = out.join(WEIGHTS_FILE);
    candle_core::safetensors::save(&half, &target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    for name in [TOKENIZER_FILE, CONFIG_FILE] {
        std::fs::copy(run.join(name), out.join(name))
            .with_context(|| format!("cannot copy {name} from {}", run.display()))?;
    }
    Ok(std::fs::metadata(&target)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode::Strategy;
    use crate::model::network::sequence_loss;
    use candle_nn::VarMap;

    /// A tiny untrained model written as a training run would leave it.
    fn tiny_run(dir: &Path, seed: u64) -> VarMap {
        let codes: Vec<String> = (0..20)
            .map(|s| crate::data::generator::generate(s).to_code())
            .collect();
        let tok = CodeTokenizer::build(&codes, 200).unwrap();
        tok.save(&dir.join(TOKENIZER_FILE)).unwrap();
        let cfg = ModelConfig::tiny(tok.vocab_size());
        write_config(dir, &cfg).unwrap();
        let varmap = VarMap::new();
        // Seeded, so that what the tests decode is the same on every run.
        CadModel::new(&cfg, crate::model::seeded::seeded_builder(&varmap, seed)).unwrap();
        varmap.save(dir.join(WEIGHTS_FILE)).unwrap();
        varmap
    }

    #[test]
    fn f16_export_halves_the_weights_and_keeps_the_outputs() {
        let run = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        tiny_run(run.path(), 7);
        let bytes = export_f16(run.path(), out.path()).unwrap();
        let f32_bytes = std::fs::metadata(run.path().join(WEIGHTS_FILE))
            .unwrap()
            .len();
        assert!(bytes < f32_bytes * 6 / 10, "{bytes} vs {f32_bytes}");
        let stored =
            candle_core::safetensors::load(out.path().join(WEIGHTS_FILE), &Device::Cpu).unwrap();
        assert!(stored.values().all(|t| t.dtype() == DType::F16));

        let a = TrainedModel::load(run.path()).unwrap();
        let b = TrainedModel::load(out.path()).unwrap();
        let pics = Tensor::rand(0f32, 1f32, (1, 1, 64, 64), &Device::Cpu).unwrap();
        let toks = Tensor::new(&[[1u32, 40, 41, 42]], &Device::Cpu).unwrap();
        let la = a.network.forward(&pics, &toks).unwrap();
        let lb = b.network.forward(&pics, &toks).unwrap();
        let diff = (&la - &lb).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-2);
        let (l, _) = sequence_loss(&lb, &toks, 0).unwrap();
        assert!(l.to_scalar::<f32>().unwrap().is_finite());
    }

    fn test_picture() -> image::DynamicImage {
        image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(448, 448, |x, y| {
            image::Luma([if (x / 50 + y / 70) % 3 == 0 { 0 } else { 255 }])
        }))
    }

    fn beam_options(width: usize) -> DecodeOptions {
        DecodeOptions {
            strategy: Strategy::Beam { width },
            candidates: width,
            max_tokens: 60,
            seed: 0,
        }
    }

    /// Untrained (seeded) models whose beams often merge into the same code, by the same
    /// bytes or by byte tokens that decode alike: the search still returns 6 distinct
    /// programs, complete ones first, then by probability.
    #[test]
    fn beams_are_distinct_and_best_first_even_untrained() {
        let img = test_picture();
        for seed in [7, 8, 9] {
            let run = tempfile::tempdir().unwrap();
            tiny_run(run.path(), seed);
            let model = TrainedModel::load(run.path()).unwrap();
            for constrained in [true, false] {
                let c = model.propose(&img, &beam_options(6), constrained).unwrap();
                assert_eq!(c.len(), 6, "seed {seed}, constrained {constrained}");
                let codes: std::collections::HashSet<&str> =
                    c.iter().map(|c| c.code.as_str()).collect();
                assert_eq!(codes.len(), c.len(), "duplicates: {c:?}");
                assert!(c.windows(2).all(|w| (w[0].complete && !w[1].complete)
                    || (w[0].complete == w[1].complete && w[0].log_prob >= w[1].log_prob)));
                assert!(c.iter().all(|c| c.code == c.continuation));
            }
        }
    }

    fn tiny_model(dir: &Path) -> TrainedModel {
        tiny_run(dir, 7);
        TrainedModel::load(dir).unwrap()
    }

    /// Every candidate is the prefix plus its continuation, ends the statement when it
    /// is complete, and is spelt by tokens the grammar accepts one by one.
    #[test]
    fn continuations_extend_the_prefix_by_one_statement() {
        let run = tempfile::tempdir().unwrap();
        let model = tiny_model(run.path());
        let program = crate::data::generator::generate(3).to_code();
        let lines: Vec<&str> = program.split_inclusive('\n').collect();
        let whole_lines: String = lines[..4].concat();
        let mid_line = format!(
            "{whole_lines}{}",
            &lines[4][..lines[4].find('(').unwrap() + 1]
        );
        for prefix in [whole_lines, mid_line] {
            let c = model
                .continue_code(&test_picture(), &prefix, 4, &beam_options(4))
                .unwrap();
            assert_eq!(c.len(), 4, "{c:?}");
            let texts: std::collections::HashSet<&str> =
                c.iter().map(|c| c.continuation.as_str()).collect();
            assert_eq!(texts.len(), 4, "{c:?}");
            for c in &c {
                assert_eq!(c.code, format!("{prefix}{}", c.continuation));
                assert!(!c.continuation.is_empty());
                let newlines = c.continuation.matches('\n').count();
                if c.complete {
                    assert!(c.continuation.ends_with('\n') && newlines == 1, "{c:?}");
                } else {
                    assert_eq!(newlines, 0, "{c:?}");
                }
                let mut m = model.grammar().unwrap().matcher();
                for &t in &c.tokens {
                    assert!(m.allowed().unwrap()[t as usize], "refused: {}", c.code);
                    m.consume(t).unwrap();
                }
            }
        }
    }

    /// After a whole program its end (EOS) is one of the continuations.
    #[test]
    fn a_whole_program_may_continue_with_its_end() {
        let run = tempfile::tempdir().unwrap();
        let model = tiny_model(run.path());
        // The shortest of a few programs, so that the tiny model's context has room left.
        let program = (0..20)
            .map(|s| crate::data::generator::generate(s).to_code())
            .min_by_key(|c| c.len())
            .unwrap();
        let room = model.network.config.max_len - model.tokenizer.encode(&program).unwrap().len();
        assert!(room > 50, "{room}");
        let c = model
            .continue_code(&test_picture(), &program, 8, &beam_options(8))
            .unwrap();
        assert!(
            c.iter().any(|c| c.continuation.is_empty() && c.complete),
            "{c:?}"
        );
        assert!(c.iter().all(|c| c.code.starts_with(&program)), "{c:?}");
        // Up to the end of the program instead: every candidate still starts with it.
        let lines: Vec<&str> = program.split_inclusive('\n').collect();
        let prefix = lines[..3].concat();
        let c = model
            .continue_code_until(&test_picture(), &prefix, 2, &beam_options(2), Stop::Program)
            .unwrap();
        assert_eq!(c.len(), 2);
        assert!(c
            .iter()
            .all(|c| c.code == format!("{prefix}{}", c.continuation)));
        assert!(
            c.iter().any(|c| c.continuation.matches('\n').count() > 1),
            "{c:?}"
        );
    }

    #[test]
    fn a_prefix_the_grammar_refuses_is_a_clear_error() {
        let run = tempfile::tempdir().unwrap();
        let model = tiny_model(run.path());
        let program = crate::data::generator::generate(3).to_code();
        let lines: Vec<&str> = program.split_inclusive('\n').collect();
        // wp_sketch9 is not defined on line 4.
        let undefined = format!(
            "{}{}",
            lines[..3].concat(),
            lines[3].replace("wp_sketch0", "wp_sketch9")
        );
        for (prefix, line) in [("import numpy as np\n".to_string(), 1), (undefined, 4)] {
            let err = model
                .continue_code(&test_picture(), &prefix, 2, &beam_options(2))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("grammar") && err.contains(&format!("line {line} ")),
                "{err}"
            );
        }
    }

    /// The committed default model, decoding real pictures under the mask: every complete
    /// candidate is Python without syntax errors that the grammar accepts token by token.
    #[test]
    fn embedded_model_decodes_dev_pictures_to_grammatical_code() {
        let model = TrainedModel::embedded().unwrap();
        let Some(shared) = std::env::var_os("CADQUERY_LSP_SHARED") else {
            eprintln!("CADQUERY_LSP_SHARED not set: dev pictures skipped");
            return;
        };
        let dir = Path::new(&shared).join("data/gencad-dev");
        let pairs = crate::model::dataset::read_pairs(&dir).unwrap();
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        let options = DecodeOptions {
            strategy: Strategy::Beam { width: 3 },
            candidates: 3,
            max_tokens: model.network.config.max_len,
            seed: 0,
        };
        let mut complete = 0;
        for pair in pairs.iter().take(2) {
            let img = image::open(&pair.picture).unwrap();
            let cands = model.propose(&img, &options, true).unwrap();
            assert!(!cands.is_empty());
            for c in cands.iter().filter(|c| c.complete) {
                complete += 1;
                let tree = parser.parse(&c.code, None).unwrap();
                assert!(!tree.root_node().has_error(), "unparsable:\n{}", c.code);
                let mut m = model.grammar().unwrap().matcher();
                for &t in &c.tokens {
                    assert!(
                        m.allowed().unwrap()[t as usize],
                        "grammar refuses:\n{}",
                        c.code
                    );
                    m.consume(t).unwrap();
                }
                assert!(m.allowed().unwrap()[model.tokenizer.eos_id() as usize]);
                assert!(c.code.contains("\nsolid="), "{}", c.code);
            }
        }
        assert!(complete > 0, "no candidate finished within max_len");
    }
}
