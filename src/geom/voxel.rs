//! Voxel sets of meshes: trimesh's surface voxelization (what IoU_best uses) and a filled
//! voxelization for fast internal comparisons.

/// A set of occupied voxels on the global grid of one pitch, as sorted, unique packed keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoxelSet {
    keys: Vec<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VoxelError {
    #[error("mesh too large for the voxel pitch: an edge is still longer than {max_edge} after {max_iter} subdivisions")]
    TooCoarse { max_edge: f64, max_iter: u32 },
}

const BIAS: i64 = 1 << 20;

fn pack(i: [i64; 3]) -> u64 {
    // 21 bits per axis: +-1M voxels, far beyond any normalized part at pitch 0.05
    let c = |x: i64| ((x + BIAS) as u64) & 0x1f_ffff;
    (c(i[0]) << 42) | (c(i[1]) << 21) | c(i[2])
}

impl VoxelSet {
    fn from_keys(mut keys: Vec<u64>) -> Self {
        use rayon::slice::ParallelSliceMut;
        keys.par_sort_unstable();
        keys.dedup();
        VoxelSet { keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Intersection over union of two sets on the same grid (0 when both are empty).
    pub fn iou(&self, other: &VoxelSet) -> f64 {
        let (a, b) = (&self.keys, &other.keys);
        let (mut i, mut j, mut inter) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    inter += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        let union = a.len() + b.len() - inter;
        if union == 0 {
            0.0
        } else {
            inter as f64 / union as f64
        }
    }
}

/// trimesh's `mesh.voxelized(pitch)` (method "subdivide", max_iter 10, edge_factor 2):
/// bisect every edge longer than pitch/2 until none is, then the voxels are the grid points
/// nearest to all vertices (numpy rounding: half to even). Subdividing each triangle on its
/// own gives the same vertex positions, since a shared edge splits the same way on both sides.
pub fn surface_voxels(triangles: &[[[f64; 3]; 3]], pitch: f64) -> Result<VoxelSet, VoxelError> {
    use rayon::prelude::*;
    // chunks rather than whole meshes are the unit of work, so that IoU_best's five
    // voxelizations share the cores evenly however unequal the meshes are
    let chunks: Vec<Vec<u64>> = triangles
        .par_chunks(512)
        .map(|chunk| subdivided_vertex_keys(chunk, pitch))
        .collect::<Result<_, _>>()?;
    Ok(VoxelSet::from_keys(chunks.concat()))
}

/// The voxel keys of every vertex that subdividing `triangles` creates (with repeats).
fn subdivided_vertex_keys(triangles: &[[[f64; 3]; 3]], pitch: f64) -> Result<Vec<u64>, VoxelError> {
    const MAX_ITER: u32 = 10;
    let max_edge = pitch / 2.0;
    let mut keys = Vec::with_capacity(triangles.len() * 8);
    let key = |p: [f64; 3]| {
        pack([
            round_even(p[0] / pitch) as i64,
            round_even(p[1] / pitch) as i64,
            round_even(p[2] / pitch) as i64,
        ])
    };
    let mut last = u64::MAX;
    let mut push = |keys: &mut Vec<u64>, k: u64| {
        // neighbouring vertices mostly share a voxel: drop repeats before the sort
        if k != last {
            keys.push(k);
            last = k;
        }
    };
    let mut stack: Vec<([[f64; 3]; 3], u32)> = Vec::new();
    for t in triangles {
        for &p in t {
            push(&mut keys, key(p));
        }
        stack.push((*t, 0));
        while let Some((f, depth)) = stack.pop() {
            // Rounding is monotone and midpoints stay inside their triangle's box, so every
            // vertex a triangle would still spawn lands in a voxel of its rounded box: once the
            // triangle's own corners already hit every voxel of that box, it adds nothing.
            if box_covered_by_corners(&f, pitch) {
                continue;
            }
            let split = [
                dist(f[0], f[1]) > max_edge,
                dist(f[1], f[2]) > max_edge,
                dist(f[2], f[0]) > max_edge,
            ];
            let count = split.iter().filter(|&&s| s).count();
            if count == 0 {
                continue;
            }
            if depth >= MAX_ITER {
                return Err(VoxelError::TooCoarse {
                    max_edge,
                    max_iter: MAX_ITER,
                });
            }
            let mid = [
                midpoint(f[0], f[1]),
                midpoint(f[1], f[2]),
                midpoint(f[2], f[0]),
            ];
            for j in 0..3 {
                if split[j] {
                    push(&mut keys, key(mid[j]));
                }
            }
            let d = depth + 1;
            match count {
                1 => {
                    let j = split.iter().position(|&s| s).unwrap_or(0);
                    let (a, b, c, p) = (f[j], f[(j + 1) % 3], f[(j + 2) % 3], mid[j]);
                    stack.push(([a, p, c], d));
                    stack.push(([p, b, c], d));
                }
                2 => {
                    let j = (split.iter().position(|&s| !s).unwrap_or(0) + 1) % 3;
                    let (a, b, c) = (f[j], f[(j + 1) % 3], f[(j + 2) % 3]);
                    let (p, q) = (mid[j], mid[(j + 1) % 3]);
                    stack.push(([p, b, q], d));
                    // the quad (a, p, q, c) is cut along its shorter diagonal
                    if dist2(a, q) <= dist2(p, c) {
                        stack.push(([a, p, q], d));
                        stack.push(([a, q, c], d));
                    } else {
                        stack.push(([a, p, c], d));
                        stack.push(([p, q, c], d));
                    }
                }
                _ => {
                    let [m0, m1, m2] = mid;
                    stack.push(([f[0], m0, m2], d));
                    stack.push(([m0, f[1], m1], d));
                    stack.push(([m2, m1, f[2]], d));
                    stack.push(([m0, m1, m2], d));
                }
            }
        }
    }
    Ok(keys)
}

/// Voxels whose centres lie inside a closed mesh (ray parity along +z per column): a solid
/// occupancy for quick volume-overlap scores. Works on any consistently closed mesh.
pub fn filled_voxels(triangles: &[[[f64; 3]; 3]], pitch: f64) -> VoxelSet {
    use std::collections::HashMap;
    // crossings of each column (i, j) through x = i*pitch, y = j*pitch
    let mut columns: HashMap<(i64, i64), Vec<f64>> = HashMap::new();
    for t in triangles {
        let (x0, x1) = minmax(t.iter().map(|p| p[0]));
        let (y0, y1) = minmax(t.iter().map(|p| p[1]));
        for i in (x0 / pitch).ceil() as i64..=(x1 / pitch).floor() as i64 {
            for j in (y0 / pitch).ceil() as i64..=(y1 / pitch).floor() as i64 {
                let (x, y) = (i as f64 * pitch, j as f64 * pitch);
                if let Some(z) = column_hit(t, x, y) {
                    columns.entry((i, j)).or_default().push(z);
                }
            }
        }
    }
    let mut keys = Vec::new();
    for ((i, j), mut zs) in columns {
        zs.sort_by(f64::total_cmp);
        for pair in zs.chunks_exact(2) {
            let k0 = (pair[0] / pitch).ceil() as i64;
            let k1 = (pair[1] / pitch).floor() as i64;
            keys.extend((k0..=k1).map(|k| pack([i, j, k])));
        }
    }
    VoxelSet::from_keys(keys)
}

/// z where the vertical line through (x, y) meets the triangle; half-open edge rule so a
/// line through a shared edge or vertex counts once.
fn column_hit(t: &[[f64; 3]; 3], x: f64, y: f64) -> Option<f64> {
    let e = |a: [f64; 3], b: [f64; 3]| (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
    let w = [e(t[1], t[2]), e(t[2], t[0]), e(t[0], t[1])];
    let area = w[0] + w[1] + w[2];
    if area == 0.0 {
        return None;
    }
    let inside = |wi: f64| if area > 0.0 { wi > 0.0 } else { wi < 0.0 };
    let on_edge_owned = |wi: f64, k: usize| {
        // a point exactly on an edge belongs to the triangle on the edge's "left/top" side
        let (a, b) = (t[(k + 1) % 3], t[(k + 2) % 3]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        wi == 0.0 && ((dy < 0.0) || (dy == 0.0 && dx > 0.0)) == (area > 0.0)
    };
    if !(0..3).all(|k| inside(w[k]) || on_edge_owned(w[k], k)) {
        return None;
    }
    Some((w[0] * t[0][2] + w[1] * t[1][2] + w[2] * t[2][2]) / area)
}

/// numpy's `round` (half to even) without a libm call: adding and removing 1.5·2^52 leaves
/// the nearest integer under the default rounding mode; exact for |x| < 2^51.
#[inline]
fn round_even(x: f64) -> f64 {
    const MAGIC: f64 = 6755399441055744.0;
    (x + MAGIC) - MAGIC
}

/// Whether the voxels of the triangle's corners are all the voxels its box rounds to (at
/// most 3 of them then): the box is 1 voxel, or 2 or 3 voxels each holding a corner.
#[inline]
fn box_covered_by_corners(f: &[[f64; 3]; 3], pitch: f64) -> bool {
    // rounding is monotone: the rounded box is the box of the rounded corners
    let c = f.map(|p| p.map(|x| round_even(x / pitch)));
    let cells: f64 = (0..3)
        .map(|k| c[0][k].max(c[1][k]).max(c[2][k]) - c[0][k].min(c[1][k]).min(c[2][k]) + 1.0)
        .product();
    if cells > 3.0 {
        return false;
    }
    let distinct = 1 + (c[1] != c[0]) as usize + (c[2] != c[0] && c[2] != c[1]) as usize;
    distinct as f64 == cells
}

fn minmax(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

#[inline]
fn midpoint(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        (a[0] + b[0]) / 2.0,
        (a[1] + b[1]) / 2.0,
        (a[2] + b[2]) / 2.0,
    ]
}

#[inline]
fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

#[inline]
fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    dist2(a, b).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::mass::tests::box_mesh;

    fn tris(m: &crate::geom::Mesh) -> Vec<[[f64; 3]; 3]> {
        m.triangles
            .iter()
            .map(|t| t.map(|i| m.vertices[i as usize]))
            .collect()
    }

    #[test]
    fn surface_voxels_of_a_box_are_its_shell() {
        // 1 x 1 x 1 box from 0 to 1 at pitch 0.1: grid points 0..=10 on each axis, shell only
        let v = surface_voxels(&tris(&box_mesh([0.0; 3], [1.0; 3])), 0.1).unwrap();
        assert_eq!(v.len(), 11 * 11 * 11 - 9 * 9 * 9);
    }

    #[test]
    fn filled_voxels_of_a_box_are_its_volume() {
        let v = filled_voxels(&tris(&box_mesh([0.01; 3], [1.01; 3])), 0.1);
        assert_eq!(v.len(), 10 * 10 * 10);
        let shifted = filled_voxels(
            &tris(&box_mesh([0.51, 0.01, 0.01], [1.51, 1.01, 1.01])),
            0.1,
        );
        assert!((v.iou(&shifted) - 5.0 / 15.0).abs() < 1e-12);
    }

    #[test]
    fn too_coarse_is_an_error() {
        let big = box_mesh([0.0; 3], [100.0; 3]);
        assert!(surface_voxels(&tris(&big), 0.05).is_err());
    }
}
