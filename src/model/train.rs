//! Training on a `datagen` directory: AdamW with warm-up + cosine decay, resumable
//! checkpoints in the output directory (weights, optimizer moments, state.json), periodic
//! validation on the held-out split, and a loss-curve PNG.
//!
//! VSR and IoU_vol of greedy decodes need CadQuery: the caller hands in a
//! [`ProgramScorer`] (the CLI's builds the programs in the runtime's workers), so the
//! model itself never runs code. Without one, validation reports token accuracy,
//! exact-match and completion rates only.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, D};
use candle_nn::{VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::bundle::{read_config, write_config, TOKENIZER_FILE, WEIGHTS_FILE};
use super::constraint::Grammar;
use super::curve::draw_loss_curve;
use super::dataset::{is_held_out, make_batch, program_tokens, read_pairs, Pair, PictureCache};
use super::decode::{propose, DecodeOptions, Strategy};
use super::grammar::{canonical_lark, GrammarLimits};
use super::network::{parameter_count, sequence_loss, CadModel, ModelConfig};
use super::optim::{learning_rate, AdamW};
use super::tokenizer::CodeTokenizer;
use crate::progress::{CancellationToken, ProgressEvent, ProgressSink};

const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const STATE_FILE: &str = "state.json";
const CURVE_FILE: &str = "loss.png";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
pub enum ModelSize {
    /// ~5M parameters, 224 px input.
    Base,
    /// ~2.5M parameters, 128 px input: the size that trains on 2 CPU cores.
    Small,
    /// For tests and smoke runs.
    Tiny,
}

impl ModelSize {
    pub fn config(self, vocab_size: usize) -> ModelConfig {
        match self {
            ModelSize::Base => ModelConfig::base(vocab_size),
            ModelSize::Small => ModelConfig::small(vocab_size),
            ModelSize::Tiny => ModelConfig::tiny(vocab_size),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub data: PathBuf,
    pub out: PathBuf,
    pub resume: bool,
    /// Total steps of the schedule (a resumed run continues up to it).
    pub steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub warmup: usize,
    pub weight_decay: f64,
    pub eval_every: usize,
    pub checkpoint_every: usize,
    pub size: ModelSize,
    pub max_numbers: usize,
    pub held_out_percent: u64,
    /// Held-out pictures greedily decoded at each validation.
    pub eval_decodes: usize,
    pub seed: u64,
}

impl TrainOptions {
    pub fn new(data: PathBuf, out: PathBuf) -> Self {
        Self {
            data,
            out,
            resume: false,
            steps: 20_000,
            batch_size: 16,
            learning_rate: 1e-3,
            warmup: 500,
            weight_decay: 0.01,
            eval_every: 500,
            checkpoint_every: 250,
            size: ModelSize::Base,
            max_numbers: super::tokenizer::DEFAULT_MAX_NUMBERS,
            held_out_percent: 2,
            eval_decodes: 16,
            seed: 0,
        }
    }
}

/// What building a decoded program gave, against its reference.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProgramScore {
    /// It built a solid.
    pub valid: bool,
    pub iou_vol: f64,
    pub iou_best: f64,
    /// It built a solid whose volumes make no sense (see `scoring::eval::ItemScore`).
    pub broken: bool,
}

/// Builds (prediction, reference) programs and scores them; supplied by the caller,
/// since running code is the runtime's job, not the model's.
pub trait ProgramScorer: Sync {
    fn score(&self, programs: &[(String, String)]) -> Result<Vec<ProgramScore>>;
}

/// Starts a scorer with that many parallel workers and that time limit per build: an
/// early model's programs (dozens of coincident loops) can keep CadQuery busy for minutes.
pub type StartScorer<'a> = &'a dyn Fn(usize, std::time::Duration) -> Result<Box<dyn ProgramScorer>>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Validation {
    pub step: usize,
    pub loss: f32,
    pub token_accuracy: f32,
    /// Greedy constrained decodes equal to the reference code.
    pub exact_match: f32,
    /// Greedy constrained decodes that ended with EOS within max_len.
    pub complete: f32,
    pub decoded: usize,
    /// Valid syntax rate of the greedy decodes (they build a solid); None without a scorer.
    #[serde(default)]
    pub vsr: Option<f32>,
    /// Mean IoU_vol of the greedy decodes against their references (0 for invalid ones).
    #[serde(default)]
    pub iou_vol: Option<f32>,
}

/// What a run has done so far (state.json).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    pub step: usize,
    pub samples_seen: usize,
    pub train_seconds: f64,
    pub losses: Vec<(usize, f32)>,
    pub validation: Vec<Validation>,
    pub parameters: usize,
    pub train_pairs: usize,
    pub held_out_pairs: usize,
    pub skipped_too_long: usize,
}

impl TrainState {
    pub fn samples_per_second(&self) -> f64 {
        self.samples_seen as f64 / self.train_seconds.max(1e-9)
    }
}

pub fn train(
    options: &TrainOptions,
    scorer: Option<&dyn ProgramScorer>,
    progress: &dyn ProgressSink,
    cancel: &CancellationToken,
) -> Result<TrainState> {
    let out = &options.out;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let (held_out, train_set) = split_pairs(options)?;
    let resuming = options.resume && out.join(WEIGHTS_FILE).exists();
    if !options.resume && out.join(WEIGHTS_FILE).exists() {
        bail!(
            "{} already holds a model: pass --resume to continue it, or choose another --out",
            out.display()
        );
    }
    let tokenizer = if resuming {
        CodeTokenizer::load(&out.join(TOKENIZER_FILE))?
    } else {
        let corpus: Vec<String> = train_set.iter().map(|p| p.code.clone()).collect();
        let t = CodeTokenizer::build(&corpus, options.max_numbers)?;
        t.save(&out.join(TOKENIZER_FILE))?;
        t
    };
    let config = if resuming {
        read_config(out)?
    } else {
        let c = options.size.config(tokenizer.vocab_size());
        write_config(out, &c)?;
        c
    };

    let device = Device::Cpu;
    let varmap = VarMap::new();
    let model = CadModel::new(
        &config,
        VarBuilder::from_varmap(&varmap, DType::F32, &device),
    )?;
    let mut optimizer = AdamW::new(&varmap, options.weight_decay)?;
    let mut state = TrainState::default();
    if resuming {
        load_weights(&varmap, &out.join(WEIGHTS_FILE))?;
        // An exported model (models/) has neither: AdamW restarts its moments, the step
        // count restarts at 0 (so the warm-up runs again).
        let opt = out.join(OPTIMIZER_FILE);
        if opt.exists() {
            optimizer.load(&opt)?;
        } else {
            eprintln!(
                "no {OPTIMIZER_FILE} in {}: AdamW moments start from zero",
                out.display()
            );
        }
        if let Ok(text) = std::fs::read_to_string(out.join(STATE_FILE)) {
            state = serde_json::from_str(&text).context("state.json is not a training state")?;
        }
    }
    state.parameters = parameter_count(&varmap);

    let mut data = TokenizedData::new(train_set, held_out, &tokenizer, config.max_len)?;
    data.record(&mut state);
    let grammar = Grammar::new(&tokenizer, &canonical_lark(GrammarLimits::default()))?;
    let pictures = PictureCache::new(config.image_size);

    while state.step < options.steps {
        if cancel.is_cancelled() {
            break;
        }
        let started = Instant::now();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            options.seed ^ (state.step as u64).wrapping_mul(0x9E3779B97F4A7C15),
        );
        let picks = length_matched_batch(&data.by_length, options.batch_size, &mut rng);
        let batch_pairs: Vec<&Pair> = picks
            .iter()
            .map(|&i| &data.train[data.train_tokens[i].0])
            .collect();
        let batch_tokens: Vec<Vec<u32>> = picks
            .iter()
            .map(|&i| data.train_tokens[i].1.clone())
            .collect();
        let batch = make_batch(
            &batch_pairs,
            &batch_tokens,
            &pictures,
            tokenizer.pad_id(),
            &device,
        )?;
        let logits = model.forward(&batch.pictures, &batch.inputs)?;
        let (loss, _) = sequence_loss(&logits, &batch.targets, tokenizer.pad_id())?;
        let lr = learning_rate(
            state.step,
            options.learning_rate,
            options.warmup,
            options.steps,
        );
        optimizer.step(&loss.backward()?, lr)?;
        let loss = loss.to_scalar::<f32>()?;
        if !loss.is_finite() {
            bail!(
                "training diverged at step {} (loss {loss}): lower --lr",
                state.step
            );
        }
        state.step += 1;
        state.samples_seen += options.batch_size;
        state.train_seconds += started.elapsed().as_secs_f64();
        state.losses.push((state.step, loss));
        progress.report(
            ProgressEvent::new("train", state.step as u64, Some(options.steps as u64))
                .with_message(format!(
                    "loss {loss:.3} lr {lr:.2e} {:.1} samples/s",
                    state.samples_per_second()
                )),
        );
        if state.step % options.eval_every == 0 || state.step == options.steps {
            let v = validate(
                &model,
                &tokenizer,
                &grammar,
                &data.held_out,
                &data.held_tokens,
                options.eval_decodes,
                state.step,
                &pictures,
                scorer,
            )?;
            progress.report(
                ProgressEvent::new("validate", state.step as u64, None).with_message(v.summary()),
            );
            state.validation.push(v);
        }
        if state.step % options.checkpoint_every == 0 {
            save_checkpoint(out, &varmap, &optimizer, &state)?;
            // The data directory may still be growing (datagen running beside us).
            let (held_out, train_set) = split_pairs(options)?;
            if train_set.len() + held_out.len() > data.train.len() + data.held_out.len() {
                data = TokenizedData::new(train_set, held_out, &tokenizer, config.max_len)?;
                data.record(&mut state);
            }
        }
    }
    save_checkpoint(out, &varmap, &optimizer, &state)?;
    Ok(state)
}

/// Weights of any float dtype (f16 from `export-model`, f32 from a checkpoint) into `varmap`.
fn load_weights(varmap: &VarMap, path: &Path) -> Result<()> {
    let tensors = candle_core::safetensors::load(path, &Device::Cpu)
        .with_context(|| format!("cannot read the weights {}", path.display()))?;
    for (name, var) in varmap.data().lock().unwrap().iter() {
        let t = tensors
            .get(name)
            .with_context(|| format!("{} lacks the weight {name}", path.display()))?;
        var.set(&t.to_dtype(DType::F32)?)
            .with_context(|| format!("the weight {name} does not fit config.json"))?;
    }
    Ok(())
}

/// The training and held-out pairs of the data directory, split by a hash of the id.
fn split_pairs(options: &TrainOptions) -> Result<(Vec<Pair>, Vec<Pair>)> {
    let (held_out, train_set): (Vec<Pair>, Vec<Pair>) = read_pairs(&options.data)?
        .into_iter()
        .partition(|p| is_held_out(&p.id, options.held_out_percent));
    if train_set.is_empty() {
        bail!(
            "every pair of {} fell in the held-out split",
            options.data.display()
        );
    }
    Ok((held_out, train_set))
}

/// Pairs with their token sequences (those that fit max_len), and the training
/// sequences' indices sorted by length for length-matched batches.
struct TokenizedData {
    train: Vec<Pair>,
    held_out: Vec<Pair>,
    train_tokens: Vec<(usize, Vec<u32>)>,
    held_tokens: Vec<(usize, Vec<u32>)>,
    by_length: Vec<usize>,
    skipped: usize,
}

impl TokenizedData {
    fn new(
        train: Vec<Pair>,
        held_out: Vec<Pair>,
        tokenizer: &CodeTokenizer,
        max_len: usize,
    ) -> Result<Self> {
        let (train_tokens, skipped) = tokenize_all(tokenizer, &train, max_len);
        let (held_tokens, _) = tokenize_all(tokenizer, &held_out, max_len);
        if train_tokens.is_empty() {
            bail!("no training program fits max_len {max_len}");
        }
        let mut by_length: Vec<usize> = (0..train_tokens.len()).collect();
        by_length.sort_by_key(|&i| train_tokens[i].1.len());
        Ok(Self {
            train,
            held_out,
            train_tokens,
            held_tokens,
            by_length,
            skipped,
        })
    }

    fn record(&self, state: &mut TrainState) {
        state.train_pairs = self.train_tokens.len();
        state.held_out_pairs = self.held_tokens.len();
        state.skipped_too_long = self.skipped;
    }
}

/// A batch of programs of similar length (a random window of the length-sorted order):
/// a batch is padded to its longest program, and lengths run from ~20 to ~500 tokens.
fn length_matched_batch(by_length: &[usize], batch: usize, rng: &mut impl Rng) -> Vec<usize> {
    if by_length.len() <= batch {
        return (0..batch).map(|i| by_length[i % by_length.len()]).collect();
    }
    // Windows of 2x the batch, half of it drawn, so batch compositions vary between steps.
    let span = (2 * batch).min(by_length.len());
    let start = rng.random_range(0..=by_length.len() - span);
    let mut window: Vec<usize> = by_length[start..start + span].to_vec();
    for i in 0..batch {
        let j = rng.random_range(i..window.len());
        window.swap(i, j);
    }
    window.truncate(batch);
    window
}

fn tokenize_all(
    tokenizer: &CodeTokenizer,
    pairs: &[Pair],
    max_len: usize,
) -> (Vec<(usize, Vec<u32>)>, usize) {
    let mut kept = Vec::new();
    let mut skipped = 0;
    for (i, p) in pairs.iter().enumerate() {
        match program_tokens(tokenizer, &p.code, max_len) {
            Ok(t) => kept.push((i, t)),
            Err(_) => skipped += 1,
        }
    }
    (kept, skipped)
}

/// Teacher-forced loss and token accuracy on up to 256 held-out pairs, and greedy
/// constrained decodes of the first `decodes` of them (built and scored by `scorer`).
#[allow(clippy::too_many_arguments)]
pub fn validate(
    model: &CadModel,
    tokenizer: &CodeTokenizer,
    grammar: &Grammar,
    pairs: &[Pair],
    tokens: &[(usize, Vec<u32>)],
    decodes: usize,
    step: usize,
    pictures: &PictureCache,
    scorer: Option<&dyn ProgramScorer>,
) -> Result<Validation> {
    let mut v = Validation {
        step,
        ..Default::default()
    };
    if tokens.is_empty() {
        return Ok(v);
    }
    let (mut loss_sum, mut correct, mut counted, mut batches) = (0.0f32, 0.0f32, 0.0f32, 0);
    for chunk in tokens.iter().take(256).collect::<Vec<_>>().chunks(16) {
        let ps: Vec<&Pair> = chunk.iter().map(|(i, _)| &pairs[*i]).collect();
        let ts: Vec<Vec<u32>> = chunk.iter().map(|(_, t)| t.clone()).collect();
        let b = make_batch(&ps, &ts, pictures, tokenizer.pad_id(), model.device())?;
        let logits = model.forward(&b.pictures, &b.inputs)?;
        let (loss, keep) = sequence_loss(&logits, &b.targets, tokenizer.pad_id())?;
        let hits = logits
            .argmax(D::Minus1)?
            .eq(&b.targets)?
            .to_dtype(DType::F32)?
            .flatten_all()?;
        correct += (hits * &keep)?.sum_all()?.to_scalar::<f32>()?;
        counted += keep.sum_all()?.to_scalar::<f32>()?;
        loss_sum += loss.to_scalar::<f32>()?;
        batches += 1;
    }
    v.loss = loss_sum / batches as f32;
    v.token_accuracy = correct / counted.max(1.0);
    let options = DecodeOptions {
        strategy: Strategy::Greedy,
        candidates: 1,
        max_tokens: model.config.max_len - 1,
        seed: 0,
    };
    let mut programs = Vec::new();
    for (i, _) in tokens.iter().take(decodes) {
        let pair = &pairs[*i];
        let picture = pictures.get(&pair.picture)?;
        let best = propose(model, tokenizer, Some(grammar), &picture, &options)?;
        if let Some(c) = best.first() {
            v.complete += c.complete as u8 as f32;
            v.exact_match += (c.code == pair.code) as u8 as f32;
            programs.push((c.code.clone(), pair.code.clone()));
        }
        v.decoded += 1;
    }
    if v.decoded > 0 {
        v.complete /= v.decoded as f32;
        v.exact_match /= v.decoded as f32;
        if let Some(scorer) = scorer {
            let scores = scorer.score(&programs)?;
            let n = v.decoded as f32;
            v.vsr = Some(scores.iter().filter(|s| s.valid).count() as f32 / n);
            v.iou_vol = Some(scores.iter().map(|s| s.iou_vol as f32).sum::<f32>() / n);
        }
    }
    Ok(v)
}

impl Validation {
    pub fn summary(&self) -> String {
        let mut s = format!(
            "val loss {:.3} token acc {:.3} exact {:.2} complete {:.2}",
            self.loss, self.token_accuracy, self.exact_match, self.complete
        );
        if let (Some(vsr), Some(iou)) = (self.vsr, self.iou_vol) {
            s.push_str(&format!(" VSR {vsr:.2} IoU_vol {iou:.3}"));
        }
        s + &format!(" ({} decoded)", self.decoded)
    }
}

/// Writes weights, optimizer and state through temporary files, so an interrupted write
/// never leaves a half checkpoint behind.
fn save_checkpoint(
    out: &Path,
    varmap: &VarMap,
    optimizer: &AdamW,
    state: &TrainState,
) -> Result<()> {
    let tmp = |name: &str| out.join(format!("{name}.tmp"));
    varmap.save(tmp(WEIGHTS_FILE))?;
    optimizer.save(&tmp(OPTIMIZER_FILE))?;
    std::fs::write(tmp(STATE_FILE), serde_json::to_string(state)?)?;
    for name in [WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE] {
        std::fs::rename(tmp(name), out.join(name))
            .with_context(|| format!("cannot write the checkpoint in {}", out.display()))?;
    }
    let val: Vec<(usize, f32)> = state.validation.iter().map(|v| (v.step, v.loss)).collect();
    draw_loss_curve(&out.join(CURVE_FILE), &state.losses, &val)
}

#[cfg(test)]
mod tests {
    use super::super::bundle::TrainedModel;
    use super::*;
    use crate::progress::NoProgress;
    use image::{DynamicImage, GrayImage, Luma};

    /// Eight distinct pictures (a box outline at a different place each) and programs.
    fn write_pairs(dir: &Path) {
        for i in 0..8u32 {
            let mut img = GrayImage::from_pixel(448, 448, Luma([255]));
            let (x0, y0, s) = (40 + 40 * (i % 4), 60 + 150 * (i / 4), 60 + 20 * i);
            for t in 0..s {
                for (x, y) in [
                    (x0 + t, y0),
                    (x0 + t, y0 + s),
                    (x0, y0 + t),
                    (x0 + s, y0 + t),
                ] {
                    img.put_pixel(x, y, Luma([0]));
                }
            }
            img.save(dir.join(format!("{i:04}.png"))).unwrap();
            let r = format!("0.{}", 1 + i);
            let mut code = format!(
                "import cadquery as cq\n# Generating a workplane for sketch 0\nwp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.{i}, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\nloop0=wp_sketch0.moveTo(0.{i}5, 0.0).circle({r})\nsolid0=wp_sketch0.add(loop0).extrude(0.{}25)\nsolid=solid0\n",
                i + 1
            );
            if i % 2 == 1 {
                code.push_str(&format!("# Generating a workplane for sketch 1\nwp_sketch1 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.5), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\nloop1=wp_sketch1.moveTo(0.0, 0.0).lineTo(0.{i}, 0.0).lineTo(0.{i}, 0.5).close()\nsolid1=wp_sketch1.add(loop1).extrude(-0.25)\nsolid=solid.cut(solid1)\n"));
            }
            std::fs::write(dir.join(format!("{i:04}.py")), code).unwrap();
        }
    }

    #[test]
    fn a_tiny_model_overfits_eight_pairs_exactly_and_resumes() {
        let data = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        write_pairs(data.path());
        let mut options = TrainOptions::new(data.path().into(), out.path().into());
        options.size = ModelSize::Tiny;
        options.held_out_percent = 0;
        options.batch_size = 8;
        options.warmup = 20;
        options.learning_rate = 3e-3;
        options.eval_every = 1000;
        options.checkpoint_every = 100;
        let cancel = CancellationToken::new();
        // Train in two legs to exercise resuming from the checkpoint. 400 steps in all: with
        // 300, a CI run's beam once put another pair's program first (greedy was exact).
        options.steps = 200;
        let first = train(&options, None, &NoProgress, &cancel).unwrap();
        assert_eq!(first.step, 200);
        assert!(
            train(&options, None, &NoProgress, &cancel).is_err(),
            "must refuse to overwrite"
        );
        options.resume = true;
        options.steps = 400;
        let state = train(&options, None, &NoProgress, &cancel).unwrap();
        assert_eq!(state.step, 400);
        assert!(out.path().join(CURVE_FILE).exists());

        let model = TrainedModel::load(out.path()).unwrap();
        let greedy = DecodeOptions {
            strategy: Strategy::Greedy,
            candidates: 1,
            max_tokens: 200,
            seed: 0,
        };
        for pair in read_pairs(data.path()).unwrap() {
            let img: DynamicImage = image::open(&pair.picture).unwrap();
            let got = model.propose(&img, &greedy, true).unwrap();
            assert_eq!(got[0].code, pair.code, "pair {}", pair.id);
            assert!(got[0].complete);
            // Beam and sampling give several distinct candidates, best first.
            let beam = DecodeOptions {
                strategy: Strategy::Beam { width: 4 },
                candidates: 4,
                ..greedy.clone()
            };
            let cands = model.propose(&img, &beam, true).unwrap();
            assert_eq!(cands[0].code, pair.code);
            // Distinct programs, best first. Not "more than one": beams whose tokens spell
            // the same code (byte fallback vs a number token) collapse into one, so an
            // overfitted model can leave a single distinct program (seen intermittently).
            let codes: std::collections::HashSet<&str> =
                cands.iter().map(|c| c.code.as_str()).collect();
            assert_eq!(codes.len(), cands.len(), "candidates must be distinct");
            assert!(cands
                .windows(2)
                .all(|w| w[0].log_prob >= w[1].log_prob || !w[1].complete));
        }
    }
}
