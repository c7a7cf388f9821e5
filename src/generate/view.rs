//! The picture convention's camera for the native evaluator: true isometric orthographic
//! view from direction (1, -1, 1), +Z up, the projected 3D bounding box fitted into a
//! 400x300 box (scaled to the picture size) centred in the frame.
//!
//! Private adapter: the same convention as `geom::camera::Camera` (branch `geom`); switch
//! to it when it lands on main so there is one definition of the framing.

/// Orthographic view: world -> pixel (x right, y down, pixel (i, j) covers [i, i+1)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub right: [f64; 3],
    pub up: [f64; 3],
    pub toward_viewer: [f64; 3],
    /// Pixels per world unit.
    pub scale: f64,
    /// World point shown at `centre_px`.
    pub target: [f64; 3],
    pub centre_px: [f64; 2],
    pub width: u32,
    pub height: u32,
}

pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl View {
    /// The data set's framing of a part whose axis-aligned bounding box is `min..max`.
    pub fn gencad(min: [f64; 3], max: [f64; 3], width: u32, height: u32) -> View {
        let s3 = 3f64.sqrt();
        let s2 = 2f64.sqrt();
        let s6 = 6f64.sqrt();
        let toward_viewer = [1.0 / s3, -1.0 / s3, 1.0 / s3];
        // right = z x d, up = d x right: +Z points up on screen
        let right = [1.0 / s2, 1.0 / s2, 0.0];
        let up = [-1.0 / s6, 1.0 / s6, 2.0 / s6];
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for i in 0..8 {
            let p = std::array::from_fn(|k| if i & (1 << k) == 0 { min[k] } else { max[k] });
            let (u, v) = (dot(p, right), dot(p, up));
            lo = [lo[0].min(u), lo[1].min(v)];
            hi = [hi[0].max(u), hi[1].max(v)];
        }
        let (box_w, box_h) = (400.0 / 448.0 * width as f64, 300.0 / 448.0 * height as f64);
        let (span_u, span_v) = ((hi[0] - lo[0]).max(1e-12), (hi[1] - lo[1]).max(1e-12));
        let (cu, cv) = ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
        View {
            right,
            up,
            toward_viewer,
            scale: (box_w / span_u).min(box_h / span_v),
            target: std::array::from_fn(|k| cu * right[k] + cv * up[k]),
            centre_px: [width as f64 / 2.0, height as f64 / 2.0],
            width,
            height,
        }
    }

    /// (x px, y px, depth toward the viewer in world units)
    pub fn project(&self, p: [f64; 3]) -> [f64; 3] {
        let q = std::array::from_fn(|k| p[k] - self.target[k]);
        [
            self.centre_px[0] + self.scale * dot(q, self.right),
            self.centre_px[1] - self.scale * dot(q, self.up),
            dot(q, self.toward_viewer),
        ]
    }

    /// The world point on the view plane through `target` seen at pixel position (x, y).
    pub fn unproject(&self, x: f64, y: f64) -> [f64; 3] {
        let u = (x - self.centre_px[0]) / self.scale;
        let v = (self.centre_px[1] - y) / self.scale;
        std::array::from_fn(|k| self.target[k] + u * self.right[k] + v * self.up[k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_fills_the_height_and_projects_back() {
        let v = View::gencad([0.0; 3], [1.0; 3], 448, 448);
        let ys: Vec<f64> = (0..8)
            .map(|i| v.project([(i & 1) as f64, ((i >> 1) & 1) as f64, (i >> 2) as f64])[1])
            .collect();
        let span = ys.iter().cloned().fold(f64::MIN, f64::max)
            - ys.iter().cloned().fold(f64::MAX, f64::min);
        assert!((span - 300.0).abs() < 1e-9, "{span}");
        let p = v.project([0.3, 0.2, 0.9]);
        let back = v.unproject(p[0], p[1]);
        let q = v.project(back);
        assert!((q[0] - p[0]).abs() < 1e-9 && (q[1] - p[1]).abs() < 1e-9);
        // +Z up the screen
        assert!(v.project([0.0, 0.0, 1.0])[1] < v.project([0.0, 0.0, 0.0])[1]);
    }
}
