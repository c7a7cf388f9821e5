//! The model-completion part of `bench lsp`: API completion latency in a canonical file while
//! the model's jobs run in the background, against the same requests with them turned off,
//! and how many proposals survive execution at a few positions of a canonical part.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::bench::{dev_parts, percentile, report, start, BenchArgs, Client};
use crate::data::Program;

/// A canonical part and where it comes from: the first dev part put in canonical form
/// (numbers rounded to the grammar's four decimals), else a synthetic program.
fn canonical_part() -> (String, String) {
    let dev = dev_parts().into_iter().find_map(|p| {
        let mut program = Program::parse(&std::fs::read_to_string(&p).ok()?).ok()?;
        program.round_numbers();
        Some((
            format!("{} (canonical form)", p.display()),
            program.to_code(),
        ))
    });
    dev.unwrap_or_else(|| {
        (
            "synthetic program (seed 3)".into(),
            crate::data::generate(3).to_code(),
        )
    })
}

/// Positions where a continuation makes sense: inside each extrusion's distance, and on a
/// blank line left where each loop or extrusion statement was.
fn positions(text: &str) -> Vec<(String, String, (usize, usize))> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(c) = line.find(".extrude(") {
            out.push((
                format!("line {}: rest of the extrusion", n + 1),
                text.to_string(),
                (n, c + ".extrude(".len()),
            ));
        }
        if line.starts_with("loop") || line.starts_with("solid0=") {
            let mut lines: Vec<&str> = text.lines().collect();
            lines[n] = "";
            let what = if line.starts_with("loop") {
                "a loop"
            } else {
                "the extrusion"
            };
            out.push((
                format!("line {}: {what} statement, on its blank line", n + 1),
                lines.join("\n") + "\n",
                (n, 0),
            ));
        }
    }
    out
}

fn completion_params(uri: &str, (line, character): (usize, usize)) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}

fn model_items(list: &Value) -> usize {
    list["result"]["items"].as_array().map_or(0, |items| {
        items
            .iter()
            .filter(|i| i["sortText"].as_str().is_some_and(|s| s.starts_with('~')))
            .count()
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
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        )
        .await?;
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

/// Requests at `at` until the model's proposals are there (or 120 s): (items, seconds,
/// the job's log line).
async fn settle(
    client: &mut Client,
    uri: &str,
    at: (usize, usize),
) -> anyhow::Result<(usize, f64, String)> {
    let t = Instant::now();
    loop {
        let res = client
            .request("textDocument/completion", completion_params(uri, at))
            .await?;
        if res["result"]["isIncomplete"] == json!(false) {
            let prefix = format!("model completions for {uri} v1 ");
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

pub async fn bench(args: &BenchArgs, base: &Value) -> anyhow::Result<()> {
    let (name, text) = canonical_part();
    let cases = positions(&text);
    let at: Vec<(usize, usize)> = cases
        .iter()
        .filter(|(_, t, _)| *t == text)
        .map(|(_, _, at)| *at)
        .collect();
    if at.is_empty() {
        println!("model completions: no extrusion in {name}; skipped");
        return Ok(());
    }
    println!("model completions on {name}:");
    let iterations = args.iterations.min(100);
    let mut off = base.clone();
    off["modelCompletions"] = json!(false);
    let times = completion_latencies(&off, &text, &at, iterations).await?;
    report(
        "  API completion in a canonical file, model completions off",
        times,
        30.0,
    );
    let times = completion_latencies(base, &text, &at, iterations).await?;
    report(
        "  API completion in a canonical file, model completions on (jobs in the background)",
        times,
        30.0,
    );
    if args.no_execution {
        println!("  proposals surviving execution: skipped (--no-execution)");
        return Ok(());
    }
    let mut offered = 0;
    let mut waits = Vec::new();
    let mut client = start(base.clone()).await?;
    for (n, (what, case_text, at)) in cases.iter().enumerate() {
        let uri = format!("file:///bench/case{n}.py");
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": case_text}}),
            )
            .await?;
        let (items, seconds, log) = settle(&mut client, &uri, *at).await?;
        println!("  {what}: {items} offered after {seconds:.2} s; the job: {log}");
        offered += items;
        waits.push(seconds * 1e3);
    }
    waits.sort_by(f64::total_cmp);
    println!(
        "  {offered} proposals offered at {} positions (each verified by execution); first request \
         to verified items: p50 {:.0} ms, max {:.0} ms (the first includes loading the model and \
         starting the pool)",
        cases.len(),
        percentile(&waits, 0.5),
        waits[waits.len() - 1]
    );
    let _ = client.request("shutdown", Value::Null).await;
    Ok(())
}
