//! `cadquery-lsp bench geom`: IoU_best per pair, ours next to iou_ref.py's, and render time.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::geom::iou::iou_best;
use crate::geom::render::render;
use crate::progress::CancellationToken;
use crate::runtime::{Built, ExecRequest, Job, JobOutput, MeshOptions, PoolConfig, WorkerPool};

use super::measured;

#[derive(clap::Args, Debug)]
pub struct GeomBenchArgs {
    /// Directory of scripts (ID.py); pairs are each script against the next one.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// How many pairs to time (0: render timing only).
    #[arg(long, default_value_t = 8)]
    pub pairs: usize,
    /// Python with CadQuery, also used to run iou_ref.py (default: CADQUERY_LSP_PYTHON).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// The reference implementation (default: $CADQUERY_LSP_SHARED/tools/iou_ref.py).
    #[arg(long)]
    pub reference: Option<PathBuf>,
}

fn shared() -> Option<PathBuf> {
    std::env::var_os("CADQUERY_LSP_SHARED").map(PathBuf::from)
}

fn build(pool: &WorkerPool, code: String, mesh: MeshOptions, edges: bool) -> anyhow::Result<Built> {
    let job = Job::Execute(ExecRequest {
        code,
        mesh: Some(mesh),
        edges,
        untrusted: false,
    });
    match pool.execute(job, &CancellationToken::new())? {
        JobOutput::Executed(Ok(b)) => Ok(b),
        JobOutput::Executed(Err(e)) => bail!("script failed: {e}"),
        other => bail!("unexpected reply: {other:?}"),
    }
}

/// Times the reference's own normalized_mesh + iou_best on each pair (its IoU_vol excluded).
const REFERENCE_TIMER: &str = r#"
import sys, time, json, os
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from iou_ref import load, normalized_mesh, iou_best
for line in sys.stdin:
    gt, pr = json.loads(line)
    g, p = load(open(gt).read()), load(open(pr).read())
    t = time.perf_counter()
    v = iou_best(normalized_mesh(g), normalized_mesh(p))
    print(json.dumps([v, time.perf_counter() - t]), flush=True)
"#;

fn reference_times(
    python: &PathBuf,
    reference: &PathBuf,
    pairs: &[(PathBuf, PathBuf)],
) -> anyhow::Result<Vec<(f64, f64)>> {
    use std::io::Write;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(REFERENCE_TIMER)
        .arg(reference)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", python.display()))?;
    {
        let mut stdin = child.stdin.take().context("no stdin")?;
        for (g, p) in pairs {
            writeln!(stdin, "{}", serde_json::to_string(&(g, p))?)?;
        }
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("iou_ref.py timing failed ({})", out.status);
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| Ok(serde_json::from_str::<(f64, f64)>(l)?))
        .collect()
}

pub fn run(args: GeomBenchArgs) -> anyhow::Result<()> {
    let data = args
        .data
        .clone()
        .or_else(|| shared().map(|s| s.join("data/gencad-dev")))
        .context("give --data DIR (or set CADQUERY_LSP_SHARED to use the dev set)")?;
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&data)
        .with_context(|| format!("cannot read {}", data.display()))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    scripts.sort();
    if scripts.len() < 2 {
        bail!("need at least 2 scripts in {}", data.display());
    }
    let python = args
        .python
        .clone()
        .or_else(|| std::env::var_os("CADQUERY_LSP_PYTHON").map(PathBuf::from));
    let pool = WorkerPool::start(PoolConfig {
        python: python.clone(),
        workers: 1,
        job_timeout: Duration::from_secs(60),
        ..PoolConfig::default()
    })?;
    let reference_mesh = MeshOptions {
        tolerance: 0.1,
        angular_tolerance: 0.1,
    };
    let n = args.pairs.min(scripts.len());
    let pairs: Vec<(PathBuf, PathBuf)> = (0..n)
        .map(|k| (scripts[k].clone(), scripts[(k + 1) % scripts.len()].clone()))
        .collect();
    let mut ours = Vec::new();
    for (g, p) in &pairs {
        let gb = build(&pool, std::fs::read_to_string(g)?, reference_mesh, false)?;
        let pb = build(&pool, std::fs::read_to_string(p)?, reference_mesh, false)?;
        let (gm, pm) = (
            measured(&gb).context("no mesh")?,
            measured(&pb).context("no mesh")?,
        );
        let t = Instant::now();
        let v = iou_best(&gm, &pm)?;
        ours.push((v, t.elapsed().as_secs_f64()));
    }
    let reference = args
        .reference
        .clone()
        .or_else(|| shared().map(|s| s.join("tools/iou_ref.py")));
    let theirs = match (&python, &reference) {
        (Some(py), Some(r)) if r.exists() => Some(reference_times(py, r, &pairs)?),
        _ => {
            eprintln!("iou_ref.py not timed: give --python and --reference (or set CADQUERY_LSP_PYTHON / CADQUERY_LSP_SHARED)");
            None
        }
    };
    println!("IoU_best per pair (mesh in hand; reference: normalized_mesh + iou_best)");
    println!(
        "{:<22} {:>8} {:>9} {:>8} {:>9} {:>8}",
        "pair", "ours", "ours ms", "ref", "ref ms", "speed-up"
    );
    let (mut t_ours, mut t_ref) = (0.0, 0.0);
    for (k, (g, p)) in pairs.iter().enumerate() {
        let stem = |x: &PathBuf| {
            x.file_stem()
                .map_or(String::new(), |s| s.to_string_lossy().into())
        };
        let (v, t) = ours[k];
        t_ours += t;
        let name = format!("{}~{}", stem(g), stem(p));
        match theirs.as_ref().and_then(|r| r.get(k)) {
            Some(&(rv, rt)) => {
                t_ref += rt;
                println!(
                    "{name:<22} {v:>8.4} {:>9.1} {rv:>8.4} {:>9.1} {:>7.0}x",
                    t * 1e3,
                    rt * 1e3,
                    rt / t
                );
            }
            None => println!("{name:<22} {v:>8.4} {:>9.1}", t * 1e3),
        }
    }
    if t_ref > 0.0 {
        println!(
            "mean per pair: ours {:.1} ms, iou_ref.py {:.1} ms, {:.0}x",
            t_ours / n as f64 * 1e3,
            t_ref / n as f64 * 1e3,
            t_ref / t_ours
        );
    }
    println!("\nrender at 448x448 (mesh + edges in hand)");
    let mut times = Vec::new();
    for s in &scripts {
        let b = build(
            &pool,
            std::fs::read_to_string(s)?,
            MeshOptions::default(),
            true,
        )?;
        let mesh = b.mesh.as_ref().context("no mesh")?;
        let t = Instant::now();
        let reps = 5;
        for _ in 0..reps {
            std::hint::black_box(render(mesh, &b.edges, Some(b.facts.bbox), 448, 448));
        }
        let stem = s
            .file_stem()
            .map_or(String::new(), |x| x.to_string_lossy().into());
        times.push((t.elapsed().as_secs_f64() / reps as f64 * 1e3, stem));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let slowest = &times[times.len() - 1];
    println!(
        "{} parts: median {:.1} ms, max {:.1} ms per render ({})",
        times.len(),
        times[times.len() / 2].0,
        slowest.0,
        slowest.1
    );
    Ok(())
}
