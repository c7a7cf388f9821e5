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
    /// Run the language server over stdio.
    Serve(cadquery_lsp::lsp::cli::ServeArgs),
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
    }
}
