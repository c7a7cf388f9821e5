//! Reads canonical code back into a `Program`: the GenCAD-Code scripts of the data set,
//! what `Program::to_code` prints and what the model writes. Whitespace and number
//! spelling may vary; the statement shapes may not (anything else is a `ParseError` that
//! names the line).

use std::collections::HashMap;

use super::program::{Combine, Curve, Extent, Loop, Operation, Plane, Point2, Program, Sketch};

/// Why code is not a canonical program, with the 1-based line it happened on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Number(f64),
    Punct(char),
}

fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            break;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || ((chars[i] == 'e' || chars[i] == 'E') && i > start)
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let v = text
                .parse::<f64>()
                .map_err(|_| format!("bad number `{text}`"))?;
            out.push(Token::Number(v));
        } else if "(),.=-+".contains(c) {
            out.push(Token::Punct(c));
            i += 1;
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(out)
}

/// A Python expression of the canonical subset.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Number(f64),
    Name(String),
    Tuple(Vec<Expr>),
    Attr(Box<Expr>, String),
    Call(Box<Expr>, Vec<Arg>),
}

#[derive(Debug, Clone, PartialEq)]
struct Arg {
    keyword: Option<String>,
    value: Expr,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.punct(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}`"))
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Token::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err("expected a name".into()),
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut e = self.atom()?;
        loop {
            if self.punct('.') {
                e = Expr::Attr(Box::new(e), self.ident()?);
            } else if self.punct('(') {
                e = Expr::Call(Box::new(e), self.args()?);
            } else {
                return Ok(e);
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.peek().cloned() {
            Some(Token::Number(v)) => {
                self.pos += 1;
                Ok(Expr::Number(v))
            }
            Some(Token::Punct(sign @ ('-' | '+'))) => {
                self.pos += 1;
                match self.atom()? {
                    Expr::Number(v) => Ok(Expr::Number(if sign == '-' { -v } else { v })),
                    _ => Err("a sign must precede a number".into()),
                }
            }
            Some(Token::Ident(s)) => {
                self.pos += 1;
                Ok(Expr::Name(s))
            }
            Some(Token::Punct('(')) => {
                self.pos += 1;
                let mut items = vec![self.expr()?];
                while self.punct(',') {
                    if self.punct(')') {
                        return Ok(Expr::Tuple(items));
                    }
                    items.push(self.expr()?);
                }
                self.expect(')')?;
                Ok(if items.len() == 1 {
                    items.pop().expect("one item")
                } else {
                    Expr::Tuple(items)
                })
            }
            _ => Err("expected a value".into()),
        }
    }

    fn args(&mut self) -> Result<Vec<Arg>, String> {
        let mut out = Vec::new();
        if self.punct(')') {
            return Ok(out);
        }
        loop {
            let keyword = match (self.tokens.get(self.pos), self.tokens.get(self.pos + 1)) {
                (Some(Token::Ident(k)), Some(Token::Punct('='))) => {
                    let k = k.clone();
                    self.pos += 2;
                    Some(k)
                }
                _ => None,
            };
            out.push(Arg {
                keyword,
                value: self.expr()?,
            });
            if self.punct(')') {
                return Ok(out);
            }
            self.expect(',')?;
            if self.punct(')') {
                return Ok(out);
            }
        }
    }
}

/// One `.method(args)` of a chain.
type MethodCall = (String, Vec<Arg>);

/// A method call chain `base.m1(args).m2(args)...` flattened.
fn chain(e: &Expr) -> Result<(String, Vec<MethodCall>), String> {
    match e {
        Expr::Name(n) => Ok((n.clone(), Vec::new())),
        Expr::Call(callee, args) => match callee.as_ref() {
            Expr::Attr(obj, method) => {
                let (base, mut calls) = chain(obj)?;
                calls.push((method.clone(), args.clone()));
                Ok((base, calls))
            }
            _ => Err("expected a method call".into()),
        },
        _ => Err("expected a name or a method chain".into()),
    }
}

fn number(e: &Expr) -> Result<f64, String> {
    match e {
        Expr::Number(v) => Ok(*v),
        _ => Err("expected a number".into()),
    }
}

fn positional(args: &[Arg], n: usize, what: &str) -> Result<Vec<Expr>, String> {
    if args.len() != n || args.iter().any(|a| a.keyword.is_some()) {
        return Err(format!("{what} takes {n} positional argument(s)"));
    }
    Ok(args.iter().map(|a| a.value.clone()).collect())
}

fn point_args(args: &[Arg], what: &str) -> Result<Point2, String> {
    let v = positional(args, 2, what)?;
    Ok([number(&v[0])?, number(&v[1])?])
}

fn point_tuple(e: &Expr) -> Result<Point2, String> {
    match e {
        Expr::Tuple(items) if items.len() == 2 => Ok([number(&items[0])?, number(&items[1])?]),
        _ => Err("expected a point `(x, y)`".into()),
    }
}

/// `cq.Name(args)` -> args
fn cq_call<'a>(e: &'a Expr, name: &str) -> Result<&'a [Arg], String> {
    if let Expr::Call(callee, args) = e {
        if let Expr::Attr(obj, attr) = callee.as_ref() {
            if attr == name && matches!(obj.as_ref(), Expr::Name(m) if m == "cq") {
                return Ok(args);
            }
        }
    }
    Err(format!("expected `cq.{name}(...)`"))
}

fn vector(e: &Expr) -> Result<[f64; 3], String> {
    let v = positional(cq_call(e, "Vector")?, 3, "cq.Vector")?;
    Ok([number(&v[0])?, number(&v[1])?, number(&v[2])?])
}

fn workplane(e: &Expr) -> Result<Plane, String> {
    let wp = positional(cq_call(e, "Workplane")?, 1, "cq.Workplane")?;
    let p = positional(cq_call(&wp[0], "Plane")?, 3, "cq.Plane")?;
    Ok(Plane {
        origin: vector(&p[0])?,
        x_dir: vector(&p[1])?,
        normal: vector(&p[2])?,
    })
}

fn loop_from(calls: &[MethodCall]) -> Result<Loop, String> {
    let Some((first, args)) = calls.first() else {
        return Err("a loop starts with `.moveTo(x, y)`".into());
    };
    if first != "moveTo" {
        return Err(format!(
            "a loop starts with `.moveTo(x, y)`, not `.{first}`"
        ));
    }
    let start = point_args(args, "moveTo")?;
    if let [_, (m, args)] = calls {
        if m == "circle" {
            let r = positional(args, 1, "circle")?;
            return Ok(Loop::Circle {
                center: start,
                radius: number(&r[0])?,
            });
        }
    }
    let mut curves = Vec::new();
    let rest = &calls[1..];
    for (k, (m, args)) in rest.iter().enumerate() {
        match m.as_str() {
            "lineTo" => curves.push(Curve::Line {
                to: point_args(args, "lineTo")?,
            }),
            "threePointArc" => {
                let v = positional(args, 2, "threePointArc")?;
                curves.push(Curve::Arc {
                    mid: point_tuple(&v[0])?,
                    to: point_tuple(&v[1])?,
                });
            }
            "close" if k + 1 == rest.len() && args.is_empty() => {}
            other => return Err(format!("unexpected `.{other}(...)` in a loop")),
        }
    }
    if rest.last().map(|(m, _)| m.as_str()) != Some("close") {
        return Err("a path loop must end with `.close()`".into());
    }
    if curves.is_empty() {
        return Err("a path loop needs at least one curve".into());
    }
    Ok(Loop::Path { start, curves })
}

/// An extrusion bound to `solidN`: the sketch it came from and its extrude calls.
struct Extrusion {
    sketch: Sketch,
    /// (distance, both) of each `.extrude` (two for a two-sided extent).
    extrudes: Vec<(f64, bool)>,
    /// Index in the program once combined into `solid`.
    feature: Option<usize>,
}

#[derive(Default)]
struct Builder {
    planes: HashMap<String, Plane>,
    loops: HashMap<String, (String, Loop)>,
    solids: HashMap<String, Extrusion>,
    temp: Option<String>,
    program: Program,
}

fn extent_of(extrudes: &[(f64, bool)]) -> Result<Extent, String> {
    match extrudes {
        [(d, false)] => Ok(Extent::OneSided { distance: *d }),
        [(d, true)] => Ok(Extent::Symmetric { distance: *d }),
        [(a, false), (b, false)] => Ok(Extent::TwoSided {
            first: *a,
            second: *b,
        }),
        _ => Err("a two-sided extent is two one-sided extrudes".into()),
    }
}

fn combine_of(method: &str) -> Result<Combine, String> {
    match method {
        "union" => Ok(Combine::Union),
        "cut" => Ok(Combine::Cut),
        "intersect" => Ok(Combine::Intersect),
        m => Err(format!(
            "unknown boolean `.{m}`: use union, cut or intersect"
        )),
    }
}

impl Builder {
    fn statement(&mut self, target: &str, value: &Expr) -> Result<(), String> {
        if target.starts_with("wp_sketch") {
            self.planes.insert(target.to_string(), workplane(value)?);
            return Ok(());
        }
        let (base, calls) = chain(value)?;
        if target.starts_with("loop") {
            if !self.planes.contains_key(&base) {
                return Err(format!("`{base}` is not a workplane defined above"));
            }
            let lp = loop_from(&calls)?;
            self.loops.insert(target.to_string(), (base, lp));
            Ok(())
        } else if target == "solid" || target == "solid_temp" {
            self.combine(target, &base, &calls)
        } else if target.starts_with("solid") {
            self.extrusion(target, &base, &calls)
        } else {
            Err(format!("unexpected assignment to `{target}`"))
        }
    }

    fn extrusion(&mut self, target: &str, base: &str, calls: &[MethodCall]) -> Result<(), String> {
        let plane = self
            .planes
            .get(base)
            .ok_or_else(|| format!("`{base}` is not a workplane defined above"))?
            .clone();
        let Some(((last, args), adds)) = calls.split_last() else {
            return Err("expected `.add(loopN)...extrude(d)`".into());
        };
        if last != "extrude" {
            return Err(format!(
                "expected `.extrude(...)` at the end, found `.{last}`"
            ));
        }
        let mut loops = Vec::new();
        for (m, a) in adds {
            let names = positional(a, 1, "add")?;
            match (m.as_str(), &names[0]) {
                ("add", Expr::Name(n)) => {
                    let (wp, lp) = self
                        .loops
                        .get(n)
                        .ok_or_else(|| format!("`{n}` is not a loop defined above"))?;
                    if wp != base {
                        return Err(format!("`{n}` was drawn on `{wp}`, not on `{base}`"));
                    }
                    loops.push(lp.clone());
                }
                _ => return Err(format!("expected `.add(loopN)`, found `.{m}`")),
            }
        }
        if loops.is_empty() {
            return Err("an extrusion needs at least one `.add(loopN)`".into());
        }
        let (distance, both) = match args.as_slice() {
            [d] if d.keyword.is_none() => (number(&d.value)?, false),
            [d, b] if d.keyword.is_none() && b.keyword.as_deref() == Some("both") => {
                match &b.value {
                    Expr::Name(t) if t == "True" => (number(&d.value)?, true),
                    Expr::Name(f) if f == "False" => (number(&d.value)?, false),
                    _ => return Err("`both` must be True or False".into()),
                }
            }
            _ => return Err("expected `.extrude(d)` or `.extrude(d, both=True)`".into()),
        };
        let sketch = Sketch { plane, loops };
        match self.solids.get_mut(target) {
            // Reassigning solidN is GenCAD-Code's second half of a two-sided extent.
            Some(ex) if ex.extrudes.len() == 1 && ex.sketch == sketch => {
                ex.extrudes.push((distance, both));
            }
            Some(_) => {
                return Err(format!(
                    "`{target}` is assigned again with another sketch or a third time"
                ))
            }
            None => {
                self.solids.insert(
                    target.to_string(),
                    Extrusion {
                        sketch,
                        extrudes: vec![(distance, both)],
                        feature: None,
                    },
                );
            }
        }
        Ok(())
    }

    fn push_feature(&mut self, name: &str, combine: Combine) -> Result<(), String> {
        let feature = self.program.sketches.len();
        let ex = self
            .solids
            .get_mut(name)
            .ok_or_else(|| format!("`{name}` is not a solid defined above"))?;
        if ex.feature.is_some() {
            return Err(format!("`{name}` is combined into `solid` twice"));
        }
        ex.feature = Some(feature);
        self.program.sketches.push(ex.sketch.clone());
        self.program.ops.push(Operation {
            extent: extent_of(&ex.extrudes)?,
            combine,
        });
        Ok(())
    }

    fn combine(&mut self, target: &str, base: &str, calls: &[MethodCall]) -> Result<(), String> {
        let operand = match calls {
            [] => None,
            [(m, args)] => match positional(args, 1, m)?.as_slice() {
                [Expr::Name(n)] => Some((m.as_str(), n.clone())),
                _ => return Err(format!("expected `{base}.{m}(solidN)`")),
            },
            _ => return Err("expected one boolean operation".into()),
        };
        match (target, base, operand) {
            ("solid", first, None) if first.starts_with("solid") => {
                if !self.program.sketches.is_empty() {
                    return Err("`solid=solidN` may only start the program".into());
                }
                self.push_feature(first, Combine::New)
            }
            ("solid", "solid", Some((m, name))) if name == "solid_temp" => {
                let temp = self
                    .temp
                    .take()
                    .ok_or("`solid_temp` is used before it is assigned")?;
                self.push_feature(&temp, combine_of(m)?)
            }
            ("solid", "solid", Some((m, name))) => {
                if self.program.sketches.is_empty() {
                    return Err("the program must start with `solid=solid0`".into());
                }
                let ex = self
                    .solids
                    .get(&name)
                    .ok_or_else(|| format!("`{name}` is not a solid defined above"))?;
                match ex.feature {
                    // The first feature's two-sided extent: its second half is unioned in.
                    Some(f) if m == "union" && ex.extrudes.len() == 2 => {
                        self.program.ops[f].extent = extent_of(&ex.extrudes)?;
                        Ok(())
                    }
                    Some(_) => Err(format!("`{name}` is combined into `solid` twice")),
                    None => self.push_feature(&name, combine_of(m)?),
                }
            }
            ("solid_temp", first, None) if first.starts_with("solid") => {
                if !self.solids.contains_key(first) {
                    return Err(format!("`{first}` is not a solid defined above"));
                }
                self.temp = Some(first.to_string());
                Ok(())
            }
            ("solid_temp", "solid_temp", Some(("union", name))) => {
                if self.temp.as_deref() != Some(name.as_str()) {
                    return Err("`solid_temp` must union the second half of the same solid".into());
                }
                Ok(())
            }
            _ => Err(format!("unexpected combination `{target}={base}...`")),
        }
    }
}

impl Program {
    /// Parses canonical code (see the module docs). The result must assign `solid`.
    pub fn parse(code: &str) -> Result<Program, ParseError> {
        let mut b = Builder::default();
        for (n, raw) in code.lines().enumerate() {
            let err = |message: String| ParseError {
                line: n + 1,
                message,
            };
            let tokens = tokenize(raw).map_err(err)?;
            if tokens.is_empty() {
                continue;
            }
            if let [Token::Ident(i), Token::Ident(m), Token::Ident(a), Token::Ident(c)] =
                tokens.as_slice()
            {
                if i == "import" && m == "cadquery" && a == "as" && c == "cq" {
                    continue;
                }
            }
            let mut p = Parser { tokens, pos: 0 };
            let target = p.ident().map_err(err)?;
            p.expect('=').map_err(err)?;
            let value = p.expr().map_err(err)?;
            if p.pos != p.tokens.len() {
                return Err(err("unexpected text after the statement".into()));
            }
            b.statement(&target, &value).map_err(err)?;
        }
        let last = code.lines().count().max(1);
        if b.program.sketches.is_empty() {
            return Err(ParseError {
                line: last,
                message: "no `solid=solid0`: the program builds nothing".into(),
            });
        }
        if b.temp.is_some() {
            return Err(ParseError {
                line: last,
                message: "`solid_temp` is never combined into `solid`".into(),
            });
        }
        Ok(b.program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_gencad_script_with_long_numbers() {
        let code = "import cadquery as cq\n# Generating a workplane for sketch 0\nwp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.28125, 0.0, 0.0), cq.Vector(1.0, 6.123233995736766e-17, -6.123233995736766e-17), cq.Vector(6.123233995736766e-17, -1.0, 6.123233995736766e-17)))\nloop0=wp_sketch0.moveTo(0.28421052631578947, 0.0).circle(0.27828947368421053)\nsolid0=wp_sketch0.add(loop0).extrude(-0.75, both=True)\nsolid=solid0\n";
        let p = Program::parse(code).unwrap();
        assert_eq!(p.sketches.len(), 1);
        assert_eq!(p.sketches[0].plane.normal[1], -1.0);
        assert_eq!(p.ops[0].extent, Extent::Symmetric { distance: -0.75 });
        expect_test::expect![[r#"
            import cadquery as cq
            # Generating a workplane for sketch 0
            wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.2813, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, -1.0, 0.0)))
            loop0=wp_sketch0.moveTo(0.2842, 0.0).circle(0.2783)
            solid0=wp_sketch0.add(loop0).extrude(-0.75, both=True)
            solid=solid0
        "#]]
        .assert_eq(&p.to_code());
    }

    #[test]
    fn two_sided_round_trips() {
        let code = "import cadquery as cq\n\
wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
loop0=wp_sketch0.moveTo(0.5, 0.0).circle(0.5)\n\
solid0=wp_sketch0.add(loop0).extrude(0.25)\n\
solid=solid0\n\
wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
loop0=wp_sketch0.moveTo(0.5, 0.0).circle(0.5)\n\
solid0=wp_sketch0.add(loop0).extrude(-0.125)\n\
solid=solid.union(solid0)\n";
        let p = Program::parse(code).unwrap();
        assert_eq!(p.sketches.len(), 1);
        assert_eq!(
            p.ops[0].extent,
            Extent::TwoSided {
                first: 0.25,
                second: -0.125
            }
        );
        let again = Program::parse(&p.to_code()).unwrap();
        assert_eq!(again, p);
        let mut q = p.clone();
        q.sketches.push(p.sketches[0].clone());
        q.ops.push(Operation {
            extent: Extent::TwoSided {
                first: 0.5,
                second: -0.5,
            },
            combine: Combine::Intersect,
        });
        assert_eq!(Program::parse(&q.to_code()).unwrap(), q);
    }

    #[test]
    fn tolerates_spacing_and_number_spelling() {
        let code = "import cadquery as cq\nwp_sketch0=cq.Workplane( cq.Plane(cq.Vector(0, 0, 0),cq.Vector(1,0,0), cq.Vector(0,0,1) ) )\nloop0 = wp_sketch0.moveTo(0, 0).lineTo(1e0, 0).threePointArc((1.5, .5), (1, 1)).close()\nsolid0 = wp_sketch0.add(loop0).extrude(+2)\nsolid = solid0\n";
        let p = Program::parse(code).unwrap();
        assert_eq!(p.ops[0].extent, Extent::OneSided { distance: 2.0 });
        match &p.sketches[0].loops[0] {
            Loop::Path { curves, .. } => assert_eq!(curves.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let bad = [
            ("loop0=wp_sketch0.moveTo(0, 0).circle(1)\n", 1, "not a workplane"),
            (
                "wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0, 0, 0), cq.Vector(1, 0, 0), cq.Vector(0, 0, 1)))\nloop0=wp_sketch0.moveTo(0, 0).lineTo(1, 0).lineTo(1, 1)\n",
                2,
                "close",
            ),
            (
                "wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0, 0, 0), cq.Vector(1, 0, 0), cq.Vector(0, 0, 1)))\nloop0=wp_sketch0.moveTo(0, 0).circle(1)\nsolid0=wp_sketch0.add(loop0).fillet(1)\n",
                3,
                "extrude",
            ),
            (
                "wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0, 0, 0), cq.Vector(1, 0, 0), cq.Vector(0, 0, 1)))\nloop0=wp_sketch0.moveTo(0, 0).circle(1)\nsolid0=wp_sketch0.add(loop0).extrude(1)\n",
                3,
                "builds nothing",
            ),
            ("import os\n", 1, "expected `=`"),
            ("x = 1 $ 2\n", 1, "unexpected character"),
        ];
        for (code, line, needle) in bad {
            let e = Program::parse(code).unwrap_err();
            assert_eq!(e.line, line, "{code}: {e}");
            assert!(e.to_string().contains(needle), "{code}: {e}");
        }
    }
}
