use clap::{Parser, Subcommand};

use cadquery_lsp::{runtime, scoring};

/// Turn pictures of mechanical parts into CadQuery code; diagnostics and completions for CadQuery.
#[derive(Parser)]
#[command(name = "cadquery-lsp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Turn a picture of a part into CadQuery code that builds it (or a folder of pictures).
    Generate(cadquery_lsp::generate::cli::GenerateArgs),
    /// Diagnostics for CadQuery scripts: syntax, API misuse, and with --execute what running says.
    Check(cadquery_lsp::check::CheckArgs),
    /// Run the language server over stdio.
    Serve(cadquery_lsp::lsp::cli::ServeArgs),
    /// Execute a CadQuery script and print what it built (or the error with its line).
    Run(runtime::cli::RunArgs),
    /// Find or create the Python environment with CadQuery, and check that it works.
    Setup(runtime::cli::SetupArgs),
    /// Write synthetic (picture, canonical code) training pairs, or compare generator statistics.
    Datagen(cadquery_lsp::data::cli::DatagenArgs),
    /// Draw a script's part in the GenCAD-Code picture convention.
    Render(scoring::render::RenderArgs),
    /// Score predicted scripts against ground truth: VSR, IoU_best, IoU_vol.
    Eval(scoring::eval::EvalArgs),
    /// Train the picture-to-code model on a `datagen` directory (resumable).
    Train(cadquery_lsp::model::cli::TrainArgs),
    /// Write a training run's model as a shippable directory (f16 weights), e.g. models/.
    ExportModel(cadquery_lsp::model::cli::ExportArgs),
    /// Score the model alone (greedy, with and without the grammar mask): VSR, IoU_vol, IoU_best.
    EvalModel(cadquery_lsp::model::evaluate::EvalModelArgs),
    /// Print performance figures of one part of the system.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Time per picture with and without refinement, executions per picture.
    Generate(cadquery_lsp::generate::bench::BenchArgs),
    /// Worker start-up, pool overhead per job, jobs/s on 2 workers, wire encodings.
    Runtime(runtime::bench::BenchArgs),
    /// IoU_best per pair next to iou_ref.py's, render time at 448x448.
    Geom(scoring::bench::GeomBenchArgs),
    /// Program generation rate and valid (picture, code) pairs/s written by datagen.
    Datagen(cadquery_lsp::data::bench::BenchArgs),
    /// Decode speed, time to propose 8 candidates, training samples/s, load time, memory.
    Model(cadquery_lsp::model::cli::BenchModelArgs),
    /// Server latencies: diagnostics after an edit, execution after save, memory.
    Lsp(cadquery_lsp::lsp::bench::BenchArgs),
    /// Diagnostics latency after a 1-char edit in a 2,000-line file; completion p50/p95.
    Syntax(cadquery_lsp::syntax::bench::BenchArgs),
    /// Refinement inner loop: native render ms per evaluation by size, evaluations/s, time per dev part.
    Refine(cadquery_lsp::generate::refine::bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CADQUERY_LSP_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Generate(args) => cadquery_lsp::generate::cli::run_command(args),
        Command::Check(args) => cadquery_lsp::check::run_command(args),
        Command::Serve(args) => cadquery_lsp::lsp::cli::run_command(args),
        Command::Run(args) => runtime::cli::run_command(args),
        Command::Setup(args) => runtime::cli::setup_command(args),
        Command::Datagen(args) => cadquery_lsp::data::cli::run(args),
        Command::Render(args) => scoring::render::run_command(args),
        Command::Eval(args) => scoring::eval::run_command(args),
        Command::Train(args) => {
            cadquery_lsp::model::cli::run_train(args, &scoring::eval::start_scorer)
        }
        Command::ExportModel(args) => cadquery_lsp::model::cli::run_export(args),
        Command::EvalModel(args) => cadquery_lsp::model::evaluate::run_eval_model(
            args,
            &scoring::eval::start_scorer,
            &cadquery_lsp::generate::model_source::pick_by_picture,
        ),
        Command::Bench { target } => match target {
            BenchTarget::Runtime(args) => runtime::bench::run(args),
            BenchTarget::Generate(args) => cadquery_lsp::generate::bench::run(args),
            BenchTarget::Geom(args) => scoring::bench::run(args),
            BenchTarget::Datagen(args) => cadquery_lsp::data::bench::run(args),
            BenchTarget::Model(args) => cadquery_lsp::model::cli::run_bench(args),
            BenchTarget::Lsp(args) => cadquery_lsp::lsp::bench::run(args),
            BenchTarget::Syntax(args) => cadquery_lsp::syntax::bench::run(args),
            BenchTarget::Refine(args) => cadquery_lsp::generate::refine::bench::run(args),
        },
    }
}
