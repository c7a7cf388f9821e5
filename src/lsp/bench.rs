//! `cadquery-lsp bench lsp`: server latencies measured in process over a pipe, as a client
//! sees them: syntax+API diagnostics after a one-character edit in a 2,000-line file,
//! execution diagnostics after saving a dev part with a warm pool, and the process's memory.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader, DuplexStream, WriteHalf};

use super::frame::{encode, Frame, FrameReader};
use super::{serve, TransportLimits};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Lines of the generated CadQuery file edited one character at a time.
    #[arg(long, default_value_t = 2000)]
    pub lines: usize,
    /// Edits (and saves) measured.
    #[arg(long, default_value_t = 200)]
    pub iterations: usize,
    /// CadQuery script saved for the execution measurement (default: the first dev part in
    /// $CADQUERY_LSP_SHARED/data/gencad-dev, else examples/bracket.py).
    #[arg(long)]
    pub part: Option<PathBuf>,
    /// Python with CadQuery (default: discovery / managed environment).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Skip the execution measurement (no CadQuery needed).
    #[arg(long)]
    pub no_execution: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(bench(args))
}

pub(super) struct Client {
    out: WriteHalf<DuplexStream>,
    inbox: tokio::sync::mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    /// The `window/logMessage` texts seen so far.
    pub logs: Vec<String>,
}

impl Client {
    async fn send(&mut self, message: Value) -> anyhow::Result<()> {
        self.out
            .write_all(&encode(&serde_json::to_vec(&message)?))
            .await?;
        Ok(())
    }

    pub(super) async fn notify(&mut self, method: &str, params: Value) -> anyhow::Result<()> {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await
    }

    /// Opens `uri` as a Python document at version 1.
    pub(super) async fn open(&mut self, uri: &str, text: &str) -> anyhow::Result<()> {
        let document = json!({"uri": uri, "languageId": "python", "version": 1, "text": text});
        self.notify("textDocument/didOpen", json!({"textDocument": document}))
            .await
    }

    pub(super) async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        self.wait(|m| m["id"] == id && m.get("method").is_none())
            .await
    }

    async fn wait(&mut self, wanted: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
                Ok(Some(m)) if wanted(&m) => return Ok(m),
                Ok(Some(m)) => {
                    if let Some(log) = m["params"]["message"].as_str() {
                        if m["method"] == "window/logMessage" {
                            self.logs.push(log.to_string());
                        }
                    }
                }
                Ok(None) => anyhow::bail!("the server closed the connection"),
                Err(_) => anyhow::bail!("no answer from the server within 120 s"),
            }
        }
    }

    /// Sends one change of `line`, columns `from..to` replaced by `text`, as `version`.
    async fn edit(
        &mut self,
        uri: &str,
        version: i64,
        (line, from, to): (usize, usize, usize),
        text: &str,
    ) -> anyhow::Result<()> {
        let range = json!({"start": {"line": line, "character": from},
                           "end": {"line": line, "character": to}});
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": range, "text": text}]
            }),
        )
        .await
    }

    /// Waits for the next diagnostics of `uri` at `version`.
    pub(super) async fn diagnostics(&mut self, uri: &str, version: i64) -> anyhow::Result<Value> {
        self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == version
        })
        .await
    }
}

pub(super) async fn start(options: Value) -> anyhow::Result<Client> {
    start_with(options, json!({})).await
}

/// A server for a client with `capabilities`.
pub(super) async fn start_with(options: Value, capabilities: Value) -> anyhow::Result<Client> {
    let (client_end, server_end) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_end);
    tokio::spawn(serve(server_read, server_write, TransportLimits::default()));
    let (read, out) = tokio::io::split(client_end);
    let (tx, inbox) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut frames = FrameReader::new(BufReader::new(read), usize::MAX);
        while let Ok(Some(Frame::Body(body))) = frames.next().await {
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        }
    });
    let mut client = Client {
        out,
        inbox,
        next_id: 1,
        logs: Vec::new(),
    };
    client
        .request(
            "initialize",
            json!({"capabilities": capabilities, "initializationOptions": options}),
        )
        .await?;
    client.notify("initialized", json!({})).await?;
    Ok(client)
}

/// A canonical-style CadQuery file of about `lines` lines.
fn long_file(lines: usize) -> String {
    let mut text = String::from("import cadquery as cq\nsolid = cq.Workplane().box(1, 1, 1)\n");
    for i in 0..lines.saturating_sub(2) / 4 {
        text.push_str(&format!(
            "wp_sketch{i} = cq.Workplane(cq.Plane(cq.Vector(0, 0, 0), cq.Vector(1, 0, 0), cq.Vector(0, 0, 1)))\n\
             loop{i}=wp_sketch{i}.moveTo(0.1, 0.2).lineTo(0.5, 0.2).threePointArc((0.6, 0.3), (0.5, 0.4)).close()\n\
             solid{i}=wp_sketch{i}.add(loop{i}).extrude(0.25)\n\
             solid=solid.union(solid{i})\n"
        ));
    }
    text
}

/// (line, column + shift) of the first `needle` in the second half of `text`.
fn middle_of(text: &str, needle: &str, shift: usize) -> anyhow::Result<(usize, usize)> {
    let line_count = text.lines().count();
    text.lines()
        .enumerate()
        .skip(line_count / 2)
        .find_map(|(n, l)| l.find(needle).map(|c| (n, c + shift)))
        .ok_or_else(|| anyhow::anyhow!("the generated file has no `{needle}` in its second half"))
}

/// Medians of the server's phases for one-character edits of a name in the middle of `text`:
/// what the client-observed figures below are made of.
fn server_phases(text: &str, iterations: usize) {
    use super::document::{Document, TextChange};
    use super::line_index::{LineCol, PositionEncoding};
    let encoding = PositionEncoding::Utf16;
    let Ok((line, column)) = middle_of(text, ".close()", 5) else {
        return;
    };
    let mut doc = Document::new(text.to_string(), 1);
    doc.static_diagnostics();
    let names = [
        "edit + incremental re-parse + line index",
        "analysis (reusing statements)",
        "syntax + name checks",
        "conversion to LSP (UTF-16)",
        "full parse (avoided)",
        "whole-file analysis (avoided)",
    ];
    let mut phases: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for i in 0..iterations {
        let (end, new) = if i % 2 == 0 {
            (column + 1, "")
        } else {
            (column, "e")
        };
        let at = |character| LineCol {
            line: line as u32,
            character: character as u32,
        };
        let change = TextChange {
            range: Some((at(column), at(end))),
            text: new.into(),
        };
        let mut lap = Instant::now();
        let mut mark = |phase: usize| {
            phases[phase].push(lap.elapsed().as_secs_f64() * 1e3);
            lap = Instant::now();
        };
        doc.apply(&[change], i as i32 + 2, encoding).ok();
        mark(0);
        std::hint::black_box(doc.analysis());
        mark(1);
        std::hint::black_box(doc.static_diagnostics());
        mark(2);
        std::hint::black_box(super::handlers::diagnostics::check(&doc, encoding));
        mark(3);
    }
    // what the reuse avoids, in a loop of its own: its 150 ms would leave the caches cold
    // for the edits above
    for _ in 0..iterations.min(10) {
        let mut lap = Instant::now();
        let mut mark = |phase: usize| {
            phases[phase].push(lap.elapsed().as_secs_f64() * 1e3);
            lap = Instant::now();
        };
        let fresh = crate::syntax::ParsedDocument::new(doc.text());
        mark(4);
        std::hint::black_box(fresh.analyze(None));
        mark(5);
    }
    let reused = doc.analysis();
    print!(
        "  server phases, median ms ({} of {} statements reused after the last edit, {}):",
        reused.reused(),
        reused.statement_count(),
        match reused.placed_by_edit_log() {
            true => "placed by the edit log",
            false => "matched by text",
        }
    );
    for (name, mut times) in names.iter().zip(phases) {
        times.sort_by(f64::total_cmp);
        print!(" {name} {:.2};", percentile(&times, 0.5));
    }
    println!();
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub(super) fn report(what: &str, mut ms: Vec<f64>, target: f64) {
    ms.sort_by(f64::total_cmp);
    let p95 = percentile(&ms, 0.95);
    println!(
        "{what}: n={} p50={:.2} ms p95={:.2} ms max={:.2} ms (target < {target} ms: {})",
        ms.len(),
        percentile(&ms, 0.5),
        p95,
        ms[ms.len() - 1],
        if p95 < target { "met" } else { "MISSED" }
    );
}

/// The dev parts' scripts in $CADQUERY_LSP_SHARED/data/gencad-dev, sorted; none without it.
pub(super) fn dev_parts() -> Vec<PathBuf> {
    let Some(entries) = std::env::var_os("CADQUERY_LSP_SHARED")
        .map(|s| PathBuf::from(s).join("data/gencad-dev"))
        .and_then(|d| std::fs::read_dir(d).ok())
    else {
        return Vec::new();
    };
    let mut parts: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    parts.sort();
    parts
}

fn dev_part(args: &BenchArgs) -> anyhow::Result<(String, String)> {
    let path = match &args.part {
        Some(p) => p.clone(),
        None => dev_parts().into_iter().next().unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/bracket.py")
        }),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read the part {}: {e}", path.display()))?;
    Ok((path.display().to_string(), text))
}

async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    println!("cadquery-lsp bench lsp (in process over a pipe; client-observed latencies; the");
    println!("diagnostics debounce is set to 0 so the figures are the work itself)");
    let mut options = json!({"diagnosticsDebounceMs": 0, "executeAfterIdleMs": 0, "poolSize": 1});
    if let Some(python) = &args.python {
        options["pythonPath"] = json!(python);
    }
    let mut client = start(options.clone()).await?;

    // 1. one-character edits in a long file
    let text = long_file(args.lines);
    let line_count = text.lines().count();
    let uri = "file:///bench/long.py";
    client.open(uri, &text).await?;
    client.diagnostics(uri, 1).await?;
    // the middle extrusion distance: 0.25 <-> 0.35 keeps the file valid
    let (line, column) = middle_of(&text, "extrude(0.", "extrude(0.".len())?;
    // the server's work for one edit, phase by phase, without the transport
    server_phases(&text, args.iterations.clamp(1, 50));
    let mut times = Vec::new();
    for i in 0..args.iterations {
        let version = i as i64 + 2;
        let digit = if i % 2 == 0 { "3" } else { "2" };
        let t = Instant::now();
        client
            .edit(uri, version, (line, column, column + 1), digit)
            .await?;
        client.diagnostics(uri, version).await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report(
        &format!("syntax+API diagnostics after a one-character edit ({line_count} lines)"),
        times,
        10.0,
    );

    let mut version = args.iterations as i64 + 1;
    // 1b. a one-character edit of a method name: the edited statement and those mentioning the
    // name it binds are checked again; the diagnostic it makes comes and goes
    let (line, column) = middle_of(&text, ".close()", 5)?;
    let mut times = Vec::new();
    for i in 0..args.iterations {
        version += 1;
        // `.close()` <-> `.clos()`: an unknown method every other edit
        let (end, new) = if i % 2 == 0 {
            (column + 1, "")
        } else {
            (column, "e")
        };
        let t = Instant::now();
        client.edit(uri, version, (line, column, end), new).await?;
        client.diagnostics(uri, version).await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report(
        &format!(
            "syntax+API diagnostics after a one-character edit of a name ({line_count} lines)"
        ),
        times,
        10.0,
    );

    // 2. completion after `.` on a chain in the middle of the long file
    let (line, column) = middle_of(&text, ".union(", 1)?;
    let mut times = Vec::new();
    let mut offered = 0;
    for i in 0..args.iterations {
        let t = Instant::now();
        let res = client
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": uri},
                       "position": {"line": line, "character": column + i % 3}}),
            )
            .await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        offered = res["result"]["items"].as_array().map_or(0, |a| a.len());
    }
    report(
        &format!("API completion after `.` ({line_count} lines; {offered} items in the last list)"),
        times,
        30.0,
    );

    // 2b. completion right after an edit: the new version's analysis is made by whichever of
    // the diagnostics and the completion comes first, reusing the unchanged statements
    let (edit_line, edit_column) = middle_of(&text, "extrude(0.", "extrude(0.".len())?;
    let mut times = Vec::new();
    for i in 0..args.iterations {
        version += 1;
        let digit = if i % 2 == 0 { "4" } else { "2" };
        client
            .edit(
                uri,
                version,
                (edit_line, edit_column, edit_column + 1),
                digit,
            )
            .await?;
        let t = Instant::now();
        client
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": uri},
                       "position": {"line": line, "character": column}}),
            )
            .await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report(
        &format!("API completion right after a one-character edit ({line_count} lines)"),
        times,
        30.0,
    );

    // 3. execution after save, warm pool
    if args.no_execution {
        println!("execution diagnostics after save: skipped (--no-execution)");
    } else {
        let (name, part) = dev_part(&args)?;
        let uri = "file:///bench/part.py";
        client.open(uri, &part).await?;
        client.diagnostics(uri, 1).await?;
        let save = json!({"textDocument": {"uri": uri}});
        let t = Instant::now();
        client.notify("textDocument/didSave", save.clone()).await?;
        let first = client.diagnostics(uri, 1).await?;
        println!(
            "first save of {name}: {:.2} s (starts the pool: CadQuery import){}",
            t.elapsed().as_secs_f64(),
            if first["params"]["diagnostics"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
            {
                format!("; diagnostics: {}", first["params"]["diagnostics"])
            } else {
                String::new()
            }
        );
        let mut times = Vec::new();
        for _ in 0..args.iterations.min(50) {
            let t = Instant::now();
            client.notify("textDocument/didSave", save.clone()).await?;
            client.diagnostics(uri, 1).await?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        report("execution diagnostics after save (warm pool)", times, 300.0);
    }

    println!(
        "server process memory (no workers; bench client included): RSS {} peak {} (target < 200 MB)",
        memory("VmRSS:"),
        memory("VmHWM:")
    );
    let _ = client.request("shutdown", Value::Null).await;

    // 4. completion in canonical files with the model's jobs in the background, and how many
    // of its proposals survive execution (after the memory figure: these servers load models)
    super::bench_model::bench(&args, &options).await
}

/// A field of /proc/self/status (`VmRSS:`, `VmHWM:`).
pub(super) fn memory(name: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(name))
        .map(|l| l[name.len()..].trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}
