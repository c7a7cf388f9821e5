//! Data-driven tests: each `tests/fixtures/syntax/NAME.py` is diagnosed and rendered
//! into `NAME.diagnostics` (update with `UPDATE_EXPECT=1 cargo test`).

use std::path::PathBuf;

use super::*;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syntax")
}

#[test]
fn fixtures_render_their_snapshots() {
    let mut seen = 0;
    let mut paths: Vec<_> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/syntax exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let rendered = render(&text, &diagnose(&text));
        let snapshot = path.with_extension("diagnostics");
        // expect-test reads a missing snapshot as empty: make a forgotten one fail loudly.
        assert!(
            snapshot.exists() || std::env::var_os("UPDATE_EXPECT").is_some(),
            "{snapshot:?} is missing: run with UPDATE_EXPECT=1"
        );
        expect_test::expect_file![snapshot].assert_eq(&rendered);
        seen += 1;
    }
    assert!(seen > 5, "expected the syntax fixtures, found {seen}");
}

#[test]
fn every_fix_applies_to_code_that_has_fewer_errors() {
    for src in ["r = foo(1, 2\nq = 2\n", "s = 'abc\n", "x = (1 + 2))\n"] {
        let before = diagnose(src);
        let fix = &before[0].fixes[0];
        let after = diagnose(&apply_edits(src, &fix.edits));
        assert!(after.len() < before.len(), "{src:?} -> {after:?}");
    }
}

/// The 20 real dev scripts are valid CadQuery: any diagnostic on them is a false positive.
#[test]
fn dev_scripts_have_no_diagnostics() {
    let Some(shared) = std::env::var_os("CADQUERY_LSP_SHARED") else {
        eprintln!("CADQUERY_LSP_SHARED is not set: skipping the dev-script check");
        return;
    };
    let dir = PathBuf::from(shared).join("data/gencad-dev");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            let text = std::fs::read_to_string(&path).unwrap();
            let found = diagnose(&text);
            assert!(found.is_empty(), "{path:?}:\n{}", render(&text, &found));
            seen += 1;
        }
    }
    assert_eq!(seen, 20, "expected the 20 dev scripts in {dir:?}");
}
