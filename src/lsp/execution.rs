//! What running the script says about it, as plain diagnostics: the error mapped to its
//! line, or the geometry problems of what it built (no solid, invalid solid, zero volume).
//! No protocol types here; `handlers::diagnostics` converts and publishes.

use crate::runtime::{Execution, SolidFacts};
use crate::syntax::{Diagnostic, Severity, TextRange};

pub mod codes {
    pub const EXECUTION_ERROR: &str = "execution-error";
    pub const TIMEOUT: &str = "execution-timeout";
    pub const NO_SOLID: &str = "no-solid";
    pub const INVALID_SOLID: &str = "invalid-solid";
    pub const ZERO_VOLUME: &str = "zero-volume";
}

/// Diagnostics source of everything found by running the script.
pub const SOURCE: &str = "cadquery-lsp (run)";

/// Volumes below this fraction of the bounding box's volume count as zero.
const ZERO_VOLUME_FRACTION: f64 = 1e-9;

pub fn diagnostics(text: &str, execution: &Execution) -> Vec<Diagnostic> {
    match execution {
        Err(error) => {
            let range = error
                .line
                .map(|line| line_range(text, line))
                .unwrap_or_else(|| line_range(text, 1));
            let (code, message) = match error.kind.as_str() {
                "NoResult" => (
                    codes::NO_SOLID,
                    format!(
                        "the script builds no solid: {}. Assign the part to `result` (or solid, \
                         shape, part)",
                        error.message
                    ),
                ),
                "Timeout" => (
                    codes::TIMEOUT,
                    format!(
                        "the script ran too long and was stopped ({}); raise \
                         `cadquery.executionTimeoutMs` if it is just slow",
                        error.message
                    ),
                ),
                kind => (
                    codes::EXECUTION_ERROR,
                    format!("{kind} when running the script: {}", error.message),
                ),
            };
            vec![diagnostic(range, code, message, Severity::Error)]
        }
        Ok(built) => geometry_problems(text, &built.result_name, &built.facts),
    }
}

fn geometry_problems(text: &str, result_name: &str, facts: &SolidFacts) -> Vec<Diagnostic> {
    let at = assignment_range(text, result_name).unwrap_or_else(|| line_range(text, 1));
    let mut out = Vec::new();
    if !facts.valid {
        out.push(diagnostic(
            at,
            codes::INVALID_SOLID,
            format!(
                "`{result_name}` is not a valid solid (the B-rep check failed): self-intersecting \
                 or open geometry; check the sketches and boolean operations that build it"
            ),
            Severity::Warning,
        ));
    }
    let size = facts
        .bbox
        .max
        .iter()
        .zip(&facts.bbox.min)
        .map(|(a, b)| (a - b).abs());
    let box_volume: f64 = size.product();
    if facts.volume.abs() <= ZERO_VOLUME_FRACTION * box_volume.max(f64::MIN_POSITIVE) {
        out.push(diagnostic(
            at,
            codes::ZERO_VOLUME,
            format!(
                "`{result_name}` has zero volume: it is a face, wire or degenerate solid, not a \
                 part (extrude a sketch or check extrusion distances)"
            ),
            Severity::Warning,
        ));
    }
    out
}

fn diagnostic(
    range: TextRange,
    code: &'static str,
    message: String,
    severity: Severity,
) -> Diagnostic {
    Diagnostic {
        range,
        severity,
        code,
        source: SOURCE,
        message,
        fixes: Vec::new(),
    }
}

/// The 1-based `line` without its indentation and line break.
fn line_range(text: &str, line: u32) -> TextRange {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let content = &text[start..end];
    let indent = content.len() - content.trim_start().len();
    let trimmed_end = start + content.trim_end().len();
    TextRange::new((start + indent).min(trimmed_end), trimmed_end)
}

/// The last top-level `name = ...` statement, where the result was chosen.
fn assignment_range(text: &str, name: &str) -> Option<TextRange> {
    let mut found = None;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(name) {
            let rest = rest.trim_start();
            if rest.starts_with('=') && !rest.starts_with("==") {
                let content = line.trim_end();
                found = Some(TextRange::new(start, start + content.len()));
            }
        }
        start += line.len();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::Aabb;
    use crate::runtime::{Built, ScriptError};

    fn built(volume: f64, valid: bool) -> Execution {
        Ok(Built {
            facts: SolidFacts {
                volume,
                centroid: [0.0; 3],
                inertia: [[0.0; 3]; 3],
                bbox: Aabb {
                    min: [0.0; 3],
                    max: [1.0, 2.0, 3.0],
                },
                valid,
                solids: 1,
            },
            mesh: None,
            edges: Vec::new(),
            result_name: "result".into(),
            output: String::new(),
            exec_seconds: 0.0,
            worker_seconds: 0.0,
        })
    }

    const SCRIPT: &str =
        "import cadquery as cq\n  result = cq.Workplane()\nresult = result.box(1, 2, 3)\n";

    fn render(execution: &Execution) -> String {
        crate::syntax::render(SCRIPT, &diagnostics(SCRIPT, execution))
    }

    #[test]
    fn errors_land_on_their_line_and_geometry_on_the_result_assignment() {
        let mut err = ScriptError::new("ValueError", "negative radius");
        err.line = Some(2);
        expect_test::expect![[r#"
            2:3 Error [execution-error] ValueError when running the script: negative radius
              |   result = cq.Workplane()
              |   ^^^^^^^^^^^^^^^^^^^^^^^
        "#]]
        .assert_eq(&render(&Err(err)));
        expect_test::expect![[r#"
            3:1 Warning [invalid-solid] `result` is not a valid solid (the B-rep check failed): self-intersecting or open geometry; check the sketches and boolean operations that build it
              | result = result.box(1, 2, 3)
              | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
            3:1 Warning [zero-volume] `result` has zero volume: it is a face, wire or degenerate solid, not a part (extrude a sketch or check extrusion distances)
              | result = result.box(1, 2, 3)
              | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
        "#]]
        .assert_eq(&render(&built(0.0, false)));
        assert_eq!(render(&built(6.0, true)), "");
    }

    #[test]
    fn an_error_without_a_line_goes_on_the_first_line() {
        let err = ScriptError::new("NoResult", "`result` holds no solid");
        let got = diagnostics(SCRIPT, &Err(err));
        assert_eq!(got[0].code, codes::NO_SOLID);
        assert_eq!(got[0].range, TextRange::new(0, 21));
    }
}
