//! The language server: the only module that knows LSP / JSON-RPC types. Handlers bind
//! protocol messages to plain functions of the core (see ARCHITECTURE.md).

pub mod bench;
mod bench_model;
pub mod cli;
mod convert;
mod document;
pub mod execution;
mod frame;
mod generation;
mod handlers;
mod image_refs;
mod line_index;
mod model_completion;
mod preview;
mod runner;
mod server;
mod session;
mod settings;
mod transport;
mod work_progress;

pub use settings::Settings;
pub use transport::TransportLimits;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::LspService;

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// `shutdown` came before `exit` (or the end of input).
    Clean,
    /// The client left without `shutdown`; the protocol asks for exit code 1.
    WithoutShutdown,
}

/// Serves one LSP session over a pair of byte streams (stdio in `serve`, a duplex in tests).
pub async fn serve<I, O>(input: I, output: O, limits: TransportLimits) -> SessionEnd
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let (service, socket) = LspService::build(server::Server::new)
        .custom_method(
            "window/workDoneProgress/cancel",
            server::Server::work_done_progress_cancel,
        )
        .finish();
    let session = Arc::clone(service.inner().session());
    transport::serve(input, output, service, socket, limits).await;
    if session.shutdown_requested() {
        SessionEnd::Clean
    } else {
        SessionEnd::WithoutShutdown
    }
}
