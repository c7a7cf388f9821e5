//! Holes the picture shows that a candidate lacks. Refinement moves numbers, and a
//! structural variant can drop a hole, but nothing else adds one: a library program or a
//! proposal without the hole stays without it (the example bracket's answer did). Here
//! the picture's edges that fall inside one flat face of the candidate's render, away
//! from every edge the render has, are gathered; where they trace a circle on that face's
//! plane (an ellipse in the view), a drilled-hole variant cuts that circle from the face
//! down to where the material behind it ends.

use super::native::scene::RayScratch;
use super::native::{self, NativeRender, Scene, NO_FACE};
use super::picture::Picture;
use super::score::chamfer_distance;
use crate::data::frame::{add, dot, scale, sub};
use crate::data::program::{cross, normalized};
use crate::data::{Combine, Extent, Loop, Operation, Plane, Program, Sketch, Vec3};

/// Picture edge pixels this close (px) to an edge the render has are explained by it.
const EXPLAINED_PX: f32 = 2.5;
/// Fewest unexplained edge pixels that can be a hole's outline.
const MIN_OUTLINE_PX: usize = 16;
/// Smallest hole radius, in pixels of the picture (smaller is a speck: see refine).
const MIN_RADIUS_PX: f64 = 3.0;
/// Angular bins the outline's outermost points are taken from: a through hole also shows
/// its far rim inside the opening, which must not pull the circle in.
const BINS: usize = 24;
/// The outermost points must cover this many of the bins (most of a full circle).
const MIN_BINS: usize = 16;
/// How far (a share of the radius, RMS) those points may lie from the fitted circle.
const MAX_SPREAD: f64 = 0.12;
/// Most holes offered per candidate.
const MAX_HOLES: usize = 3;

/// A hole the picture shows on a flat face of `program`'s render, as a variant of
/// `program` with the hole cut, named `hole{k}`; the largest outlines first.
pub fn hole_variants(program: &Program, picture: &Picture) -> Vec<(String, Program)> {
    let Ok(scene) = Scene::compile(program) else {
        return Vec::new();
    };
    let Some(render) = native::render(&scene, picture.size, picture.size) else {
        return Vec::new();
    };
    let mut outlines = unexplained_outlines(&scene, &render, picture);
    outlines.sort_by_key(|o| std::cmp::Reverse(o.len()));
    outlines
        .iter()
        .filter_map(|pixels| circle_on_face(&scene, &render, pixels))
        .take(MAX_HOLES)
        .enumerate()
        .map(|(k, hole)| (format!("hole{k}"), with_hole(program, &hole)))
        .collect()
}

/// Connected groups (8-neighbours, one flat face each) of picture edge pixels that lie
/// on the render's surface and away from its edges.
fn unexplained_outlines(
    scene: &Scene,
    render: &NativeRender,
    picture: &Picture,
) -> Vec<Vec<usize>> {
    let size = picture.size as usize;
    let near = chamfer_distance(&render.edges, size);
    let open: Vec<bool> = (0..size * size)
        .map(|i| {
            picture.edges[i]
                && render.face[i] != NO_FACE
                && near[i] > EXPLAINED_PX
                && scene.is_flat(render.face[i])
        })
        .collect();
    let mut seen = vec![false; open.len()];
    let mut out = Vec::new();
    for seed in 0..open.len() {
        if !open[seed] || seen[seed] {
            continue;
        }
        let face = render.face[seed];
        let mut group = vec![seed];
        seen[seed] = true;
        let mut next = 0;
        while next < group.len() {
            let i = group[next];
            next += 1;
            let (x, y) = ((i % size) as i64, (i / size) as i64);
            for (dx, dy) in [
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= size as i64 || ny >= size as i64 {
                    continue;
                }
                let j = ny as usize * size + nx as usize;
                if open[j] && !seen[j] && render.face[j] == face {
                    seen[j] = true;
                    group.push(j);
                }
            }
        }
        if group.len() >= MIN_OUTLINE_PX {
            out.push(group);
        }
    }
    out
}

/// A hole to cut: its circle's centre on the face, the face's outward normal, radius,
/// and how deep the material goes behind it.
#[derive(Debug, Clone, PartialEq)]
struct Hole {
    centre: Vec3,
    normal: Vec3,
    radius: f64,
    depth: f64,
}

/// The circle an outline traces on its face's plane, when it is one.
fn circle_on_face(scene: &Scene, render: &NativeRender, pixels: &[usize]) -> Option<Hole> {
    let size = render.view.width as usize;
    let cam = &render.view;
    let at = |i: usize| -> Vec3 {
        let (x, y) = ((i % size) as f64 + 0.5, (i / size) as f64 + 0.5);
        add(
            cam.unproject(x, y),
            scale(cam.toward_viewer, render.depth[i] as f64),
        )
    };
    let normal = axis_snapped(render.normal[pixels[0]].map(f64::from));
    let origin = at(pixels[0]);
    let (u, v) = plane_basis(normal);
    let flat: Vec<[f64; 2]> = pixels
        .iter()
        .map(|&i| {
            let d = sub(at(i), origin);
            [dot(d, u), dot(d, v)]
        })
        .collect();
    // the outermost point of each angular bin about the centroid
    let n = flat.len() as f64;
    let c = [
        flat.iter().map(|p| p[0]).sum::<f64>() / n,
        flat.iter().map(|p| p[1]).sum::<f64>() / n,
    ];
    let mut outer: Vec<Option<[f64; 2]>> = vec![None; BINS];
    for p in &flat {
        let (dx, dy) = (p[0] - c[0], p[1] - c[1]);
        let bin = (((dy.atan2(dx) / std::f64::consts::TAU) + 1.0).fract() * BINS as f64) as usize;
        let bin = bin.min(BINS - 1);
        let r2 = dx * dx + dy * dy;
        if outer[bin].is_none_or(|q| (q[0] - c[0]).powi(2) + (q[1] - c[1]).powi(2) < r2) {
            outer[bin] = Some(*p);
        }
    }
    let rim: Vec<[f64; 2]> = outer.into_iter().flatten().collect();
    if rim.len() < MIN_BINS {
        return None;
    }
    let (centre, radius) = fit_circle(&rim)?;
    let spread = (rim
        .iter()
        .map(|p| ((p[0] - centre[0]).hypot(p[1] - centre[1]) - radius).powi(2))
        .sum::<f64>()
        / rim.len() as f64)
        .sqrt();
    if radius * cam.scale < MIN_RADIUS_PX || spread > MAX_SPREAD * radius {
        return None;
    }
    let centre = add(origin, add(scale(u, centre[0]), scale(v, centre[1])));
    let depth = material_behind(scene, centre, normal)?;
    Some(Hole {
        centre,
        normal,
        radius,
        depth,
    })
}

/// How far the material goes from a point on a face inward (against its outward normal).
fn material_behind(scene: &Scene, point: Vec3, normal: Vec3) -> Option<f64> {
    let (lo, hi) = scene.loose_bounds();
    let reach = (0..3).map(|k| hi[k] - lo[k]).fold(0.0, f64::max);
    let step_out = 1e-6 * reach.max(1e-9);
    let o = add(point, scale(normal, step_out));
    let mut scratch = RayScratch::default();
    let spans = scene.cast(o, scale(normal, -1.0), |_| true, &mut scratch);
    let first = spans.first()?;
    (first.enter.t < 1e-3 * reach).then_some(first.exit.t - step_out)
}

/// Least-squares circle through points (Kåsa's algebraic fit): centre and radius.
fn fit_circle(points: &[[f64; 2]]) -> Option<([f64; 2], f64)> {
    // x^2 + y^2 = a x + b y + c, solved by the normal equations
    let mut m = [[0.0f64; 3]; 3];
    let mut r = [0.0f64; 3];
    for p in points {
        let row = [p[0], p[1], 1.0];
        let z = p[0] * p[0] + p[1] * p[1];
        for a in 0..3 {
            for b in 0..3 {
                m[a][b] += row[a] * row[b];
            }
            r[a] += row[a] * z;
        }
    }
    let [a, b, c] = solve3(m, r)?;
    let centre = [a / 2.0, b / 2.0];
    let r2 = c + centre[0] * centre[0] + centre[1] * centre[1];
    (r2 > 0.0).then(|| (centre, r2.sqrt()))
}

/// Cramer's rule for a 3x3 system; None when singular.
fn solve3(m: [[f64; 3]; 3], r: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(m);
    if d.abs() < 1e-300 {
        return None;
    }
    Some(std::array::from_fn(|k| {
        let mut mk = m;
        for row in 0..3 {
            mk[row][k] = r[row];
        }
        det(mk) / d
    }))
}

/// A unit normal made exactly a world axis when it is one to 1e-6 (flat faces of
/// DeepCAD parts mostly are, and canonical planes then read cleanly).
fn axis_snapped(n: Vec3) -> Vec3 {
    let n = normalized(n);
    match (0..3).find(|&k| n[k].abs() > 1.0 - 1e-6) {
        Some(k) => std::array::from_fn(|j| if j == k { n[k].signum() } else { 0.0 }),
        None => n,
    }
}

/// Two unit vectors spanning the plane with this unit normal: the first along a world
/// axis where one lies in the plane.
fn plane_basis(n: Vec3) -> (Vec3, Vec3) {
    let axis = (0..3)
        .min_by(|&a, &b| n[a].abs().total_cmp(&n[b].abs()))
        .expect("three axes");
    let mut e = [0.0; 3];
    e[axis] = 1.0;
    let u = normalized(sub(e, scale(n, dot(e, n))));
    (u, cross(n, u))
}

/// `program` with the hole cut: a circle sketched on the face's plane, extruded into the
/// material by its depth.
fn with_hole(program: &Program, hole: &Hole) -> Program {
    let (x_dir, _) = plane_basis(hole.normal);
    let mut p = program.clone();
    p.sketches.push(Sketch {
        plane: Plane {
            origin: hole.centre,
            x_dir,
            normal: hole.normal,
        },
        loops: vec![Loop::Circle {
            center: [0.0, 0.0],
            radius: hole.radius,
        }],
    });
    p.ops.push(Operation {
        extent: Extent::OneSided {
            distance: -hole.depth,
        },
        combine: Combine::Cut,
    });
    p.round_numbers();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::retrieval::native_picture;

    /// A 1 x 0.6 x 0.2 plate on the XY plane, with a hole of radius `r` through it at
    /// (0.3, 0.3) when `r` is some.
    fn plate(hole: Option<f64>) -> Program {
        let hole = hole.map_or(String::new(), |r| {
            format!("loop1=wp_sketch0.moveTo(0.3, 0.3).circle({r:?})\n")
        });
        let add = if hole.is_empty() { "" } else { ".add(loop1)" };
        Program::parse(&format!(
            "import cadquery as cq\n\
             wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
             loop0=wp_sketch0.moveTo(1.0, 0.0).lineTo(1.0, 0.6).lineTo(0.0, 0.6).lineTo(0.0, 0.0).close()\n\
             {hole}\
             solid0=wp_sketch0.add(loop0){add}.extrude(0.2)\n\
             solid=solid0\n"
        ))
        .unwrap()
    }

    #[test]
    fn a_hole_the_picture_shows_is_found_where_it_is() {
        let picture = native_picture(&plate(Some(0.12))).unwrap();
        let variants = hole_variants(&plate(None), &picture);
        assert_eq!(variants.len(), 1, "{variants:?}");
        let p = &variants[0].1;
        let hole = p.sketches.last().unwrap();
        assert_eq!(hole.plane.normal, [0.0, 0.0, 1.0], "on the top face");
        let o = hole.plane.origin;
        assert!(
            (o[0] - 0.3).abs() < 0.01 && (o[1] - 0.3).abs() < 0.01,
            "{o:?}"
        );
        assert!((o[2] - 0.2).abs() < 1e-3, "{o:?}");
        let Loop::Circle { radius, .. } = hole.loops[0] else {
            panic!("a circle")
        };
        assert!((radius - 0.12).abs() < 0.012, "radius {radius}");
        let Extent::OneSided { distance } = p.ops.last().unwrap().extent else {
            panic!("one-sided")
        };
        assert!((distance + 0.2).abs() < 1e-3, "through: {distance}");
        // the variant looks like the picture, better than the plate without it
        let with = crate::generate::refine::agreement(p, &picture).unwrap();
        let without = crate::generate::refine::agreement(&plate(None), &picture).unwrap();
        assert!(with.total > without.total + 0.01, "{with:?} vs {without:?}");
    }

    #[test]
    fn nothing_is_offered_where_the_picture_has_no_hole() {
        let picture = native_picture(&plate(None)).unwrap();
        assert!(hole_variants(&plate(None), &picture).is_empty());
        // nor where the candidate has the hole already
        let picture = native_picture(&plate(Some(0.12))).unwrap();
        assert!(hole_variants(&plate(Some(0.12)), &picture).is_empty());
    }

    #[test]
    fn circles_are_fitted_exactly() {
        let points: Vec<[f64; 2]> = (0..12)
            .map(|k| {
                let a = k as f64 * 0.5;
                [1.0 + 0.3 * a.cos(), -2.0 + 0.3 * a.sin()]
            })
            .collect();
        let (c, r) = fit_circle(&points).unwrap();
        assert!((c[0] - 1.0).abs() < 1e-9 && (c[1] + 2.0).abs() < 1e-9 && (r - 0.3).abs() < 1e-9);
    }
}
