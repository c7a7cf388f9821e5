//! Execution diagnostics and part facts through the real worker pool. Needs a Python with
//! CadQuery in CADQUERY_LSP_PYTHON; skipped (with a message) without one.

use serde_json::{json, Value};

use crate::harness::{TestServer, TestServerBuilder};

fn python() -> Option<String> {
    let python = std::env::var("CADQUERY_LSP_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    if python.is_none() {
        eprintln!("skipped: set CADQUERY_LSP_PYTHON to a Python with CadQuery to test execution diagnostics");
    }
    python
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
    expect_test::expect![[r#"
        **`result`: the part**

        - volume: 6
        - size (x × y × z): 1 × 2 × 3
        - centroid: (0, 0, 0)
        - solids: 1
        - valid B-rep: yes"#]]
    .assert_eq(&shown);
    server.shutdown().await;
}
