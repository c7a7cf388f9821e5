//! A test client speaking raw JSON-RPC to the server, in process over `tokio::io::duplex`
//! (typos-lsp style) or to the real binary over stdio, with a builder over a real temp dir
//! (ruff style). Server-to-client requests are answered like an editor would.
// each test binary uses a different part of the helper
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

pub const WAIT: Duration = Duration::from_secs(20);

type Reader = BufReader<Box<dyn tokio::io::AsyncRead + Unpin + Send>>;
type Writer = Box<dyn AsyncWrite + Unpin + Send>;

pub struct TestServerBuilder {
    initialization_options: Value,
    capabilities: Value,
    /// Answer to `workspace/configuration` (None: the client does not support it).
    configuration: Option<Value>,
    files: Vec<(String, String)>,
    limits: cadquery_lsp::lsp::TransportLimits,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        Self {
            initialization_options: Value::Null,
            capabilities: json!({
                "general": {"positionEncodings": ["utf-16"]},
                "window": {"workDoneProgress": true},
                "workspace": {"applyEdit": true},
                "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]}}
            }),
            configuration: None,
            files: Vec::new(),
            limits: Default::default(),
        }
    }
}

impl TestServerBuilder {
    pub fn initialization_options(mut self, options: Value) -> Self {
        self.initialization_options = options;
        self
    }

    /// The client supports `workspace/configuration` and answers it with `section`.
    pub fn configuration(mut self, section: Value) -> Self {
        self.configuration = Some(section);
        self.capabilities["workspace"]["configuration"] = json!(true);
        self
    }

    pub fn position_encodings(mut self, encodings: &[&str]) -> Self {
        self.capabilities["general"]["positionEncodings"] = json!(encodings);
        self
    }

    pub fn file(mut self, name: &str, text: &str) -> Self {
        self.files.push((name.into(), text.into()));
        self
    }

    pub fn limits(mut self, limits: cadquery_lsp::lsp::TransportLimits) -> Self {
        self.limits = limits;
        self
    }

    fn write_files(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in &self.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    /// Starts the server in process, without initializing it.
    pub fn start(self) -> TestServer {
        let dir = self.write_files();
        let (client_end, server_end) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_end);
        let limits = self.limits;
        let task = tokio::spawn(cadquery_lsp::lsp::serve(server_read, server_write, limits));
        let (read, write) = tokio::io::split(client_end);
        TestServer::new(self, dir, Box::new(read), Box::new(write), Some(task))
    }

    /// Starts the server in process and completes `initialize` / `initialized`.
    pub async fn build(self) -> TestServer {
        let mut server = self.start();
        server.initialize().await;
        server
    }

    /// Starts the real binary on stdio (not initialized).
    pub fn spawn_binary(self) -> (TestServer, tokio::process::Child) {
        let dir = self.write_files();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cadquery-lsp"))
            .arg("serve")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the cadquery-lsp binary starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let server = TestServer::new(self, dir, Box::new(stdout), Box::new(stdin), None);
        (server, child)
    }
}

pub struct TestServer {
    reader: Reader,
    writer: Writer,
    next_id: i64,
    /// Notifications and server requests not consumed yet, in arrival order.
    inbox: VecDeque<Value>,
    /// Every server-to-client request seen, in order.
    pub server_requests: Vec<Value>,
    builder: TestServerBuilder,
    dir: tempfile::TempDir,
    pub task: Option<tokio::task::JoinHandle<cadquery_lsp::lsp::SessionEnd>>,
}

impl TestServer {
    fn new(
        builder: TestServerBuilder,
        dir: tempfile::TempDir,
        read: Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        writer: Writer,
        task: Option<tokio::task::JoinHandle<cadquery_lsp::lsp::SessionEnd>>,
    ) -> Self {
        Self {
            reader: BufReader::new(read),
            writer,
            next_id: 1,
            inbox: VecDeque::new(),
            server_requests: Vec::new(),
            builder,
            dir,
            task,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn uri(&self, name: &str) -> String {
        path_uri(&self.dir.path().join(name))
    }

    /// Replaces the temp dir in `text` with `$DIR`, for snapshots.
    pub fn redact(&self, text: &str) -> String {
        let dir = self.dir.path();
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        text.replace(&path_uri(dir), "file://$DIR")
            .replace(&canonical.display().to_string(), "$DIR")
    }

    pub async fn initialize(&mut self) -> Value {
        let params = json!({
            "processId": null,
            "rootUri": path_uri(self.dir.path()),
            "capabilities": self.builder.capabilities.clone(),
            "initializationOptions": self.builder.initialization_options.clone(),
        });
        let result = self.request("initialize", params).await;
        self.notify("initialized", json!({})).await;
        result.get("result").cloned().unwrap_or(result)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    pub async fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend(body);
        self.send_raw(&frame).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request and returns the whole response message (result or error).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        self.response(json!(id)).await
    }

    /// Waits for the response with `id`, keeping everything else in the inbox.
    pub async fn response(&mut self, id: Value) -> Value {
        self.response_within(id, WAIT).await
    }

    /// Same, for a request that may take up to `wait` (a generation on a loaded machine).
    pub async fn response_within(&mut self, id: Value, wait: Duration) -> Value {
        self.wait_within(&format!("the response to request {id}"), wait, |m| {
            m.get("method").is_none() && m["id"] == id
        })
        .await
    }

    /// Waits for the next response to any request (server errors to bad frames carry no id).
    pub async fn next_response(&mut self) -> Value {
        self.wait_for("a response", |m| m.get("method").is_none())
            .await
    }

    /// Waits for the next notification of `method` (earlier unread ones first).
    pub async fn notification(&mut self, method: &str) -> Value {
        self.wait_for(&format!("a {method} notification"), |m| {
            m["method"] == method && m.get("id").is_none()
        })
        .await["params"]
            .clone()
    }

    /// Same, waiting up to `wait` (work that loads a model on a loaded machine).
    pub async fn notification_within(&mut self, method: &str, wait: Duration) -> Value {
        self.wait_within(&format!("a {method} notification"), wait, |m| {
            m["method"] == method && m.get("id").is_none()
        })
        .await["params"]
            .clone()
    }

    /// Waits for diagnostics of `uri` at `version`, skipping older publications.
    pub async fn diagnostics(&mut self, uri: &str, version: i64) -> Value {
        self.wait_for(&format!("diagnostics of {uri} v{version}"), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == version
        })
        .await["params"]["diagnostics"]
            .clone()
    }

    /// All unread notifications of `method` that arrived so far (does not wait).
    pub fn drain(&mut self, method: &str) -> Vec<Value> {
        let (hit, rest): (Vec<_>, Vec<_>) =
            self.inbox.drain(..).partition(|m| m["method"] == method);
        self.inbox = rest.into();
        hit.into_iter().map(|m| m["params"].clone()).collect()
    }

    async fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        self.wait_within(what, WAIT, wanted).await
    }

    async fn wait_within(
        &mut self,
        what: &str,
        wait: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        if let Some(i) = self.inbox.iter().position(&wanted) {
            return self.inbox.remove(i).unwrap();
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.read_message()).await {
                Ok(Some(m)) => m,
                Ok(None) => panic!(
                    "server closed the stream while waiting for {what}; unread: {:#?}",
                    self.inbox
                ),
                Err(_) => panic!("timed out waiting for {what}; unread: {:#?}", self.inbox),
            };
            if message.get("method").is_some() && message.get("id").is_some() {
                self.answer_server_request(&message).await;
            }
            if wanted(&message) {
                return message;
            }
            self.inbox.push_back(message);
        }
    }

    /// Reads one message; `None` at the end of the stream.
    pub async fn read_message(&mut self) -> Option<Value> {
        let mut len = None;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = Some(v.parse::<usize>().unwrap());
            }
        }
        let mut body = vec![0; len.expect("server frames carry Content-Length")];
        self.reader.read_exact(&mut body).await.ok()?;
        Some(serde_json::from_slice(&body).expect("server sends JSON"))
    }

    async fn answer_server_request(&mut self, request: &Value) {
        self.server_requests.push(request.clone());
        let result = match request["method"].as_str().unwrap() {
            "workspace/configuration" => {
                let n = request["params"]["items"].as_array().map_or(1, |a| a.len());
                let section = self.builder.configuration.clone().unwrap_or(Value::Null);
                json!(vec![section; n])
            }
            "workspace/applyEdit" => json!({"applied": true}),
            _ => Value::Null,
        };
        self.send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": result}))
            .await;
    }

    pub async fn open(&mut self, name: &str, text: &str) -> String {
        let uri = self.uri(name);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        )
        .await;
        uri
    }

    /// One incremental change replacing `(line, character)..(line, character)`.
    pub async fn edit(
        &mut self,
        uri: &str,
        version: i64,
        start: (u32, u32),
        end: (u32, u32),
        text: &str,
    ) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{
                    "range": {"start": {"line": start.0, "character": start.1},
                              "end": {"line": end.0, "character": end.1}},
                    "text": text
                }]
            }),
        )
        .await;
    }

    pub async fn replace_all(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        )
        .await;
    }

    /// `shutdown` then `exit`; returns the shutdown response.
    pub async fn shutdown(&mut self) -> Value {
        let res = self.request("shutdown", Value::Null).await;
        self.notify("exit", Value::Null).await;
        res
    }
}

/// The Python with CadQuery in CADQUERY_LSP_PYTHON; `None`, with a message saying what is
/// skipped, without one.
pub fn python(skipped: &str) -> Option<String> {
    let python = std::env::var("CADQUERY_LSP_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    if python.is_none() {
        eprintln!("skipped: set CADQUERY_LSP_PYTHON to a Python with CadQuery to test {skipped}");
    }
    python
}

pub fn path_uri(path: &Path) -> String {
    let path: PathBuf = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", path.display())
}

/// Pretty JSON for snapshots.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}
