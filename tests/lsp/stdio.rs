//! The real binary over stdio: a whole session, and the exit code rules.

use serde_json::json;

use crate::harness::TestServerBuilder;

#[tokio::test]
async fn a_whole_session_over_stdio() {
    // generation needs CadQuery: without it the session skips that part and says so
    let python = crate::generate::python();
    let builder = match &python {
        Some(p) => TestServerBuilder::default().initialization_options(crate::generate::quick(p)),
        None => TestServerBuilder::default(),
    };
    let (mut server, mut child) = builder.spawn_binary();
    let init = server.initialize().await;
    assert_eq!(init["serverInfo"]["name"], "cadquery-lsp", "{init}");
    assert_eq!(
        init["capabilities"]["executeCommandProvider"]["commands"],
        json!(["cadquery.generate"])
    );
    let uri = server.open("part.py", "import cadquery as cq\n").await;
    server.diagnostics(&uri, 1).await;
    // an edit with a mistake: the diagnostic and its quick fix
    server
        .edit(
            &uri,
            2,
            (1, 0),
            (1, 0),
            "base = cq.Workplane().box(1, 1, 1\n",
        )
        .await;
    let d = server.diagnostics(&uri, 2).await;
    assert_eq!(d[0]["code"], "unclosed-bracket", "{d}");
    let actions = server
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": d[0]["range"],
                "context": {"diagnostics": [d[0].clone()]}
            }),
        )
        .await;
    let fix = &actions["result"][0];
    assert_eq!(fix["title"], "Insert the missing `)`", "{actions}");
    // the editor applies the fix
    let edit = &fix["edit"]["documentChanges"][0]["edits"][0];
    let at = &edit["range"]["start"];
    let at = (
        at["line"].as_u64().unwrap() as u32,
        at["character"].as_u64().unwrap() as u32,
    );
    server
        .edit(&uri, 3, at, at, edit["newText"].as_str().unwrap())
        .await;
    let d = server.diagnostics(&uri, 3).await;
    assert_eq!(d, json!([]), "the fix leaves no problem");
    let mut version = 3;
    if let Some(python) = &python {
        // generate into the document: progress, then the edit the client applies
        let picture =
            crate::generate::render_picture(python, server.dir(), "plate", crate::generate::PLATE);
        server
            .send(&crate::generate::generate_request(
                50,
                &picture,
                &uri,
                "stdio-gen",
            ))
            .await;
        let res = server
            .response_within(json!(50), crate::generate::GENERATION_WAIT)
            .await;
        assert_eq!(res["result"]["applied"], json!(true), "{res}");
        let progress: Vec<_> = server
            .drain("$/progress")
            .into_iter()
            .filter(|p| p["token"] == "stdio-gen")
            .map(|p| p["value"]["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            progress.first().map(String::as_str),
            Some("begin"),
            "{progress:?}"
        );
        assert!(
            progress.iter().filter(|k| *k == "report").count() >= 3,
            "{progress:?}"
        );
        assert_eq!(
            progress.last().map(String::as_str),
            Some("end"),
            "{progress:?}"
        );
        let apply = server
            .server_requests
            .iter()
            .rev()
            .find(|r| r["method"] == "workspace/applyEdit")
            .expect("an applyEdit request")
            .clone();
        let change = &apply["params"]["edit"]["documentChanges"][0];
        assert_eq!(change["textDocument"]["version"], 3);
        let e = &change["edits"][0];
        let at = &e["range"]["start"];
        let at = (
            at["line"].as_u64().unwrap() as u32,
            at["character"].as_u64().unwrap() as u32,
        );
        server
            .edit(&uri, 4, at, at, e["newText"].as_str().unwrap())
            .await;
        let d = server.diagnostics(&uri, 4).await;
        assert_eq!(d, json!([]), "the generated code has no static problem");
        version = 4;
    } else {
        eprintln!("stdio session: generation skipped (no CADQUERY_LSP_PYTHON)");
    }
    // completion after a dot, and hover on the method
    let probe =
        "import cadquery as cq\nbase = cq.Workplane().box(1, 1, 1)\nprobe = base.faces().\n";
    server.replace_all(&uri, version + 1, probe).await;
    let completion = server
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 21}}),
        )
        .await;
    let first = &completion["result"]["items"][0]["label"];
    assert_eq!(
        first, "workplane",
        "after faces() a workplane comes first: {completion}"
    );
    let hover = server
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 15}}),
        )
        .await;
    let value = hover["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(value.starts_with("**Workplane.faces**"), "{hover}");
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
