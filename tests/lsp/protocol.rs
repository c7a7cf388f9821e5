//! The protocol surface: initialize, settings, document sync and diagnostics publication.

use expect_test::expect;
use serde_json::json;

use crate::harness::{pretty, TestServerBuilder};

#[tokio::test]
async fn initialize_advertises_incremental_sync_and_the_negotiated_encoding() {
    let mut server = TestServerBuilder::default()
        .position_encodings(&["utf-32", "utf-16"])
        .start();
    let mut result = server.initialize().await;
    result["serverInfo"]["version"] = json!("<version>");
    expect![[r#"
        {
          "capabilities": {
            "positionEncoding": "utf-32",
            "textDocumentSync": {
              "openClose": true,
              "change": 2,
              "save": {
                "includeText": false
              }
            },
            "hoverProvider": true,
            "completionProvider": {
              "resolveProvider": true,
              "triggerCharacters": [
                ".",
                "(",
                ","
              ]
            },
            "codeActionProvider": {
              "codeActionKinds": [
                "quickfix",
                "refactor",
                "refactor.rewrite"
              ]
            },
            "executeCommandProvider": {
              "commands": [
                "cadquery.generate"
              ]
            }
          },
          "serverInfo": {
            "name": "cadquery-lsp",
            "version": "<version>"
          }
        }"#]]
    .assert_eq(&pretty(&result));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_initialization_options_are_shown_and_good_ones_kept() {
    let mut server = TestServerBuilder::default()
        .initialization_options(json!({"poolSize": 3, "candidateCount": "many"}))
        .build()
        .await;
    let shown = server.notification("window/showMessage").await;
    expect![[r#"
        {
          "type": 2,
          "message": "setting `cadquery.candidateCount` = \"many\": invalid type: string \"many\", expected u32; kept the previous value"
        }"#]]
    .assert_eq(&pretty(&shown));
    server.shutdown().await;
}

#[tokio::test]
async fn settings_are_pulled_with_workspace_configuration() {
    let mut server = TestServerBuilder::default()
        .configuration(json!({"executeOnSave": 3}))
        .build()
        .await;
    let shown = server.notification("window/showMessage").await;
    assert!(
        shown["message"]
            .as_str()
            .unwrap()
            .contains("cadquery.executeOnSave"),
        "{shown}"
    );
    let pulls: Vec<_> = server
        .server_requests
        .iter()
        .filter(|r| r["method"] == "workspace/configuration")
        .collect();
    expect![[r#"
        [
          {
            "jsonrpc": "2.0",
            "method": "workspace/configuration",
            "params": {
              "items": [
                {
                  "section": "cadquery"
                }
              ]
            },
            "id": 0
          }
        ]"#]]
    .assert_eq(&pretty(&json!(pulls)));
    server.shutdown().await;
}

#[tokio::test]
async fn diagnostics_are_published_for_the_current_version_only() {
    let mut server = TestServerBuilder::default().build().await;
    let uri = server.open("part.py", "import cadquery as cq\n").await;
    server.diagnostics(&uri, 1).await;
    server
        .edit(&uri, 2, (1, 0), (1, 0), "r = cq.Workplane()\n")
        .await;
    server.edit(&uri, 3, (1, 0), (1, 0), "# 😀\n").await;
    server.diagnostics(&uri, 3).await;
    assert!(
        server
            .drain("textDocument/publishDiagnostics")
            .iter()
            .all(|p| p["version"] != 2),
        "diagnostics of a superseded version were published"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_stale_change_is_refused_and_logged() {
    let mut server = TestServerBuilder::default().build().await;
    let uri = server.open("part.py", "x = 1\n").await;
    server.edit(&uri, 1, (0, 0), (0, 0), "y").await;
    let logged = loop {
        let log = server.notification("window/logMessage").await;
        if log["message"].as_str().unwrap().contains("ignored") {
            break log;
        }
    };
    expect![[r#"
        {
          "type": 2,
          "message": "change to file://$DIR/part.py ignored: version 1 is not newer than the document's version 1"
        }"#]]
    .assert_eq(&server.redact(&pretty(&logged)));
    server.shutdown().await;
}

#[tokio::test]
async fn closing_clears_diagnostics() {
    let mut server = TestServerBuilder::default().build().await;
    let uri = server.open("part.py", "x = 1\n").await;
    server.diagnostics(&uri, 1).await;
    server
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let cleared = server.notification("textDocument/publishDiagnostics").await;
    assert_eq!(cleared["uri"], uri);
    assert_eq!(cleared["diagnostics"], json!([]));
    server.shutdown().await;
}

#[tokio::test]
async fn full_sync_replaces_the_text_and_shutdown_ends_the_session_cleanly() {
    let mut server = TestServerBuilder::default().build().await;
    let uri = server.open("part.py", "x = 1\n").await;
    server.replace_all(&uri, 2, "y = 2\n").await;
    server.diagnostics(&uri, 2).await;
    server.shutdown().await;
    let end = tokio::time::timeout(crate::harness::WAIT, server.task.take().unwrap())
        .await
        .expect("the session ends after exit")
        .unwrap();
    assert_eq!(end, cadquery_lsp::lsp::SessionEnd::Clean);
}
