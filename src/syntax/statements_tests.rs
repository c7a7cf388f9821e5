//! The statement-by-statement analysis must equal a fresh walk of the whole file, whatever
//! the edits before it: checked over seeded random edits of real-looking files.

use std::path::PathBuf;

use expect_test::expect;
use rand::{Rng, SeedableRng};

use super::analysis::{self, analyze};
use super::*;

/// Bits of CadQuery and Python an edit inserts: names that rebind, change types, add
/// plugins, open brackets and strings, or break the indentation.
const SNIPPETS: &[&str] = &[
    "x",
    "e", // typed inside names: the edit that skips the re-parse
    "i",
    "_",
    "1",
    "r",
    "solid",
    "cq",
    "cq.Workplane()",
    ".box(1, 2, 3)",
    ".bx(1)",
    ".faces(\">Z\")",
    "(",
    ")",
    "[",
    "'",
    "\"",
    "#",
    ",",
    ".",
    " ",
    "\n",
    "\n    ",
    ":",
    "=",
    "5",
    "0.5",
    "import cadquery as cq\n",
    "from cadquery import *\n",
    "r = cq.Workplane(\"XY\")\n",
    "r = 5\n",
    "def f(a):\n    return a.box(1, 1, 1)\n",
    "cq.Workplane.foo = f\n",
    "r.foo(1)\n",
    "global r\n",
    "(y := cq.Workplane())\n",
    "del r\n",
    "for i in range(3):\n",
    "class C:\n    z = 1\n",
    "lambda q: q.rect(1, 1)",
    "[w for w in r]",
    "setattr(cq.Workplane, \"bar\", f)\n",
];

fn base_texts() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syntax");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/fixtures/syntax exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    paths.sort();
    let mut texts: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    texts.push(super::bench::sample_file(120));
    texts
}

fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One random edit: (start, old_end, new text).
fn random_edit(rng: &mut impl Rng, text: &str) -> (usize, usize, String) {
    let start = boundary(text, rng.random_range(0..=text.len()));
    let removed = if rng.random_bool(0.5) {
        rng.random_range(0..8)
    } else {
        0
    };
    let end = boundary(text, start + removed).max(start);
    let inserted = if removed > 0 && rng.random_bool(0.3) {
        String::new()
    } else {
        SNIPPETS[rng.random_range(0..SNIPPETS.len())].to_string()
    };
    (start, end, inserted)
}

#[test]
fn random_edits_give_the_analysis_of_a_fresh_walk() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261121);
    let (mut reused, mut walked, mut edits, mut placed) = (0, 0, 0, 0);
    for text in base_texts() {
        let mut doc = ParsedDocument::new(text);
        let mut earlier = doc.analyze(None);
        for _ in 0..150 {
            let (start, end, new) = random_edit(&mut rng, doc.text());
            doc.edit(start, end, &new).unwrap();
            // sometimes skip a version: the analysis reuses an older one
            if rng.random_bool(0.2) {
                continue;
            }
            let now = doc.analyze(Some(&earlier));
            // a fresh parse too: edits inside a name or number skip the re-parse
            let fresh_tree = ParsedDocument::new(doc.text());
            let fresh = analyze(doc.text(), fresh_tree.tree());
            let got = now.analysis();
            assert!(
                *got == fresh,
                "after replacing {start}..{end} with {new:?} the reused analysis differs from a \
                 fresh walk of:\n{}\n{}",
                doc.text(),
                first_difference(got, &fresh)
            );
            assert_eq!(doc.file_diagnostics(&now), fresh_tree.diagnostics());
            reused += now.reused();
            walked += now.statement_count() - now.reused();
            edits += 1;
            placed += usize::from(now.placed_by_edit_log());
            earlier = now;
        }
    }
    // the test means something only if both paths ran many times
    assert!(edits > 800, "{edits} edits");
    // both ways of finding the unchanged statements ran: the edit log, and matching by text
    // (after a change of the plugins, or when the root is an ERROR)
    assert!(
        placed > edits / 2 && placed < edits,
        "{placed} of {edits} analyses placed by the edit log"
    );
    assert!(
        reused > 1000 && walked > 100,
        "reused {reused}, walked again {walked}"
    );
}

fn first_difference(got: &analysis::Analysis, want: &analysis::Analysis) -> String {
    fn diff<T: PartialEq + std::fmt::Debug>(what: &str, a: &[T], b: &[T]) -> Option<String> {
        let i = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))?;
        Some(format!(
            "{what} #{i}: reused {:?}, fresh {:?}",
            a.get(i),
            b.get(i)
        ))
    }
    diff("binding", &got.bindings, &want.bindings)
        .or_else(|| diff("use", &got.uses, &want.uses))
        .or_else(|| diff("API finding", &got.api_diagnostics, &want.api_diagnostics))
        .unwrap_or_else(|| {
            format!(
                "wildcard import {} vs {}",
                got.wildcard_import, want.wildcard_import
            )
        })
}

/// The analysis and diagnostics of `after`, made from the analysis of `before`, with how
/// many statements were reused.
fn reanalyse(before: &str, at: &str, replacement: &str) -> String {
    let mut doc = ParsedDocument::new(before);
    let earlier = doc.analyze(None);
    let start = before.find(at).expect("the edited text is in the file");
    doc.edit(start, start + at.len(), replacement).unwrap();
    let now = doc.analyze(Some(&earlier));
    assert!(*now.analysis() == analyze(doc.text(), doc.tree()));
    format!(
        "reused {} of {} statements\n{}",
        now.reused(),
        now.statement_count(),
        render(doc.text(), &doc.file_diagnostics(&now))
    )
}

const PART: &str = "import cadquery as cq\n\
r = cq.Workplane(\"XY\")\n\
a = r.box(1, 2, 3)\n\
b = a.faces(\">Z\").fillet(1)\n\
c = a.bx(2)\n\
d = 4\n";

#[test]
fn an_edit_walks_again_what_mentions_a_rebound_name() {
    // `r` stops being a Workplane: `a = r.box(...)` and everything mentioning `a` change
    expect![[r#"
        reused 2 of 6 statements
    "#]]
    .assert_eq(&reanalyse(PART, "cq.Workplane(\"XY\")", "5"));
    // a number: only its own statement is walked again
    expect![[r#"
        reused 5 of 6 statements
        5:7 Error [unknown-method] `Workplane` has no attribute `bx`; did you mean `box`?
          | c = a.bx(2)
          |       ^^
          fix: Change to `box` | 5:7-5:9 -> "box"
    "#]]
    .assert_eq(&reanalyse(PART, "d = 4", "d = 5"));
}

#[test]
fn many_edits_between_two_analyses_compose_into_one_window() {
    // the edit log composes every edit since the earlier analysis; past its length the
    // statements are matched by text instead, with the same result
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let text = super::bench::sample_file(200);
    for edits in [2, 5, 20, 64, 65, 100] {
        let mut doc = ParsedDocument::new(text.clone());
        let earlier = doc.analyze(None);
        for _ in 0..edits {
            // typing in one region, as a person does: the window stays small
            let at = boundary(doc.text(), doc.text().len() / 2 + rng.random_range(0..200));
            let new = SNIPPETS[rng.random_range(0..5)];
            doc.edit(at, at, new).unwrap();
        }
        let now = doc.analyze(Some(&earlier));
        let fresh = ParsedDocument::new(doc.text());
        assert!(
            *now.analysis() == analyze(doc.text(), fresh.tree()),
            "{edits} edits"
        );
        assert_eq!(doc.file_diagnostics(&now), fresh.diagnostics());
        assert_eq!(now.placed_by_edit_log(), edits <= 64, "{edits} edits");
        assert!(now.reused() > now.statement_count() / 2, "{edits} edits");
    }
}
