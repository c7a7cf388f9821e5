use clap::{Parser, Subcommand};

/// Turn pictures of mechanical parts into CadQuery code; diagnostics and completions for CadQuery.
#[derive(Parser)]
#[command(name = "cadquery-lsp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

// The enum is empty until the first subcommand lands; remove this allow then.
#[allow(unreachable_code)]
fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CADQUERY_LSP_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match Cli::parse().command {}
}
