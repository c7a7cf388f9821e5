//! `textDocument/publishDiagnostics`. Static checks (syntax, API misuse) run in the background
//! after a short pause, on a snapshot of the document; the script itself runs after a save or
//! a longer idle pause. Results are recorded per version and published only while that
//! version is current, so a burst of edits yields results for the final text only.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::{Diagnostic, MessageType, Uri};

use crate::lsp::convert;
use crate::lsp::document::Document;
use crate::lsp::execution;
use crate::lsp::line_index::PositionEncoding;
use crate::lsp::preview;
use crate::lsp::runner::Unavailable;
use crate::lsp::session::{CheckKind, LastBuild, Session};
use crate::progress::CancellationToken;
use crate::runtime::{Built, ExecRequest, Job, JobOutput, MeshOptions, RuntimeError};

/// Schedules the checks of `uri` after an edit, cancelling those still pending for it.
pub fn schedule(session: &Arc<Session>, uri: Uri) {
    let token = session.restart_diagnostics(&uri);
    let session = Arc::clone(session);
    let settings = session.settings();
    tokio::spawn(async move {
        if !pause(&token, settings.diagnostics_debounce_ms).await {
            return;
        }
        let Some(doc) = session.snapshot(&uri) else {
            return;
        };
        let encoding = session.encoding();
        let checked = Arc::clone(&doc);
        let found = match tokio::task::spawn_blocking(move || check(&checked, encoding)).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!("checking {} failed: {e}", uri.as_str());
                return;
            }
        };
        if token.is_cancelled() {
            return;
        }
        publish(&session, &uri, doc.version(), CheckKind::Static, found).await;
        let idle = settings.execute_after_idle_ms;
        if idle > 0
            && pause(
                &token,
                idle.saturating_sub(settings.diagnostics_debounce_ms),
            )
            .await
        {
            run_script(&session, &uri, &doc, &token).await;
        }
    });
}

/// Runs the script of `uri` now (after a save), without cancelling its static checks.
pub fn schedule_run(session: &Arc<Session>, uri: Uri) {
    let session = Arc::clone(session);
    tokio::spawn(async move {
        let (Some(doc), Some(token)) = (session.snapshot(&uri), session.diagnostics_token(&uri))
        else {
            return;
        };
        run_script(&session, &uri, &doc, &token).await;
    });
}

/// Sleeps `ms`; false when cancelled first.
async fn pause(token: &CancellationToken, ms: u64) -> bool {
    tokio::select! {
        _ = token.cancelled() => false,
        _ = tokio::time::sleep(Duration::from_millis(ms)) => true,
    }
}

/// Syntax and API diagnostics of one document version.
pub fn check(doc: &Document, encoding: PositionEncoding) -> Vec<Diagnostic> {
    doc.static_diagnostics()
        .iter()
        .map(|d| convert::diagnostic(doc, d, encoding))
        .collect()
}

async fn publish(
    session: &Session,
    uri: &Uri,
    version: i32,
    kind: CheckKind,
    found: Vec<Diagnostic>,
) {
    if let Some(all) = session.record(uri, version, kind, found) {
        session
            .client
            .publish_diagnostics(uri.clone(), all, Some(version))
            .await;
    }
}

/// Whether running the document makes sense: a CadQuery script without syntax errors (those
/// are already reported, and the run would only repeat them).
fn runnable(doc: &Document) -> bool {
    let imports_cadquery = doc.text().lines().any(|l| {
        let l = l.trim_start();
        (l.starts_with("import cadquery") || l.starts_with("from cadquery"))
            && !l.starts_with("import cadquery_")
    });
    imports_cadquery
        && !doc
            .static_diagnostics()
            .iter()
            .any(|d| d.severity == crate::syntax::Severity::Error && is_syntax_code(d.code))
}

fn is_syntax_code(code: &str) -> bool {
    use crate::syntax::codes;
    [
        codes::SYNTAX,
        codes::UNCLOSED_BRACKET,
        codes::UNMATCHED_BRACKET,
        codes::UNCLOSED_STRING,
    ]
    .contains(&code)
}

/// Runs the script in the worker pool and publishes what it says about the document.
///
/// Newer edits cancel a run that is still waiting (pause, queue); a run already executing
/// finishes and its result is dropped as stale: killing a warm worker would cost a 3 s
/// CadQuery import for a result that takes ~40 ms.
async fn run_script(
    session: &Arc<Session>,
    uri: &Uri,
    doc: &Arc<Document>,
    token: &CancellationToken,
) {
    let checked = Arc::clone(doc);
    if !tokio::task::spawn_blocking(move || runnable(&checked))
        .await
        .unwrap_or(false)
    {
        return;
    }
    let pool = match session.runner.pool(session).await {
        Ok(pool) => pool,
        Err(Unavailable::New(message)) => {
            session.log(MessageType::ERROR, message.clone()).await;
            session
                .client
                .show_message(MessageType::ERROR, message)
                .await;
            return;
        }
        Err(Unavailable::Known) => return,
    };
    if token.is_cancelled() {
        return;
    }
    let text = doc.text();
    let wants_preview = session.features().markdown_hover;
    let job = Job::Execute(if wants_preview {
        ExecRequest {
            mesh: Some(MeshOptions::default()),
            edges: true,
            ..ExecRequest::facts(text)
        }
    } else {
        ExecRequest::facts(text)
    });
    // not the edit token: see above
    let run = pool.execute_async(job, &session.shutdown_token()).await;
    let execution = match run {
        Ok(JobOutput::Executed(execution)) => execution,
        Ok(other) => {
            tracing::error!("the pool answered an execution with {other:?}");
            return;
        }
        Err(RuntimeError::Cancelled | RuntimeError::Closed) => return,
        Err(e) => {
            session
                .log(
                    MessageType::WARNING,
                    format!("could not run {}: {e}", uri.as_str()),
                )
                .await;
            return;
        }
    };
    if let Ok(built) = &execution {
        let preview = if wants_preview {
            render_preview(session, uri, doc.version(), built).await
        } else {
            None
        };
        session.record_build(
            uri,
            LastBuild {
                version: doc.version(),
                result_name: built.result_name.clone(),
                facts: built.facts.clone(),
                preview,
            },
        );
    }
    if token.is_cancelled() {
        return;
    }
    let encoding = session.encoding();
    let found = execution::diagnostics(text, &execution)
        .iter()
        .map(|d| convert::diagnostic(doc, d, encoding))
        .collect();
    publish(session, uri, doc.version(), CheckKind::Execution, found).await;
}

/// The hover preview of what a run built; a failure is logged, not shown: hover works
/// without the picture.
async fn render_preview(
    session: &Session,
    uri: &Uri,
    version: i32,
    built: &Built,
) -> Option<PathBuf> {
    let dir = session
        .settings()
        .preview_dir
        .or_else(preview::default_dir)?;
    let built = built.clone();
    let document = uri.as_str().to_string();
    let written =
        tokio::task::spawn_blocking(move || preview::write(&dir, &document, version, &built))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
    match written {
        Ok(path) => Some(path),
        Err(e) => {
            session
                .log(
                    MessageType::WARNING,
                    format!("no hover preview for {}: {e}", uri.as_str()),
                )
                .await;
            None
        }
    }
}
