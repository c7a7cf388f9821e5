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

/// One line per completion item: label, kind, and the text edit's range and text.
fn completion_lines(result: &serde_json::Value, first: usize) -> String {
    result["items"]
        .as_array()
        .expect("a completion list")
        .iter()
        .take(first)
        .map(|i| {
            let e = &i["textEdit"];
            format!(
                "{} kind={} sort={} edit={}:{}-{}:{} {:?}",
                i["label"].as_str().unwrap(),
                i["kind"],
                i["sortText"].as_str().unwrap(),
                e["range"]["start"]["line"],
                e["range"]["start"]["character"],
                e["range"]["end"]["line"],
                e["range"]["end"]["character"],
                e["newText"].as_str().unwrap(),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn complete(
    server: &mut crate::harness::TestServer,
    uri: &str,
    line: u32,
    character: u32,
) -> serde_json::Value {
    let res = server
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
        .await;
    res["result"].clone()
}

#[tokio::test]
async fn completion_after_a_dot_offers_the_chain_s_methods_most_used_first() {
    let mut server = TestServerBuilder::default().build().await;
    let text = "import cadquery as cq\nr = cq.Workplane(\"XY\").box(1, 2, 3).\n";
    let uri = server.open("part.py", text).await;
    let result = complete(&mut server, &uri, 1, 36).await;
    assert_eq!(result["isIncomplete"], json!(false));
    expect![[r#"
        faces kind=2 sort=00000 edit=1:36-1:36 "faces"
        edges kind=2 sort=00001 edit=1:36-1:36 "edges"
        fillet kind=2 sort=00002 edit=1:36-1:36 "fillet"
        chamfer kind=2 sort=00003 edit=1:36-1:36 "chamfer"
        union kind=2 sort=00004 edit=1:36-1:36 "union"
        cut kind=2 sort=00005 edit=1:36-1:36 "cut"
        shell kind=2 sort=00006 edit=1:36-1:36 "shell"
        vertices kind=2 sort=00007 edit=1:36-1:36 "vertices""#]]
    .assert_eq(&completion_lines(&result, 8));
    // a typed prefix narrows and replaces the whole word under the cursor
    server.edit(&uri, 2, (1, 36), (1, 36), "fil").await;
    let result = complete(&mut server, &uri, 1, 38).await;
    expect![[r#"
        fillet kind=2 sort=00000 edit=1:36-1:39 "fillet"
        filter kind=2 sort=00001 edit=1:36-1:39 "filter"
        findSolid kind=2 sort=00002 edit=1:36-1:39 "findSolid""#]]
    .assert_eq(&completion_lines(&result, 3));
    // nothing inside a string
    let result = complete(&mut server, &uri, 1, 19).await;
    assert_eq!(result["items"], json!([]), "{result}");
    server.shutdown().await;
}

#[tokio::test]
async fn keyword_arguments_and_names_in_scope_are_offered_in_a_call() {
    let mut server = TestServerBuilder::default().build().await;
    let text = "import cadquery as cq\nbase = cq.Workplane()\nr = base.box(1, 2, 3, )\n";
    let uri = server.open("part.py", text).await;
    let result = complete(&mut server, &uri, 2, 22).await;
    expect![[r#"
        centered= kind=5 sort=00000 edit=2:22-2:22 "centered="
        combine= kind=5 sort=00001 edit=2:22-2:22 "combine="
        clean= kind=5 sort=00002 edit=2:22-2:22 "clean="
        base kind=6 sort=00003 edit=2:22-2:22 "base"
        cq kind=6 sort=00004 edit=2:22-2:22 "cq""#]]
    .assert_eq(&completion_lines(&result, 6));
    server.shutdown().await;
}

#[tokio::test]
async fn resolve_adds_the_signature_and_docs() {
    let mut server = TestServerBuilder::default().build().await;
    let text = "import cadquery as cq\nr = cq.Workplane().box(1, 2, 3).edges().fil\n";
    let uri = server.open("part.py", text).await;
    let result = complete(&mut server, &uri, 1, 43).await;
    let item = result["items"][0].clone();
    assert_eq!(item["label"], "fillet", "{result}");
    assert!(
        item.get("documentation").is_none(),
        "docs come with resolve: {item}"
    );
    let resolved = server.request("completionItem/resolve", item).await["result"].clone();
    expect![[r#"
        fillet(radius: float) -> Workplane
        Fillets a solid on the selected edges."#]]
    .assert_eq(&format!(
        "{}\n{}",
        resolved["detail"].as_str().unwrap(),
        resolved["documentation"]["value"].as_str().unwrap()
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn hover_shows_api_docs_for_methods_and_classes() {
    let mut server = TestServerBuilder::default().build().await;
    let text = "import cadquery as cq\nr = cq.Workplane().box(1, 2, 3)\n";
    let uri = server.open("part.py", text).await;
    let hover = |character: u32| json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": character}});
    let res = server.request("textDocument/hover", hover(20)).await;
    expect![[r#"
        {
          "contents": {
            "kind": "markdown",
            "value": "**Workplane.box**\n\n```python\nbox(length: float, width: float, height: float, centered: Union[bool, Tuple[bool, bool, bool]] = True, combine: Union[bool, Literal['cut', 'a', 's']] = True, clean: bool = True) -> Workplane\n```\n\nReturn a 3d box with specified dimensions for each object on the stack."
          },
          "range": {
            "start": {
              "line": 1,
              "character": 19
            },
            "end": {
              "line": 1,
              "character": 22
            }
          }
        }"#]]
    .assert_eq(&pretty(&res["result"]));
    let res = server.request("textDocument/hover", hover(10)).await;
    let value = res["result"]["contents"]["value"].as_str().unwrap();
    assert!(value.starts_with("**class Workplane**"), "{value}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_line_that_mentions_a_picture_offers_to_generate_from_it() {
    let mut server = TestServerBuilder::default().build().await;
    let text = "import cadquery as cq\n# drawn after pictures/bracket.png\nx = 1\n";
    let uri = server.open("part.py", text).await;
    let actions = |line: u32| {
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}},
            "context": {"diagnostics": []}
        })
    };
    let res = server.request("textDocument/codeAction", actions(1)).await;
    expect![[r#"
        [
          {
            "title": "Generate CadQuery from image pictures/bracket.png",
            "kind": "refactor",
            "command": {
              "title": "Generate CadQuery from image pictures/bracket.png",
              "command": "cadquery.generate",
              "arguments": [
                {
                  "image": "$DIR/pictures/bracket.png",
                  "uri": "file://$DIR/part.py",
                  "position": {
                    "line": 2,
                    "character": 0
                  }
                }
              ]
            }
          }
        ]"#]]
    .assert_eq(&server.redact(&pretty(&res["result"])));
    let res = server.request("textDocument/codeAction", actions(2)).await;
    assert_eq!(res["result"], json!([]), "{res}");
    server.shutdown().await;
}
