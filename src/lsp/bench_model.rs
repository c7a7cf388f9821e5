//! The model-completion part of `bench lsp`: API completion latency in a canonical file while
//! the model's jobs run in the background, against the same requests with them turned off,
//! and how many proposals survive execution at a few positions of a canonical part.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::bench::{dev_parts, memory, percentile, report, start, start_with, BenchArgs, Client};
use crate::data::Program;

/// Canonical parts and where they come from: the first `n` dev parts put in canonical form
/// (numbers rounded to the grammar's four decimals), else a synthetic program.
fn canonical_parts(n: usize) -> Vec<(String, String)> {
    let dev: Vec<(String, String)> = dev_parts()
        .into_iter()
        .filter_map(|p| {
            let mut program = Program::parse(&std::fs::read_to_string(&p).ok()?).ok()?;
            program.round_numbers();
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((
                format!("dev part {name} (canonical form)"),
                program.to_code(),
            ))
        })
        .take(n)
        .collect();
    if dev.is_empty() {
        vec![(
            "synthetic program (seed 3)".into(),
            crate::data::generate(3).to_code(),
        )]
    } else {
        dev
    }
}

/// One place to complete: what it is, the file's text there, the cursor, and the text the
/// original part has where the proposals go.
struct Case {
    what: String,
    text: String,
    at: (usize, usize),
    original: String,
}

/// Positions where a continuation makes sense: inside each extrusion's distance, and on a
/// blank line left where each loop or extrusion statement was.
fn positions(text: &str) -> Vec<Case> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(c) = line.find(".extrude(") {
            let at = c + ".extrude(".len();
            out.push(Case {
                what: format!("line {}: rest of the extrusion", n + 1),
                text: text.to_string(),
                at: (n, at),
                original: line[at..].to_string(),
            });
        }
        if line.starts_with("loop") || line.starts_with("solid0=") {
            let mut lines: Vec<&str> = text.lines().collect();
            lines[n] = "";
            let what = if line.starts_with("loop") {
                "a loop"
            } else {
                "the extrusion"
            };
            out.push(Case {
                what: format!("line {}: {what} statement, on its blank line", n + 1),
                text: lines.join("\n") + "\n",
                at: (n, 0),
                original: line.to_string(),
            });
        }
    }
    out
}

fn completion_params(uri: &str, (line, character): (usize, usize)) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}

/// The labels of the model's items in a completion response.
fn model_items(list: &Value) -> Vec<String> {
    list["result"]["items"]
        .as_array()
        .map_or(Vec::new(), |items| {
            items
                .iter()
                .filter(|i| i["sortText"].as_str().is_some_and(|s| s.starts_with('~')))
                .filter_map(|i| i["label"].as_str().map(str::to_string))
                .collect()
        })
}

/// Completion requests cycling over `positions` of the canonical part, as fast as answered:
/// with model completions on, each new position starts a model job in the background.
async fn completion_latencies(
    options: &Value,
    text: &str,
    at: &[(usize, usize)],
    iterations: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut client = start(options.clone()).await?;
    let uri = "file:///bench/canonical.py";
    client.open(uri, text).await?;
    let mut times = Vec::new();
    for i in 0..iterations {
        let t = Instant::now();
        client
            .request(
                "textDocument/completion",
                completion_params(uri, at[i % at.len()]),
            )
            .await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        // a typist's pace: the model jobs get to run between requests
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = client.request("shutdown", Value::Null).await;
    Ok(times)
}

/// Requests at `at` until the model's proposals for `version` are there (or 120 s): (labels,
/// seconds, the job's log line).
async fn settle(
    client: &mut Client,
    uri: &str,
    version: i32,
    at: (usize, usize),
) -> anyhow::Result<(Vec<String>, f64, String)> {
    let t = Instant::now();
    loop {
        let res = client
            .request("textDocument/completion", completion_params(uri, at))
            .await?;
        if res["result"]["isIncomplete"] == json!(false) {
            let prefix = format!("model completions for {uri} v{version} ");
            let log = client
                .logs
                .iter()
                .rev()
                .find(|l| l.starts_with(&prefix))
                .map(|l| l[prefix.len()..].to_string())
                .unwrap_or_else(|| "(no job log)".into());
            return Ok((model_items(&res), t.elapsed().as_secs_f64(), log));
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(120),
            "no model proposals at {at:?} within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the model is conditioned on in a survival run.
#[derive(Clone, Copy, PartialEq)]
enum Picture {
    /// No run of the file yet (or a client without markdown hover): a blank picture.
    Blank,
    /// The whole part ran (saved) before the edit: its hover preview's render.
    Render,
}

/// Proposals at every position of `parts`, verified by the server: (offered, proposed,
/// positions where the original text was among the offered, seconds to verified items).
async fn survival(
    base: &Value,
    parts: &[(String, String)],
    picture: Picture,
) -> anyhow::Result<(usize, usize, usize, Vec<f64>)> {
    let capabilities = match picture {
        Picture::Blank => json!({}),
        // markdown hover makes the server render a preview of each successful run
        Picture::Render => {
            json!({"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]}}})
        }
    };
    let mut options = base.clone();
    options["previewDir"] = json!(std::env::temp_dir().join("cadquery-lsp-bench-previews"));
    let mut client = start_with(options, capabilities).await?;
    let (mut offered, mut proposed, mut original_found) = (0, 0, 0);
    let mut waits = Vec::new();
    for (name, text) in parts {
        println!("    {name}:");
        for case in positions(text) {
            let uri = format!("file:///bench/case{}.py", waits.len());
            let opened = if picture == Picture::Render {
                text
            } else {
                &case.text
            };
            client.open(&uri, opened).await?;
            let mut version = 1;
            if picture == Picture::Render {
                // run the whole part (static diagnostics, then the run's), then blank the line
                client
                    .notify(
                        "textDocument/didSave",
                        json!({"textDocument": {"uri": uri}}),
                    )
                    .await?;
                client.diagnostics(&uri, 1).await?;
                client.diagnostics(&uri, 1).await?;
                version = 2;
                client
                    .notify(
                        "textDocument/didChange",
                        json!({"textDocument": {"uri": uri, "version": 2},
                               "contentChanges": [{"text": case.text}]}),
                    )
                    .await?;
            }
            let (items, seconds, log) = settle(&mut client, &uri, version, case.at).await?;
            let found = items.iter().any(|l| l.trim() == case.original.trim());
            println!(
                "      {}: {} offered after {seconds:.2} s{}; the job: {log}",
                case.what,
                items.len(),
                if found {
                    ", the original among them"
                } else {
                    ""
                }
            );
            for label in &items {
                let short: String = label.chars().take(90).collect();
                println!("        {short}");
            }
            proposed += log
                .split(": ")
                .nth(1)
                .and_then(|l| l.split(' ').next()?.parse::<usize>().ok())
                .unwrap_or(0);
            offered += items.len();
            original_found += usize::from(found);
            waits.push(seconds * 1e3);
        }
    }
    let _ = client.request("shutdown", Value::Null).await;
    Ok((offered, proposed, original_found, waits))
}

/// Dev parts whose positions are tried for the proposals that survive execution.
const PARTS: usize = 3;

pub async fn bench(args: &BenchArgs, base: &Value) -> anyhow::Result<()> {
    let parts = canonical_parts(PARTS);
    let (name, text) = &parts[0];
    let at: Vec<(usize, usize)> = positions(text)
        .iter()
        .filter(|case| case.text == *text)
        .map(|case| case.at)
        .collect();
    if at.is_empty() {
        println!("model completions: no extrusion in {name}; skipped");
        return Ok(());
    }
    println!("model completions, on {name}:");
    let iterations = args.iterations.min(100);
    let mut off = base.clone();
    off["modelCompletions"] = json!(false);
    let times = completion_latencies(&off, text, &at, iterations).await?;
    report(
        "  API completion in a canonical file, model completions off",
        times,
        30.0,
    );
    let times = completion_latencies(base, text, &at, iterations).await?;
    report(
        "  API completion in a canonical file, model completions on (jobs in the background)",
        times,
        30.0,
    );
    println!(
        "  process memory with one more server that loaded the model: RSS {} peak {}",
        memory("VmRSS:"),
        memory("VmHWM:")
    );
    if args.no_execution {
        println!("  proposals surviving execution: skipped (--no-execution)");
        return Ok(());
    }
    for picture in [Picture::Blank, Picture::Render] {
        println!(
            "  proposals at positions of {} parts, conditioned on {}:",
            parts.len(),
            match picture {
                Picture::Blank => "a blank picture (the file never ran)",
                Picture::Render => "the render of the whole part (saved, then the line edited)",
            }
        );
        let (offered, proposed, found, mut waits) = survival(base, &parts, picture).await?;
        waits.sort_by(f64::total_cmp);
        println!(
            "    {offered} of {proposed} proposals survived execution at {} positions; the part's \
             own text was among them at {found}; first request to verified items: p50 {:.0} ms, \
             max {:.0} ms (the first includes loading the model and starting the pool)",
            waits.len(),
            percentile(&waits, 0.5),
            waits[waits.len() - 1]
        );
    }
    Ok(())
}
