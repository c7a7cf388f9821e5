//! Software rasterizer in the GenCAD-Code picture convention: z-buffered flat grey faces
//! (curved faces faintly shaded by their normal), every B-rep edge as a 1-px black line
//! with hidden parts removed, white background.

use image::{Rgb, RgbImage};

use super::camera::{framing_box, Camera};
use super::compare::Mask;
use super::mesh::{Aabb, Mesh, Polyline};

/// Grey of planar faces in the data set's pictures.
pub const FACE_GREY: [u8; 3] = [141, 141, 138];

/// A rendered picture with the maps the comparison scores use.
#[derive(Debug, Clone)]
pub struct Render {
    pub rgb: RgbImage,
    pub silhouette: Mask,
    pub edges: Mask,
    /// Depth toward the viewer per pixel (world units), NEG_INFINITY on background.
    pub depth: Vec<f32>,
    pub camera: Camera,
}

/// Bounding box of the mesh vertices (the framing uses the B-rep box when it is known).
pub fn mesh_bbox(mesh: &Mesh) -> Option<Aabb> {
    let mut it = mesh.vertices.iter();
    let first = *it.next()?;
    let (mut min, mut max) = (first, first);
    for p in it {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    Some(Aabb { min, max })
}

/// Render in the convention at `width` x `height` with the given camera.
pub fn render_with(mesh: &Mesh, edges: &[Polyline], camera: Camera) -> Render {
    let (w, h) = (camera.width as usize, camera.height as usize);
    let mut depth = vec![f32::NEG_INFINITY; w * h];
    let mut shade = vec![0u8; w * h];
    let projected: Vec<[f64; 3]> = mesh.vertices.iter().map(|&p| camera.project(p)).collect();
    for (t, tri) in mesh.triangles.iter().enumerate() {
        let planar = mesh
            .face_ids
            .get(t)
            .and_then(|&f| mesh.face_is_planar.get(f as usize))
            .copied()
            .unwrap_or(true);
        let grey = face_grey(mesh, tri, &camera, planar);
        let [a, b, c] = tri.map(|i| projected[i as usize]);
        fill_triangle(a, b, c, w, h, |i, z| {
            if z > depth[i] {
                depth[i] = z;
                shade[i] = grey;
            }
        });
    }
    // Hidden-line test with a bias of a few pixels' worth of depth, so an edge lying on the
    // face that owns it (or at a silhouette) survives rasterization noise.
    let bias = (3.0 / camera.scale) as f32;
    let mut edge_mask = Mask::new(camera.width, camera.height);
    let segments = edges
        .iter()
        .flat_map(|line| line.points.windows(2).map(|s| (s[0], s[1])))
        .chain(contour_segments(mesh, &camera));
    for (a, b) in segments {
        let (p, q) = (camera.project(a), camera.project(b));
        draw_segment(p, q, w, h, |i, z| {
            if z + bias >= depth[i] {
                edge_mask.bits[i] = true;
            }
        });
    }
    let mut rgb = RgbImage::from_pixel(camera.width, camera.height, Rgb([255, 255, 255]));
    let mut silhouette = Mask::new(camera.width, camera.height);
    for (i, px) in rgb.pixels_mut().enumerate() {
        if edge_mask.bits[i] {
            *px = Rgb([0, 0, 0]);
        } else if depth[i] > f32::NEG_INFINITY {
            let g = shade[i];
            // the pictures' grey is slightly warm: blue about 2% below red and green
            *px = Rgb([g, g, (g as f64 * 0.979).round() as u8]);
        }
        silhouette.bits[i] = depth[i] > f32::NEG_INFINITY || edge_mask.bits[i];
    }
    Render {
        rgb,
        silhouette,
        edges: edge_mask,
        depth,
        camera,
    }
}

/// Render in the data set's framing from the bounding box (`bbox`, or the mesh's own).
pub fn render(
    mesh: &Mesh,
    edges: &[Polyline],
    bbox: Option<Aabb>,
    width: u32,
    height: u32,
) -> Render {
    let bbox = bbox.or_else(|| mesh_bbox(mesh)).unwrap_or(Aabb {
        min: [-1.0; 3],
        max: [1.0; 3],
    });
    render_with(mesh, edges, gencad_camera(mesh, &bbox, width, height))
}

/// The data set's camera for an executed part with exact box `bbox` (its framing box grows
/// when the mesh has curved faces: [`super::camera::framing_box`]).
pub fn gencad_camera(mesh: &Mesh, bbox: &Aabb, width: u32, height: u32) -> Camera {
    Camera::gencad(&framing_box(bbox, mesh.has_curved_faces()), width, height)
}

/// Contour generators of curved faces: mesh edges between a triangle facing the viewer and
/// one facing away. The data set's pictures outline curved faces there (a cylinder's sides).
fn contour_segments(mesh: &Mesh, camera: &Camera) -> Vec<([f64; 3], [f64; 3])> {
    use std::collections::HashMap;
    let d = camera.toward_viewer;
    let mut facing: HashMap<(u32, u32), (bool, bool)> = HashMap::new();
    for (t, tri) in mesh.triangles.iter().enumerate() {
        let curved = mesh
            .face_ids
            .get(t)
            .and_then(|&f| mesh.face_is_planar.get(f as usize))
            .is_some_and(|&planar| !planar);
        if !curved {
            continue;
        }
        let [a, b, c] = tri.map(|i| mesh.vertices[i as usize]);
        let n = cross(sub(b, a), sub(c, a));
        let front = n[0] * d[0] + n[1] * d[1] + n[2] * d[2] > 0.0;
        for k in 0..3 {
            let (i, j) = (tri[k], tri[(k + 1) % 3]);
            let e = facing.entry((i.min(j), i.max(j))).or_insert((false, false));
            if front {
                e.0 = true;
            } else {
                e.1 = true;
            }
        }
    }
    facing
        .into_iter()
        .filter(|(_, (f, b))| *f && *b)
        .map(|((i, j), _)| (mesh.vertices[i as usize], mesh.vertices[j as usize]))
        .collect()
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(u: [f64; 3], v: [f64; 3]) -> [f64; 3] {
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

/// Headlight shading fitted on the dev pictures (1235 samples): grey = a + b·cos θ, θ the
/// angle between the face normal and the view direction. Axis-aligned planar faces come out
/// at 141 (cos θ = 1/√3); curved faces follow a slightly steeper law (rms error 1.8 levels).
fn face_grey(mesh: &Mesh, tri: &[u32; 3], camera: &Camera, planar: bool) -> u8 {
    let [a, b, c] = tri.map(|i| mesh.vertices[i as usize]);
    let n = cross(sub(b, a), sub(c, a));
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len == 0.0 {
        return FACE_GREY[0];
    }
    let d = camera.toward_viewer;
    let cos = ((n[0] * d[0] + n[1] * d[1] + n[2] * d[2]) / len).abs();
    let (base, gain) = if planar { (95.08, 79.54) } else { (86.1, 91.8) };
    (base + gain * cos).round().clamp(0.0, 255.0) as u8
}

/// Visit pixels whose centres lie inside the projected triangle, with interpolated depth.
fn fill_triangle(
    a: [f64; 3],
    b: [f64; 3],
    c: [f64; 3],
    w: usize,
    h: usize,
    mut visit: impl FnMut(usize, f32),
) {
    let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if area.abs() < 1e-12 {
        return;
    }
    let x0 = a[0].min(b[0]).min(c[0]).floor().max(0.0) as usize;
    let x1 = (a[0].max(b[0]).max(c[0]).ceil() as isize).min(w as isize - 1);
    let y0 = a[1].min(b[1]).min(c[1]).floor().max(0.0) as usize;
    let y1 = (a[1].max(b[1]).max(c[1]).ceil() as isize).min(h as isize - 1);
    if x1 < 0 || y1 < 0 {
        return;
    }
    let edge = |p: [f64; 3], q: [f64; 3], x: f64, y: f64| {
        (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])
    };
    // each barycentric weight is linear in x along a row: solve for the covered x-range
    // instead of testing the whole bounding box (long thin triangles cover little of it)
    let slopes = [
        -(c[1] - b[1]) / area,
        -(a[1] - c[1]) / area,
        -(b[1] - a[1]) / area,
    ];
    for y in y0..=y1 as usize {
        let py = y as f64 + 0.5;
        let base = x0 as f64 + 0.5;
        let (mut lo, mut hi) = (base, x1 as f64 + 0.5);
        let at_base = [
            edge(b, c, base, py) / area,
            edge(c, a, base, py) / area,
            edge(a, b, base, py) / area,
        ];
        for k in 0..3 {
            let (w, m) = (at_base[k], slopes[k]);
            // widen by a pixel: the exact test below decides, this only bounds the loop
            if m > 0.0 {
                lo = lo.max(base + (-1e-9 - w) / m - 1.0);
            } else if m < 0.0 {
                hi = hi.min(base + (-1e-9 - w) / m + 1.0);
            } else if w < -1e-9 {
                hi = lo - 1.0;
            }
        }
        let first = (lo - 0.5).ceil().max(x0 as f64) as usize;
        let last = (hi - 0.5).floor().min(x1 as f64);
        if last < first as f64 {
            continue;
        }
        for x in first..=last as usize {
            let px = x as f64 + 0.5;
            let w0 = edge(b, c, px, py) / area;
            let w1 = edge(c, a, px, py) / area;
            let w2 = edge(a, b, px, py) / area;
            // a small tolerance closes cracks between triangles that share an edge
            if w0 >= -1e-9 && w1 >= -1e-9 && w2 >= -1e-9 {
                visit(y * w + x, (w0 * a[2] + w1 * b[2] + w2 * c[2]) as f32);
            }
        }
    }
}

/// Visit the pixels of a 1-px line from p to q (DDA), with interpolated depth.
fn draw_segment(p: [f64; 3], q: [f64; 3], w: usize, h: usize, mut visit: impl FnMut(usize, f32)) {
    let steps = ((q[0] - p[0]).abs().max((q[1] - p[1]).abs()).ceil() as usize).max(1);
    for s in 0..=steps {
        let t = s as f64 / steps as f64;
        let x = p[0] + (q[0] - p[0]) * t;
        let y = p[1] + (q[1] - p[1]) * t;
        if x < 0.0 || y < 0.0 || x >= w as f64 || y >= h as f64 {
            continue;
        }
        visit(
            y as usize * w + x as usize,
            (p[2] + (q[2] - p[2]) * t) as f32,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::mass::tests::box_mesh;

    fn box_edges(m: &Mesh) -> Vec<Polyline> {
        let pairs = [
            (0, 1),
            (2, 3),
            (4, 5),
            (6, 7),
            (0, 2),
            (1, 3),
            (4, 6),
            (5, 7),
            (0, 4),
            (1, 5),
            (2, 6),
            (3, 7),
        ];
        pairs
            .iter()
            .map(|&(a, b)| Polyline {
                points: vec![m.vertices[a], m.vertices[b]],
            })
            .collect()
    }

    #[test]
    fn cube_renders_grey_with_visible_edges_only() {
        let m = box_mesh([0.0; 3], [1.0; 3]);
        let r = render(&m, &box_edges(&m), None, 448, 448);
        // hexagon: fits 300 px high, centred
        let ys: Vec<u32> = (0..448)
            .filter(|&y| (0..448).any(|x| r.silhouette.get(x, y)))
            .collect();
        assert!((ys.len() as i64 - 300).abs() <= 2, "{}", ys.len());
        assert_eq!(*r.rgb.get_pixel(224, 150), Rgb(FACE_GREY));
        assert_eq!(*r.rgb.get_pixel(5, 5), Rgb([255, 255, 255]));
        // the hidden corner (0, 1, 0) projects to the centre; its vertical edge goes straight
        // up from there, where no visible edge runs
        let c = r.camera.project([0.0, 1.0, 0.0]);
        let (cx, cy) = (c[0] as u32, c[1] as u32);
        let near = (cx - 6..=cx + 6)
            .flat_map(|x| (cy - 20..=cy - 8).map(move |y| (x, y)))
            .filter(|&(x, y)| r.edges.get(x, y))
            .count();
        assert_eq!(near, 0);
        // 9 visible edges: roughly 9 * 150 px of black
        let n = r.edges.count();
        assert!(n > 1100 && n < 1800, "{n}");
    }
}
