//! `cadquery-lsp bench syntax`: latency of syntax+API diagnostics after a one-character
//! edit in a large file (incremental re-parse), and of completions, printed as figures.

use std::time::{Duration, Instant};

use super::completion::api_completions;
use super::document::ParsedDocument;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Lines in the generated CadQuery file.
    #[arg(long, default_value_t = 2000)]
    pub lines: usize,
    /// Edits (and completion requests) to time.
    #[arg(long, default_value_t = 200)]
    pub iterations: usize,
}

/// A realistic CadQuery file of about `lines` lines: canonical sketch-and-extrude blocks,
/// chained modelling with selectors, and a helper function, repeated.
pub fn sample_file(lines: usize) -> String {
    let mut out = String::from("import cadquery as cq\nimport math\n\n");
    let mut i = 0;
    while out.lines().count() < lines {
        out.push_str(&format!(
            "# part {i}\n\
             wp_sketch{i} = cq.Workplane(cq.Plane(cq.Vector(0.0, {i}.5, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
             loop{i} = wp_sketch{i}.moveTo(0.1, 0.0).lineTo(0.5, 0.0).threePointArc((0.6, 0.1), (0.5, 0.2)).lineTo(0.1, 0.2).close()\n\
             hole{i} = wp_sketch{i}.moveTo(0.3, 0.1).circle(0.05)\n\
             solid{i} = wp_sketch{i}.add(loop{i}).add(hole{i}).extrude(0.25, both=True)\n\
             block{i} = (\n    cq.Workplane(\"XY\")\n    .box(10, 20, 3)\n    .faces(\">Z\")\n    .workplane()\n    .rect(8, 18, forConstruction=True)\n    .vertices()\n    .hole(1.5)\n    .edges(\"|Z\")\n    .fillet(0.5)\n)\n\
             def bracket{i}(width, height=2.0):\n    base = cq.Workplane(\"XZ\").rect(width, height).extrude(1)\n    return base.faces(\"<Y\").shell(-0.1)\n\
             combined{i} = solid{i}.union(block{i}).cut(bracket{i}(4))\n\n"
        ));
        i += 1;
    }
    out.push_str("solid = combined0\n");
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{name}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms ({} samples)",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1e3),
        times.len()
    );
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let text = sample_file(args.lines);
    let n = args.iterations.max(1);
    println!(
        "syntax bench: {} lines, {} bytes, {} iterations ({} build)",
        text.lines().count(),
        text.len(),
        n,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let start = Instant::now();
    let mut doc = ParsedDocument::new(text.clone());
    let first = doc.diagnostics();
    println!(
        "full parse + diagnostics: {:.2} ms ({} diagnostics)",
        start.elapsed().as_secs_f64() * 1e3,
        first.len()
    );
    anyhow::ensure!(
        first.is_empty(),
        "the bench file should be clean, got: {}",
        super::render(&text, &first)
    );

    // One-character edits spread over the file: change a digit, as a user tuning a number.
    let digits: Vec<usize> = text
        .char_indices()
        .filter(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    let mut edit_times = Vec::with_capacity(n);
    let mut diag_times = Vec::with_capacity(n);
    for k in 0..n {
        let at = digits[(k * 7919) % digits.len()];
        let old = doc.text().as_bytes()[at];
        let new = if old == b'9' { "1" } else { "9" };
        let t0 = Instant::now();
        doc.edit(at, at + 1, new)?;
        let t1 = Instant::now();
        let diags = doc.diagnostics();
        let t2 = Instant::now();
        std::hint::black_box(diags);
        edit_times.push(t1 - t0);
        diag_times.push(t2 - t0);
    }
    summary("incremental re-parse after a 1-char edit", edit_times);
    summary(
        "re-parse + syntax/API diagnostics after a 1-char edit",
        diag_times,
    );

    let dots: Vec<usize> = doc
        .text()
        .char_indices()
        .filter(|(_, c)| *c == '.')
        .map(|(i, _)| i + 1)
        .filter(|&i| {
            doc.text()
                .as_bytes()
                .get(i)
                .is_some_and(|c| c.is_ascii_alphabetic())
        })
        .collect();
    let mut completion_times = Vec::with_capacity(n);
    let mut offered = 0;
    for k in 0..n {
        let at = dots[(k * 104_729) % dots.len()];
        let t0 = Instant::now();
        let ctx = doc.completion_context(at);
        let items = api_completions(&ctx);
        completion_times.push(t0.elapsed());
        offered += items.len();
    }
    summary(
        "completion (context + ranked API items) after `.`",
        completion_times,
    );
    println!("completion items offered on average: {}", offered / n);
    Ok(())
}
