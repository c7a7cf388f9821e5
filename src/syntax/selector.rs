//! CadQuery's string selector grammar (`">Z"`, `"|X or #Y"`, `">Z[-2]"`, `"%PLANE"`),
//! reproduced from the pyparsing grammar in cadquery/selectors.py with the same PEG
//! semantics: ordered choice, whitespace skipped before every token, literals matched
//! without word boundaries, and `infix_notation`'s operators `not`, `and`, `or`,
//! `exc`/`except` with parentheses.
//! tests/fixtures/selector_cases.json (from scripts/gen_selector_cases.py) holds
//! CadQuery's own verdicts on tricky strings; a test checks we agree on every one.

const DIRECTION: &str = "a direction (X, Y, Z, XY, XZ, YZ or (x,y,z))";
const OPERAND: &str = "a selector such as `>Z`, `|X`, `%PLANE` or `not ...`";
const SIMPLE_DIRS: &[&str] = &["XY", "XZ", "YZ", "X", "Y", "Z"];
const NAMED_VIEWS: &[&str] = &["front", "back", "left", "right", "top", "bottom"];
/// `geom_LUT_EDGE` and `geom_LUT_FACE` values, matched case-insensitively.
const GEOM_TYPES: &[&str] = &[
    "BSPLINE",
    "BEZIER",
    "CIRCLE",
    "CONE",
    "CYLINDER",
    "ELLIPSE",
    "EXTRUSION",
    "HYPERBOLA",
    "LINE",
    "OFFSET",
    "OTHER",
    "PARABOLA",
    "PLANE",
    "REVOLUTION",
    "SPHERE",
    "TORUS",
];

/// Why a selector string is invalid: byte offset into the string and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    pub offset: usize,
    pub message: String,
}

pub fn parse_selector(s: &str) -> Result<(), SelectorError> {
    let mut p = Parser {
        s: s.as_bytes(),
        furthest: 0,
        expected: Vec::new(),
    };
    let end = p.expr(0);
    if let Some(end) = end {
        let end = p.ws(end);
        if end == s.len() {
            return Ok(());
        }
        p.fail(end, "the end of the selector");
    }
    let at = p.furthest.min(s.len());
    let found = if at >= s.len() {
        "the selector ends".to_string()
    } else {
        let rest: String = s[at..].chars().take(8).collect();
        format!("found `{rest}`")
    };
    let mut expected = p.expected;
    expected.dedup();
    Err(SelectorError {
        offset: at,
        message: format!("expected {} but {found}", expected.join(" or ")),
    })
}

struct Parser<'a> {
    s: &'a [u8],
    furthest: usize,
    expected: Vec<&'static str>,
}

impl Parser<'_> {
    fn fail(&mut self, at: usize, what: &'static str) {
        if at > self.furthest {
            self.furthest = at;
            self.expected.clear();
        }
        if at == self.furthest && !self.expected.contains(&what) {
            self.expected.push(what);
        }
    }

    fn ws(&self, mut i: usize) -> usize {
        while i < self.s.len() && matches!(self.s[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }

    /// A literal after optional whitespace.
    fn lit(&mut self, i: usize, lit: &str, what: &'static str) -> Option<usize> {
        let i = self.ws(i);
        if self.s[i..].starts_with(lit.as_bytes()) {
            Some(i + lit.len())
        } else {
            self.fail(i, what);
            None
        }
    }

    fn one_of(
        &mut self,
        i: usize,
        options: &[&str],
        caseless: bool,
        what: &'static str,
    ) -> Option<usize> {
        let i = self.ws(i);
        let rest = &self.s[i..];
        // Longest first, as pyparsing's one_of reorders prefix conflicts.
        let mut best: Option<usize> = None;
        for o in options {
            let o = o.as_bytes();
            let hit = rest.len() >= o.len()
                && if caseless {
                    rest[..o.len()].eq_ignore_ascii_case(o)
                } else {
                    &rest[..o.len()] == o
                };
            if hit && best.is_none_or(|b| o.len() > b) {
                best = Some(o.len());
            }
        }
        match best {
            Some(n) => Some(i + n),
            None => {
                self.fail(i, what);
                None
            }
        }
    }

    fn digits(&self, i: usize) -> Option<usize> {
        let n = self.s[i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (n > 0).then_some(i + n)
    }

    /// `[+-]?digits(.digits?)?` with no whitespace inside.
    fn float(&mut self, i: usize) -> Option<usize> {
        let i = self.ws(i);
        let mut j = i;
        if matches!(self.s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let Some(mut j) = self.digits(j) else {
            self.fail(i, "a number");
            return None;
        };
        if self.s.get(j) == Some(&b'.') {
            j += 1;
            j = self.digits(j).unwrap_or(j);
        }
        Some(j)
    }

    /// `(x, y, z)`
    fn vector(&mut self, i: usize) -> Option<usize> {
        let i = self.lit(i, "(", DIRECTION)?;
        let i = self.float(i)?;
        let i = self.lit(i, ",", "`,`")?;
        let i = self.float(i)?;
        let i = self.lit(i, ",", "`,`")?;
        let i = self.float(i)?;
        self.lit(i, ")", "`)`")
    }

    fn direction(&mut self, i: usize) -> Option<usize> {
        self.one_of(i, SIMPLE_DIRS, false, DIRECTION)
            .or_else(|| self.vector(i))
    }

    /// `[2]` or `[-1]`, optional.
    fn index(&mut self, i: usize) -> usize {
        let Some(j) = self.lit(i, "[", "`[`") else {
            return i;
        };
        let j = self.ws(j);
        let j = if self.s.get(j) == Some(&b'-') {
            j + 1
        } else {
            j
        };
        let k = self.ws(j);
        let Some(k) = self.digits(k) else {
            self.fail(k, "an index");
            return i;
        };
        self.lit(k, "]", "`]`").unwrap_or(i)
    }

    fn atom(&mut self, i: usize) -> Option<usize> {
        if let Some(j) = self.direction(i) {
            return Some(j);
        }
        if let Some(j) = self.lit(i, "%", "an operator (> < >> << | # + - %)") {
            if let Some(k) = self.one_of(
                j,
                GEOM_TYPES,
                true,
                "a geometry type such as PLANE, CYLINDER, LINE, CIRCLE",
            ) {
                return Some(k);
            }
        }
        if let Some(j) = self.one_of(i, &[">", "<"], false, "an operator (> < >> << | # + - %)") {
            if let Some(k) = self.direction(j) {
                return Some(self.index(k));
            }
        }
        if let Some(j) = self.one_of(i, &[">>", "<<"], false, "an operator (> < >> << | # + - %)") {
            if let Some(k) = self.direction(j) {
                return Some(self.index(k));
            }
        }
        if let Some(j) = self.one_of(
            i,
            &["|", "#", "+", "-"],
            false,
            "an operator (> < >> << | # + - %)",
        ) {
            if let Some(k) = self.direction(j) {
                return Some(k);
            }
        }
        self.one_of(
            i,
            NAMED_VIEWS,
            false,
            "a named view (front, back, left, right, top, bottom)",
        )
    }

    /// pyparsing 3.3's `infix_notation` is a shunting-yard loop, not a recursive grammar:
    /// any number of `not`/`(` before each operand, `)` and one binary operator after
    /// it, no backtracking. Precedence only shapes the tree, so acceptance is this loop.
    fn expr(&mut self, mut i: usize) -> Option<usize> {
        let mut depth = 0usize;
        loop {
            loop {
                if let Some(j) = self.lit(i, "not", "`not`") {
                    i = j;
                } else if let Some(j) = self.atom(i) {
                    i = j;
                    break;
                } else if let Some(j) = self.lit(i, "(", "`(`") {
                    depth += 1;
                    i = j;
                } else {
                    // Nothing here starts an operand: say so rather than list every token.
                    let at = self.ws(i);
                    if self.furthest <= at {
                        self.furthest = at;
                        self.expected = vec![OPERAND];
                    }
                    return None;
                }
            }
            loop {
                if depth > 0 {
                    if let Some(j) = self.lit(i, ")", "`)`") {
                        depth -= 1;
                        i = j;
                        continue;
                    }
                }
                let op = self.one_of(
                    i,
                    &["and", "or", "exc", "except"],
                    false,
                    "`and`, `or`, `exc`",
                );
                match op {
                    Some(j) => {
                        i = j;
                        break;
                    }
                    None if depth > 0 => return None,
                    None => return Some(i),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CadQuery's own verdicts (pyparsing) on tricky strings, generated by
    /// scripts/gen_selector_cases.py.
    #[test]
    fn agrees_with_cadquery_on_every_recorded_case() {
        let cases: Vec<(String, bool)> =
            serde_json::from_str(include_str!("../../tests/fixtures/selector_cases.json")).unwrap();
        assert!(cases.len() > 50);
        let wrong: Vec<_> = cases
            .iter()
            .filter(|(s, valid)| parse_selector(s).is_ok() != *valid)
            .collect();
        assert!(wrong.is_empty(), "disagreements with CadQuery: {wrong:?}");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse_selector(">Q").unwrap_err();
        assert_eq!(e.offset, 1);
        assert!(e.message.contains("a direction"), "{}", e.message);
        let e = parse_selector(">Z[1").unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(e.message.contains("`]`"), "{}", e.message);
        let e = parse_selector("%PLAIN").unwrap_err();
        assert_eq!(e.offset, 1);
    }
}
