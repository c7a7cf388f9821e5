//! `cadquery-lsp render SCRIPT -o out.png [--size N] [--views]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::geom::camera::Camera;
use crate::geom::render::{gencad_camera, render_with};
use crate::progress::CancellationToken;
use crate::runtime::{ExecRequest, Job, JobOutput, MeshOptions, PoolConfig, WorkerPool};

#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// The CadQuery script to draw.
    pub script: PathBuf,
    /// Output PNG.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Picture size in pixels (square); the data set's is 448.
    #[arg(long, default_value_t = 448)]
    pub size: u32,
    /// Also write three more views (from (-1,1,1), (1,1,-1) and above) as OUT-view2.png ...
    #[arg(long)]
    pub views: bool,
    /// Python with CadQuery (default: discovery, then the managed environment).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Wall-clock limit for the script, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}

pub fn run_command(args: RenderArgs) -> anyhow::Result<()> {
    if args.size < 16 {
        bail!(
            "--size {} is too small to draw anything: use 16 or more",
            args.size
        );
    }
    let code = std::fs::read_to_string(&args.script)
        .with_context(|| format!("cannot read {}", args.script.display()))?;
    let pool = WorkerPool::start(PoolConfig {
        python: args.python,
        workers: 1,
        job_timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
        ..PoolConfig::default()
    })?;
    let job = Job::Execute(ExecRequest {
        code,
        mesh: Some(MeshOptions::default()),
        edges: true,
        untrusted: false,
    });
    let built = match pool.execute(job, &CancellationToken::new())? {
        JobOutput::Executed(Ok(b)) => b,
        JobOutput::Executed(Err(e)) => bail!("{}: {e}", args.script.display()),
        other => bail!("unexpected reply from the worker: {other:?}"),
    };
    let mesh = built
        .mesh
        .as_ref()
        .context("the worker returned no mesh for the part")?;
    let bbox = built.facts.bbox;
    let cam = gencad_camera(mesh, &bbox, args.size, args.size);
    save(&render_with(mesh, &built.edges, cam).rgb, &args.output)?;
    if args.views {
        for (k, dir) in [[-1.0, 1.0, 1.0], [1.0, 1.0, -1.0], [0.0, -1e-3, 1.0]]
            .iter()
            .enumerate()
        {
            let cam = Camera::gencad_from(&bbox, args.size, args.size, *dir);
            save(
                &render_with(mesh, &built.edges, cam).rgb,
                &view_path(&args.output, k + 2),
            )?;
        }
    }
    Ok(())
}

fn view_path(out: &Path, k: usize) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or("render".into(), |s| s.to_string_lossy());
    out.with_file_name(format!("{stem}-view{k}.png"))
}

fn save(img: &image::RgbImage, path: &Path) -> anyhow::Result<()> {
    img.save(path)
        .with_context(|| format!("cannot write {}", path.display()))
}
