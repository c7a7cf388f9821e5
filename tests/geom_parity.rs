//! IoU_best parity with ../shared/tools/iou_ref.py on 60 dev pairs (numbers precomputed with
//! the reference: tests/fixtures/geom/iou_ref_pairs.json). Needs the dev set and CadQuery.

mod geom_dev;

use cadquery_lsp::geom::iou::iou_best;
use cadquery_lsp::runtime::MeshOptions;
use cadquery_lsp::scoring::measured;

/// The prediction scripts the fixture's reference numbers were computed on.
fn prediction(kind: &str, id: &str, dev: &geom_dev::DevSet) -> String {
    match kind {
        "pa" => scale_extrusions(&dev.script(id), 1.25),
        "pb" => dev.script(id) + "\nsolid=solid.union(cq.Workplane().box(0.2,0.2,0.2))\n",
        "cross" => {
            let k = dev.ids.iter().position(|x| x == id).unwrap();
            dev.script(&dev.ids[(k + 1) % dev.ids.len()])
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
    let Some(dev) = geom_dev::dev_set() else {
        return;
    };
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/geom/iou_ref_pairs.json")).unwrap();
    // the reference's tessellation: CadQuery's STL export defaults
    let mesh = MeshOptions {
        tolerance: 0.1,
        angular_tolerance: 0.1,
    };
    let mut worst = 0.0f64;
    let pairs = fixture["pairs"].as_array().unwrap();
    assert!(pairs.len() >= 30);
    for p in pairs {
        let (kind, id) = (p["kind"].as_str().unwrap(), p["id"].as_str().unwrap());
        let reference = p["iou_best"].as_f64().unwrap();
        let gt = dev.build(dev.script(id), mesh, false);
        let pr = dev.build(prediction(kind, id, &dev), mesh, false);
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
