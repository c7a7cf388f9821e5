//! Frames in space, the faces new features stand on, and DeepCAD's quantization: plane
//! origins on the 1/128 grid, sketch coordinates `(q - 128)·s/95` for an 8-bit `q` and a
//! sketch scale `s` on the 1/128 grid.

use super::program::{cross, normalized, Curve, Loop, Plane, Point2, Sketch, Vec3};
use super::region::{dist, polygon, Region};

/// DeepCAD's grid for plane origins and extrude distances.
pub const GRID: f64 = 1.0 / 128.0;

/// Rounds to the nearest multiple of 1/128.
pub fn snap(v: f64) -> f64 {
    (v / GRID).round() * GRID
}

/// A right-handed frame: `n = u × v`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub origin: Vec3,
    pub u: Vec3,
    pub v: Vec3,
    pub n: Vec3,
}

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn scale(a: Vec3, k: f64) -> Vec3 {
    [a[0] * k, a[1] * k, a[2] * k]
}

pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl Frame {
    /// The frame of a plane x direction and normal (y = n × x, as CadQuery does).
    pub fn new(origin: Vec3, u: Vec3, n: Vec3) -> Self {
        let n = normalized(n);
        let u = normalized(u);
        Self {
            origin,
            u,
            v: normalized(cross(n, u)),
            n,
        }
    }

    pub fn world(&self, p: Point2, h: f64) -> Vec3 {
        add(
            self.origin,
            add(
                add(scale(self.u, p[0]), scale(self.v, p[1])),
                scale(self.n, h),
            ),
        )
    }

    /// Sketch coordinates and height of a world point.
    pub fn local(&self, w: Vec3) -> (Point2, f64) {
        let d = sub(w, self.origin);
        ([dot(d, self.u), dot(d, self.v)], dot(d, self.n))
    }

    /// The same frame moved along its normal.
    pub fn lifted(&self, h: f64) -> Self {
        Self {
            origin: add(self.origin, scale(self.n, h)),
            ..self.clone()
        }
    }

    /// The frame seen from the other side (normal reversed, v reversed, u kept).
    pub fn flipped(&self) -> Self {
        Self {
            origin: self.origin,
            u: self.u,
            v: scale(self.v, -1.0),
            n: scale(self.n, -1.0),
        }
    }
}

/// A flat face of the part where a feature may stand: material lies inside `region`
/// (in the frame's u, v) and behind the face (against `frame.n`) for `depth`.
#[derive(Debug, Clone)]
pub struct Support {
    pub frame: Frame,
    pub region: Region,
    pub depth: f64,
    /// Caps (faces parallel to the sketch) are where most DeepCAD features stand.
    pub is_cap: bool,
}

/// A point where the outer loop starts: DeepCAD puts the sketch origin there (the
/// bottom-left vertex, or the left end of a circle).
fn anchor(lp: &Loop) -> Point2 {
    match lp {
        Loop::Circle { center, radius } => [center[0] - radius, center[1]],
        Loop::Path { curves, .. } => curves.last().expect("a path has curves").end(),
    }
}

fn map_loop(lp: &Loop, f: &impl Fn(Point2) -> Point2, radius: &impl Fn(f64) -> f64) -> Loop {
    match lp {
        Loop::Circle { center, radius: r } => Loop::Circle {
            center: f(*center),
            radius: radius(*r),
        },
        Loop::Path { start, curves } => Loop::Path {
            start: f(*start),
            curves: curves
                .iter()
                .map(|c| match c {
                    Curve::Line { to } => Curve::Line { to: f(*to) },
                    Curve::Arc { mid, to } => Curve::Arc {
                        mid: f(*mid),
                        to: f(*to),
                    },
                })
                .collect(),
        },
    }
}

/// True when quantization left a loop drawable: no zero-length edge, no flat arc, no
/// zero circle, not self-touching at the start.
fn drawable(lp: &Loop, step: f64) -> bool {
    match lp {
        Loop::Circle { radius, .. } => *radius >= step * 0.5,
        Loop::Path { start, curves } => {
            let mut from = *start;
            for c in curves {
                let to = c.end();
                if let Curve::Arc { mid, .. } = c {
                    let cr = (mid[0] - from[0]) * (to[1] - from[1])
                        - (mid[1] - from[1]) * (to[0] - from[0]);
                    if cr.abs() < step * step * 0.5
                        || dist(from, *mid) < step * 0.5
                        || dist(*mid, to) < step * 0.5
                    {
                        return false;
                    }
                }
                if dist(from, to) < step * 0.5 {
                    return false;
                }
                from = to;
            }
            let area = super::region::signed_area2(&polygon(lp)).abs();
            area > step * step
        }
    }
}

/// Turns loops drawn in `frame` coordinates (at height `h` along its normal) into a
/// DeepCAD-quantized sketch: the plane origin at the first loop's anchor snapped to the
/// 1/128 grid, coordinates on the `s/95` grid. Returns the sketch and the frame its
/// coordinates live in, or None when quantization degenerates a loop.
pub fn quantize(frame: &Frame, h: f64, loops: &[Loop]) -> Option<(Sketch, Frame)> {
    let a = frame.world(anchor(&loops[0]), h);
    let origin = a.map(snap);
    let sketch_frame = Frame {
        origin,
        ..frame.clone()
    };
    let to_sketch = |p: Point2| sketch_frame.local(frame.world(p, h)).0;
    let moved: Vec<Loop> = loops
        .iter()
        .map(|l| map_loop(l, &to_sketch, &|r| r))
        .collect();
    let pts: Vec<Point2> = moved.iter().flat_map(polygon).collect();
    let [lo, hi] = super::region::bounds(&pts);
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let s = (extent / GRID).ceil().max(1.0) * GRID;
    let step = s / 95.0;
    let q = |v: f64| (v / step).round().clamp(-128.0, 127.0) * step;
    let quantized: Vec<Loop> = moved
        .iter()
        .map(|l| {
            map_loop(l, &|p: Point2| [q(p[0]), q(p[1])], &|r| {
                (r / step).round() * step
            })
        })
        .collect();
    if !quantized.iter().all(|l| drawable(l, step)) {
        return None;
    }
    let plane = Plane {
        origin,
        x_dir: frame.u,
        normal: frame.n,
    };
    Some((
        Sketch {
            plane,
            loops: quantized,
        },
        sketch_frame,
    ))
}

/// The faces a solid extruded from `loops` in `frame` between heights `h0 < h1` offers
/// to later features: both caps and the flat sides along straight edges of the outer loop.
pub fn supports_of(frame: &Frame, loops: &[Loop], h0: f64, h1: f64) -> Vec<Support> {
    let depth = h1 - h0;
    let region = Region::of_loops(loops);
    let mirrored = Region {
        outer: region.outer.iter().map(|p| [p[0], -p[1]]).collect(),
        holes: region
            .holes
            .iter()
            .map(|h| h.iter().map(|p| [p[0], -p[1]]).collect())
            .collect(),
    };
    let [lo, hi] = region.bounds();
    let size = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let mut out = vec![
        Support {
            frame: frame.lifted(h1),
            region: region.clone(),
            depth,
            is_cap: true,
        },
        Support {
            frame: frame.lifted(h0).flipped(),
            region: mirrored,
            depth,
            is_cap: true,
        },
    ];
    // Straight edges of the outer loop (counter-clockwise, so outward is to the right).
    if let Loop::Path { start, curves } = &loops[0] {
        let mut edges: Vec<(Point2, Point2)> = Vec::new();
        let mut from = *start;
        for c in curves {
            if let Curve::Line { to } = c {
                edges.push((from, *to));
            }
            from = c.end();
        }
        if dist(from, *start) > 1e-9 {
            edges.push((from, *start));
        }
        for (a, b) in edges {
            let len = dist(a, b);
            if len < size * 0.05 {
                continue;
            }
            let d = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
            let inward = [-d[1], d[0]];
            let mid = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
            // How far material reaches inward from the edge's middle.
            let mut reach = 0.0;
            while reach < size {
                let t = reach + size / 64.0;
                if !region.contains([mid[0] + inward[0] * t, mid[1] + inward[1] * t]) {
                    break;
                }
                reach = t;
            }
            if reach <= 0.0 {
                continue;
            }
            let u = add(scale(frame.u, d[0]), scale(frame.v, d[1]));
            let side = Frame::new(frame.world(a, h0), u, cross(u, frame.n));
            out.push(Support {
                frame: side,
                region: Region::rectangle([0.0, 0.0], [len, depth]),
                depth: reach,
                is_cap: false,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Loop {
        Loop::Path {
            start: [1.0, 0.0],
            curves: vec![
                Curve::Line { to: [1.0, 1.0] },
                Curve::Line { to: [0.0, 1.0] },
                Curve::Line { to: [0.0, 0.0] },
            ],
        }
    }

    #[test]
    fn quantized_sketch_sits_on_deepcad_grids() {
        let frame = Frame::new([0.01, 0.0, 0.3], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]);
        let loops = [super::super::profiles::translate(&square(), [-0.5, -0.5])];
        let (sketch, f) = quantize(&frame, 0.0, &loops).unwrap();
        for v in sketch.plane.origin {
            assert!((v / GRID - (v / GRID).round()).abs() < 1e-9, "{v}");
        }
        // s = 1 on the grid, so coordinates are multiples of 1/95.
        let Loop::Path { start, .. } = &sketch.loops[0] else {
            panic!()
        };
        assert!(
            (start[0] * 95.0 - (start[0] * 95.0).round()).abs() < 1e-9,
            "{start:?}"
        );
        assert_eq!(f.origin, sketch.plane.origin);
    }

    #[test]
    fn side_faces_point_outward() {
        let frame = Frame::new([0.0; 3], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]);
        let sup = supports_of(&frame, &[square()], 0.0, 0.5);
        assert_eq!(sup.len(), 6);
        assert_eq!(sup[0].frame.n, [0.0, 0.0, 1.0]);
        assert_eq!(sup[1].frame.n, [0.0, 0.0, -1.0]);
        let centre = [0.5, 0.5, 0.25];
        for s in &sup {
            // The part's centre is behind every face.
            let (_, h) = s.frame.local(centre);
            assert!(h < 0.0, "{s:?}");
            // The face region's middle lies on the part's surface.
            let [lo, hi] = s.region.bounds();
            let m = s
                .frame
                .world([(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0], 0.0);
            assert!(m.iter().all(|c| (-1e-9..=1.0 + 1e-9).contains(c)), "{m:?}");
        }
    }
}
