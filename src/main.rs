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
    /// Write synthetic (picture, canonical code) training pairs, or compare generator statistics.
    Datagen(cadquery_lsp::data::cli::DatagenArgs),
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
        Command::Datagen(args) => cadquery_lsp::data::cli::run(args),
    }
}
