//! `check FILE...`: the language server's diagnostics on the command line: syntax and
//! API misuse, and with `--execute` what running the script says (the error on its line,
//! no solid, invalid solid, zero volume). Exit code 1 when any file has an error.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::lsp::execution;
use crate::progress::CancellationToken;
use crate::runtime::cli::BarProgress;
use crate::runtime::{ExecRequest, Job, JobOutput, PoolConfig, WorkerPool};
use crate::syntax::{self, Diagnostic, Severity};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// CadQuery scripts to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also run each script in the sandboxed runtime and report what went wrong.
    #[arg(long)]
    pub execute: bool,
    /// One JSON object per file: {file, diagnostics: [{line, column, severity, code, source, message}]}.
    #[arg(long)]
    pub json: bool,
    /// Seconds a script may run with --execute.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Python with CadQuery (default: discovery, then the managed environment).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

pub fn run_command(args: CheckArgs) -> anyhow::Result<()> {
    let pool = if args.execute {
        Some(WorkerPool::start_with_progress(
            PoolConfig {
                python: args.python.clone(),
                workers: 1,
                job_timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
                ..PoolConfig::default()
            },
            &BarProgress::new(),
        )?)
    } else {
        None
    };
    let mut errors = 0;
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {} as UTF-8 text", file.display()))?;
        let mut diagnostics = syntax::diagnose(&text);
        // running a script that does not even parse only repeats the syntax error
        let parses = !diagnostics.iter().any(|d| d.severity == Severity::Error);
        if let (Some(pool), true) = (&pool, parses) {
            let job = Job::Execute(ExecRequest::facts(text.clone()));
            if let JobOutput::Executed(e) = pool.execute(job, &CancellationToken::new())? {
                diagnostics.extend(execution::diagnostics(&text, &e));
            }
        }
        errors += diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if args.json {
            println!("{}", json(file, &text, &diagnostics));
        } else if diagnostics.is_empty() {
            println!("{}: ok", file.display());
        } else {
            for block in syntax::render(&text, &diagnostics).split_inclusive('\n') {
                // every diagnostic's first line names the file, as compilers do
                if block.starts_with(|c: char| c.is_ascii_digit()) {
                    print!("{}:{block}", file.display());
                } else {
                    print!("{block}");
                }
            }
        }
    }
    if errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn json(file: &std::path::Path, text: &str, diagnostics: &[Diagnostic]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let (line, column) = syntax::line_col(text, d.range.start);
            serde_json::json!({
                "line": line, "column": column, "severity": format!("{:?}", d.severity).to_lowercase(),
                "code": d.code, "source": d.source, "message": d.message,
            })
        })
        .collect();
    serde_json::json!({"file": file.display().to_string(), "diagnostics": items})
}
