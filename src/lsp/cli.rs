//! `cadquery-lsp serve`: the language server on stdin/stdout (stdout carries only protocol
//! messages; logs go to stderr and the client's log).

use clap::Args;

use super::{serve, SessionEnd, TransportLimits};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Speak LSP over stdin/stdout (the only transport; accepted for clients that pass it).
    #[arg(long)]
    pub stdio: bool,
    /// Messages larger than this many MiB are answered with an error and skipped.
    #[arg(long, default_value_t = 64)]
    pub max_message_mib: usize,
}

pub fn run_command(args: ServeArgs) -> anyhow::Result<()> {
    let limits = TransportLimits {
        max_message_bytes: args.max_message_mib.saturating_mul(1024 * 1024),
        ..TransportLimits::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let end = runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout(), limits));
    // background checks may still be sleeping; do not wait for them
    runtime.shutdown_background();
    match end {
        SessionEnd::Clean => Ok(()),
        SessionEnd::WithoutShutdown => {
            tracing::warn!("the client exited without a shutdown request");
            std::process::exit(1)
        }
    }
}
