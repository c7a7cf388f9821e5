//! Volume, centroid and inertia tensor of a closed triangle mesh, and its principal axes.

use super::mesh::Mesh;

/// Mass properties at unit density. `inertia` is taken about the centroid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MassProperties {
    pub volume: f64,
    pub centroid: [f64; 3],
    pub inertia: [[f64; 3]; 3],
}

impl MassProperties {
    /// Radius of gyration sqrt(trace(I) / (2 V)): the length the field's metrics normalise by.
    pub fn radius_of_gyration(&self) -> f64 {
        let trace = self.inertia[0][0] + self.inertia[1][1] + self.inertia[2][2];
        (trace / (2.0 * self.volume)).sqrt()
    }

    /// Principal moments ascending and principal axes as columns (`axes[row][col]`),
    /// with the eigenvector signs numpy would give (see `eigh`).
    pub fn principal_axes(&self) -> ([f64; 3], [[f64; 3]; 3]) {
        super::eigh::eigh(self.inertia)
    }
}

/// Mass properties of a closed, consistently oriented triangle mesh.
pub fn mass_properties(mesh: &Mesh) -> MassProperties {
    triangle_mass_properties(mesh.triangles.iter().map(|t| {
        [
            mesh.vertices[t[0] as usize],
            mesh.vertices[t[1] as usize],
            mesh.vertices[t[2] as usize],
        ]
    }))
}

/// Eberly's polynomial integrals over the signed tetrahedra of each triangle, with the same
/// arithmetic as trimesh's `mass_properties`, so IoU_best sees the axes the reference sees.
pub fn triangle_mass_properties(triangles: impl Iterator<Item = [[f64; 3]; 3]>) -> MassProperties {
    let mut integral = [0.0f64; 10];
    for [p0, p1, p2] in triangles {
        let u = sub(p1, p0);
        let v = sub(p2, p0);
        let n = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        let mut f1 = [0.0; 3];
        let mut f2 = [0.0; 3];
        let mut f3 = [0.0; 3];
        let mut g = [[0.0; 3]; 3];
        for k in 0..3 {
            let (a, b, c) = (p0[k], p1[k], p2[k]);
            f1[k] = a + b + c;
            f2[k] = a * a + b * b + a * b + c * f1[k];
            f3[k] = a * a * a + a * a * b + a * b * b + b * b * b + c * f2[k];
            g[0][k] = f2[k] + (a + f1[k]) * a;
            g[1][k] = f2[k] + (b + f1[k]) * b;
            g[2][k] = f2[k] + (c + f1[k]) * c;
        }
        integral[0] += n[0] * f1[0];
        for k in 0..3 {
            integral[1 + k] += n[k] * f2[k];
            integral[4 + k] += n[k] * f3[k];
            let j = (k + 1) % 3;
            integral[7 + k] += n[k] * (p0[j] * g[0][k] + p1[j] * g[1][k] + p2[j] * g[2][k]);
        }
    }
    let div = [6.0, 24.0, 24.0, 24.0, 60.0, 60.0, 60.0, 120.0, 120.0, 120.0];
    for (x, d) in integral.iter_mut().zip(div) {
        *x /= d;
    }
    let volume = integral[0];
    let c = [
        integral[1] / volume,
        integral[2] / volume,
        integral[3] / volume,
    ];
    let mut inertia = [[0.0; 3]; 3];
    inertia[0][0] = integral[5] + integral[6] - volume * (c[1] * c[1] + c[2] * c[2]);
    inertia[1][1] = integral[4] + integral[6] - volume * (c[0] * c[0] + c[2] * c[2]);
    inertia[2][2] = integral[4] + integral[5] - volume * (c[0] * c[0] + c[1] * c[1]);
    inertia[0][1] = -(integral[7] - volume * (c[0] * c[1]));
    inertia[1][2] = -(integral[8] - volume * (c[1] * c[2]));
    inertia[0][2] = -(integral[9] - volume * (c[0] * c[2]));
    inertia[1][0] = inertia[0][1];
    inertia[2][1] = inertia[1][2];
    inertia[2][0] = inertia[0][2];
    MassProperties {
        volume,
        centroid: c,
        inertia,
    }
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An axis-aligned box as 12 outward triangles.
    pub(crate) fn box_mesh(min: [f64; 3], max: [f64; 3]) -> Mesh {
        let mut vertices = Vec::new();
        for i in 0..8 {
            vertices.push([
                if i & 1 == 0 { min[0] } else { max[0] },
                if i & 2 == 0 { min[1] } else { max[1] },
                if i & 4 == 0 { min[2] } else { max[2] },
            ]);
        }
        let quads = [
            [0, 2, 3, 1],
            [4, 5, 7, 6],
            [0, 1, 5, 4],
            [2, 6, 7, 3],
            [0, 4, 6, 2],
            [1, 3, 7, 5],
        ];
        let mut triangles = Vec::new();
        let mut face_ids = Vec::new();
        for (f, q) in quads.iter().enumerate() {
            triangles.push([q[0], q[1], q[2]]);
            triangles.push([q[0], q[2], q[3]]);
            face_ids.extend([f as u32, f as u32]);
        }
        Mesh {
            vertices,
            triangles,
            face_ids,
            face_is_planar: vec![true; 6],
        }
    }

    /// A closed cylinder along z approximated with `n` sides.
    pub(crate) fn cylinder_mesh(r: f64, h: f64, n: usize) -> Mesh {
        let mut vertices = vec![[0.0, 0.0, 0.0], [0.0, 0.0, h]];
        for i in 0..n {
            let t = std::f64::consts::TAU * i as f64 / n as f64;
            vertices.push([r * t.cos(), r * t.sin(), 0.0]);
            vertices.push([r * t.cos(), r * t.sin(), h]);
        }
        let mut triangles = Vec::new();
        for i in 0..n as u32 {
            let (a0, a1) = (2 + 2 * i, 3 + 2 * i);
            let j = (i + 1) % n as u32;
            let (b0, b1) = (2 + 2 * j, 3 + 2 * j);
            triangles.extend([[0, b0, a0], [1, a1, b1], [a0, b0, b1], [a0, b1, a1]]);
        }
        let face_ids = (0..triangles.len() as u32).map(|i| i % 4 / 2).collect();
        Mesh {
            vertices,
            triangles,
            face_ids,
            face_is_planar: vec![true, false],
        }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn box_volume_centroid_inertia() {
        let (a, b, c) = (2.0, 3.0, 5.0);
        let m = mass_properties(&box_mesh([1.0, -1.0, 2.0], [1.0 + a, -1.0 + b, 2.0 + c]));
        let v = a * b * c;
        assert!(close(m.volume, v, 1e-12));
        assert!(close(m.centroid[0], 2.0, 1e-12) && close(m.centroid[1], 0.5, 1e-12));
        assert!(close(m.centroid[2], 4.5, 1e-12));
        assert!(close(m.inertia[0][0], v * (b * b + c * c) / 12.0, 1e-12));
        assert!(close(m.inertia[1][1], v * (a * a + c * c) / 12.0, 1e-12));
        assert!(close(m.inertia[2][2], v * (a * a + b * b) / 12.0, 1e-12));
        assert!(m.inertia[0][1].abs() < 1e-9 && m.inertia[1][2].abs() < 1e-9);
        let (w, axes) = m.principal_axes();
        assert!(w[0] < w[1] && w[1] < w[2]);
        // smallest moment about the longest side (z)
        assert!(close(axes[2][0].abs(), 1.0, 1e-12));
    }

    #[test]
    fn cylinder_approaches_analytic_values() {
        let (r, h) = (0.5, 2.0);
        let m = mass_properties(&cylinder_mesh(r, h, 2000));
        let v = std::f64::consts::PI * r * r * h;
        assert!(close(m.volume, v, 1e-4));
        assert!(close(m.centroid[2], h / 2.0, 1e-9));
        assert!(close(m.inertia[2][2], v * r * r / 2.0, 1e-4));
        assert!(close(
            m.inertia[0][0],
            v * (3.0 * r * r + h * h) / 12.0,
            1e-4
        ));
    }
}
