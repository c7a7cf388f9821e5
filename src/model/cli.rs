//! Command-line entry points of the model: `train`, `export-model` and `bench model`.

use std::io::IsTerminal;
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
use super::train::{train, ModelSize, StartScorer, TrainOptions};
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
    #[arg(long, value_enum, default_value_t = ModelSize::Small)]
    pub size: ModelSize,
    /// Percent of pairs held out for validation (by a hash of the id).
    #[arg(long, default_value_t = 2)]
    pub held_out_percent: u64,
    /// Held-out pictures greedily decoded at each validation.
    #[arg(long, default_value_t = 16)]
    pub eval_decodes: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Skip building the validation decodes with CadQuery (no VSR / IoU_vol).
    #[arg(long)]
    pub no_build: bool,
}

/// `start_scorer` (CadQuery workers for the validation decodes) is given by the caller,
/// so the model never depends on the runtime. A missing Python only loses VSR / IoU_vol.
pub fn run_train(args: TrainArgs, start_scorer: StartScorer) -> Result<()> {
    let scorer = if args.no_build {
        None
    } else {
        match start_scorer(1, std::time::Duration::from_secs(10)) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("validation without VSR / IoU_vol: cannot start CadQuery ({e:#})");
                None
            }
        }
    };
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
    // Without a terminal (a background run) the bar is hidden: log plain lines instead.
    let plain = !std::io::stderr().is_terminal();
    let report = |e: ProgressEvent| {
        if plain {
            if e.stage == "validate" || e.done.is_multiple_of(10) {
                eprintln!(
                    "{} step {}: {}",
                    e.stage,
                    e.done,
                    e.message.unwrap_or_default()
                );
            }
        } else if e.stage == "validate" {
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
    let state = train(&options, scorer.as_deref(), &report, &cancel)?;
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
pub struct ExportArgs {
    /// A training run's output directory (`train --out`).
    #[arg(long)]
    pub run: PathBuf,
    /// Where the shippable model goes (the repository's `models/` for the default).
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes config, tokenizer and f16 weights of a training run, and checks they load.
pub fn run_export(args: ExportArgs) -> Result<()> {
    let bytes = super::bundle::export_f16(&args.run, &args.out)?;
    let started = Instant::now();
    TrainedModel::load(&args.out)?;
    println!(
        "exported {} -> {} ({:.1} MB of f16 weights; loads in {:.0} ms)",
        args.run.display(),
        args.out.display(),
        bytes as f64 / 1e6,
        ms(started)
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct BenchModelArgs {
    /// A model directory; without one the embedded default model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// An UNTRAINED model of --size instead (speed only).
    #[arg(long)]
    pub untrained: bool,
    /// Tokens per sequence in the training-speed measurement.
    #[arg(long, default_value_t = 160)]
    pub seq_len: usize,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Network size of the untrained model (ignored with --model).
    #[arg(long, value_enum, default_value_t = ModelSize::Small)]
    pub size: ModelSize,
    /// The picture to decode (default: a synthetic test pattern).
    #[arg(long)]
    pub picture: Option<PathBuf>,
    /// Only measure training speed (skip loading and decoding).
    #[arg(long)]
    pub training_only: bool,
}

/// Prints decode speed, time to propose 8 (and 32 sampled) candidates, training
/// samples/s, load time and peak memory.
pub fn run_bench(args: BenchModelArgs) -> Result<()> {
    let threads = rayon::current_num_threads();
    println!("bench model: {threads} rayon threads, dev-or-release as built");
    let scratch = tempfile::tempdir()?;
    let dir = if args.untrained {
        println!(
            "(--untrained: an UNTRAINED {:?} model, so figures are speed only)",
            args.size
        );
        untrained_model(scratch.path(), args.size)?;
        Some(scratch.path().to_path_buf())
    } else {
        args.model.clone()
    };
    if args.training_only {
        let cfg = match &dir {
            Some(d) => super::bundle::read_config(d)?,
            None => TrainedModel::embedded()?.network.config,
        };
        return bench_training(&cfg, args.batch_size, args.seq_len);
    }
    let started = Instant::now();
    let model = TrainedModel::load_or_default(dir.as_deref())?;
    println!(
        "model load ({}): {:.0} ms (tokenizer, f16 -> f32 weights; the grammar compiles in the background)",
        dir.as_ref()
            .map_or("embedded default".to_string(), |d| d.display().to_string()),
        ms(started)
    );
    model.grammar()?;
    println!(
        "  grammar ready {:.0} ms after the load started (the first masked decode waits for it)",
        ms(started)
    );
    let (t, c) = (Instant::now(), cpu_ms());
    super::constraint::Grammar::new(
        &model.tokenizer,
        &super::grammar::canonical_lark(super::grammar::GrammarLimits::default()),
    )?;
    println!(
        "  grammar compile alone: {:.0} ms ({:.0} ms CPU)",
        ms(t),
        cpu_ms() - c
    );
    let cfg = model.network.config.clone();
    let picture = match &args.picture {
        Some(p) => image::open(p)
            .map_err(|e| anyhow::anyhow!("cannot read the picture {}: {e}", p.display()))?,
        None => image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(448, 448, |x, y| {
            image::Luma([if (x / 40 + y / 40) % 5 == 0 { 0 } else { 200 }])
        })),
    };
    for constrained in [true, false] {
        let options = DecodeOptions {
            strategy: Strategy::Greedy,
            candidates: 1,
            max_tokens: cfg.max_len,
            seed: 0,
        };
        let (t, cpu) = (Instant::now(), cpu_ms());
        let c = model.propose(&picture, &options, constrained)?;
        let n = c.first().map_or(0, |c| c.tokens.len()).max(1);
        println!(
            "greedy decode ({}): {n} tokens in {:.0} ms ({:.0} ms CPU) = {:.0} tokens/s",
            if constrained {
                "grammar mask"
            } else {
                "no mask"
            },
            ms(t),
            cpu_ms() - cpu,
            n as f64 / t.elapsed().as_secs_f64()
        );
    }
    // the last: what generate's model source and eval-model's best row draw, before the
    // picture picks among them
    for (name, strategy, n) in [
        ("beam 8", Strategy::Beam { width: 8 }, 8),
        (
            "sample 8 (t=0.8, p=0.95)",
            Strategy::Sample {
                temperature: 0.8,
                top_p: 0.95,
            },
            8,
        ),
        (
            "sample 32 (t=1.0, p=0.95)",
            Strategy::Sample {
                temperature: 1.0,
                top_p: 0.95,
            },
            32,
        ),
    ] {
        let options = DecodeOptions {
            strategy,
            candidates: n,
            max_tokens: cfg.max_len,
            seed: 1,
        };
        let (t, cpu) = (Instant::now(), cpu_ms());
        let c = model.propose(&picture, &options, true)?;
        let tokens: usize = c.iter().map(|c| c.tokens.len()).sum();
        println!(
            "propose {n} candidates, {name}: {:.0} ms ({:.0} ms CPU) = {:.1} candidates/s ({} distinct, {} complete, {tokens} tokens)",
            ms(t),
            cpu_ms() - cpu,
            c.len() as f64 / t.elapsed().as_secs_f64(),
            c.len(),
            c.iter().filter(|c| c.complete).count()
        );
    }
    bench_training(&cfg, args.batch_size, args.seq_len)?;
    println!("peak memory (VmHWM): {}", peak_memory());
    Ok(())
}

fn untrained_model(dir: &std::path::Path, size: ModelSize) -> Result<()> {
    let tokenizer = CodeTokenizer::build(&[], super::tokenizer::DEFAULT_MAX_NUMBERS)?;
    tokenizer.save(&dir.join(TOKENIZER_FILE))?;
    let cfg = size.config(tokenizer.vocab_size());
    write_config(dir, &cfg)?;
    let varmap = VarMap::new();
    // Seeded, so that speed figures of two builds decode the same tokens.
    CadModel::new(&cfg, super::seeded::seeded_builder(&varmap, 1))?;
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
    // (forward, backward, optimizer) seconds per step; the first step allocates, so skip it.
    let mut times = Vec::new();
    for _ in 0..4 {
        let t = Instant::now();
        let logits = model.forward(&pictures, &tokens)?;
        let (loss, _) = sequence_loss(&logits, &tokens, 0)?;
        let forward = t.elapsed().as_secs_f64();
        let grads = loss.backward()?;
        let backward = t.elapsed().as_secs_f64() - forward;
        optimizer.step(&grads, 1e-4)?;
        let total = t.elapsed().as_secs_f64();
        times.push((forward, backward, total - forward - backward));
    }
    let n = (times.len() - 1) as f64;
    let mean = |f: fn(&(f64, f64, f64)) -> f64| times[1..].iter().map(f).sum::<f64>() / n;
    let (fwd, bwd, opt) = (mean(|t| t.0), mean(|t| t.1), mean(|t| t.2));
    let step = fwd + bwd + opt;
    println!(
        "training: {} parameters, {} px, batch {batch} x {seq_len} tokens, {step:.2} s/step \
         (forward {fwd:.2}, backward {bwd:.2}, optimizer {opt:.2}) = {:.2} samples/s",
        parameter_count(&varmap),
        cfg.image_size,
        batch as f64 / step
    );
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// CPU time of the whole process (all threads) in ms: on a shared machine the wall time
/// also counts the time other processes held the cores.
fn cpu_ms() -> f64 {
    // SAFETY: rusage is plain data; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(usage.ru_utime) + ms(usage.ru_stime)
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
