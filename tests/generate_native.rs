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

/// The true script of dev part `id`, compiled for the native evaluator, and its picture.
fn scene_and_picture(dir: &std::path::Path, id: &str) -> (Scene, Picture) {
    let code = std::fs::read_to_string(dir.join(format!("{id}.py"))).unwrap();
    let scene = Scene::compile(&Program::parse(&code).unwrap()).unwrap();
    let pic = Picture::load(&dir.join(format!("{id}.png"))).unwrap();
    (scene, pic)
}

#[test]
fn native_silhouettes_match_the_real_pictures() {
    let Some((dir, ids)) = geom_dev::dev_scripts() else {
        return;
    };
    let mut worst = 1.0f64;
    for id in &ids {
        let (scene, pic) = scene_and_picture(&dir, id);
        let t = std::time::Instant::now();
        let r = render(&scene, 448, 448).expect("a solid");
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let s = iou(&r.silhouette, &pic.silhouette);
        let edge_px = r.edges.iter().filter(|&&e| e).count();
        eprintln!("{id}: silhouette IoU {s:.4}, {edge_px} edge px, {ms:.1} ms at 448");
        worst = worst.min(s);
    }
    assert!(worst >= 0.95, "worst silhouette IoU {worst:.4}");
}

/// The edges too: where the native evaluator draws lines must be where the picture has
/// them (seams of full circles where the data set puts them, the sketch plane's seam on
/// symmetric extrusions). Mean symmetric edge distance at 448 px, per part.
#[test]
fn native_edges_match_the_real_pictures() {
    use cadquery_lsp::generate::score::Target;
    let Some((dir, ids)) = geom_dev::dev_scripts() else {
        return;
    };
    let mut close = 0;
    for id in &ids {
        let (scene, pic) = scene_and_picture(&dir, id);
        let target = Target::new(&pic, 1);
        let r = render(&scene, target.size, target.size).expect("a solid");
        let chamfer = target.score(&r).edge_chamfer;
        eprintln!("{id}: mean edge distance {chamfer:.3} px");
        close += (chamfer < 0.5) as usize;
    }
    // one known miss: 00812431, a union whose coplanar tops CadQuery leaves unmerged
    assert!(close >= 19, "only {close} of 20 parts within 0.5 px");
}

/// The data set's framing box of a part with curved faces is a little larger than its exact
/// box (OCC's box over a triangulation): at least 6 of the 9 dev parts with curves must agree
/// better with their picture in the framing `render` uses than with the exact box, and their
/// summed agreement must rise (the effect is small: +0.005 over the 9).
#[test]
fn curved_parts_are_framed_by_the_grown_box() {
    use cadquery_lsp::generate::native::render_with;
    use cadquery_lsp::generate::score::Target;
    use cadquery_lsp::geom::camera::Camera;
    let Some((dir, ids)) = geom_dev::dev_scripts() else {
        return;
    };
    let (mut curved, mut gained, mut gain) = (0, 0, 0.0);
    for id in &ids {
        let (scene, pic) = scene_and_picture(&dir, id);
        let target = Target::new(&pic, 1);
        let framed = render(&scene, target.size, target.size).expect("a solid");
        // the box `render` starts from: exact for unions, else from 64x64 rays
        let b = scene
            .exact_bounds()
            .or_else(|| cadquery_lsp::generate::native::solid_bounds(&scene, 64))
            .expect("a solid");
        let exact = cadquery_lsp::geom::Aabb { min: b.0, max: b.1 };
        let exact_box = render_with(&scene, Camera::gencad(&exact, target.size, target.size));
        let (with, without) = (target.score(&framed).total, target.score(&exact_box).total);
        eprintln!(
            "{id}: curves {} agreement {with:.5} (exact box {without:.5})",
            scene.has_curves()
        );
        if scene.has_curves() {
            curved += 1;
            gained += (with > without) as usize;
            gain += with - without;
        }
    }
    assert_eq!(curved, 9, "the dev set has 9 parts with arcs or circles");
    assert!(
        gained >= 6 && gain > 0.0,
        "only {gained} of {curved} curved parts agree better (summed change {gain:+.5})"
    );
}
