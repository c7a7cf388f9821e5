//! `cadquery.generate`: bad pictures (no CadQuery needed), and with a Python with CadQuery
//! in CADQUERY_LSP_PYTHON the whole flow: progress, the inserted code, the alternatives,
//! a document edited meanwhile, cancellation.

use std::path::{Path, PathBuf};

use expect_test::expect;
use serde_json::{json, Value};

use crate::harness::{TestServer, TestServerBuilder};

pub fn python() -> Option<String> {
    crate::harness::python("generation")
}

/// Draws `script` in the picture convention with the real binary's `render`.
pub fn render_picture(python: &str, dir: &Path, name: &str, script: &str) -> PathBuf {
    let source = dir.join(format!("{name}.source.py"));
    std::fs::write(&source, script).unwrap();
    let out = dir.join(format!("{name}.png"));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_cadquery-lsp"))
        .arg("render")
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .arg("--python")
        .arg(python)
        .status()
        .expect("cadquery-lsp render runs");
    assert!(status.success(), "render of {name} failed");
    out
}

pub const PLATE: &str = "import cadquery as cq\nsolid = cq.Workplane().box(2.0, 1.2, 0.3)\n";

/// Settings that keep a generation to a few seconds.
pub fn quick(python: &str) -> Value {
    json!({
        "pythonPath": python,
        "poolSize": 2,
        "candidateCount": 3,
        "refineExecutions": 60,
        "generationBudgetMs": 4000,
        "executeOnSave": false,
        "executeAfterIdleMs": 0,
    })
}

/// How long a test generation may take on a loaded 2-core machine.
pub const GENERATION_WAIT: std::time::Duration = std::time::Duration::from_secs(180);

pub fn generate_request(id: i64, image: &Path, uri: &str, token: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "workspace/executeCommand",
        "params": {
            "command": "cadquery.generate",
            "arguments": [{"image": image, "uri": uri, "position": {"line": 1, "character": 0}}],
            "workDoneToken": token,
        }
    })
}

/// A server with quick generation settings, a picture of a plate and an open document
/// that imports cadquery.
async fn plate_session(python: &str, options: Value) -> (TestServer, PathBuf, String) {
    let mut server = TestServerBuilder::default()
        .initialization_options(options)
        .build()
        .await;
    let picture = render_picture(python, server.dir(), "plate", PLATE);
    let uri = server.open("part.py", "import cadquery as cq\n\n").await;
    (server, picture, uri)
}

fn progress_of(server: &mut TestServer, token: &str) -> Vec<Value> {
    server
        .drain("$/progress")
        .into_iter()
        .filter(|p| p["token"] == token)
        .map(|p| p["value"].clone())
        .collect()
}

#[tokio::test]
async fn missing_corrupt_and_huge_pictures_get_a_message_and_no_edit() {
    let mut server = TestServerBuilder::default()
        .file("not-a-picture.png", "this is text")
        .build()
        .await;
    let huge = server.dir().join("huge.png");
    image::GrayImage::new(20_000, 1).save(&huge).unwrap();
    let uri = server.open("part.py", "import cadquery as cq\n").await;
    let mut shown = Vec::new();
    for (i, name) in ["missing.png", "not-a-picture.png", "huge.png"]
        .iter()
        .enumerate()
    {
        let image = server.dir().join(name);
        server
            .send(&generate_request(100 + i as i64, &image, &uri, "t"))
            .await;
        let res = server.response(json!(100 + i as i64)).await;
        let message = server.notification("window/showMessage").await;
        assert_eq!(res["error"]["message"], message["message"], "{res}");
        assert_eq!(message["type"], 1, "an error: {message}");
        shown.push(server.redact(message["message"].as_str().unwrap()));
    }
    expect![[r#"
        [
            "cannot generate from $DIR/missing.png: cannot read $DIR/missing.png: No such file or directory (os error 2)",
            "cannot generate from $DIR/not-a-picture.png: $DIR/not-a-picture.png is not a PNG or JPEG picture (unknown format): give a PNG or JPEG file",
            "cannot generate from $DIR/huge.png: $DIR/huge.png is too large (20000x1): scale it down below 16384 px a side",
        ]
    "#]]
    .assert_debug_eq(&shown);
    assert!(
        !server
            .server_requests
            .iter()
            .any(|r| r["method"] == "workspace/applyEdit"),
        "no edit for a bad picture"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_commands_and_bad_arguments_are_refused() {
    let mut server = TestServerBuilder::default().build().await;
    let res = server
        .request(
            "workspace/executeCommand",
            json!({"command": "cadquery.nope", "arguments": []}),
        )
        .await;
    assert_eq!(res["error"]["code"], -32602, "{res}");
    let res = server
        .request(
            "workspace/executeCommand",
            json!({"command": "cadquery.generate", "arguments": ["picture.png"]}),
        )
        .await;
    let message = res["error"]["message"].as_str().unwrap();
    assert!(message.contains("{ image, uri, position }"), "{res}");
    server.shutdown().await;
}

#[tokio::test]
async fn generation_reports_progress_inserts_the_best_candidate_and_offers_the_others() {
    let Some(python) = python() else { return };
    let (mut server, picture, uri) = plate_session(&python, quick(&python)).await;
    server
        .send(&generate_request(7, &picture, &uri, "gen-7"))
        .await;
    let res = server.response_within(json!(7), GENERATION_WAIT).await;
    let result = &res["result"];
    let candidates = result["candidates"].as_array().expect("candidates");
    assert!(!candidates.is_empty(), "{res}");
    assert_eq!(result["applied"], json!(true), "{res}");
    let scores: Vec<f64> = candidates
        .iter()
        .map(|c| c["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{scores:?}");
    assert!(scores[0] > 0.6, "a plate is matched: {scores:?}");
    for c in candidates {
        let png = base64::decode(c["render"].as_str().unwrap()).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (448, 448));
        let code = c["code"].as_str().unwrap();
        assert!(
            !code.contains("import cadquery"),
            "the document imports it already: {code}"
        );
    }
    // progress: begin, reports with rising percentages and a message per stage, end
    let progress = progress_of(&mut server, "gen-7");
    let kinds: Vec<&str> = progress
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"begin"), "{progress:#?}");
    assert_eq!(kinds.last(), Some(&"end"), "{progress:#?}");
    let percents: Vec<u64> = progress
        .iter()
        .filter_map(|p| p["percentage"].as_u64())
        .collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    let mut stages: Vec<String> = progress
        .iter()
        .filter(|p| p["kind"] == "report")
        .map(|p| {
            let m = p["message"].as_str().unwrap();
            m.split([' ', ':']).next().unwrap().to_string()
        })
        .collect();
    stages.dedup();
    // refinement reports only when it runs (a candidate that already matches skips it)
    assert!(
        stages
            .iter()
            .all(|s| ["propose", "execute", "refine"].contains(&s.as_str())),
        "{stages:?}"
    );
    stages.truncate(2);
    expect![[r#"
        (
            String("Generating CadQuery from plate.png"),
            Bool(true),
            [
                "propose",
                "execute",
            ],
        )
    "#]]
    .assert_debug_eq(&(
        progress[0]["title"].clone(),
        progress[0]["cancellable"].clone(),
        stages,
    ));
    // the edit: the best candidate at the line asked for, against version 1
    let apply = server
        .server_requests
        .iter()
        .find(|r| r["method"] == "workspace/applyEdit")
        .expect("an applyEdit request")
        .clone();
    let change = &apply["params"]["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"]["version"], 1);
    let edit = &change["edits"][0];
    assert_eq!(edit["newText"], candidates[0]["code"]);
    assert_eq!(edit["range"]["start"], json!({"line": 1, "character": 0}));
    // the editor applies it; the block then offers the other candidates
    let code = candidates[0]["code"].as_str().unwrap();
    server.edit(&uri, 2, (1, 0), (1, 0), code).await;
    let res = server
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 0}},
                "context": {"diagnostics": []}
            }),
        )
        .await;
    let titles: Vec<String> = res["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles.len(), candidates.len() - 1, "{titles:?}");
    for (k, (title, c)) in titles.iter().zip(&candidates[1..]).enumerate() {
        // the title rounds the score to 2 places, the command's reply first to 3: 0.98549
        // is "0.99" in the title, but its reply 0.985 prints as "0.98"; compare numbers
        let prefix = format!("Use candidate {} (match ", k + 2);
        let shown: f64 = title
            .strip_prefix(&prefix)
            .and_then(|t| t.strip_suffix(')'))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("{title}"));
        let score = c["score"].as_f64().unwrap();
        assert!((shown - score).abs() <= 0.0051, "{title} for score {score}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_document_edited_during_generation_gets_no_edit() {
    let Some(python) = python() else { return };
    let (mut server, picture, uri) = plate_session(&python, quick(&python)).await;
    server
        .send(&generate_request(9, &picture, &uri, "gen-9"))
        .await;
    server.edit(&uri, 2, (1, 0), (1, 0), "x = 1\n").await;
    let res = server.response_within(json!(9), GENERATION_WAIT).await;
    assert_eq!(res["result"]["applied"], json!(false), "{res}");
    assert!(!res["result"]["candidates"].as_array().unwrap().is_empty());
    let message = server.notification("window/showMessage").await;
    expect!["the document changed while the code was generated: nothing inserted (the candidates are in the result; run the command again to insert one)"]
    .assert_eq(message["message"].as_str().unwrap());
    assert!(
        !server
            .server_requests
            .iter()
            .any(|r| r["method"] == "workspace/applyEdit"),
        "no edit against a newer version"
    );
    server.shutdown().await;
}

async fn wait_for_begin(server: &mut TestServer, token: &str) {
    loop {
        let p = server.notification("$/progress").await;
        if p["token"] == token && p["value"]["kind"] == "begin" {
            return;
        }
    }
}

#[tokio::test]
async fn generation_is_cancelled_by_the_progress_button_and_by_cancel_request() {
    let Some(python) = python() else { return };
    let mut options = quick(&python);
    // long enough that only a cancellation ends it in time
    options["refineExecutions"] = json!(10_000);
    options["generationBudgetMs"] = json!(600_000);
    let (mut server, picture, uri) = plate_session(&python, options).await;

    server
        .send(&generate_request(11, &picture, &uri, "gen-11"))
        .await;
    wait_for_begin(&mut server, "gen-11").await;
    server
        .notify("window/workDoneProgress/cancel", json!({"token": "gen-11"}))
        .await;
    let res = server.response_within(json!(11), GENERATION_WAIT).await;
    assert_eq!(res["error"]["code"], -32800, "{res}");
    assert_eq!(
        res["error"]["message"],
        "generation from plate.png cancelled"
    );

    server
        .send(&generate_request(12, &picture, &uri, "gen-12"))
        .await;
    wait_for_begin(&mut server, "gen-12").await;
    server.notify("$/cancelRequest", json!({"id": 12})).await;
    let res = server.response_within(json!(12), GENERATION_WAIT).await;
    assert_eq!(res["error"]["code"], -32800, "{res}");
    // the cancelled run ends its progress and frees the turn for the next generation
    loop {
        let p = server.notification("$/progress").await;
        if p["token"] == "gen-12" && p["value"]["kind"] == "end" {
            break;
        }
    }
    assert!(
        !server
            .server_requests
            .iter()
            .any(|r| r["method"] == "workspace/applyEdit"),
        "a cancelled generation edits nothing"
    );
    server.shutdown().await;
}
