//! Command-line entry points of the model: `train` and `bench model`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use indicatif::{ProgressBar, ProgressStyle};

use super::bundle::{write_config, TrainedModel, TOKENIZER_FILE, WEIGHTS_FILE};
use super::decode::{DecodeOptions, Strategy};
use super::network::{parameter_count, sequence_loss, CadModel, ModelConfig};
use super::optim::AdamW;
use super::tokenizer::CodeTokenizer;
use super::train::{train, ModelSize, TrainOptions};
use crate::progress::{CancellationToken, ProgressEvent};

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// A `datagen` output directory (ID.png + ID.py pairs).
    #[arg(long)]
    pub data: PathBuf,
    /// Where the model, checkpoints, state.json and loss.png go.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    /// Total steps of the learning-rate schedule.
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 500)]
    pub warmup: usize,
    #[arg(long, default_value_t = 500)]
    pub eval_every: usize,
    #[arg(long, default_value_t = 250)]
    pub checkpoint_every: usize,
    #[arg(long, value_enum, default_value_t = ModelSize::Base)]
    pub size: ModelSize,
    /// Percent of pairs held out for validation (by a hash of the id).
    #[arg(long, default_value_t = 2)]
    pub held_out_percent: u64,
    /// Held-out pictures greedily decoded at each validation.
    #[arg(long, default_value_t = 16)]
    pub eval_decodes: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run_train(args: TrainArgs) -> Result<()> {
    let mut options = TrainOptions::new(args.data, args.out);
    options.resume = args.resume;
    options.steps = args.steps;
    options.batch_size = args.batch_size;
    options.learning_rate = args.lr;
    options.warmup = args.warmup;
    options.eval_every = args.eval_every.max(1);
    options.checkpoint_every = args.checkpoint_every.max(1);
    options.size = args.size;
    options.held_out_percent = args.held_out_percent;
    options.eval_decodes = args.eval_decodes;
    options.seed = args.seed;
    let bar = ProgressBar::new(options.steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let cancel = CancellationToken::new();
    let report = |e: ProgressEvent| {
        if e.stage == "validate" {
            bar.println(format!(
                "step {}: {}",
                e.done,
                e.message.unwrap_or_default()
            ));
        } else {
            bar.set_position(e.done);
            if let Some(m) = e.message {
                bar.set_message(m);
            }
        }
    };
    let state = train(&options, &report, &cancel)?;
    bar.finish();
    println!(
        "trained {} steps ({} parameters, {} training / {} held-out pairs, {} too long) at {:.2} samples/s; model in {}",
        state.step,
        state.parameters,
        state.train_pairs,
        state.held_out_pairs,
        state.skipped_too_long,
        state.samples_per_second(),
        options.out.display()
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct BenchModelArgs {
    /// A trained model directory; without one an untrained base model measures speed only.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Tokens per sequence in the training-speed measurement.
    #[arg(long, default_value_t = 160)]
    pub seq_len: usize,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
}

/// Prints decode speed, time to propose 8 candidates, training samples/s, load time and
/// peak memory.
pub fn run_bench(args: BenchModelArgs) -> Result<()> {
    let threads = rayon::current_num_threads();
    println!("bench model: {threads} rayon threads, dev-or-release as built");
    let scratch = tempfile::tempdir()?;
    let dir = match &args.model {
        Some(d) => d.clone(),
        None => {
            println!("(no --model: an UNTRAINED base model, so figures are speed only)");
            untrained_model(scratch.path())?;
            scratch.path().to_path_buf()
        }
    };
    let started = Instant::now();
    let model = TrainedModel::load(&dir)?;
    println!("model load: {:.0} ms (incl. grammar compile)", ms(started));
    let cfg = model.network.config.clone();
    let picture = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(448, 448, |x, y| {
        image::Luma([if (x / 40 + y / 40) % 5 == 0 { 0 } else { 200 }])
    }));
    for constrained in [true, false] {
        let options = DecodeOptions {
            strategy: Strategy::Greedy,
            candidates: 1,
            max_tokens: 200,
            seed: 0,
        };
        let t = Instant::now();
        let c = model.propose(&picture, &options, constrained)?;
        let n = c.first().map_or(0, |c| c.tokens.len()).max(1);
        println!(
            "greedy decode ({}): {n} tokens in {:.0} ms = {:.0} tokens/s",
            if constrained {
                "grammar mask"
            } else {
                "no mask"
            },
            ms(t),
            n as f64 / t.elapsed().as_secs_f64()
        );
    }
    for (name, strategy) in [
        ("beam 8", Strategy::Beam { width: 8 }),
        (
            "sample 8 (t=0.8, p=0.95)",
            Strategy::Sample {
                temperature: 0.8,
                top_p: 0.95,
            },
        ),
    ] {
        let options = DecodeOptions {
            strategy,
            candidates: 8,
            max_tokens: 200,
            seed: 1,
        };
        let t = Instant::now();
        let c = model.propose(&picture, &options, true)?;
        let tokens: usize = c.iter().map(|c| c.tokens.len()).sum();
        println!(
            "propose 8 candidates, {name}: {:.0} ms ({} distinct, {} complete, {tokens} tokens)",
            ms(t),
            c.len(),
            c.iter().filter(|c| c.complete).count()
        );
    }
    bench_training(&cfg, args.batch_size, args.seq_len)?;
    println!("peak memory (VmHWM): {}", peak_memory());
    Ok(())
}

fn untrained_model(dir: &std::path::Path) -> Result<()> {
    let tokenizer = CodeTokenizer::build(&[], super::tokenizer::DEFAULT_MAX_NUMBERS)?;
    tokenizer.save(&dir.join(TOKENIZER_FILE))?;
    let cfg = ModelConfig::base(tokenizer.vocab_size());
    write_config(dir, &cfg)?;
    let varmap = VarMap::new();
    CadModel::new(
        &cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )?;
    varmap.save(dir.join(WEIGHTS_FILE))?;
    Ok(())
}

fn bench_training(cfg: &ModelConfig, batch: usize, seq_len: usize) -> Result<()> {
    let varmap = VarMap::new();
    let model = CadModel::new(
        cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )?;
    let mut optimizer = AdamW::new(&varmap, 0.01)?;
    let s = cfg.image_size;
    let pictures = Tensor::rand(0f32, 1f32, (batch, 1, s, s), &Device::Cpu)?;
    let tokens = Tensor::rand(
        0f32,
        (cfg.vocab_size - 1) as f32,
        (batch, seq_len),
        &Device::Cpu,
    )?
    .to_dtype(DType::U32)?;
    let mut times = Vec::new();
    for _ in 0..4 {
        let t = Instant::now();
        let logits = model.forward(&pictures, &tokens)?;
        let (loss, _) = sequence_loss(&logits, &tokens, 0)?;
        optimizer.step(&loss.backward()?, 1e-4)?;
        times.push(t.elapsed().as_secs_f64());
    }
    // The first step allocates; report the rest.
    let mean = times[1..].iter().sum::<f64>() / (times.len() - 1) as f64;
    println!(
        "training: {} parameters, batch {batch} x {seq_len} tokens, {:.2} s/step = {:.2} samples/s",
        parameter_count(&varmap),
        mean,
        batch as f64 / mean
    );
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
