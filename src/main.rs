use clap::{Parser, Subcommand};

/// Turn pictures of mechanical parts into CadQuery code; diagnostics and completions for CadQuery.
#[derive(Parser)]
#[command(name = "cadquery-lsp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the picture-to-code model on a `datagen` directory (resumable).
    Train(cadquery_lsp::model::cli::TrainArgs),
    /// Print speed figures of a component.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Decode speed, time to propose 8 candidates, training samples/s, load time, memory.
    Model(cadquery_lsp::model::cli::BenchModelArgs),
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
        Command::Train(args) => cadquery_lsp::model::cli::run_train(args),
        Command::Bench { target } => match target {
            BenchTarget::Model(args) => cadquery_lsp::model::cli::run_bench(args),
        },
    }
}
