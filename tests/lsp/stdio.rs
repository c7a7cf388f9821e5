//! The real binary over stdio: a whole session, and the exit code rules.

use serde_json::json;

use crate::harness::TestServerBuilder;

#[tokio::test]
async fn a_whole_session_over_stdio() {
    let (mut server, mut child) = TestServerBuilder::default().spawn_binary();
    let init = server.initialize().await;
    assert_eq!(init["serverInfo"]["name"], "cadquery-lsp", "{init}");
    let uri = server.open("part.py", "import cadquery as cq\n").await;
    server.diagnostics(&uri, 1).await;
    server
        .edit(
            &uri,
            2,
            (1, 0),
            (1, 0),
            "solid = cq.Workplane().box(1, 1, 1)\n",
        )
        .await;
    server.diagnostics(&uri, 2).await;
    let res = server.shutdown().await;
    assert_eq!(res["result"], json!(null), "{res}");
    let status = tokio::time::timeout(crate::harness::WAIT, child.wait())
        .await
        .expect("the server exits after `exit`")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn exit_without_shutdown_ends_with_code_1() {
    let (mut server, mut child) = TestServerBuilder::default().spawn_binary();
    server.initialize().await;
    server.notify("exit", json!(null)).await;
    let status = tokio::time::timeout(crate::harness::WAIT, child.wait())
        .await
        .expect("the server exits after `exit`")
        .unwrap();
    assert_eq!(status.code(), Some(1));
}
