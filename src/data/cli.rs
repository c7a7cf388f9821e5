//! `cadquery-lsp datagen`: write synthetic (picture, canonical code) pairs, or compare the
//! generator's statistics with real scripts.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::generator::generate;
use super::program::Program;
use super::stats::{comparison_table, Histograms, ProgramStats};

#[derive(clap::Args, Debug, Clone)]
pub struct DatagenArgs {
    /// How many valid pairs to write (ids already in the manifest count).
    #[arg(long, default_value_t = 1000)]
    pub n: usize,
    /// Output folder: ID.png, ID.py and manifest.jsonl.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the whole set; sample i uses a seed derived from it and i.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write only the canonical code (ID.py) and the manifest, without executing or rendering.
    #[arg(long)]
    pub code_only: bool,
    /// Print a markdown table comparing the generator's statistics over --n programs with
    /// the canonical scripts (*.py) in this folder, and exit.
    #[arg(long, value_name = "DIR")]
    pub compare_with: Option<PathBuf>,
}

/// The seed of sample `index` in the set of `seed`: distinct streams, stable across runs.
pub fn sample_seed(seed: u64, index: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// The id of sample `index` (also its file stem).
pub fn sample_id(seed: u64, index: u64) -> String {
    format!("s{seed}-{index:07}")
}

/// One line of manifest.jsonl.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub id: String,
    pub seed: u64,
    pub stats: serde_json::Value,
}

/// Ids already written to `manifest` (a run that stopped can resume). Lines that do not
/// parse (a write cut short) are ignored and their sample is redone.
pub fn manifest_ids(manifest: &Path) -> anyhow::Result<HashSet<String>> {
    let mut out = HashSet::new();
    match std::fs::File::open(manifest) {
        Ok(f) => {
            for line in std::io::BufReader::new(f).lines() {
                let line = line.with_context(|| format!("reading {}", manifest.display()))?;
                if let Ok(e) = serde_json::from_str::<ManifestEntry>(&line) {
                    out.insert(e.id);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", manifest.display())),
    }
    Ok(out)
}

pub fn run(args: DatagenArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.compare_with {
        return compare(dir, args.n, args.seed);
    }
    let Some(out) = args.out.clone() else {
        anyhow::bail!("datagen needs --out DIR (or --compare-with DIR to print statistics)");
    };
    if args.code_only {
        return write_code_only(&out, args.n, args.seed);
    }
    super::datagen::run(&out, &args)
}

/// Reads every `*.py` in `dir` as a canonical program.
pub fn read_programs(dir: &Path) -> anyhow::Result<Vec<(String, Program)>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for e in entries {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "py") {
            let code = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let p = Program::parse(&code)
                .with_context(|| format!("{} is not canonical code", path.display()))?;
            out.push((
                path.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                p,
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn compare(dir: &Path, n: usize, seed: u64) -> anyhow::Result<()> {
    let real = read_programs(dir)?;
    anyhow::ensure!(!real.is_empty(), "no *.py in {}", dir.display());
    let real_h = Histograms::of(real.iter().map(|(_, p)| p));
    let synth: Vec<Program> = (0..n as u64)
        .map(|i| generate(sample_seed(seed, i)))
        .collect();
    let synth_h = Histograms::of(&synth);
    print!(
        "{}",
        comparison_table(("real", &real_h), ("synthetic", &synth_h))
    );
    Ok(())
}

fn write_code_only(out: &Path, n: usize, seed: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let manifest_path = out.join("manifest.jsonl");
    let done = manifest_ids(&manifest_path)?;
    let mut manifest = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&manifest_path)
        .with_context(|| format!("opening {}", manifest_path.display()))?;
    for i in 0..n as u64 {
        let id = sample_id(seed, i);
        if done.contains(&id) {
            continue;
        }
        let s = sample_seed(seed, i);
        let program = generate(s);
        let py = out.join(format!("{id}.py"));
        std::fs::write(&py, program.to_code())
            .with_context(|| format!("writing {}", py.display()))?;
        let entry = ManifestEntry {
            id,
            seed: s,
            stats: serde_json::to_value(ProgramStats::of(&program))?,
        };
        writeln!(manifest, "{}", serde_json::to_string(&entry)?)?;
    }
    eprintln!("wrote {n} programs (code only) to {}", out.display());
    Ok(())
}
