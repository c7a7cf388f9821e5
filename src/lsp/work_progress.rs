//! Runs a blocking job (pool start-up with a first-use environment install, generation) on a
//! worker thread and shows its `ProgressEvent`s as LSP work-done progress when the client
//! supports it.

use std::sync::Arc;

use tower_lsp_server::ls_types::{NumberOrString, ProgressToken};

use super::session::Session;
use crate::progress::{ProgressEvent, ProgressSink};

struct ChannelSink(tokio::sync::mpsc::UnboundedSender<ProgressEvent>);

impl ProgressSink for ChannelSink {
    fn report(&self, event: ProgressEvent) {
        let _ = self.0.send(event);
    }
}

/// Runs `job` on the blocking pool under a `title`d progress; returns its result, or a
/// message when the job panicked.
pub async fn run_with_progress<T, F>(
    session: &Arc<Session>,
    title: &str,
    job: F,
) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&dyn ProgressSink) -> T + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::task::spawn_blocking(move || job(&ChannelSink(tx)));
    let progress = if session.features().work_done_progress {
        let token = ProgressToken::from(NumberOrString::String(format!(
            "cadquery/{}",
            session.next_progress_id()
        )));
        match session
            .client
            .create_work_done_progress(token.clone())
            .await
        {
            Ok(()) => Some(
                session
                    .client
                    .progress(token, title.to_string())
                    .with_percentage(0)
                    .begin()
                    .await,
            ),
            Err(e) => {
                tracing::warn!("the client refused a progress token: {e}");
                None
            }
        }
    } else {
        None
    };
    while let Some(event) = rx.recv().await {
        let message = match &event.message {
            Some(m) => format!("{}: {m}", event.stage),
            None => event.stage.clone(),
        };
        match &progress {
            Some(p) => {
                p.report_with_message(message, event.percent().unwrap_or(0))
                    .await
            }
            None => tracing::info!("{title}: {message}"),
        }
    }
    if let Some(p) = progress {
        p.finish().await;
    }
    handle
        .await
        .map_err(|e| format!("{title} failed unexpectedly: {e}"))
}
