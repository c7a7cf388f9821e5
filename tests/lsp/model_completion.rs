//! Model-proposed completions: continuations decoded by the embedded model at the cursor of a
//! canonical file, executed with the file before they are offered, after the API items, in a
//! later request than the one that started their job. Verification needs a Python with
//! CadQuery in CADQUERY_LSP_PYTHON; the tests that need it are skipped (with a message)
//! without one.

use expect_test::expect;
use serde_json::{json, Value};

use crate::harness::{TestServer, TestServerBuilder};

const MODEL_SORT: &str = "~model";

/// A canonical program (the grammar's code) with a few statements.
fn canonical_part() -> String {
    let code = cadquery_lsp::data::generate(3).to_code();
    assert!(
        code.starts_with("import cadquery as cq\n# Generating a workplane for sketch 0\n"),
        "{code}"
    );
    code
}

async fn server(python: Option<&str>, options: Value) -> TestServer {
    let mut all = json!({"executeAfterIdleMs": 0, "poolSize": 1});
    if let Some(python) = python {
        all["pythonPath"] = json!(python);
    }
    for (k, v) in options.as_object().unwrap() {
        all[k] = v.clone();
    }
    TestServerBuilder::default()
        .initialization_options(all)
        .build()
        .await
}

async fn complete(server: &mut TestServer, uri: &str, (line, character): (u32, u32)) -> Value {
    let res = server
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
        .await;
    assert!(res.get("error").is_none(), "{res}");
    res["result"].clone()
}

/// The log line of the model job for `version` of `uri`, with the timing and the uri
/// redacted.
async fn job_log(server: &mut TestServer, uri: &str, version: i64) -> String {
    let wanted = format!("model completions for {uri} v{version} ");
    loop {
        let log = server
            .notification_within("window/logMessage", std::time::Duration::from_secs(120))
            .await;
        let message = log["message"].as_str().unwrap();
        if message.starts_with(&wanted) {
            let message = message.replace(uri, "URI");
            // "(... s)" timings vary from run to run
            let cut = message.rfind(" (").unwrap_or(message.len());
            return message[..cut].to_string();
        }
    }
}

fn model_items(list: &Value) -> Vec<Value> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["sortText"].as_str().unwrap().starts_with(MODEL_SORT))
        .cloned()
        .collect()
}

/// (line, character) of the end of the first `needle` in `text` (ASCII text).
fn after(text: &str, needle: &str) -> (u32, u32) {
    let at = text.find(needle).expect(needle) + needle.len();
    let line = text[..at].matches('\n').count();
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line as u32, (at - start) as u32)
}

fn byte_offset(text: &str, position: &Value) -> usize {
    let line = position["line"].as_u64().unwrap() as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    start + position["character"].as_u64().unwrap() as usize
}

/// The file with the item's edit applied.
fn applied(text: &str, item: &Value) -> String {
    let edit = &item["textEdit"];
    let start = byte_offset(text, &edit["range"]["start"]);
    let end = byte_offset(text, &edit["range"]["end"]);
    format!(
        "{}{}{}",
        &text[..start],
        edit["newText"].as_str().unwrap(),
        &text[end..]
    )
}

/// Runs each code in a pool of our own: the volume of a valid solid, or why not.
async fn execute_all(python: &str, codes: Vec<String>) -> Vec<Result<f64, String>> {
    use cadquery_lsp::runtime::{ExecRequest, Job, JobOutput, PoolConfig, WorkerPool};
    let config = PoolConfig {
        python: Some(python.into()),
        workers: 1,
        ..PoolConfig::default()
    };
    tokio::task::spawn_blocking(move || {
        let pool = WorkerPool::start(config).expect("a CadQuery pool starts");
        codes
            .into_iter()
            .map(|code| {
                let job = Job::Execute(ExecRequest::facts(code));
                match pool.execute(job, &Default::default()) {
                    Ok(JobOutput::Executed(Ok(built)))
                        if built.facts.valid && built.facts.volume > 0.0 =>
                    {
                        Ok(built.facts.volume)
                    }
                    other => Err(format!("{other:?}")),
                }
            })
            .collect()
    })
    .await
    .unwrap()
}

/// Everything in an item but the continuation's text and the model's numbers.
fn item_shape(item: &Value) -> String {
    let detail = item["detail"].as_str().unwrap();
    let label = item["label"].as_str().unwrap();
    let new_text = item["textEdit"]["newText"].as_str().unwrap();
    format!(
        "sort={} kind={} detail={:?} label_is_text={} filter_is_text={} range={}",
        item["sortText"].as_str().unwrap(),
        item["kind"],
        detail.split(" · p ").next().unwrap(),
        label == new_text.trim_end(),
        item["filterText"] == item["textEdit"]["newText"],
        item["textEdit"]["range"],
    )
}

#[tokio::test]
async fn verified_continuations_come_after_the_api_items_and_build_a_valid_solid() {
    let Some(python) = crate::harness::python("model completions") else {
        return;
    };
    let mut server = server(Some(&python), json!({"modelCompletionCount": 4})).await;
    let part = canonical_part();
    // the same part with its extrusion statement's line left blank
    let extrusion = part.find("\nsolid0=").unwrap() + 1;
    let blank = format!(
        "{}{}",
        &part[..extrusion],
        &part[extrusion + part[extrusion..].find('\n').unwrap()..]
    );
    let mut codes = Vec::new();
    let mut shapes = Vec::new();
    // the rest of a statement (replacing the rest of its line), then a whole statement
    for (what, name, text, at) in [
        (
            "rest of the extrusion",
            "part.py",
            &part,
            after(&part, ".extrude("),
        ),
        (
            "statement on a blank line",
            "blank.py",
            &blank,
            after(&blank, &blank[..extrusion]),
        ),
    ] {
        let uri = server.open(name, text).await;
        let first = complete(&mut server, &uri, at).await;
        assert_eq!(first["isIncomplete"], json!(true), "{what}: {first}");
        assert!(model_items(&first).is_empty(), "{what}: {first}");
        let log = job_log(&mut server, &uri, 1).await;
        eprintln!("{what}: {log}");
        let settled = complete(&mut server, &uri, at).await;
        assert_eq!(settled["isIncomplete"], json!(false), "{what}: {settled}");
        let items = settled["items"].as_array().unwrap();
        let first_model = items
            .iter()
            .position(|i| i["sortText"].as_str().unwrap().starts_with(MODEL_SORT))
            .unwrap_or(items.len());
        // API items first, in the list and by sortText
        assert!(first_model > 0, "{what}: no API items: {settled}");
        assert!(
            items[first_model..]
                .iter()
                .all(|i| i["sortText"].as_str().unwrap().starts_with(MODEL_SORT)),
            "{what}: {settled}"
        );
        let mut sorts: Vec<&str> = items
            .iter()
            .map(|i| i["sortText"].as_str().unwrap())
            .collect();
        let in_order = sorts.clone();
        sorts.sort();
        assert_eq!(sorts, in_order, "{what}");
        for item in &items[first_model..] {
            eprintln!("{what}: {}", item["label"]);
            codes.push(applied(text, item));
        }
        shapes.extend(items[first_model..].iter().take(1).map(item_shape));
    }
    assert!(
        !codes.is_empty(),
        "no verified continuation at either position"
    );
    // each offered item, applied to the file, builds a valid solid when run again here
    for (code, run) in codes.iter().zip(execute_all(&python, codes.clone()).await) {
        assert!(run.is_ok(), "{run:?}\n{code}");
    }
    expect![[r#"
        sort=~model000 kind=1 detail="model · valid solid" label_is_text=true filter_is_text=true range={"start":{"line":4,"character":37},"end":{"line":4,"character":55}}
        sort=~model000 kind=1 detail="model · valid solid" label_is_text=true filter_is_text=true range={"start":{"line":4,"character":0},"end":{"line":4,"character":0}}"#]]
    .assert_eq(&shapes.join("\n"));
    server.shutdown().await;
}

#[tokio::test]
async fn none_are_offered_where_the_code_before_the_cursor_is_not_canonical() {
    let mut server = server(None, json!({})).await;
    // not even the header of canonical code: no job at all
    let text = "import cadquery as cq\nr = cq.Workplane().box(1, 2, 3)\n";
    let uri = server.open("free.py", text).await;
    let list = complete(&mut server, &uri, (2, 0)).await;
    assert_eq!(list["isIncomplete"], json!(false), "{list}");
    assert!(model_items(&list).is_empty(), "{list}");
    // the header, then a number the grammar does not write (more than 4 decimals)
    let text = canonical_part().replacen("cq.Vector(1.0, ", "cq.Vector(1.00001, ", 1);
    assert!(text.contains("1.00001"));
    let uri = server.open("almost.py", &text).await;
    let at = after(&text, "solid=solid0\n");
    let first = complete(&mut server, &uri, at).await;
    assert_eq!(first["isIncomplete"], json!(true), "{first}");
    expect!["model completions for URI v1 at byte 348: none proposed: the code before the cursor is not canonical code the decoding grammar accepts: it goes wrong on line 3 at column 85 (`wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.75, -0.75, -0.0547), cq.Vector(1.00001, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))`); fix or reformat it (`cadquery-lsp format`) first"]
    .assert_eq(&job_log(&mut server, &uri, 1).await);
    let settled = complete(&mut server, &uri, at).await;
    assert_eq!(settled["isIncomplete"], json!(false), "{settled}");
    assert!(model_items(&settled).is_empty(), "{settled}");
    server.shutdown().await;
}

#[tokio::test]
async fn none_are_offered_when_the_setting_turns_them_off() {
    let mut server = server(None, json!({"modelCompletions": false})).await;
    let text = canonical_part();
    let uri = server.open("part.py", &text).await;
    let at = after(&text, ".extrude(");
    for _ in 0..2 {
        let list = complete(&mut server, &uri, at).await;
        assert_eq!(list["isIncomplete"], json!(false), "{list}");
        assert!(model_items(&list).is_empty(), "{list}");
    }
    // and back on through workspace/didChangeConfiguration
    server
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"cadquery": {"modelCompletions": true}}}),
        )
        .await;
    let list = complete(&mut server, &uri, at).await;
    assert_eq!(list["isIncomplete"], json!(true), "{list}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_newer_edit_drops_the_proposals_of_the_older_version() {
    let python = crate::harness::python("verifying the newer version's proposals");
    let mut server = server(python.as_deref(), json!({})).await;
    let text = canonical_part();
    let uri = server.open("part.py", &text).await;
    let at = after(&text, ".extrude(");
    let first = complete(&mut server, &uri, at).await;
    assert_eq!(first["isIncomplete"], json!(true), "{first}");
    // an edit after the cursor while the job for version 1 is still loading the model
    let last_line = text.lines().count() as u32 - 1;
    server
        .edit(&uri, 2, (last_line, 0), (last_line, 0), "\n")
        .await;
    expect!["model completions for URI v1 at byte 312: stale (the document or the position changed), dropped"]
        .assert_eq(&job_log(&mut server, &uri, 1).await);
    // version 2 gets nothing of version 1's job: its own job starts
    let list = complete(&mut server, &uri, at).await;
    assert_eq!(list["isIncomplete"], json!(true), "{list}");
    assert!(model_items(&list).is_empty(), "{list}");
    let log = job_log(&mut server, &uri, 2).await;
    let list = complete(&mut server, &uri, at).await;
    assert_eq!(list["isIncomplete"], json!(false), "{log}: {list}");
    let Some(python) = python else { return };
    let text2 = {
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        lines.insert(last_line as usize, "\n");
        lines.concat()
    };
    let codes: Vec<String> = model_items(&list)
        .iter()
        .map(|item| applied(&text2, item))
        .collect();
    for (code, run) in codes.iter().zip(execute_all(&python, codes.clone()).await) {
        assert!(run.is_ok(), "{run:?}\n{code}");
    }
    server.shutdown().await;
}
