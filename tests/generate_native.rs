//! The native evaluator against the 20 real dev pictures: the silhouette it casts from the
//! true script must match the picture's. Needs CADQUERY_LSP_SHARED; says when skipped.

mod geom_dev;

use cadquery_lsp::data::Program;
use cadquery_lsp::generate::native::{render, Scene};
use cadquery_lsp::generate::picture::Picture;

fn iou(a: &[bool], b: &[bool]) -> f64 {
    let inter = a.iter().zip(b).filter(|(x, y)| **x && **y).count();
    let union = a.iter().zip(b).filter(|(x, y)| **x || **y).count();
    inter as f64 / union.max(1) as f64
}

#[test]
fn native_silhouettes_match_the_real_pictures() {
    let Some((dir, ids)) = geom_dev::dev_scripts() else {
        return;
    };
    let mut worst = 1.0f64;
    for id in &ids {
        let code = std::fs::read_to_string(dir.join(format!("{id}.py"))).unwrap();
        let program = Program::parse(&code).unwrap();
        let scene = Scene::compile(&program).unwrap();
        let t = std::time::Instant::now();
        let r = render(&scene, 448, 448).expect("a solid");
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let pic = Picture::load(&dir.join(format!("{id}.png"))).unwrap();
        let s = iou(&r.silhouette, &pic.silhouette);
        let edge_px = r.edges.iter().filter(|&&e| e).count();
        eprintln!("{id}: silhouette IoU {s:.4}, {edge_px} edge px, {ms:.1} ms at 448");
        worst = worst.min(s);
    }
    assert!(worst >= 0.95, "worst silhouette IoU {worst:.4}");
}
