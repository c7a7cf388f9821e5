//! A canonical program compiled for ray casting: each feature becomes a prism (a sketch
//! profile between two heights along the plane normal), combined in program order.

use super::interval::{combine_into, Boundary, FaceId, Span};
use super::profile::{Crossing, Piece, Profile};
use crate::data::{Combine, Extent, Program, Vec3};

/// Which surface of a prism a face id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The end face at the lower height.
    CapLow,
    CapHigh,
    /// The side swept by boundary piece k of the profile.
    Side(u32),
}

pub fn face_id(prism: usize, part: Part) -> FaceId {
    let p = match part {
        Part::CapLow => 0,
        Part::CapHigh => 1,
        Part::Side(k) => 2 + k,
    };
    ((prism as u32) << 16) | p
}

/// Marks a side face's half below the sketch plane of a symmetric (`both=True`) extrusion:
/// the pictures draw the sketch plane's seam there, as for two faces.
const LOWER_HALF: FaceId = 0x8000;

/// Whether two face ids are the two halves of one symmetric extrusion's side.
pub fn halves_of_one_side(a: FaceId, b: FaceId) -> bool {
    a != b && a & !LOWER_HALF == b & !LOWER_HALF
}

pub fn split_face(face: FaceId) -> (usize, Part) {
    let prism = (face >> 16) as usize;
    let part = match face & 0xffff & !LOWER_HALF {
        0 => Part::CapLow,
        1 => Part::CapHigh,
        k => Part::Side(k - 2),
    };
    (prism, part)
}

/// One extruded profile in world space.
#[derive(Debug, Clone)]
pub struct Prism {
    origin: Vec3,
    /// Sketch x, sketch y and extrusion directions (world).
    axes: [Vec3; 3],
    /// Rows of the inverse of [x y n]: world offset -> (sketch x, sketch y, height).
    to_local: [Vec3; 3],
    low: f64,
    high: f64,
    /// A symmetric extrusion: its sides are split at the sketch plane.
    split_sides: bool,
    /// Where full circles' seams are, as an angle from sketch x (see `seam_direction`).
    seam_offset: f64,
    pub profile: Profile,
}

/// The whole program, ready for rays.
#[derive(Debug, Clone)]
pub struct Scene {
    pub prisms: Vec<Prism>,
    pub ops: Vec<Combine>,
}

/// Reusable per-thread buffers so a ray allocates nothing.
#[derive(Default)]
pub struct RayScratch {
    crossings: Vec<Crossing>,
    prism_spans: Vec<Span>,
    acc: Vec<Span>,
    tmp: Vec<Span>,
}

/// Why a program cannot be ray cast.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SceneError {
    #[error("the program has no features")]
    Empty,
    #[error("feature {0}: the sketch plane's normal and x direction are degenerate")]
    DegeneratePlane(usize),
    #[error("feature {0}: the sketch has no loops")]
    NoLoops(usize),
}

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn unit(a: Vec3) -> Option<Vec3> {
    let n = dot(a, a).sqrt();
    (n > 1e-12 && n.is_finite()).then(|| a.map(|x| x / n))
}

impl Scene {
    pub fn compile(program: &Program) -> Result<Scene, SceneError> {
        if program.sketches.is_empty() {
            return Err(SceneError::Empty);
        }
        let mut prisms = Vec::new();
        let mut ops = Vec::new();
        for (i, (sketch, op)) in program.sketches.iter().zip(&program.ops).enumerate() {
            if sketch.loops.is_empty() {
                return Err(SceneError::NoLoops(i));
            }
            let plane = &sketch.plane;
            // CadQuery's Plane: z = normal, x = xDir, y = z x x (all normalised)
            let n = unit(plane.normal).ok_or(SceneError::DegeneratePlane(i))?;
            let x = unit(plane.x_dir).ok_or(SceneError::DegeneratePlane(i))?;
            let y = unit(cross(n, x)).ok_or(SceneError::DegeneratePlane(i))?;
            let axes = [x, y, n];
            // inverse of the column matrix [x y n] via the adjugate (works when skewed)
            let det = dot(x, cross(y, n));
            if det.abs() < 1e-12 {
                return Err(SceneError::DegeneratePlane(i));
            }
            let to_local = [cross(y, n), cross(n, x), cross(x, y)].map(|r| r.map(|v| v / det));
            let (low, high) = match op.extent {
                Extent::OneSided { distance } => (distance.min(0.0), distance.max(0.0)),
                Extent::Symmetric { distance } => (-distance.abs(), distance.abs()),
                Extent::TwoSided { first, second } => {
                    (first.min(second).min(0.0), first.max(second).max(0.0))
                }
            };
            let seam = seam_direction(n);
            prisms.push(Prism {
                origin: plane.origin,
                axes,
                to_local,
                low,
                high,
                split_sides: matches!(op.extent, Extent::Symmetric { .. }),
                seam_offset: dot(seam, y).atan2(dot(seam, x)),
                profile: Profile::from_loops(&sketch.loops),
            });
            ops.push(if i == 0 { Combine::New } else { op.combine });
        }
        Ok(Scene { prisms, ops })
    }

    /// The solid along the ray o + t d, considering only prisms for which `active` holds
    /// (the others count as missed). Result in `scratch.acc`, sorted by t.
    pub fn cast<'a>(
        &self,
        o: Vec3,
        d: Vec3,
        active: impl Fn(usize) -> bool,
        scratch: &'a mut RayScratch,
    ) -> &'a [Span] {
        scratch.acc.clear();
        for (i, (prism, op)) in self.prisms.iter().zip(&self.ops).enumerate() {
            scratch.prism_spans.clear();
            if active(i) {
                prism.cast(i, o, d, &mut scratch.crossings, &mut scratch.prism_spans);
            }
            combine_into(
                &mut scratch.acc,
                &scratch.prism_spans,
                *op,
                &mut scratch.tmp,
            );
        }
        &scratch.acc
    }

    /// A box that surely contains the solid (the union of the prisms' boxes).
    pub fn loose_bounds(&self) -> (Vec3, Vec3) {
        let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
        for p in &self.prisms {
            let (a, b) = p.bounds();
            for k in 0..3 {
                lo[k] = lo[k].min(a[k]);
                hi[k] = hi[k].max(b[k]);
            }
        }
        (lo, hi)
    }

    /// Whether any profile has an arc or a circle: the solid then has curved faces (unless
    /// they are all cut away, which framing ignores), and the data set's framing box grows.
    pub fn has_curves(&self) -> bool {
        self.prisms.iter().any(|p| {
            p.profile
                .pieces
                .iter()
                .any(|piece| !matches!(piece, Piece::Segment { .. }))
        })
    }

    /// The solid's exact box without casting rays, when the prisms' boxes are exact and
    /// nothing removes material: only unions, and sketch planes along the world axes (a
    /// tilted plane's box of its profile box is loose). None otherwise.
    pub fn exact_bounds(&self) -> Option<(Vec3, Vec3)> {
        let along_axes = |v: Vec3| v.iter().filter(|c| c.abs() > 1e-9).count() == 1;
        let exact = self
            .ops
            .iter()
            .all(|op| matches!(op, Combine::New | Combine::Union))
            && self
                .prisms
                .iter()
                .all(|p| p.axes.iter().all(|&a| along_axes(a)));
        let (lo, hi) = self.loose_bounds();
        (exact && lo.iter().chain(&hi).all(|v| v.is_finite())).then_some((lo, hi))
    }

    /// Unit surface normal of `face` at world point p (either orientation).
    pub fn normal(&self, face: FaceId, p: Vec3) -> Vec3 {
        let (i, part) = split_face(face);
        let prism = &self.prisms[i];
        match part {
            Part::CapLow | Part::CapHigh => prism.axes[2],
            Part::Side(k) => {
                let q = prism.local(p);
                let n2 = prism.profile.normal_at(k, [q[0], q[1]]);
                let [x, y, _] = prism.axes;
                std::array::from_fn(|c| n2[0] * x[c] + n2[1] * y[c])
            }
        }
    }

    /// Is the face planar (end caps and straight sides)?
    pub fn is_flat(&self, face: FaceId) -> bool {
        let (i, part) = split_face(face);
        match part {
            Part::CapLow | Part::CapHigh => true,
            Part::Side(k) => self.prisms[i].profile.is_flat(k),
        }
    }

    /// Angle around a full circle's centre of world point p on that circle's side face.
    pub fn seam_angle(&self, face: FaceId, p: Vec3) -> Option<f64> {
        let (i, part) = split_face(face);
        match part {
            Part::Side(k) => {
                let prism = &self.prisms[i];
                let q = prism.local(p);
                let a = prism.profile.circle_angle(k, [q[0], q[1]])?;
                Some((a - prism.seam_offset).rem_euclid(std::f64::consts::TAU))
            }
            _ => None,
        }
    }
}

/// The x direction OCCT's `gp_Ax2(P, N)` picks for a bare normal N: where the pictures of
/// the data set put a full circle's seam (CadQuery 2.8 itself starts circles on the
/// plane's x direction, but the seams in the pictures follow this rule: hidden at the
/// bottom of cylinders along -y, on +x for cylinders along z).
fn seam_direction(n: Vec3) -> Vec3 {
    let [a, b, c] = n;
    let (aa, ba, ca) = (a.abs(), b.abs(), c.abs());
    let d = if ba <= aa && ba <= ca {
        if aa > ca {
            [-c, 0.0, a]
        } else {
            [c, 0.0, -a]
        }
    } else if aa <= ba && aa <= ca {
        if ba > ca {
            [0.0, -c, b]
        } else {
            [0.0, c, -b]
        }
    } else if aa > ba {
        [-b, a, 0.0]
    } else {
        [b, -a, 0.0]
    };
    unit(d).unwrap_or([1.0, 0.0, 0.0])
}

impl Prism {
    /// The side face id of boundary piece `piece` where the ray is at local height `h`.
    fn side(&self, index: usize, piece: u32, h: f64) -> FaceId {
        let id = face_id(index, Part::Side(piece));
        if self.split_sides && h < 0.0 {
            id | LOWER_HALF
        } else {
            id
        }
    }

    fn local(&self, p: Vec3) -> Vec3 {
        let q = [
            p[0] - self.origin[0],
            p[1] - self.origin[1],
            p[2] - self.origin[2],
        ];
        self.to_local.map(|r| dot(r, q))
    }

    /// World box of the profile's box between the two heights.
    pub fn bounds(&self) -> (Vec3, Vec3) {
        let (lo2, hi2) = (self.profile.min, self.profile.max);
        let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
        for c in 0..8 {
            let u = if c & 1 == 0 { lo2[0] } else { hi2[0] };
            let v = if c & 2 == 0 { lo2[1] } else { hi2[1] };
            let h = if c & 4 == 0 { self.low } else { self.high };
            for k in 0..3 {
                let w = self.origin[k]
                    + u * self.axes[0][k]
                    + v * self.axes[1][k]
                    + h * self.axes[2][k];
                lo[k] = lo[k].min(w);
                hi[k] = hi[k].max(w);
            }
        }
        (lo, hi)
    }

    /// Spans of the ray o + t d inside this prism, appended to `out` in t order.
    fn cast(
        &self,
        index: usize,
        o: Vec3,
        d: Vec3,
        crossings: &mut Vec<Crossing>,
        out: &mut Vec<Span>,
    ) {
        const FAR: f64 = 1e30;
        let lo = self.local(o);
        let ld = self.to_local.map(|r| dot(r, d));
        let cap = |part| face_id(index, part);
        // the slab between the two heights
        let (t0, t1, f0, f1) = if ld[2].abs() > 1e-15 {
            let ta = (self.low - lo[2]) / ld[2];
            let tb = (self.high - lo[2]) / ld[2];
            if ta < tb {
                (ta, tb, cap(Part::CapLow), cap(Part::CapHigh))
            } else {
                (tb, ta, cap(Part::CapHigh), cap(Part::CapLow))
            }
        } else if lo[2] >= self.low && lo[2] <= self.high {
            (-FAR, FAR, cap(Part::CapLow), cap(Part::CapLow))
        } else {
            return;
        };
        if t1 <= t0 {
            return;
        }
        let p2 = [lo[0], lo[1]];
        let d2 = [ld[0], ld[1]];
        if d2[0].abs() + d2[1].abs() < 1e-15 {
            // looking straight down the extrusion
            if self.profile.contains(p2) {
                out.push(Span {
                    enter: Boundary { t: t0, face: f0 },
                    exit: Boundary { t: t1, face: f1 },
                });
            }
            return;
        }
        self.profile.crossings(p2, d2, crossings);
        crossings.sort_by(|a, b| a.s.total_cmp(&b.s));
        // even-odd: the region lies between crossings 0-1, 2-3, ...
        for pair in crossings.chunks_exact(2) {
            let (a, b) = (pair[0], pair[1]);
            let height = |t: f64| lo[2] + ld[2] * t;
            let (mut enter, mut exit) = (
                Boundary {
                    t: a.s,
                    face: self.side(index, a.piece, height(a.s)),
                },
                Boundary {
                    t: b.s,
                    face: self.side(index, b.piece, height(b.s)),
                },
            );
            if enter.t < t0 {
                enter = Boundary { t: t0, face: f0 };
            }
            if exit.t > t1 {
                exit = Boundary { t: t1, face: f1 };
            }
            if exit.t > enter.t {
                out.push(Span { enter, exit });
            }
        }
    }
}
