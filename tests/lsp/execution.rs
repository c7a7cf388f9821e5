//! Execution diagnostics and part facts through the real worker pool. Needs a Python with
//! CadQuery in CADQUERY_LSP_PYTHON; skipped (with a message) without one.

use serde_json::{json, Value};

use crate::harness::{TestServer, TestServerBuilder};

fn python() -> Option<String> {
    crate::harness::python("execution diagnostics")
}

async fn server(python: &str, idle_ms: u64) -> TestServer {
    TestServerBuilder::default()
        .initialization_options(json!({
            "pythonPath": python,
            "poolSize": 1,
            "executeAfterIdleMs": idle_ms,
        }))
        .build()
        .await
}

/// Waits for a publication of `version` that holds a diagnostic with `code` (or, for
/// `None`, one published after a run: `ran` tells when).
async fn diagnostics_with(server: &mut TestServer, uri: &str, version: i64, code: &str) -> Value {
    loop {
        let d = server.diagnostics(uri, version).await;
        if d.as_array().unwrap().iter().any(|d| d["code"] == code) {
            return d;
        }
    }
}

async fn save(server: &mut TestServer, uri: &str) {
    server
        .notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
}

#[tokio::test]
async fn a_failing_script_gets_its_error_on_the_failing_line_after_save() {
    let Some(python) = python() else { return };
    let mut server = server(&python, 0).await;
    let text = "import cadquery as cq\nbase = cq.Workplane().box(1, 1, 1)\nraise ValueError(\"boom\")\nresult = base\n";
    let uri = server.open("fail.py", text).await;
    save(&mut server, &uri).await;
    let d = diagnostics_with(&mut server, &uri, 1, "execution-error").await;
    let d = &d[0];
    assert_eq!(
        d["range"]["start"],
        json!({"line": 2, "character": 0}),
        "{d}"
    );
    assert_eq!(d["source"], "cadquery-lsp (run)");
    assert_eq!(d["message"], "ValueError when running the script: boom");
    server.shutdown().await;
}

#[tokio::test]
async fn a_script_without_a_solid_is_reported_after_an_idle_pause() {
    let Some(python) = python() else { return };
    let mut server = server(&python, 200).await;
    let uri = server
        .open(
            "empty.py",
            "import cadquery as cq\nsketch = cq.Workplane().rect(1, 2)\n",
        )
        .await;
    let d = diagnostics_with(&mut server, &uri, 1, "no-solid").await;
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap()
            .contains("builds no solid"),
        "{d}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn hover_on_the_result_shows_the_parts_facts_after_a_run() {
    let Some(python) = python() else { return };
    let mut server = server(&python, 0).await;
    let uri = server
        .open(
            "box.py",
            "import cadquery as cq\nresult = cq.Workplane().box(1, 2, 3)\n",
        )
        .await;
    save(&mut server, &uri).await;
    let hover = json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 3}});
    let deadline = tokio::time::Instant::now() + crate::harness::WAIT;
    let shown = loop {
        let res = server.request("textDocument/hover", hover.clone()).await;
        if !res["result"].is_null() {
            break res["result"]["contents"]["value"]
                .as_str()
                .unwrap()
                .to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no facts after the run"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // the preview: a PNG render of the part in the picture convention
    let (shown, image) = shown.rsplit_once("\n\n").unwrap();
    let path = image
        .strip_prefix("![render of `result`](file://")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no preview link: {image}"));
    let preview = image::open(path).expect("the preview is a picture");
    assert_eq!((preview.width(), preview.height()), (448, 448));
    let grey = preview.to_rgb8().pixels().filter(|p| p[0] == 141).count();
    assert!(
        grey > 1000,
        "the part is drawn in the faces' grey ({grey} px)"
    );
    expect_test::expect![[r#"
        **`result`: the part**

        - volume: 6
        - size (x × y × z): 1 × 2 × 3
        - centroid: (0, 0, 0)
        - solids: 1
        - valid B-rep: yes"#]]
    .assert_eq(shown);
    server.shutdown().await;
}

#[tokio::test]
async fn a_worker_crash_during_requests_leaves_the_server_answering() {
    let Some(python) = python() else { return };
    let mut server = server(&python, 0).await;
    // a script that kills its worker process, run on save while requests are in flight
    let text =
        "import os\nimport cadquery as cq\nresult = cq.Workplane().box(1, 1, 1)\nos._exit(3)\n";
    let uri = server.open("crash.py", text).await;
    save(&mut server, &uri).await;
    let at = |line: u32, character: u32| json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
    for _ in 0..20 {
        let hover = server.request("textDocument/hover", at(2, 20)).await;
        assert!(hover.get("error").is_none(), "{hover}");
        let completion = server.request("textDocument/completion", at(2, 19)).await;
        assert!(completion.get("error").is_none(), "{completion}");
    }
    let d = diagnostics_with(&mut server, &uri, 1, "execution-error").await;
    let message = d[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("WorkerCrashed when running the script") && message.contains("code 3"),
        "{d}"
    );
    // the pool replaced the worker: the fixed script runs and its part shows on hover
    server
        .replace_all(
            &uri,
            2,
            "import cadquery as cq\nresult = cq.Workplane().box(1, 2, 3)\n",
        )
        .await;
    save(&mut server, &uri).await;
    let deadline = tokio::time::Instant::now() + crate::harness::WAIT;
    loop {
        let res = server.request("textDocument/hover", at(1, 2)).await;
        let value = res["result"]["contents"]["value"].as_str().unwrap_or("");
        if value.contains("volume: 6") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no run after the crash: {res}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.shutdown().await;
}
