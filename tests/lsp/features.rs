//! Diagnostics content, quick fixes and hover, in process.

use expect_test::expect;
use serde_json::json;

use crate::harness::{pretty, TestServerBuilder};

#[tokio::test]
async fn static_diagnostics_carry_utf16_ranges_codes_and_sources() {
    let mut server = TestServerBuilder::default().build().await;
    let uri = server
        .open("part.py", "import cadquery as cq\nx = \"😀é\" + (\n")
        .await;
    let diagnostics = server.diagnostics(&uri, 1).await;
    // the emoji counts 2 UTF-16 units: `(` is at character 12
    expect![[r#"
        [
          {
            "range": {
              "start": {
                "line": 1,
                "character": 12
              },
              "end": {
                "line": 1,
                "character": 13
              }
            },
            "severity": 1,
            "code": "unclosed-bracket",
            "source": "cadquery-lsp",
            "message": "`(` is never closed"
          }
        ]"#]]
    .assert_eq(&pretty(&diagnostics));
    server.shutdown().await;
}

#[tokio::test]
async fn utf8_clients_get_byte_columns() {
    let mut server = TestServerBuilder::default()
        .position_encodings(&["utf-8", "utf-16"])
        .build()
        .await;
    let uri = server.open("part.py", "x = \"😀é\" + (\n").await;
    let diagnostics = server.diagnostics(&uri, 1).await;
    // 4 bytes of emoji + 2 of é: `(` at byte column 15
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({"line": 0, "character": 15})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn quick_fixes_are_pinned_to_the_document_version() {
    let mut server = TestServerBuilder::default().build().await;
    let uri = server.open("part.py", "x = 1\n").await;
    server.edit(&uri, 2, (0, 5), (0, 5), " + (").await;
    server.diagnostics(&uri, 2).await;
    let res = server
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 9}, "end": {"line": 0, "character": 9}},
                "context": {"diagnostics": []}
            }),
        )
        .await;
    expect![[r#"
        [
          {
            "title": "Insert the missing `)`",
            "kind": "quickfix",
            "diagnostics": [
              {
                "range": {
                  "start": {
                    "line": 0,
                    "character": 8
                  },
                  "end": {
                    "line": 0,
                    "character": 9
                  }
                },
                "severity": 1,
                "code": "unclosed-bracket",
                "source": "cadquery-lsp",
                "message": "`(` is never closed"
              }
            ],
            "edit": {
              "documentChanges": [
                {
                  "textDocument": {
                    "uri": "file://$DIR/part.py",
                    "version": 2
                  },
                  "edits": [
                    {
                      "range": {
                        "start": {
                          "line": 0,
                          "character": 9
                        },
                        "end": {
                          "line": 0,
                          "character": 9
                        }
                      },
                      "newText": ")"
                    }
                  ]
                }
              ]
            },
            "isPreferred": true
          }
        ]"#]]
    .assert_eq(&server.redact(&pretty(&res["result"])));
    // far from the problem: nothing to offer
    let none = server
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 5, "character": 0}, "end": {"line": 5, "character": 0}},
                "context": {"diagnostics": []}
            }),
        )
        .await;
    assert_eq!(none["result"], json!([]));
    server.shutdown().await;
}

#[tokio::test]
async fn hover_without_a_run_says_nothing() {
    let mut server = TestServerBuilder::default().build().await;
    let uri = server.open("part.py", "result = 1\n").await;
    let res = server
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 2}}),
        )
        .await;
    assert_eq!(res["result"], json!(null), "{res}");
    server.shutdown().await;
}
