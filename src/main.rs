use clap::{Parser, Subcommand};

use cadquery_lsp::runtime;

/// Turn pictures of mechanical parts into CadQuery code; diagnostics and completions for CadQuery.
#[derive(Parser)]
#[command(name = "cadquery-lsp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the language server over stdio.
    Serve(cadquery_lsp::lsp::cli::ServeArgs),
    /// Execute a CadQuery script and print what it built (or the error with its line).
    Run(runtime::cli::RunArgs),
    /// Find or create the Python environment with CadQuery, and check that it works.
    Setup(runtime::cli::SetupArgs),
    /// Print performance figures of one part of the system.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Worker start-up, pool overhead per job, jobs/s on 2 workers, wire encodings.
    Runtime(runtime::bench::BenchArgs),
    /// Server latencies: diagnostics after an edit, execution after save, memory.
    Lsp(cadquery_lsp::lsp::bench::BenchArgs),
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
        Command::Serve(args) => cadquery_lsp::lsp::cli::run_command(args),
        Command::Run(args) => runtime::cli::run_command(args),
        Command::Setup(args) => runtime::cli::setup_command(args),
        Command::Bench { target } => match target {
            BenchTarget::Runtime(args) => runtime::bench::run(args),
            BenchTarget::Lsp(args) => cadquery_lsp::lsp::bench::run(args),
        },
    }
}
