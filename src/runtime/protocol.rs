//! What callers ask the pool for and what they get back (plain Rust data), plus the JSON
//! lines spoken with the Python worker (`worker.py`) and their decoding.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::geom::{Aabb, Mesh, Polyline};

/// Tessellation accuracy. `tolerance` is the linear deflection in model units; zero or
/// negative means 0.1 % of the result's bounding-box diagonal (scale-free default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeshOptions {
    pub tolerance: f64,
    pub angular_tolerance: f64,
}

impl Default for MeshOptions {
    fn default() -> Self {
        Self {
            tolerance: 0.0,
            angular_tolerance: 0.1,
        }
    }
}

/// Run a script and measure what it built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecRequest {
    pub code: String,
    /// Tessellate the result (for rendering / mesh metrics).
    pub mesh: Option<MeshOptions>,
    /// Discretise every B-rep edge (seams included) into polylines.
    pub edges: bool,
    /// Generated code: statically checked and run with restricted builtins.
    pub untrusted: bool,
}

impl ExecRequest {
    /// Facts only: the cheapest execution.
    pub fn facts(code: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Step,
    Stl,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Step => "step",
            ExportFormat::Stl => "stl",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Execute(ExecRequest),
    /// Build the script's result and write it to `path`.
    Export {
        code: String,
        format: ExportFormat,
        path: PathBuf,
    },
    /// CAD-Coder's exact-boolean IoU_vol of two scripts' results (prediction checked as untrusted).
    IouVol {
        ground_truth: String,
        prediction: String,
    },
}

/// Mass properties of the chosen result, straight from the B-rep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolidFacts {
    pub volume: f64,
    pub centroid: [f64; 3],
    /// Inertia matrix about the centroid (OCCT `MatrixOfInertia`, unit density).
    pub inertia: [[f64; 3]; 3],
    pub bbox: Aabb,
    pub valid: bool,
    pub solids: usize,
}

/// A script that ran and left a solid.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub facts: SolidFacts,
    pub mesh: Option<Mesh>,
    pub edges: Vec<Polyline>,
    /// The namespace name the result was taken from (`solid`, `result`, ...).
    pub result_name: String,
    /// What the script printed (first 64 KiB).
    pub output: String,
    /// Seconds the worker spent in the script itself plus picking the result.
    pub exec_seconds: f64,
    /// Seconds the worker spent on the whole job (script, facts, mesh, edges, encoding).
    pub worker_seconds: f64,
}

/// Why a script produced no result. `kind` is the Python exception type, or one of
/// "SyntaxError", "NoResult", "Timeout", "MemoryLimit", "WorkerCrashed", "Refused".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptError {
    pub kind: String,
    pub message: String,
    /// 1-based line in the user's script.
    pub line: Option<u32>,
}

impl ScriptError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            kind: kind.to_string(),
            message: message.into(),
            line: None,
        }
    }
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} at line {}: {}", self.kind, line, self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

pub type Execution = Result<Built, ScriptError>;

// moved once per job; boxing `Built` would only make every caller unbox it
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutput {
    Executed(Execution),
    /// The file written.
    Exported(Result<PathBuf, ScriptError>),
    IouVol(Result<f64, ScriptError>),
}

/// Failures of the machinery itself (not of the script).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0}")]
    Python(String),
    #[error("could not start a CadQuery worker: {0}")]
    WorkerStart(String),
    #[error("the job was cancelled")]
    Cancelled,
    #[error("the worker pool is shut down")]
    Closed,
    #[error("worker protocol error: {0}")]
    Protocol(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl RuntimeError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            context: context.into(),
            source,
        }
    }
}

/// How mesh and edge arrays travel from the worker: base64 little-endian buffers
/// (default; see README for the measurement) or plain JSON number arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Wire {
    #[default]
    B64,
    Json,
}

/// One job as the worker reads it.
#[derive(Serialize)]
pub(crate) struct WireJob<'a> {
    pub id: u64,
    pub op: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mesh: Option<MeshOptions>,
    pub edges: bool,
    pub untrusted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ground_truth: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<&'a str>,
    pub timeout_s: f64,
    pub wire: Wire,
}

/// The worker's greeting after importing CadQuery.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkerHello {
    pub ready: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub python: String,
    #[serde(default)]
    pub python_version: String,
    #[serde(default)]
    pub cadquery: String,
    #[serde(default)]
    pub import_s: f64,
}

/// A number array either as base64 little-endian bytes or as a JSON array.
#[derive(Deserialize)]
#[serde(untagged)]
enum Packed<T> {
    B64(String),
    Json(Vec<T>),
}

#[derive(Deserialize)]
struct WireMesh {
    vertices: Packed<f64>,
    triangles: Packed<u32>,
    face_ids: Packed<u32>,
    face_is_planar: Vec<bool>,
}

#[derive(Deserialize)]
struct WireEdges {
    points: Packed<f64>,
    counts: Packed<u32>,
}

/// One reply as the worker writes it.
#[derive(Deserialize)]
pub(crate) struct WireReply {
    pub id: u64,
    ok: bool,
    #[serde(default)]
    error: Option<ScriptError>,
    #[serde(default)]
    result_name: String,
    #[serde(default)]
    facts: Option<SolidFacts>,
    #[serde(default)]
    mesh: Option<WireMesh>,
    #[serde(default)]
    edges: Option<WireEdges>,
    #[serde(default)]
    iou_vol: Option<f64>,
    #[serde(default)]
    exec_s: f64,
    #[serde(default)]
    worker_s: f64,
    #[serde(default)]
    output: String,
    #[serde(default)]
    output_dropped: u64,
}

trait FromLe: Sized {
    const SIZE: usize;
    fn from_le(bytes: &[u8]) -> Self;
}

impl FromLe for f64 {
    const SIZE: usize = 8;
    fn from_le(b: &[u8]) -> Self {
        f64::from_le_bytes(b.try_into().expect("chunk of 8"))
    }
}

impl FromLe for u32 {
    const SIZE: usize = 4;
    fn from_le(b: &[u8]) -> Self {
        u32::from_le_bytes(b.try_into().expect("chunk of 4"))
    }
}

fn unpack<T: FromLe>(p: Packed<T>, what: &str) -> Result<Vec<T>, RuntimeError> {
    match p {
        Packed::Json(v) => Ok(v),
        Packed::B64(s) => {
            let bytes = base64::decode(s)
                .map_err(|e| RuntimeError::Protocol(format!("{what}: bad base64: {e}")))?;
            if !bytes.len().is_multiple_of(T::SIZE) {
                return Err(RuntimeError::Protocol(format!(
                    "{what}: {} bytes is not a whole number of items",
                    bytes.len()
                )));
            }
            Ok(bytes.chunks_exact(T::SIZE).map(T::from_le).collect())
        }
    }
}

fn triples<T: Copy>(flat: Vec<T>, what: &str) -> Result<Vec<[T; 3]>, RuntimeError> {
    if !flat.len().is_multiple_of(3) {
        return Err(RuntimeError::Protocol(format!(
            "{what}: length {} is not a multiple of 3",
            flat.len()
        )));
    }
    Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
}

fn decode_mesh(m: WireMesh) -> Result<Mesh, RuntimeError> {
    let mesh = Mesh {
        vertices: triples(unpack(m.vertices, "mesh vertices")?, "mesh vertices")?,
        triangles: triples(unpack(m.triangles, "mesh triangles")?, "mesh triangles")?,
        face_ids: unpack(m.face_ids, "mesh face ids")?,
        face_is_planar: m.face_is_planar,
    };
    let n = mesh.vertices.len() as u32;
    if mesh.face_ids.len() != mesh.triangles.len()
        || mesh.triangles.iter().flatten().any(|&i| i >= n)
    {
        return Err(RuntimeError::Protocol(
            "mesh indices out of range or face ids missing".into(),
        ));
    }
    Ok(mesh)
}

fn decode_edges(e: WireEdges) -> Result<Vec<Polyline>, RuntimeError> {
    let points = triples(unpack(e.points, "edge points")?, "edge points")?;
    let counts = unpack(e.counts, "edge counts")?;
    if counts.iter().map(|&c| c as usize).sum::<usize>() != points.len() {
        return Err(RuntimeError::Protocol(
            "edge point counts do not add up".into(),
        ));
    }
    let mut rest = points.as_slice();
    Ok(counts
        .iter()
        .map(|&c| {
            let (head, tail) = rest.split_at(c as usize);
            rest = tail;
            Polyline {
                points: head.to_vec(),
            }
        })
        .collect())
}

impl WireReply {
    fn script_error(&mut self) -> ScriptError {
        self.error.take().unwrap_or_else(|| {
            ScriptError::new("Protocol", "the worker reported a failure without an error")
        })
    }

    /// Turns the reply into the answer to `job`.
    pub(crate) fn into_output(mut self, job: &Job) -> Result<JobOutput, RuntimeError> {
        if self.output_dropped > 0 {
            tracing::debug!(
                dropped = self.output_dropped,
                "script output beyond 64 KiB dropped"
            );
        }
        Ok(match job {
            Job::Execute(_) if !self.ok => JobOutput::Executed(Err(self.script_error())),
            Job::Execute(_) => {
                let facts = self
                    .facts
                    .take()
                    .ok_or_else(|| RuntimeError::Protocol("reply without facts".into()))?;
                let mesh = self.mesh.take().map(decode_mesh).transpose()?;
                let edges = self.edges.take().map(decode_edges).transpose()?;
                JobOutput::Executed(Ok(Built {
                    facts,
                    mesh,
                    edges: edges.unwrap_or_default(),
                    result_name: self.result_name,
                    output: self.output,
                    exec_seconds: self.exec_s,
                    worker_seconds: self.worker_s,
                }))
            }
            Job::Export { path, .. } if self.ok => JobOutput::Exported(Ok(path.clone())),
            Job::Export { .. } => JobOutput::Exported(Err(self.script_error())),
            Job::IouVol { .. } if self.ok => JobOutput::IouVol(Ok(self
                .iou_vol
                .ok_or_else(|| RuntimeError::Protocol("reply without iou_vol".into()))?)),
            Job::IouVol { .. } => JobOutput::IouVol(Err(self.script_error())),
        })
    }
}
