//! Model-proposed completions: continuations of the code before the cursor (the rest of the
//! statement, or the next one) decoded by the picture-to-code model, then EXECUTED with the
//! whole file in the worker pool; only those that build a valid solid are offered.
//!
//! Decoding and executing take hundreds of milliseconds, so they never run on the request
//! path: a completion request at a new (document, version, offset) starts a background job
//! and is answered with the API items at once (`isIncomplete`); a later request at the same
//! key gets the verified proposals. A newer job for the document cancels the older one, and
//! a job whose document changed meanwhile stores nothing, so proposals are only ever offered
//! for the version they were verified against. No protocol types leave this module except
//! the document's `Uri` key; `handlers::completion` turns proposals into items.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tower_lsp_server::ls_types::{MessageType, Uri};

use super::document::Document;
use super::execution;
use super::runner::Unavailable;
use super::session::Session;
use crate::model::bundle::TrainedModel;
use crate::model::decode::{DecodeOptions, Strategy};
use crate::progress::CancellationToken;
use crate::runtime::{ExecRequest, Job, JobOutput};

/// Every program of the model's grammar starts with these two lines (`start` and `head0` of
/// `grammars/canonical.lark`). The request path checks only this, for free; the job then
/// forces the whole prefix through the grammar and drops the proposals when it refuses it.
pub const CANONICAL_HEADER: &str = "import cadquery as cq\n# Generating a workplane for sketch 0\n";

/// Prefixes longer than this are not tried: the model reads at most a few hundred tokens
/// (~ 10 bytes each in canonical code), so a longer prefix is refused anyway.
const MAX_PREFIX_BYTES: usize = 8_192;

/// A request at a new position waits this long before decoding: typing moves the cursor
/// faster than a decode takes, and only the position the user stops at is worth decoding.
const DEBOUNCE: Duration = Duration::from_millis(120);

/// Tokens decoded per proposal: a long canonical statement (a loop of 8 segments) is ~70.
const MAX_TOKENS: usize = 160;

/// Wall-clock limit of one proposal's execution, queueing included; canonical code builds in
/// tens of milliseconds, so a proposal slower than this is not worth offering.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(4);

/// A continuation that executed with the file to a valid solid.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The text that replaces the cursor..`end` range.
    pub insert: String,
    /// Byte offset where the replaced range ends: the end of the line when the continuation
    /// finishes the statement the cursor is in (what follows on the line, such as a bracket
    /// the editor closed, is part of what it rewrites), else the cursor.
    pub end: usize,
    /// The model's log-probability of the continuation (its rank).
    pub log_prob: f32,
    /// Volume of the solid the file builds with it.
    pub volume: f64,
}

/// What a completion request gets from the model at its position.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Off by the settings, or the code before the cursor cannot be canonical.
    Off,
    /// A job for this position is running (or was just started).
    Pending,
    /// The verified proposals for this version and position (maybe none).
    Ready(Arc<Vec<Proposal>>),
}

/// The model, loaded once per model path on a blocking thread (never on the request path).
type LoadedModel = Arc<tokio::sync::OnceCell<Result<Arc<TrainedModel>, String>>>;

#[derive(Default)]
pub struct ModelCompletions {
    model: Mutex<Option<(Option<PathBuf>, LoadedModel)>>,
    /// The latest job of each document.
    jobs: DashMap<Uri, JobEntry>,
    /// One decode at a time: decoding is CPU-bound, and a superseded job waiting here sees its
    /// cancellation and quits instead of competing with the current one.
    turn: tokio::sync::Mutex<()>,
}

struct JobEntry {
    version: i32,
    offset: usize,
    cancel: CancellationToken,
    done: Option<Arc<Vec<Proposal>>>,
}

/// How a job ended, for the log (and the bench).
enum Outcome {
    Verified {
        proposed: usize,
        proposals: Vec<Proposal>,
        decode: Duration,
        verify: Duration,
    },
    /// The model refused the prefix (not canonical code) or could not run.
    NotProposed(String),
    /// No CadQuery to verify with: nothing unverified is offered.
    NoRuntime,
    Stale,
}

impl ModelCompletions {
    /// The state of the model proposals of `doc` at `offset`, starting a job when there is
    /// none for this version and offset. Cheap: a map lookup and a prefix comparison.
    pub fn lookup(
        &self,
        session: &Arc<Session>,
        uri: &Uri,
        doc: &Arc<Document>,
        offset: usize,
    ) -> Lookup {
        let settings = session.settings();
        if !settings.model_completions || !worth_trying(doc.text(), offset) {
            return Lookup::Off;
        }
        let version = doc.version();
        if let Some(job) = self.jobs.get(uri) {
            if job.version == version && job.offset == offset {
                return match &job.done {
                    Some(found) => Lookup::Ready(Arc::clone(found)),
                    None => Lookup::Pending,
                };
            }
        }
        let cancel = CancellationToken::new();
        let entry = JobEntry {
            version,
            offset,
            cancel: cancel.clone(),
            done: None,
        };
        if let Some(old) = self.jobs.insert(uri.clone(), entry) {
            old.cancel.cancel();
        }
        let session = Arc::clone(session);
        let uri = uri.clone();
        let doc = Arc::clone(doc);
        let count = settings.model_completion_count as usize;
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = propose(&session, &uri, &doc, offset, count, &cancel).await;
            let stored =
                match &outcome {
                    Outcome::Verified { proposals, .. } => session.model_completions.finish(
                        &uri,
                        version,
                        offset,
                        &cancel,
                        proposals.clone(),
                    ),
                    Outcome::NotProposed(_) | Outcome::NoRuntime => session
                        .model_completions
                        .finish(&uri, version, offset, &cancel, Vec::new()),
                    Outcome::Stale => false,
                };
            let what = describe(&outcome, stored);
            session
                .log(
                    MessageType::LOG,
                    format!(
                        "model completions for {} v{version} at byte {offset}: {what} ({:.2} s)",
                        uri.as_str(),
                        started.elapsed().as_secs_f64()
                    ),
                )
                .await;
        });
        Lookup::Pending
    }

    /// Stores a job's proposals if it is still the document's latest job; false otherwise.
    fn finish(
        &self,
        uri: &Uri,
        version: i32,
        offset: usize,
        cancel: &CancellationToken,
        proposals: Vec<Proposal>,
    ) -> bool {
        match self.jobs.get_mut(uri) {
            Some(mut job)
                if job.version == version && job.offset == offset && !cancel.is_cancelled() =>
            {
                job.done = Some(Arc::new(proposals));
                true
            }
            _ => false,
        }
    }

    /// Drops the document's job (closed document).
    pub fn forget(&self, uri: &Uri) {
        if let Some((_, job)) = self.jobs.remove(uri) {
            job.cancel.cancel();
        }
    }

    /// The model for `path` (the embedded default for `None`), loaded once in the background.
    async fn model(&self, path: Option<&Path>) -> Result<Arc<TrainedModel>, String> {
        let cell = {
            let mut slot = self.model.lock().unwrap_or_else(|p| p.into_inner());
            match slot.as_ref() {
                Some((key, cell)) if key.as_deref() == path => Arc::clone(cell),
                _ => {
                    let cell = LoadedModel::default();
                    *slot = Some((path.map(Path::to_path_buf), Arc::clone(&cell)));
                    cell
                }
            }
        };
        let path = path.map(Path::to_path_buf);
        cell.get_or_init(|| async move {
            let loaded = tokio::task::spawn_blocking(move || {
                TrainedModel::load_or_default(path.as_deref()).map_err(|e| {
                    format!(
                        "cannot load the model for completions: {e:#}; check `cadquery.modelPath`"
                    )
                })
            })
            .await
            .map_err(|e| format!("loading the model failed: {e}"))
            .and_then(|r| r);
            loaded.map(Arc::new)
        })
        .await
        .clone()
    }
}

/// Whether the text before the cursor may be canonical code: it starts like every program of
/// the grammar and is short enough for the model.
fn worth_trying(text: &str, offset: usize) -> bool {
    offset <= MAX_PREFIX_BYTES
        && offset >= CANONICAL_HEADER.len()
        && text.is_char_boundary(offset)
        && text[..offset].starts_with(CANONICAL_HEADER)
}

/// Sleeps `d`; false when cancelled first.
async fn pause(cancel: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// Decodes `count` continuations at `offset` and keeps those that execute with the file to a
/// valid solid, best first.
async fn propose(
    session: &Arc<Session>,
    uri: &Uri,
    doc: &Document,
    offset: usize,
    count: usize,
    cancel: &CancellationToken,
) -> Outcome {
    if !pause(cancel, DEBOUNCE).await {
        return Outcome::Stale;
    }
    let model = match session
        .model_completions
        .model(session.settings().model_path.as_deref())
        .await
    {
        Ok(model) => model,
        Err(e) => return Outcome::NotProposed(e),
    };
    if session.version(uri) != Some(doc.version()) {
        // edited while the model loaded: the job for the new version is the one to run
        return Outcome::Stale;
    }
    let picture = picture(session, uri);
    let prefix = doc.text()[..offset].to_string();
    let decoded = {
        let _turn = tokio::select! {
            turn = session.model_completions.turn.lock() => turn,
            _ = cancel.cancelled() => return Outcome::Stale,
        };
        let started = Instant::now();
        let options = DecodeOptions {
            strategy: Strategy::Beam { width: count },
            candidates: count,
            max_tokens: MAX_TOKENS,
            seed: 0,
        };
        let decoded = tokio::task::spawn_blocking(move || {
            model
                .continue_code(&picture, &prefix, count, &options)
                .map_err(|e| format!("{e:#}"))
        })
        .await
        .map_err(|e| format!("decoding failed: {e}"))
        .and_then(|r| r);
        decoded.map(|c| (c, started.elapsed()))
    };
    let (candidates, decode) = match decoded {
        Ok(found) => found,
        Err(e) => return Outcome::NotProposed(e),
    };
    if cancel.is_cancelled() || session.version(uri) != Some(doc.version()) {
        return Outcome::Stale;
    }
    let text = doc.text();
    let mut placed: Vec<(String, usize, f32)> = Vec::new();
    for c in candidates.iter().filter(|c| c.complete) {
        let (insert, end) = placement(&c.continuation, text, offset);
        if !insert.trim().is_empty() && !placed.iter().any(|(i, e, _)| (i, *e) == (&insert, end)) {
            placed.push((insert, end, c.log_prob));
        }
    }
    let pool = match session.runner.pool(session).await {
        Ok(pool) => pool,
        Err(Unavailable::New(message)) => {
            session.log(MessageType::ERROR, message).await;
            return Outcome::NoRuntime;
        }
        Err(Unavailable::Known) => return Outcome::NoRuntime,
    };
    let started = Instant::now();
    let checks = placed.iter().map(|(insert, end, _)| {
        let code = format!("{}{insert}{}", &text[..offset], &text[*end..]);
        let pool = pool.clone();
        // not the job's token: cancelling a running job kills its warm worker (see
        // `handlers::diagnostics::run_script`); a stale job's results are dropped instead
        let shutdown = session.shutdown_token();
        async move {
            let job = Job::Execute(ExecRequest::facts(code.clone()));
            match tokio::time::timeout(VERIFY_TIMEOUT, pool.execute_async(job, &shutdown)).await {
                Ok(Ok(JobOutput::Executed(execution))) => {
                    let why = execution::diagnostics(&code, &execution);
                    match &execution {
                        Ok(built) if why.is_empty() => Some(built.facts.volume),
                        _ => {
                            tracing::debug!("model proposal dropped: {:?}", why.first());
                            None
                        }
                    }
                }
                other => {
                    tracing::debug!("model proposal not verified: {other:?}");
                    None
                }
            }
        }
    });
    let volumes = futures::future::join_all(checks).await;
    if cancel.is_cancelled() || session.version(uri) != Some(doc.version()) {
        return Outcome::Stale;
    }
    let mut proposals: Vec<Proposal> = placed
        .into_iter()
        .zip(volumes)
        .filter_map(|((insert, end, log_prob), volume)| {
            Some(Proposal {
                insert,
                end,
                log_prob,
                volume: volume?,
            })
        })
        .collect();
    // every offered proposal built a valid solid; among them the model's preference decides
    proposals.sort_by(|a, b| b.log_prob.total_cmp(&a.log_prob));
    Outcome::Verified {
        proposed: candidates.len(),
        proposals,
        decode,
        verify: started.elapsed(),
    }
}

/// Where a continuation goes: (text, end of the replaced range from `offset`). A continuation
/// that finishes the statement the cursor is in replaces the rest of its line (without its
/// own line break: the line keeps its own); a next statement at the start of a non-blank
/// line is inserted before that line, line break included.
fn placement(continuation: &str, text: &str, offset: usize) -> (String, usize) {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let eol = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let eol = if eol > offset && text[..eol].ends_with('\r') {
        eol - 1
    } else {
        eol
    };
    let blank_rest = text[offset..eol].trim().is_empty();
    match continuation.strip_suffix('\n') {
        Some(statement) if line_start != offset || blank_rest => (statement.to_string(), eol),
        _ => (continuation.to_string(), offset),
    }
}

/// The picture the model is conditioned on.
///
/// The render of the file's part from its last successful run (the hover preview's PNG),
/// else a blank picture. The model was trained to write the code of the part in a picture,
/// and the only picture of the intended part the server has is the file's own render: with
/// it, the proposals at a position tend to rebuild what the rest of the file builds there.
/// A blank picture (no run yet, or a client without markdown hover, which gets no preview)
/// conditions on nothing, and the proposals follow the code before the cursor alone.
fn picture(session: &Session, uri: &Uri) -> image::DynamicImage {
    session
        .last_build(uri)
        .and_then(|b| b.preview)
        .and_then(|path| image::open(path).ok())
        .unwrap_or_else(blank_picture)
}

fn blank_picture() -> image::DynamicImage {
    image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(448, 448, image::Luma([255])))
}

fn describe(outcome: &Outcome, stored: bool) -> String {
    let what = match outcome {
        Outcome::Verified {
            proposed,
            proposals,
            decode,
            verify,
        } => format!(
            "{proposed} proposed, {} executed to a valid solid (decode {:.2} s, execution {:.2} s)",
            proposals.len(),
            decode.as_secs_f64(),
            verify.as_secs_f64()
        ),
        Outcome::NotProposed(why) => format!("none proposed: {why}"),
        Outcome::NoRuntime => "none offered: CadQuery is not available to verify them".into(),
        Outcome::Stale => "stale (the document or the position changed), dropped".into(),
    };
    if stored || matches!(outcome, Outcome::Stale) {
        what
    } else {
        format!("{what}; stale by now, dropped")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prefixes_that_start_like_canonical_code_are_tried() {
        let canonical = format!("{CANONICAL_HEADER}wp_sketch0 = cq.Workplane(");
        assert!(worth_trying(&canonical, canonical.len()));
        assert!(!worth_trying(&canonical, 10), "inside the header");
        let other = "import cadquery as cq\nr = cq.Workplane().box(1, 2, 3)\n";
        assert!(!worth_trying(other, other.len()));
        let long = format!("{CANONICAL_HEADER}{}", "#\n".repeat(MAX_PREFIX_BYTES));
        assert!(!worth_trying(&long, long.len()));
    }

    #[test]
    fn every_program_of_the_grammar_starts_with_the_header() {
        let lark = crate::model::grammar::canonical_lark(Default::default());
        assert!(
            lark.contains("start: \"import cadquery as cq\\n\" s0_0")
                && lark.contains("head0: \"# Generating a workplane for sketch 0\\n\" wp0"),
            "the grammar's start changed: update CANONICAL_HEADER"
        );
        for seed in 0..5 {
            assert!(crate::data::generate(seed)
                .to_code()
                .starts_with(CANONICAL_HEADER));
        }
    }

    #[test]
    fn a_statement_replaces_the_rest_of_its_line_or_goes_before_the_next() {
        let text = "a=1\nsolid0=wp.extrude()\nsolid=solid0\n\n";
        let cursor = text.find("()").unwrap() + 1;
        // the rest of the statement replaces the closing bracket the editor added
        assert_eq!(
            placement("0.5)\n", text, cursor),
            ("0.5)".into(), cursor + 1)
        );
        // a next statement at the start of a line goes before it, with its line break
        let start = text.find("solid=").unwrap();
        assert_eq!(placement("b=2\n", text, start), ("b=2\n".into(), start));
        // on a blank line it fills the line
        let blank = text.len() - 1;
        assert_eq!(placement("b=2\n", text, blank), ("b=2".into(), blank));
        // at the end of a statement's line, a longer chain
        let end = text.find("()").unwrap() + 2;
        assert_eq!(placement(".clean()\n", text, end), (".clean()".into(), end));
        // at the end of a file without a final line break
        assert_eq!(placement("b=2\n", "a=1\n", 4), ("b=2".into(), 4));
    }
}
