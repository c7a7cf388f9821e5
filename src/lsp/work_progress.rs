//! Runs a blocking job (pool start-up with a first-use environment install, generation) on a
//! worker thread and shows its `ProgressEvent`s as LSP work-done progress when the client
//! supports it: on the token the client sent with its request, else on one the server
//! creates. A cancellable job is cancelled by `window/workDoneProgress/cancel` on its token.

use std::sync::Arc;

use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, ProgressToken, WorkDoneProgress,
    WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport,
};

use super::session::Session;
use crate::progress::{CancellationToken, ProgressEvent, ProgressSink};

struct ChannelSink(tokio::sync::mpsc::UnboundedSender<ProgressEvent>);

impl ProgressSink for ChannelSink {
    fn report(&self, event: ProgressEvent) {
        let _ = self.0.send(event);
    }
}

/// How a job's progress is shown.
pub struct Reporting {
    pub title: String,
    /// The `workDoneToken` of the client's request, if it sent one.
    pub client_token: Option<ProgressToken>,
    /// Offered as a cancel button; cancelled by `window/workDoneProgress/cancel`.
    pub cancel: Option<CancellationToken>,
    /// The overall percentage an event stands for (`None`: keep the last one).
    pub percent: fn(&ProgressEvent) -> Option<u32>,
}

impl Reporting {
    /// Not cancellable; percentages as the events give them.
    pub fn titled(title: &str) -> Self {
        Self {
            title: title.into(),
            client_token: None,
            cancel: None,
            percent: ProgressEvent::percent,
        }
    }
}

/// An ongoing `$/progress` stream.
struct WorkDone {
    token: ProgressToken,
    key: String,
}

fn token_key(token: &ProgressToken) -> String {
    match token {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::String(s) => s.clone(),
    }
}

async fn notify(session: &Session, token: &ProgressToken, value: WorkDoneProgress) {
    session
        .client
        .send_notification::<Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}

impl WorkDone {
    async fn begin(session: &Session, reporting: &Reporting) -> Option<WorkDone> {
        let token = match &reporting.client_token {
            Some(t) => t.clone(),
            None if session.features().work_done_progress => {
                let token =
                    ProgressToken::String(format!("cadquery/{}", session.next_progress_id()));
                if let Err(e) = session
                    .client
                    .create_work_done_progress(token.clone())
                    .await
                {
                    tracing::warn!("the client refused a progress token: {e}");
                    return None;
                }
                token
            }
            None => return None,
        };
        let key = token_key(&token);
        if let Some(cancel) = &reporting.cancel {
            session.track_progress(key.clone(), cancel.clone());
        }
        let begin = WorkDoneProgressBegin {
            title: reporting.title.clone(),
            cancellable: Some(reporting.cancel.is_some()),
            message: None,
            percentage: Some(0),
        };
        notify(session, &token, WorkDoneProgress::Begin(begin)).await;
        Some(WorkDone { token, key })
    }

    async fn report(&self, session: &Session, message: String, percentage: u32) {
        let report = WorkDoneProgressReport {
            cancellable: None,
            message: Some(message),
            percentage: Some(percentage),
        };
        notify(session, &self.token, WorkDoneProgress::Report(report)).await;
    }

    async fn end(self, session: &Session, message: Option<String>) {
        session.forget_progress(&self.key);
        notify(
            session,
            &self.token,
            WorkDoneProgress::End(WorkDoneProgressEnd { message }),
        )
        .await;
    }
}

/// One line per event: the stage and its own message.
fn describe(event: &ProgressEvent) -> String {
    let count = match event.total {
        Some(total) => format!(" {}/{total}", event.done.min(total)),
        None => String::new(),
    };
    match &event.message {
        Some(m) => format!("{}{count}: {m}", event.stage),
        None => format!("{}{count}", event.stage),
    }
}

/// Runs `job` on the blocking pool with its progress shown as `reporting` says; returns the
/// job's result, or a message when the job panicked. `end` is the closing line of the
/// progress for a result.
pub async fn run_with_progress<T, F>(
    session: &Arc<Session>,
    reporting: Reporting,
    job: F,
    end: impl FnOnce(&T) -> Option<String>,
) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&dyn ProgressSink) -> T + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::task::spawn_blocking(move || job(&ChannelSink(tx)));
    let progress = WorkDone::begin(session, &reporting).await;
    let mut percent = 0;
    while let Some(event) = rx.recv().await {
        // never backwards: stages report their own fractions
        percent = (reporting.percent)(&event).map_or(percent, |p| p.clamp(percent, 100));
        let message = describe(&event);
        match &progress {
            Some(p) => p.report(session, message, percent).await,
            None => tracing::info!("{}: {message}", reporting.title),
        }
    }
    let result = handle
        .await
        .map_err(|e| format!("{} failed unexpectedly: {e}", reporting.title));
    if let Some(p) = progress {
        let message = result.as_ref().ok().and_then(end);
        p.end(session, message).await;
    }
    result
}
