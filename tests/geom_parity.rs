//! IoU_best parity with ../shared/tools/iou_ref.py on 60 dev pairs (numbers precomputed with
//! the reference: tests/fixtures/geom/iou_ref_pairs.json). Needs the dev set and CadQuery.

use cadquery_lsp::geom::iou::iou_best;
use cadquery_lsp::progress::CancellationToken;
use cadquery_lsp::runtime::{ExecRequest, Job, JobOutput, MeshOptions, PoolConfig, WorkerPool};
use cadquery_lsp::scoring::measured;

/// The prediction scripts the fixture's reference numbers were computed on.
fn prediction(kind: &str, id: &str, ids: &[String], dev: &std::path::Path) -> String {
    let read = |i: &str| std::fs::read_to_string(dev.join(format!("{i}.py"))).unwrap();
    match kind {
        "pa" => scale_extrusions(&read(id), 1.25),
        "pb" => read(id) + "\nsolid=solid.union(cq.Workplane().box(0.2,0.2,0.2))\n",
        "cross" => {
            let k = ids.iter().position(|x| x == id).unwrap();
            read(&ids[(k + 1) % ids.len()])
        }
        other => panic!("unknown pair kind {other}"),
    }
}

/// Multiply the first argument of every `extrude(` by `f` (as Python's repr would print it).
fn scale_extrusions(code: &str, f: f64) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(i) = rest.find("extrude(") {
        let (head, tail) = rest.split_at(i + "extrude(".len());
        out.push_str(head);
        let end = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
            .unwrap_or(tail.len());
        let x: f64 = tail[..end].parse().unwrap();
        out.push_str(&format!("{:?}", x * f));
        rest = &tail[end..];
    }
    out + rest
}

#[test]
fn iou_best_matches_the_reference() {
    let Ok(shared) = std::env::var("CADQUERY_LSP_SHARED") else {
        eprintln!("skipped: CADQUERY_LSP_SHARED is not set (the dev set lives in ../shared)");
        return;
    };
    let dev = std::path::Path::new(&shared).join("data/gencad-dev");
    let pool = match WorkerPool::start(PoolConfig {
        workers: 2,
        ..PoolConfig::default()
    }) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipped: no CadQuery runtime ({e})");
            return;
        }
    };
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/geom/iou_ref_pairs.json")).unwrap();
    let mut ids: Vec<String> = std::fs::read_dir(&dev)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .path()
                .file_name()?
                .to_str()?
                .strip_suffix(".py")
                .map(String::from)
        })
        .collect();
    ids.sort();
    let build = |code: String| {
        let job = Job::Execute(ExecRequest {
            code,
            mesh: Some(MeshOptions {
                tolerance: 0.1,
                angular_tolerance: 0.1,
            }),
            edges: false,
            untrusted: false,
        });
        match pool.execute(job, &CancellationToken::new()).unwrap() {
            JobOutput::Executed(Ok(b)) => b,
            other => panic!("script did not build: {other:?}"),
        }
    };
    let mut worst = 0.0f64;
    let pairs = fixture["pairs"].as_array().unwrap();
    assert!(pairs.len() >= 30);
    for p in pairs {
        let (kind, id) = (p["kind"].as_str().unwrap(), p["id"].as_str().unwrap());
        let reference = p["iou_best"].as_f64().unwrap();
        let gt = build(std::fs::read_to_string(dev.join(format!("{id}.py"))).unwrap());
        let pr = build(prediction(kind, id, &ids, &dev));
        let ours = iou_best(&measured(&gt).unwrap(), &measured(&pr).unwrap()).unwrap();
        eprintln!("{kind} {id}: ours {ours:.4} reference {reference:.4}");
        assert!(
            (ours - reference).abs() <= 0.01,
            "{kind} {id}: ours {ours} vs reference {reference}"
        );
        worst = worst.max((ours - reference).abs());
    }
    eprintln!("{} pairs, worst |difference| {worst:.4}", pairs.len());
}
