//! The canonical program type against the 20 real GenCAD-Code scripts of the dev set:
//! every script parses, printing is stable, and (when CadQuery is available) the printed
//! program builds the same volume as the original.
//! Needs CADQUERY_LSP_SHARED (the shared folder); the volume check also needs
//! a Python with CadQuery (the runtime's discovery). Each says when it is skipped.

use std::path::PathBuf;
use std::process::Command;

use cadquery_lsp::data::Program;

fn dev_scripts() -> Option<Vec<(String, String)>> {
    let Some(shared) = std::env::var_os("CADQUERY_LSP_SHARED") else {
        eprintln!("skipped: set CADQUERY_LSP_SHARED to the shared folder to test the dev scripts");
        return None;
    };
    let dir = PathBuf::from(shared).join("data/gencad-dev");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .map(|p| {
            let id = p.file_stem().unwrap().to_string_lossy().into_owned();
            (id, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert_eq!(
        out.len(),
        20,
        "the dev set has 20 scripts in {}",
        dir.display()
    );
    Some(out)
}

#[test]
fn every_dev_script_parses_and_prints_stably() {
    let Some(scripts) = dev_scripts() else { return };
    for (id, code) in scripts {
        let p = Program::parse(&code).unwrap_or_else(|e| panic!("{id}: {e}"));
        let printed = p.to_code();
        let again =
            Program::parse(&printed).unwrap_or_else(|e| panic!("{id} reprinted: {e}\n{printed}"));
        assert_eq!(again.to_code(), printed, "{id}: printing is not stable");
        assert!(
            !printed.contains("e-"),
            "{id}: long numbers printed:\n{printed}"
        );
    }
}

/// Volumes of each script (one per line of stdin, JSON-encoded), or None without Python.
fn volumes(codes: &[String]) -> Option<Vec<f64>> {
    // The runtime's own discovery: CADQUERY_LSP_PYTHON, a venv, or the managed environment
    // that `cadquery-lsp setup` makes (so CI, which sets no variable, runs this too).
    let Some(found) = cadquery_lsp::runtime::python::discover(None, None) else {
        eprintln!("skipped: no Python with CadQuery found (run `cadquery-lsp setup` or set CADQUERY_LSP_PYTHON)");
        return None;
    };
    let python = found.python;
    let prog = r#"
import json, sys
for line in sys.stdin:
    ns = {}
    exec(json.loads(line), ns)
    print(ns["solid"].val().Volume(), flush=True)
"#;
    let mut child = Command::new(python)
        .args(["-c", prog])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cannot start the discovered Python");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for c in codes {
            writeln!(stdin, "{}", serde_json::to_string(c).unwrap()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the volume script failed");
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect(),
    )
}

#[test]
fn printed_dev_programs_build_the_same_volume() {
    let Some(scripts) = dev_scripts() else { return };
    let mut codes = Vec::new();
    for (_, code) in &scripts {
        codes.push(code.clone());
        codes.push(Program::parse(code).unwrap().to_code());
    }
    let Some(v) = volumes(&codes) else { return };
    for (k, (id, _)) in scripts.iter().enumerate() {
        let (orig, printed) = (v[2 * k], v[2 * k + 1]);
        let rel = (orig - printed).abs() / orig.abs().max(1e-12);
        // Four printed decimals move thin walls a little; 0.5% is far below what a picture shows.
        assert!(
            rel < 0.005,
            "{id}: volume {orig} became {printed} ({rel:.4} relative)"
        );
        eprintln!(
            "{id}: volume {orig:.6} -> {printed:.6} ({:.5}%)",
            rel * 100.0
        );
    }
}
