//! The message loop between a byte stream and tower-lsp-server's `LspService`, in place of
//! its `Server`: frames come through the defensive [`FrameReader`], bodies that are not
//! JSON-RPC get an error response instead of ending the session, and a panicking handler
//! becomes an internal-error response for that one request.
//!
//! Ordering: messages are handed to the service one at a time, in arrival order, and the
//! handler futures are polled first in that order, so document edits (applied before a
//! handler's first `.await`) land in order, as with tower-lsp-server's own loop.

use std::panic::AssertUnwindSafe;

use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};
use tower_lsp_server::{ClientSocket, LanguageServer, LspService};

use super::frame::{encode, Frame, FrameReader};

/// Limits of the message loop.
#[derive(Debug, Clone, Copy)]
pub struct TransportLimits {
    /// Bodies above this are skipped unread and answered with an error.
    pub max_message_bytes: usize,
    /// Requests handled at the same time; later messages wait for a free slot.
    pub max_concurrency: usize,
}

impl Default for TransportLimits {
    fn default() -> Self {
        Self {
            // a 5 MB source file escaped into JSON stays well below this
            max_message_bytes: 64 * 1024 * 1024,
            max_concurrency: 32,
        }
    }
}

/// A message as a client may send it. Same shape as tower-lsp-server's private `Message`, so
/// whatever parses here parses there.
#[derive(Deserialize)]
#[serde(untagged)]
enum Incoming {
    Response(Response),
    Request(Request),
}

enum Inbound {
    Request(Request),
    Response(Response),
    /// A frame that gets an error answer without reaching the service.
    Reject(Response),
}

/// Serves one session until `exit` or the end of `input`.
pub async fn serve<S, I, O>(
    input: I,
    mut output: O,
    service: LspService<S>,
    socket: ClientSocket,
    limits: TransportLimits,
) where
    S: LanguageServer,
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let (inbound_tx, mut inbound_rx) = tokio::sync::mpsc::channel::<Inbound>(64);
    // Reading runs on its own task: a half-read frame must survive the loop's other work.
    let reader = tokio::spawn(read_inbound(input, limits.max_message_bytes, inbound_tx));

    let (client_requests, mut client_responses) = socket.split();
    let (client_requests, client_abort) = futures::stream::abortable(client_requests);
    let (mut out_tx, out_rx) = mpsc::channel::<Vec<u8>>(16);
    let (mut tasks_tx, tasks_rx) = mpsc::channel(limits.max_concurrency);
    let mut service = service;

    let dispatch = {
        let mut out_tx = out_tx.clone();
        async move {
            while let Some(inbound) = inbound_rx.recv().await {
                match inbound {
                    Inbound::Request(req) => {
                        if futures::future::poll_fn(|cx| {
                            tower_service::Service::poll_ready(&mut service, cx)
                        })
                        .await
                        .is_err()
                        {
                            break; // exited
                        }
                        let exit = req.method() == "exit";
                        let task = call_guarded(&mut service, req);
                        if tasks_tx.send(task).await.is_err() || exit {
                            break;
                        }
                    }
                    Inbound::Response(res) => {
                        if client_responses.send(res).await.is_err() {
                            break;
                        }
                    }
                    Inbound::Reject(res) => {
                        let _ = out_tx.send(to_frame(&res)).await;
                    }
                }
            }
            tasks_tx.disconnect();
            client_abort.abort();
        }
    };

    let process = tasks_rx
        .buffer_unordered(limits.max_concurrency)
        .filter_map(futures::future::ready)
        .map(|res| Ok(to_frame(&res)))
        .forward(out_tx.clone());

    let server_requests = client_requests
        .map(|req| Ok(to_frame(&req)))
        .forward(out_tx.clone());

    let write = async move {
        let mut out_rx = out_rx;
        while let Some(frame) = out_rx.next().await {
            if output.write_all(&frame).await.is_err() || output.flush().await.is_err() {
                tracing::error!("the client's end of the output is closed; stopping");
                break;
            }
        }
    };

    let work = async move {
        // `dispatch` last: it waits on the service's readiness, which changes (without a
        // wake-up of its own) when `process` finishes the initialize request in the same pass.
        let _ = futures::join!(process, server_requests, dispatch);
        out_tx.disconnect();
    };
    futures::join!(work, write);
    reader.abort();
}

/// Calls the service for one message, turning a panic into an error response (for a request)
/// or a log line (for a notification) so that the session goes on.
fn call_guarded<S: LanguageServer>(
    service: &mut LspService<S>,
    req: Request,
) -> futures::future::BoxFuture<'static, Option<Response>> {
    let id = req.id().cloned();
    let method = req.method().to_string();
    let called = std::panic::catch_unwind(AssertUnwindSafe(|| {
        tower_service::Service::call(service, req)
    }));
    let fut = match called {
        Ok(fut) => fut,
        Err(panic) => return futures::future::ready(panic_response(id, &method, panic)).boxed(),
    };
    async move {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(Ok(res)) => res,
            Ok(Err(_exited)) => id.map(|id| Response::from_error(id, exited_error())),
            Err(panic) => panic_response(id, &method, panic),
        }
    }
    .boxed()
}

fn panic_response(
    id: Option<Id>,
    method: &str,
    panic: Box<dyn std::any::Any + Send>,
) -> Option<Response> {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!("handler for {method} panicked: {what}");
    id.map(|id| {
        let mut err = Error::internal_error();
        err.message = format!(
            "internal error while handling {method}: {what}. The server keeps running; \
             please report this with the file that triggered it."
        )
        .into();
        Response::from_error(id, err)
    })
}

fn exited_error() -> Error {
    let mut err = Error::new(ErrorCode::InvalidRequest);
    err.message = "the server has exited and handles no more requests".into();
    err
}

async fn read_inbound<I: AsyncRead + Unpin>(
    input: I,
    max_message_bytes: usize,
    tx: tokio::sync::mpsc::Sender<Inbound>,
) {
    let mut frames = FrameReader::new(
        BufReader::with_capacity(64 * 1024, input),
        max_message_bytes,
    );
    loop {
        let inbound = match frames.next().await {
            Ok(None) => return,
            Err(e) => {
                tracing::error!("reading the client's messages failed: {e}");
                return;
            }
            Ok(Some(Frame::Rejected(reason))) => {
                tracing::warn!("{reason}");
                Inbound::Reject(Response::from_error(
                    Id::Null,
                    error(ErrorCode::InvalidRequest, reason),
                ))
            }
            Ok(Some(Frame::Body(body))) => classify(&body),
        };
        if tx.send(inbound).await.is_err() {
            return;
        }
    }
}

/// Sorts a frame body into a request, a response or an error answer.
fn classify(body: &[u8]) -> Inbound {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("message is not JSON ({e}): answered with a parse error");
            return Inbound::Reject(Response::from_error(
                Id::Null,
                error(
                    ErrorCode::ParseError,
                    format!("message is not valid JSON: {e}"),
                ),
            ));
        }
    };
    // keep the id when there is one, so the client can match the error to its request
    let id = value
        .get("id")
        .and_then(|id| serde_json::from_value::<Id>(id.clone()).ok())
        .unwrap_or(Id::Null);
    let shaped = value.get("method").is_some_and(Value::is_string)
        || value.get("result").is_some()
        || value.get("error").is_some();
    if !shaped {
        tracing::warn!("message is neither a request nor a response: answered with an error");
        return Inbound::Reject(Response::from_error(
            id,
            error(
                ErrorCode::InvalidRequest,
                "message is not a JSON-RPC 2.0 request or response: it needs a string \"method\" \
                 (request, notification) or a \"result\" / \"error\" (response)"
                    .into(),
            ),
        ));
    }
    match serde_json::from_value::<Incoming>(value) {
        Ok(Incoming::Request(req)) => Inbound::Request(req),
        Ok(Incoming::Response(res)) => Inbound::Response(res),
        Err(e) => {
            tracing::warn!("message is not a JSON-RPC 2.0 request or response: {e}");
            Inbound::Reject(Response::from_error(
                id,
                error(
                    ErrorCode::InvalidRequest,
                    format!(
                        "message is not a valid JSON-RPC 2.0 message (check \"jsonrpc\": \"2.0\" \
                         and the types of \"id\", \"method\", \"params\"): {e}"
                    ),
                ),
            ))
        }
    }
}

fn error(code: ErrorCode, message: String) -> Error {
    let mut err = Error::new(code);
    err.message = message.into();
    err
}

fn to_frame<T: serde::Serialize>(message: &T) -> Vec<u8> {
    encode(&serde_json::to_vec(message).expect("JSON-RPC messages serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Hover, HoverParams, InitializeParams, InitializeResult};

    struct PanicsOnHover;

    impl LanguageServer for PanicsOnHover {
        async fn initialize(
            &self,
            _: InitializeParams,
        ) -> tower_lsp_server::jsonrpc::Result<InitializeResult> {
            Ok(InitializeResult::default())
        }
        async fn shutdown(&self) -> tower_lsp_server::jsonrpc::Result<()> {
            Ok(())
        }
        async fn hover(&self, _: HoverParams) -> tower_lsp_server::jsonrpc::Result<Option<Hover>> {
            panic!("hover exploded")
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_an_internal_error_and_the_loop_goes_on() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (server_read, server_write) = tokio::io::split(server);
        let (service, socket) = LspService::new(|_| PanicsOnHover);
        let task = tokio::spawn(async move {
            serve(
                server_read,
                server_write,
                service,
                socket,
                TransportLimits::default(),
            )
            .await
        });
        let (client_read, mut client_write) = tokio::io::split(client);
        let mut replies = FrameReader::new(BufReader::new(client_read), 1 << 20);
        let send = |body: &str| encode(body.as_bytes());
        // a client waits for the initialize answer before anything else
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
        client_write.write_all(&send(init)).await.unwrap();
        let Some(Frame::Body(first)) = replies.next().await.unwrap() else {
            panic!("no initialize answer")
        };
        assert!(String::from_utf8_lossy(&first).contains("\"id\":1"));
        let hover = r#"{"jsonrpc":"2.0","id":2,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///a.py"},"position":{"line":0,"character":0}}}"#;
        for body in [hover, r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#] {
            client_write.write_all(&send(body)).await.unwrap();
        }
        let mut answers = Vec::new();
        while let Some(Frame::Body(b)) = replies.next().await.unwrap() {
            let v: Value = serde_json::from_slice(&b).unwrap();
            answers.push(format!(
                "{} {}",
                v["id"],
                v.get("error")
                    .map_or("ok".into(), |e| e["message"].to_string())
            ));
            if answers.len() == 2 {
                break;
            }
        }
        answers.sort();
        expect_test::expect![[r#"
            [
                "2 \"internal error while handling textDocument/hover: hover exploded. The server keeps running; please report this with the file that triggered it.\"",
                "3 ok",
            ]
        "#]]
        .assert_debug_eq(&answers);
        let exit = send(r#"{"jsonrpc":"2.0","method":"exit"}"#);
        client_write.write_all(&exit).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .expect("the loop ends after exit")
            .unwrap();
    }
}
