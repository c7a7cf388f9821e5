//! `workspace/executeCommand` `cadquery.generate` {image, uri, position}: generate CadQuery
//! from a picture with work-done progress (cancellable), insert the best candidate with
//! `workspace/applyEdit` against the document version it was computed for, and answer
//! `{ candidates: [{ code, score, render }], applied }`, best first, render a base64 PNG.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{
    DocumentChanges, ExecuteCommandParams, MessageType, OneOf,
    OptionalVersionedTextDocumentIdentifier, Position, ProgressToken, TextDocumentEdit, TextEdit,
    Uri, WorkspaceEdit,
};

use crate::generate::pipeline::GenerateError;
use crate::lsp::convert;
use crate::lsp::generation::{self, GenerationFailure, Offered};
use crate::lsp::runner::Unavailable;
use crate::lsp::session::{GeneratedCandidate, Session};
use crate::lsp::work_progress::{run_with_progress, Reporting};
use crate::progress::CancellationToken;

/// The command's id, as advertised in the server's capabilities.
pub const GENERATE: &str = "cadquery.generate";

#[derive(Debug, Deserialize)]
struct GenerateArgs {
    image: String,
    uri: Uri,
    position: Position,
}

pub async fn execute_command(
    session: &Arc<Session>,
    params: ExecuteCommandParams,
) -> Result<Option<Value>> {
    if params.command != GENERATE {
        return Err(Error::invalid_params(format!(
            "unknown command `{}`: this server runs only `{GENERATE}`",
            params.command
        )));
    }
    let args = params
        .arguments
        .into_iter()
        .next()
        .ok_or_else(|| "no arguments".to_string())
        .and_then(|a| serde_json::from_value::<GenerateArgs>(a).map_err(|e| e.to_string()))
        .map_err(|why| {
            Error::invalid_params(format!(
                "`{GENERATE}` takes one argument {{ image, uri, position }} ({why}): image is \
                 the picture's path, uri the document to insert into, position where"
            ))
        })?;
    let token = params.work_done_progress_params.work_done_token;
    generate(session, args, token).await.map(Some)
}

/// A failure shown to the user (`window/showMessage`) and answered as the request's error.
async fn fail(session: &Session, message: String) -> Error {
    session.log(MessageType::ERROR, message.clone()).await;
    session
        .client
        .show_message(MessageType::ERROR, message.clone())
        .await;
    // LSP's RequestFailed: a valid request that failed for a reason the message gives
    let mut e = Error::new(ErrorCode::ServerError(-32803));
    e.message = message.into();
    e
}

fn image_path(image: &str, document: &Uri) -> PathBuf {
    let written = image.strip_prefix("file://").unwrap_or(image);
    let path = PathBuf::from(written);
    if path.is_relative() {
        if let Some(dir) = document
            .to_file_path()
            .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        {
            return dir.join(path);
        }
    }
    path
}

async fn generate(
    session: &Arc<Session>,
    args: GenerateArgs,
    client_token: Option<ProgressToken>,
) -> Result<Value> {
    let Some(doc) = session.snapshot(&args.uri) else {
        return Err(fail(
            session,
            format!(
                "cannot generate into {}: the document is not open in the editor",
                args.uri.as_str()
            ),
        )
        .await);
    };
    let path = image_path(&args.image, &args.uri);
    let shown = path.display().to_string();
    let loaded = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || generation::load_picture(&path)).await
    };
    let picture = match loaded {
        Ok(Ok(p)) => p,
        Ok(Err(why)) => {
            return Err(fail(session, format!("cannot generate from {shown}: {why}")).await)
        }
        Err(e) => return Err(fail(session, format!("reading {shown} failed: {e}")).await),
    };
    let pool = match session.runner.pool(session).await {
        Ok(pool) => pool,
        Err(Unavailable::New(why)) => return Err(fail(session, why).await),
        Err(Unavailable::Known) => {
            return Err(fail(
                session,
                "cannot generate: CadQuery could not be started (see the earlier message); \
                 fix `cadquery.pythonPath` and try again"
                    .into(),
            )
            .await)
        }
    };
    // the insertion point, in the version the candidates are computed for
    let encoding = session.encoding();
    let version = doc.version();
    let insert_at = insertion_offset(doc.text(), convert::offset(&doc, args.position, encoding));
    let cancel = CancellationToken::new();
    // a `$/cancelRequest` drops this future: the guard then stops the generation
    let guard = cancel.clone().drop_guard();
    let name = path
        .file_name()
        .map_or(shown.clone(), |n| n.to_string_lossy().into_owned());
    let task = {
        let session = Arc::clone(session);
        let settings = session.settings();
        let document = doc.text().to_string();
        let reporting = Reporting {
            title: format!("Generating CadQuery from {name}"),
            client_token,
            cancel: Some(cancel.clone()),
            percent: generation::overall_percent,
        };
        tokio::spawn(async move {
            // one generation at a time: each one keeps both cores busy
            let _turn = session.generation_turn.lock().await;
            run_with_progress(
                &session,
                reporting,
                {
                    let session = Arc::clone(&session);
                    move |progress| {
                        generation::generate(
                            &session.generators,
                            &picture,
                            &document,
                            &pool,
                            &settings,
                            progress,
                            &cancel,
                        )
                    }
                },
                |r| {
                    Some(match r {
                        Ok(c) => format!("{} candidates", c.len()),
                        Err(e) => e.to_string(),
                    })
                },
            )
            .await
        })
    };
    let outcome = task.await;
    guard.disarm();
    let offered = match outcome {
        Ok(Ok(Ok(offered))) => offered,
        Ok(Ok(Err(GenerationFailure::Pipeline(GenerateError::Cancelled)))) => {
            let mut e = Error::request_cancelled();
            e.message = format!("generation from {name} cancelled").into();
            return Err(e);
        }
        Ok(Ok(Err(GenerationFailure::Pipeline(GenerateError::NothingValid(n))))) => {
            session
                .log(
                    MessageType::WARNING,
                    format!("no candidate for {name} built a valid solid ({n} tried)"),
                )
                .await;
            Vec::new()
        }
        Ok(Ok(Err(e))) => {
            return Err(fail(session, format!("generation from {name} failed: {e}")).await)
        }
        Ok(Err(why)) => return Err(fail(session, why).await),
        Err(e) => return Err(fail(session, format!("generation from {name} failed: {e}")).await),
    };
    let applied = match offered.first() {
        Some(best) => insert(session, &args.uri, &doc, version, insert_at, best).await,
        None => false,
    };
    session.record_generation(
        &args.uri,
        offered
            .iter()
            .map(|o| GeneratedCandidate {
                code: o.code.clone(),
                score: o.score,
            })
            .collect(),
    );
    Ok(json!({
        "candidates": offered.iter().map(candidate_json).collect::<Vec<_>>(),
        "applied": applied,
    }))
}

fn candidate_json(o: &Offered) -> Value {
    json!({
        "code": o.code,
        "score": (o.score * 1000.0).round() / 1000.0,
        "render": base64::encode(&o.render_png),
    })
}

/// Where a block goes for a cursor at `offset`: the start of its line, or of the next line
/// when the cursor sits after text on a line; never above the document's imports (the block
/// uses `cq`, and its own import line is dropped when the document has one).
fn insertion_offset(text: &str, offset: usize) -> usize {
    let next_line = |at: usize| text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let at = if text[line_start..offset].trim().is_empty() {
        line_start
    } else {
        next_line(offset)
    };
    let mut after_imports = 0;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("import ") || line.starts_with("from ") {
            after_imports = start + line.len();
        }
        start += line.len();
    }
    at.max(after_imports)
}

/// Applies the best candidate if the document is still at `version`; says why not otherwise.
async fn insert(
    session: &Session,
    uri: &Uri,
    doc: &crate::lsp::document::Document,
    version: i32,
    at: usize,
    best: &Offered,
) -> bool {
    if session.version(uri) != Some(version) {
        session
            .client
            .show_message(
                MessageType::WARNING,
                "the document changed while the code was generated: nothing inserted (the \
                 candidates are in the result; run the command again to insert one)",
            )
            .await;
        return false;
    }
    let mut new_text = best.code.clone();
    // a block inserted after the last line starts on its own line
    if at == doc.text().len() && !doc.text().is_empty() && !doc.text().ends_with('\n') {
        new_text.insert(0, '\n');
    }
    let range = convert::range(doc, at, at, session.encoding());
    let edit = WorkspaceEdit {
        document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier {
                uri: uri.clone(),
                version: Some(version),
            },
            edits: vec![OneOf::Left(TextEdit { range, new_text })],
        }])),
        ..Default::default()
    };
    match session.client.apply_edit(edit).await {
        Ok(r) if r.applied => true,
        Ok(r) => {
            let why = r.failure_reason.unwrap_or_else(|| "no reason given".into());
            session
                .client
                .show_message(
                    MessageType::WARNING,
                    format!("the editor did not insert the generated code: {why}"),
                )
                .await;
            false
        }
        Err(e) => {
            session
                .log(
                    MessageType::WARNING,
                    format!("workspace/applyEdit failed: {e}"),
                )
                .await;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_go_to_the_start_of_a_line() {
        let text = "import cadquery as cq\n\nx = 1\n";
        assert_eq!(insertion_offset(text, 22), 22); // empty line
        assert_eq!(insertion_offset(text, 3), 22); // inside the import: the next line
        assert_eq!(insertion_offset(text, 0), 22); // never above the imports
        assert_eq!(insertion_offset(text, 26), 29); // after `x =`: the next line
        assert_eq!(insertion_offset(text, text.len()), text.len());
        assert_eq!(insertion_offset("x = 1", 5), 5);
    }
}
