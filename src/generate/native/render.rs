//! Pictures of a scene by ray casting, in the picture convention: the solid's exact
//! bounding box (found with axis-aligned rays) sets the framing, one ray per pixel gives
//! depth, surface and normal, and edges are drawn where the visible surface changes, on
//! the pixel the data set's line would take (a few extra rays near edges find it). With the
//! framing's [`crate::geom::camera::PICTURE_SCALE`] this reproduces the real pictures of
//! flat dev parts pixel for pixel.

use super::interval::FaceId;
use super::scene::{halves_of_one_side, RayScratch, Scene};
use crate::data::Vec3;
use crate::geom::camera::{dot, framing_box, Camera};
use crate::geom::Aabb;

/// No surface (background).
pub const NO_FACE: FaceId = u32::MAX;

/// What the native evaluator sees.
#[derive(Debug, Clone)]
pub struct NativeRender {
    pub view: Camera,
    /// Visible surface per pixel (row-major), `NO_FACE` on background.
    pub face: Vec<FaceId>,
    /// Depth toward the viewer, world units (NEG_INFINITY on background).
    pub depth: Vec<f32>,
    /// Unit normal facing the viewer (zero on background).
    pub normal: Vec<[f32; 3]>,
    pub silhouette: Vec<bool>,
    /// Drawn edges: outline, creases between faces, circle seams.
    pub edges: Vec<bool>,
}

/// Axis-aligned bounds of the solid from `samples` x `samples` rays along each axis, or
/// None when the solid is empty. Each ray's ends are exact; the sampling only matters for
/// features thinner than the grid step in both other directions.
pub fn solid_bounds(scene: &Scene, samples: usize) -> Option<(Vec3, Vec3)> {
    let (lo, hi) = scene.loose_bounds();
    if !lo.iter().chain(&hi).all(|v| v.is_finite()) {
        return None;
    }
    let mut scratch = RayScratch::default();
    let (mut bmin, mut bmax) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for axis in 0..3 {
        let (a, b) = ((axis + 1) % 3, (axis + 2) % 3);
        let mut d = [0.0; 3];
        d[axis] = 1.0;
        for i in 0..samples {
            for j in 0..samples {
                let mut o = [0.0; 3];
                o[a] = lo[a] + (hi[a] - lo[a]) * (i as f64 + 0.5) / samples as f64;
                o[b] = lo[b] + (hi[b] - lo[b]) * (j as f64 + 0.5) / samples as f64;
                o[axis] = (lo[axis] + hi[axis]) / 2.0;
                let spans = scene.cast(o, d, |_| true, &mut scratch);
                let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
                    continue;
                };
                let (t0, t1) = (first.enter.t, last.exit.t);
                bmin[axis] = bmin[axis].min(o[axis] + t0);
                bmax[axis] = bmax[axis].max(o[axis] + t1);
                for k in [a, b] {
                    bmin[k] = bmin[k].min(o[k]);
                    bmax[k] = bmax[k].max(o[k]);
                }
            }
        }
    }
    bmin.iter().all(|v| v.is_finite()).then_some((bmin, bmax))
}

/// Renders the scene at `width` x `height` in the data set's framing.
pub fn render(scene: &Scene, width: u32, height: u32) -> Option<NativeRender> {
    // the exact box when the scene allows it: the 12k bounding rays cost as much as a
    // whole 112 px picture, which is what refinement renders most
    let (min, max) = match scene.exact_bounds() {
        Some(b) => b,
        None => solid_bounds(scene, 64)?,
    };
    Some(render_with(
        scene,
        Camera::gencad(
            &framing_box(&Aabb { min, max }, scene.has_curves()),
            width,
            height,
        ),
    ))
}

/// Half a pixel of the data set's 448 px pictures: their lines are drawn on the pixel that
/// contains the projected edge, so an outline can take a pixel whose centre lies just
/// outside the part, and a crease the pixel on either side of it.
const LINE_REACH_AT_448: f64 = 0.5;

/// What one ray sees first.
#[derive(Debug, Clone, Copy)]
struct Hit {
    face: FaceId,
    /// Toward the viewer, world units.
    depth: f32,
    normal: [f32; 3],
    /// Angle around a full circle's axis (NaN elsewhere): where its seam is.
    seam: f32,
}

/// Casts view rays through screen points.
struct Caster<'a> {
    scene: &'a Scene,
    view: Camera,
    /// Screen rectangles of each prism: points outside cannot hit it.
    rects: Vec<[f64; 4]>,
    scratch: RayScratch,
}

impl<'a> Caster<'a> {
    fn new(scene: &'a Scene, view: Camera) -> Self {
        let rects = scene
            .prisms
            .iter()
            .map(|p| {
                let (lo, hi) = p.bounds();
                let mut r = [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ];
                for c in 0..8 {
                    let q = std::array::from_fn(|k| if c & (1 << k) == 0 { lo[k] } else { hi[k] });
                    let s = view.project(q);
                    r = [
                        r[0].min(s[0]),
                        r[1].min(s[1]),
                        r[2].max(s[0]),
                        r[3].max(s[1]),
                    ];
                }
                [r[0] - 1.0, r[1] - 1.0, r[2] + 1.0, r[3] + 1.0]
            })
            .collect();
        Caster {
            scene,
            view,
            rects,
            scratch: RayScratch::default(),
        }
    }

    fn look(&mut self, px: f64, py: f64) -> Option<Hit> {
        let toward = self.view.toward_viewer;
        let d = toward.map(|v| -v);
        let o = self.view.unproject(px, py);
        let rects = &self.rects;
        let spans = self.scene.cast(
            o,
            d,
            |i| {
                let r = rects[i];
                px >= r[0] && px <= r[2] && py >= r[1] && py <= r[3]
            },
            &mut self.scratch,
        );
        let first = spans.first()?;
        let t = first.enter.t;
        let p: Vec3 = std::array::from_fn(|c| o[c] + t * d[c]);
        let mut n = self.scene.normal(first.enter.face, p);
        if dot(n, toward) < 0.0 {
            n = n.map(|v| -v);
        }
        Some(Hit {
            face: first.enter.face,
            depth: (-t) as f32,
            normal: n.map(|v| v as f32),
            seam: self
                .scene
                .seam_angle(first.enter.face, p)
                .map_or(f32::NAN, |a| a as f32),
        })
    }
}

pub fn render_with(scene: &Scene, view: Camera) -> NativeRender {
    let (w, h) = (view.width as usize, view.height as usize);
    let mut out = NativeRender {
        view,
        face: vec![NO_FACE; w * h],
        depth: vec![f32::NEG_INFINITY; w * h],
        normal: vec![[0.0; 3]; w * h],
        silhouette: vec![false; w * h],
        edges: vec![false; w * h],
    };
    let mut seam = vec![f32::NAN; w * h];
    let mut put = |out: &mut NativeRender, k: usize, hit: Hit| {
        out.face[k] = hit.face;
        out.depth[k] = hit.depth;
        out.normal[k] = hit.normal;
        out.silhouette[k] = true;
        seam[k] = hit.seam;
    };
    let mut caster = Caster::new(scene, view);
    for y in 0..h {
        for x in 0..w {
            if let Some(hit) = caster.look(x as f64 + 0.5, y as f64 + 0.5) {
                put(&mut out, y * w + x, hit);
            }
        }
    }
    let reach = LINE_REACH_AT_448 * w as f64 / 448.0;
    for (k, hit) in outline_pixels(&mut caster, &out.silhouette, w, h, reach) {
        put(&mut out, k, hit);
    }
    mark_edges(&mut caster, &mut out, &seam);
    out
}

/// Background pixels the picture's outline covers: a point `reach` from the centre toward a
/// neighbour on the part is on the part (the line through them is drawn on this pixel).
fn outline_pixels(
    caster: &mut Caster,
    silhouette: &[bool],
    w: usize,
    h: usize,
    reach: f64,
) -> Vec<(usize, Hit)> {
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let k = y * w + x;
            if silhouette[k] {
                continue;
            }
            for (dx, dy) in [(1i64, 0i64), (-1, 0), (0, 1), (0, -1)] {
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                let inside = (0..w as i64).contains(&nx) && (0..h as i64).contains(&ny);
                if !inside || !silhouette[ny as usize * w + nx as usize] {
                    continue;
                }
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                if let Some(hit) = caster.look(px + dx as f64 * reach, py + dy as f64 * reach) {
                    out.push((k, hit));
                    break;
                }
            }
        }
    }
    out
}

/// An edge pixel wherever the visible surface changes between neighbours, except between
/// coplanar flat faces, which CadQuery merges. Outlines go on the part's pixel (the outline
/// pixels already reach out); a crease goes on the pixel that contains it, found by one ray
/// half way between the two centres (the seam of a full circle, found by its angle, on the
/// nearer pixel).
fn mark_edges(caster: &mut Caster, r: &mut NativeRender, seam: &[f32]) {
    let scene = caster.scene;
    let (w, h) = (r.view.width as usize, r.view.height as usize);
    let px = 1.0 / r.view.scale; // world size of a pixel
    let point = |k: usize| -> Vec3 {
        let (x, y) = ((k % w) as f64 + 0.5, (k / w) as f64 + 0.5);
        let o = r.view.unproject(x, y);
        let depth = r.depth[k] as f64;
        std::array::from_fn(|c| o[c] + depth * r.view.toward_viewer[c])
    };
    let mut edges = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let k = y * w + x;
            for (nx, ny) in [(x + 1, y), (x, y + 1)] {
                if nx >= w || ny >= h {
                    continue;
                }
                let m = ny * w + nx;
                let (a, b) = (r.face[k], r.face[m]);
                if a == NO_FACE && b == NO_FACE {
                    continue;
                }
                let nearer = if r.depth[k] >= r.depth[m] { k } else { m };
                let marked = if a == NO_FACE || b == NO_FACE {
                    Some(nearer)
                } else if a == b {
                    // a full circle's seam, where the angle wraps around
                    ((seam[k] - seam[m]).abs() > std::f32::consts::PI).then_some(nearer)
                } else {
                    let crease =
                        halves_of_one_side(a, b) || !(scene.is_flat(a) && scene.is_flat(b)) || {
                            let (na, nb) = (r.normal[k], r.normal[m]);
                            let cos = na[0] * nb[0] + na[1] * nb[1] + na[2] * nb[2];
                            let (pa, pb) = (point(k), point(m));
                            let n = na.map(|v| v as f64);
                            let off = (dot(n, pa) - dot(n, pb)).abs();
                            !(cos > 0.9999 && off < 0.05 * px)
                        };
                    crease.then(|| {
                        // the ray half way sees k's face: the crease lies in m's half. The
                        // ray goes a hair into m's half, so a crease exactly between the
                        // two (a symmetric part's front corner on the centre line) goes to
                        // k, as in the data set's pictures (the square tube 00141107)
                        let (cx, cy) = (x as f64 + 0.5, y as f64 + 0.5);
                        let (dx, dy) = ((nx - x) as f64, (ny - y) as f64);
                        let half = 0.5 + 1e-4;
                        match caster.look(cx + dx * half, cy + dy * half) {
                            Some(hit) if hit.face == a => m,
                            Some(hit) if hit.face == b => k,
                            _ => nearer,
                        }
                    })
                };
                if let Some(e) = marked {
                    edges[e] = true;
                }
            }
        }
    }
    r.edges = edges;
}

impl NativeRender {
    /// The render drawn in the picture convention: white background, grey faces (curved
    /// faces lighter where they face the viewer), black edges.
    pub fn to_image(&self) -> image::RgbImage {
        let w = self.view.width;
        image::RgbImage::from_fn(w, self.view.height, |x, y| {
            let k = (y * w + x) as usize;
            if self.edges[k] {
                image::Rgb([0, 0, 0])
            } else if self.silhouette[k] {
                image::Rgb([141, 141, 138])
            } else {
                image::Rgb([255, 255, 255])
            }
        })
    }
}
