//! `cadquery-lsp eval --data DIR --pred DIR [--json FILE] [--jobs N]`: VSR, IoU_best and
//! IoU_vol of predicted scripts against ground-truth scripts with matching file stems.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::geom::iou::iou_best;
use crate::progress::CancellationToken;
use crate::runtime::{Built, ExecRequest, Job, JobOutput, MeshOptions, PoolConfig, WorkerPool};

use super::measured;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Directory of ground-truth scripts (ID.py).
    #[arg(long)]
    pub data: PathBuf,
    /// Directory of predicted scripts (ID.py, same stems).
    #[arg(long)]
    pub pred: PathBuf,
    /// Also write the scores as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Parallel workers (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Python with CadQuery (default: discovery, then the managed environment).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Wall-clock limit per job, in seconds (IoU_vol's booleans can take a minute).
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
}

/// Scores of one prediction. `error` set = invalid prediction (counts 0 in the "all" means).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ItemScore {
    pub id: String,
    pub valid: bool,
    pub iou_best: f64,
    pub iou_vol: f64,
    /// The prediction built a solid whose volume measures make no sense: no positive
    /// volume or radius of gyration, or IoU_vol above 1.05 (`BROKEN_IOU_SLACK`). OCCT
    /// gives such solids for profiles whose loops cross (a face the even-odd rule would
    /// fill, built inverted); their IoU_vol (the reference's code, kept verbatim) can then
    /// be anything, 0 to 30.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub broken: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iou_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub n: usize,
    pub vsr: f64,
    pub iou_best: f64,
    pub iou_vol: f64,
    pub iou_best_all: f64,
    pub iou_vol_all: f64,
    /// Valid predictions whose solid is broken (see `ItemScore::broken`): their IoU_vol
    /// is in the means above as the reference computes it.
    pub broken: usize,
    pub items: Vec<ItemScore>,
}

impl EvalReport {
    pub fn from_items(items: Vec<ItemScore>) -> Self {
        let n = items.len();
        let valid: Vec<&ItemScore> = items.iter().filter(|i| i.valid).collect();
        let mean = |f: fn(&ItemScore) -> f64, over: usize| {
            if over == 0 {
                0.0
            } else {
                valid.iter().map(|i| f(i)).sum::<f64>() / over as f64
            }
        };
        EvalReport {
            n,
            vsr: if n == 0 {
                0.0
            } else {
                valid.len() as f64 / n as f64
            },
            iou_best: mean(|i| i.iou_best, valid.len()),
            iou_vol: mean(|i| i.iou_vol, valid.len()),
            iou_best_all: mean(|i| i.iou_best, n),
            iou_vol_all: mean(|i| i.iou_vol, n),
            broken: valid.iter().filter(|i| i.broken).count(),
            items,
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "n={} vsr={:.3} iou_best={:.3} iou_vol={:.3} (over all: iou_best={:.3} iou_vol={:.3}; broken solids: {})",
            self.n,
            self.vsr,
            self.iou_best,
            self.iou_vol,
            self.iou_best_all,
            self.iou_vol_all,
            self.broken
        )
    }
}

/// The tessellation iou_ref.py measures (CadQuery's STL export defaults: 0.1, relative).
const REFERENCE_MESH: MeshOptions = MeshOptions {
    tolerance: 0.1,
    angular_tolerance: 0.1,
};

fn build(pool: &WorkerPool, code: &str, untrusted: bool) -> Result<Built, String> {
    let job = Job::Execute(ExecRequest {
        code: code.to_string(),
        mesh: Some(REFERENCE_MESH),
        edges: false,
        untrusted,
    });
    match pool.execute(job, &CancellationToken::new()) {
        Ok(JobOutput::Executed(Ok(b))) => Ok(b),
        Ok(JobOutput::Executed(Err(e))) => Err(e.to_string()),
        Ok(other) => Err(format!("unexpected reply: {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

fn score(pool: &WorkerPool, id: &str, gt_path: &Path, pred_dir: &Path) -> ItemScore {
    let mut item = ItemScore {
        id: id.to_string(),
        ..ItemScore::default()
    };
    let pred_path = pred_dir.join(format!("{id}.py"));
    let (gt_code, pred_code) = match (
        std::fs::read_to_string(gt_path),
        std::fs::read_to_string(&pred_path),
    ) {
        (Ok(g), Ok(p)) => (g, p),
        (Err(e), _) => {
            item.error = Some(format!("cannot read {}: {e}", gt_path.display()));
            return item;
        }
        (_, Err(_)) => {
            item.error = Some("missing".into());
            return item;
        }
    };
    score_code(pool, id, gt_code, pred_code)
}

/// How far above 1 an IoU_vol may come out from the booleans' tolerances alone: exact
/// matches of curved parts give up to 1.011 (3 dev answers), broken solids 1.27 and up
/// (4.6-30 mostly) on 4,000 built model samples.
pub const BROKEN_IOU_SLACK: f64 = 0.05;

/// Scores one predicted program against its ground truth (both as code).
pub fn score_code(pool: &WorkerPool, id: &str, gt_code: String, pred_code: String) -> ItemScore {
    let mut item = ItemScore {
        id: id.to_string(),
        ..ItemScore::default()
    };
    let gt = match build(pool, &gt_code, false) {
        Ok(b) => b,
        Err(e) => {
            item.error = Some(format!("ground truth does not build: {e}"));
            return item;
        }
    };
    let pred = match build(pool, &pred_code, true) {
        Ok(b) => b,
        Err(e) => {
            item.error = Some(e);
            return item;
        }
    };
    item.valid = true;
    match (measured(&gt), measured(&pred)) {
        (Some(g), Some(p)) => match iou_best(&g, &p) {
            Ok(v) => item.iou_best = v,
            Err(e) => {
                item.broken = matches!(e, crate::geom::iou::IouError::NoVolume(_));
                item.iou_error = Some(e.to_string());
            }
        },
        _ => item.iou_error = Some("the worker returned no mesh".into()),
    }
    let job = Job::IouVol {
        ground_truth: gt_code,
        prediction: pred_code,
    };
    match pool.execute(job, &CancellationToken::new()) {
        Ok(JobOutput::IouVol(Ok(v))) => {
            item.iou_vol = v;
            item.broken |= v > 1.0 + BROKEN_IOU_SLACK;
        }
        Ok(JobOutput::IouVol(Err(e))) => {
            item.iou_error.get_or_insert(format!("iou_vol: {e}"));
        }
        Ok(other) => {
            item.iou_error
                .get_or_insert(format!("unexpected reply: {other:?}"));
        }
        Err(e) => {
            item.iou_error.get_or_insert(e.to_string());
        }
    }
    item
}

/// Builds and scores the model's decodes in the runtime's workers, for `train`'s
/// validation and `eval-model` (the model itself never runs code).
pub struct PoolScorer {
    pool: WorkerPool,
    workers: usize,
}

impl PoolScorer {
    pub fn start(
        python: Option<PathBuf>,
        workers: usize,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let workers = workers.max(1);
        let pool = WorkerPool::start(PoolConfig {
            python,
            workers,
            job_timeout: timeout,
            ..PoolConfig::default()
        })?;
        Ok(Self { pool, workers })
    }
}

/// A scorer for `train` and `eval-model`.
pub fn start_scorer(
    workers: usize,
    timeout: Duration,
) -> anyhow::Result<Box<dyn crate::model::train::ProgramScorer>> {
    Ok(Box::new(PoolScorer::start(None, workers, timeout)?))
}

impl crate::model::train::ProgramScorer for PoolScorer {
    fn score(
        &self,
        programs: &[(String, String)],
    ) -> anyhow::Result<Vec<crate::model::train::ProgramScore>> {
        let next = AtomicUsize::new(0);
        let results = Mutex::new(vec![Default::default(); programs.len()]);
        std::thread::scope(|s| {
            for _ in 0..self.workers.min(programs.len()) {
                s.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some((pred, gt)) = programs.get(k) else {
                        break;
                    };
                    let item = score_code(&self.pool, &k.to_string(), gt.clone(), pred.clone());
                    results.lock().unwrap_or_else(|e| e.into_inner())[k] =
                        crate::model::train::ProgramScore {
                            valid: item.valid,
                            iou_vol: item.iou_vol,
                            iou_best: item.iou_best,
                            broken: item.broken,
                        };
                });
            }
        });
        Ok(results.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

pub fn run_command(args: EvalArgs) -> anyhow::Result<()> {
    let mut ids: Vec<(String, PathBuf)> = std::fs::read_dir(&args.data)
        .with_context(|| format!("cannot read --data {}", args.data.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().to_string(), p)))
        .collect();
    ids.sort();
    if ids.is_empty() {
        bail!("no ground-truth scripts (*.py) in {}", args.data.display());
    }
    if !args.pred.is_dir() {
        bail!("--pred {} is not a directory", args.pred.display());
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, ids.len());
    let pool = WorkerPool::start(PoolConfig {
        python: args.python.clone(),
        workers: jobs,
        job_timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
        ..PoolConfig::default()
    })?;
    let bar = ProgressBar::new(ids.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("eval [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(ids.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, path)) = ids.get(k) else { break };
                let item = score(&pool, id, path, &args.pred);
                bar.set_message(id.clone());
                bar.inc(1);
                results.lock().unwrap_or_else(|e| e.into_inner()).push(item);
            });
        }
    });
    bar.finish_and_clear();
    let mut items = results.into_inner().unwrap_or_else(|e| e.into_inner());
    items.sort_by(|a, b| a.id.cmp(&b.id));
    let report = EvalReport::from_items(items);
    println!("{}", report.summary());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_over_valid_and_over_all() {
        let item = |v: bool, b: f64, o: f64| ItemScore {
            valid: v,
            iou_best: b,
            iou_vol: o,
            ..ItemScore::default()
        };
        let r = EvalReport::from_items(vec![
            item(true, 0.8, 0.6),
            item(true, 0.4, 0.2),
            item(false, 0.0, 0.0),
            item(false, 0.0, 0.0),
        ]);
        assert_eq!(r.n, 4);
        assert!((r.vsr - 0.5).abs() < 1e-12);
        assert!((r.iou_best - 0.6).abs() < 1e-12 && (r.iou_vol - 0.4).abs() < 1e-12);
        assert!((r.iou_best_all - 0.3).abs() < 1e-12 && (r.iou_vol_all - 0.2).abs() < 1e-12);
    }
}
