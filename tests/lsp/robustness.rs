//! Bad input never takes the server down: it answers with an error and keeps serving.

use expect_test::expect;
use serde_json::{json, Value};

use crate::harness::{pretty, TestServer, TestServerBuilder};

/// The server still answers a request: the proof it kept running.
async fn still_serving(server: &mut TestServer) {
    let res = server
        .request("textDocument/hover", json!({"textDocument": {"uri": "file:///nope.py"}, "position": {"line": 0, "character": 0}}))
        .await;
    assert!(
        res.get("result").is_some() || res.get("error").is_some(),
        "{res}"
    );
}

#[tokio::test]
async fn malformed_frames_get_errors_and_the_session_goes_on() {
    let mut server = TestServerBuilder::default()
        .limits(cadquery_lsp::lsp::TransportLimits {
            max_message_bytes: 4096,
            ..Default::default()
        })
        .build()
        .await;
    let mut answers = Vec::new();
    let bad: Vec<Vec<u8>> = vec![
        b"Content-Length: 9\r\n\r\n{not json".to_vec(),
        b"Content-Length: 31\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":7,\"x\":1}\n".to_vec(),
        b"X-Nothing: 1\r\n\r\n".to_vec(),
        b"Content-Length: -3\r\n\r\n".to_vec(),
        format!("Content-Length: 5000\r\n\r\n{}", "x".repeat(5000)).into_bytes(),
        b"Content-Length: 4\r\n\r\n\xff\xfe\xfd\xfc".to_vec(),
    ];
    for frame in bad {
        server.send_raw(&frame).await;
        answers.push(server.next_response().await);
    }
    expect![[r#"
        [
          {
            "jsonrpc": "2.0",
            "error": {
              "code": -32700,
              "message": "message is not valid JSON: key must be a string at line 1 column 2"
            },
            "id": null
          },
          {
            "jsonrpc": "2.0",
            "error": {
              "code": -32600,
              "message": "message is not a JSON-RPC 2.0 request or response: it needs a string \"method\" (request, notification) or a \"result\" / \"error\" (response)"
            },
            "id": 7
          },
          {
            "jsonrpc": "2.0",
            "error": {
              "code": -32600,
              "message": "message without a Content-Length header: skipped"
            },
            "id": null
          },
          {
            "jsonrpc": "2.0",
            "error": {
              "code": -32600,
              "message": "invalid Content-Length \"-3\": invalid digit found in string"
            },
            "id": null
          },
          {
            "jsonrpc": "2.0",
            "error": {
              "code": -32600,
              "message": "message of 5000 bytes exceeds the limit of 4096 bytes: ignored"
            },
            "id": null
          },
          {
            "jsonrpc": "2.0",
            "error": {
              "code": -32700,
              "message": "message is not valid JSON: expected value at line 1 column 1"
            },
            "id": null
          }
        ]"#]]
    .assert_eq(&pretty(&json!(answers)));
    still_serving(&mut server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_methods_are_answered_or_ignored() {
    let mut server = TestServerBuilder::default().build().await;
    let res = server.request("cadquery/noSuchThing", json!({})).await;
    assert_eq!(res["error"]["code"], -32601, "{res}");
    server
        .notify("cadquery/noSuchNotification", json!({}))
        .await;
    server.notify("$/noSuchThing", json!({})).await;
    still_serving(&mut server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn requests_before_initialize_are_refused() {
    let mut server = TestServerBuilder::default().start();
    let res = server
        .request("textDocument/hover", json!({"textDocument": {"uri": "file:///a.py"}, "position": {"line": 0, "character": 0}}))
        .await;
    assert_eq!(res["error"]["code"], -32002, "{res}");
    server.initialize().await;
    still_serving(&mut server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_thousand_rapid_edits_end_in_diagnostics_of_the_final_text() {
    let mut server = TestServerBuilder::default().build().await;
    let uri = server.open("part.py", "import cadquery as cq\n").await;
    let mut expected = String::from("import cadquery as cq\n");
    for v in 2..=1001 {
        let line = format!("x{v} = {v}\n");
        server
            .edit(&uri, v, (v as u32 - 1, 0), (v as u32 - 1, 0), &line)
            .await;
        expected.push_str(&line);
    }
    server.diagnostics(&uri, 1001).await;
    let published: Vec<Value> = server.drain("textDocument/publishDiagnostics");
    // debouncing: far fewer than one publication per edit, none after the final one
    assert!(published.len() < 100, "{} publications", published.len());
    server.shutdown().await;
}

#[tokio::test]
async fn a_five_megabyte_file_is_served() {
    let mut server = TestServerBuilder::default().build().await;
    let line = "solid = cq.Workplane('XY').box(1, 2, 3)  # a long enough line of code\n";
    let text = line.repeat(5 * 1024 * 1024 / line.len());
    assert!(text.len() > 5_000_000);
    let uri = server.open("big.py", &text).await;
    server.diagnostics(&uri, 1).await;
    server.edit(&uri, 2, (70_000, 0), (70_000, 5), "part").await;
    server.diagnostics(&uri, 2).await;
    still_serving(&mut server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_binary_file_is_served() {
    let mut server = TestServerBuilder::default().build().await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let uri = server.open("blob.py", &text).await;
    server.diagnostics(&uri, 1).await;
    server
        .edit(&uri, 2, (0, 3), (40, 1), "\u{0}\u{feff}😀")
        .await;
    server.diagnostics(&uri, 2).await;
    still_serving(&mut server).await;
    server.shutdown().await;
}
