//! `generate`: one picture (best code on stdout, ranked alternatives on stderr), or a
//! folder of pictures (`--batch`, ready for `eval`), or building a program library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use super::generator::{Generator, GeneratorConfig};
use super::picture::Picture;
use super::pipeline::{GenerateOptions, GenerateStats, Suggestion};
use super::retrieval::RetrievalIndex;
use crate::progress::{CancellationToken, NoProgress};
use crate::runtime::cli::BarProgress;
use crate::runtime::{PoolConfig, WorkerPool};

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The picture (PNG or JPEG) of a part.
    pub image: Option<PathBuf>,
    /// How many ranked suggestions to print.
    #[arg(short = 'n', default_value_t = 5)]
    pub n: usize,
    /// Write the best code to this file.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Print the suggestions, their scores and the run's figures as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write each suggestion's render beside the input picture into this folder.
    #[arg(long)]
    pub renders: Option<PathBuf>,
    /// Native evaluations (renders) per refined candidate: the refinement budget. The
    /// answer depends only on the picture, this and --seed.
    #[arg(long, default_value_t = 900)]
    pub evaluations: usize,
    /// Wall-clock limit in seconds of each refinement (candidates refine side by side):
    /// a safety net for slow machines. When it stops refinement early, the answer depends
    /// on the machine's load, and the summary says so.
    #[arg(long, default_value_t = 20.0)]
    pub budget: f64,
    /// Skip refinement (rank the proposals as they are).
    #[arg(long)]
    pub no_refine: bool,
    /// Generate for every IN_DIR/ID.png (and .jpg) into --out OUT_DIR/ID.py.
    #[arg(long, value_name = "IN_DIR")]
    pub batch: Option<PathBuf>,
    /// Output folder of --batch.
    #[arg(long, value_name = "OUT_DIR")]
    pub out: Option<PathBuf>,
    /// With --batch: also write what each earlier stage alone would answer, into
    /// OUT_DIR/stages/{proposal,filtered,reranked}/ID.py (for `eval`).
    #[arg(long)]
    pub stages: bool,
    /// Pictures generated at the same time in --batch (they share the worker pool).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// A trained model directory instead of the built-in model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Add the model built into the binary as a proposal source (an early checkpoint:
    /// slow and weak so far, see models/MODEL_CARD.md).
    #[arg(long)]
    pub builtin_model: bool,
    /// A program library file instead of the built-in one.
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Do not use the program library.
    #[arg(long)]
    pub no_library: bool,
    /// Build a program library from the canonical programs (*.py) of this folder (a
    /// `datagen` output) into -o FILE, and exit.
    #[arg(long, value_name = "DIR")]
    pub build_library: Option<PathBuf>,
    /// With --build-library: index at most this many programs.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Python with CadQuery (default: discovery, then the managed environment).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// CadQuery worker processes.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run_command(args: GenerateArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.build_library {
        return build_library(dir, args.output.as_deref(), args.limit);
    }
    let config = GeneratorConfig {
        model_dir: args.model.clone(),
        builtin_model: args.builtin_model,
        library: args.library.clone(),
        no_library: args.no_library,
        max_tokens: None,
    };
    match (&args.batch, &args.image) {
        (Some(input), None) => {
            let out = args
                .out
                .as_deref()
                .context("--batch needs --out OUT_DIR for the generated scripts")?;
            run_batch(&args, &config, input, out)
        }
        (None, Some(image)) => run_one(&args, &config, image),
        (Some(_), Some(_)) => bail!("give either a picture or --batch IN_DIR, not both"),
        (None, None) => bail!("give a picture (generate part.png) or --batch IN_DIR --out OUT_DIR"),
    }
}

fn options(args: &GenerateArgs) -> GenerateOptions {
    let mut opts = GenerateOptions {
        suggestions: args.n.max(1),
        refine_time: Duration::from_secs_f64(args.budget.max(0.0)),
        refine_evaluations: args.evaluations,
        seed: args.seed,
        ..GenerateOptions::default()
    };
    if args.no_refine {
        opts.refine_top = 0;
    }
    opts
}

fn start_pool(args: &GenerateArgs) -> anyhow::Result<WorkerPool> {
    let progress = BarProgress::new();
    Ok(WorkerPool::start_with_progress(
        PoolConfig {
            python: args.python.clone(),
            workers: args.workers.max(1),
            ..PoolConfig::default()
        },
        &progress,
    )?)
}

fn run_one(args: &GenerateArgs, config: &GeneratorConfig, image: &Path) -> anyhow::Result<()> {
    // read the picture first: a bad file is reported before anything slow starts
    let picture = Picture::load(image)?;
    let generator = Generator::new(config)?;
    let pool = start_pool(args)?;
    let started = Instant::now();
    let (suggestions, stats) = {
        let progress = BarProgress::new();
        generator.generate(
            &picture,
            &pool,
            &options(args),
            &progress,
            &CancellationToken::new(),
        )?
    };
    let seconds = started.elapsed().as_secs_f64();
    let best = &suggestions[0];
    if let Some(path) = &args.output {
        std::fs::write(path, &best.code)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut written = Vec::new();
    if let Some(dir) = &args.renders {
        written = write_renders(dir, image, &picture, &suggestions)?;
    }
    if args.json {
        let json = serde_json::json!({
            "image": image.display().to_string(),
            "seconds": seconds,
            "sources": generator.loaded,
            "suggestions": suggestions.iter().zip(0..).map(|(s, k)| suggestion_json(s, written.get(k))).collect::<Vec<_>>(),
            "stats": stats,
        });
        println!("{json}");
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    writeln!(err, "{}", table(&suggestions))?;
    writeln!(
        err,
        "{} proposals, {} executions ({} valid), {} refine evaluations, {seconds:.1} s",
        stats.proposals, stats.executions, stats.valid, stats.refine_evaluations
    )?;
    if stats.refine_cut_short > 0 {
        writeln!(
            err,
            "note: --budget {} s stopped {} refinement(s) before their {} evaluations; the answer depends on this machine's load",
            args.budget, stats.refine_cut_short, args.evaluations
        )?;
    }
    for path in &written {
        writeln!(err, "render: {}", path.display())?;
    }
    print!("{}", best.code);
    Ok(())
}

fn suggestion_json(s: &Suggestion, render: Option<&PathBuf>) -> serde_json::Value {
    serde_json::json!({
        "code": s.code,
        "scores": s.scores,
        "provenance": s.provenance,
        "volume": s.facts.volume,
        "render": render.map(|p| p.display().to_string()),
    })
}

/// The ranked table: rank, match with the picture, source, size of the program.
fn table(suggestions: &[Suggestion]) -> String {
    let mut out = String::from(" # match silhouette edge-px literals source\n");
    for (k, s) in suggestions.iter().enumerate() {
        let a = &s.scores.agreement;
        out.push_str(&format!(
            "{:>2} {:>5.3} {:>10.3} {:>7.2} {:>8} {}{}\n",
            k + 1,
            a.total,
            a.silhouette_iou,
            a.edge_chamfer,
            s.scores.literals,
            s.provenance.source,
            if s.provenance.refined {
                " +refined"
            } else {
                ""
            }
        ));
    }
    out
}

/// Writes DIR/STEM.candidate-K.png: the input picture and candidate K's render side by side.
fn write_renders(
    dir: &Path,
    image: &Path,
    picture: &Picture,
    suggestions: &[Suggestion],
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stem = image
        .file_stem()
        .map_or("picture".into(), |s| s.to_string_lossy());
    let size = picture.size;
    let mut paths = Vec::new();
    for (k, s) in suggestions.iter().enumerate() {
        let mut side = image::RgbImage::new(size * 2, size);
        for y in 0..size {
            for x in 0..size {
                let g = picture.grey[(y * size + x) as usize];
                side.put_pixel(x, y, image::Rgb([g, g, g]));
                if let Some(p) = s.render.get_pixel_checked(x, y) {
                    side.put_pixel(size + x, y, *p);
                }
            }
        }
        let path = dir.join(format!("{stem}.candidate-{}.png", k + 1));
        side.save(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

/// Pictures of a folder, sorted: (id, path).
pub(super) fn pictures_in(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .collect();
    out.sort();
    if out.is_empty() {
        bail!("no pictures (*.png, *.jpg) in {}", dir.display());
    }
    Ok(out)
}

const STAGES: [&str; 3] = ["proposal", "filtered", "reranked"];

fn stage_code<'a>(stats: &'a GenerateStats, stage: &str) -> Option<&'a String> {
    match stage {
        "proposal" => stats.stages.proposal.as_ref(),
        "filtered" => stats.stages.filtered.as_ref(),
        _ => stats.stages.reranked.as_ref(),
    }
}

fn run_batch(
    args: &GenerateArgs,
    config: &GeneratorConfig,
    input: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let pictures = pictures_in(input)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    if args.stages {
        for stage in STAGES {
            std::fs::create_dir_all(out.join("stages").join(stage))?;
        }
    }
    let generator = Generator::new(config)?;
    let pool = start_pool(args)?;
    let opts = options(args);
    let bar = ProgressBar::new(pictures.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("generate [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let next = AtomicUsize::new(0);
    let lines = Mutex::new(Vec::new());
    let times = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..args.jobs.clamp(1, pictures.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, path)) = pictures.get(i) else {
                    break;
                };
                let started = Instant::now();
                let line = match Picture::load(path).map_err(anyhow::Error::from).and_then(|p| {
                    generator
                        .generate(&p, &pool, &opts, &NoProgress, &CancellationToken::new())
                        .map_err(anyhow::Error::from)
                }) {
                    Ok((suggestions, stats)) => {
                        let best = &suggestions[0];
                        let written = std::fs::write(out.join(format!("{id}.py")), &best.code);
                        if args.stages {
                            for stage in STAGES {
                                if let Some(code) = stage_code(&stats, stage) {
                                    let _ = std::fs::write(
                                        out.join("stages").join(stage).join(format!("{id}.py")),
                                        code,
                                    );
                                }
                            }
                        }
                        serde_json::json!({
                            "id": id, "ok": written.is_ok(), "seconds": started.elapsed().as_secs_f64(),
                            "match": best.scores.agreement.total, "source": best.provenance.source,
                            "refined": best.provenance.refined, "stats": stats,
                        })
                    }
                    Err(e) => {
                        bar.suspend(|| eprintln!("{id}: {e:#}"));
                        serde_json::json!({"id": id, "ok": false, "error": format!("{e:#}"),
                            "seconds": started.elapsed().as_secs_f64()})
                    }
                };
                times.lock().unwrap().push(started.elapsed().as_secs_f64());
                lines.lock().unwrap().push(line);
                bar.inc(1);
                bar.set_message(id.clone());
            });
        }
    });
    bar.finish_and_clear();
    let mut lines = lines.into_inner().unwrap();
    lines.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let manifest = out.join("generate.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&manifest, text)
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    let failed = lines.iter().filter(|l| l["ok"] != true).count();
    let cut_short = lines
        .iter()
        .filter(|l| l["stats"]["refine_cut_short"].as_u64().unwrap_or(0) > 0)
        .count();
    if cut_short > 0 {
        eprintln!(
            "note: --budget {} s stopped refinement early on {cut_short} picture(s); their answers depend on this machine's load",
            args.budget
        );
    }
    let mut times = times.into_inner().unwrap();
    times.sort_by(f64::total_cmp);
    eprintln!(
        "generated {} of {} pictures into {} (p50 {:.1} s, max {:.1} s per picture); details in {}",
        lines.len() - failed,
        lines.len(),
        out.display(),
        times[times.len() / 2],
        times[times.len() - 1],
        manifest.display()
    );
    if failed > 0 {
        bail!("{failed} pictures failed (see above)");
    }
    Ok(())
}

/// `generate --build-library DIR -o FILE`: describes every canonical program of DIR by
/// its native render, in parallel.
fn build_library(dir: &Path, output: Option<&Path>, limit: Option<usize>) -> anyhow::Result<()> {
    let output = output.context("--build-library needs -o FILE for the library")?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("library [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let progress = |e: crate::progress::ProgressEvent| {
        if let Some(t) = e.total {
            bar.set_length(t);
        }
        bar.set_position(e.done);
    };
    let (index, skipped) =
        RetrievalIndex::build_from_dir(dir, limit.unwrap_or(usize::MAX), &progress)?;
    bar.finish_and_clear();
    index.save(output)?;
    eprintln!(
        "{} programs indexed into {} ({skipped} skipped: not canonical or empty)",
        index.entries.len(),
        output.display()
    );
    Ok(())
}
