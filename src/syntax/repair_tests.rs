//! One test per repair: broken code in, repaired code and the list of fixes out; the
//! repaired code must parse without errors.

use expect_test::{expect, Expect};

use super::*;

fn check(broken: &str, expect: Expect) {
    let r = repair(broken);
    let doc = ParsedDocument::new(r.code.clone());
    assert!(
        !doc.tree().root_node().has_error(),
        "repaired code does not parse:\n{}",
        r.code
    );
    let syntax: Vec<_> = doc.diagnostics();
    assert!(
        syntax.is_empty(),
        "repaired code still has diagnostics:\n{}",
        render(&r.code, &syntax)
    );
    let mut out = r.code.clone();
    out.push_str("---\n");
    for f in &r.fixes_applied {
        out.push_str(f);
        out.push('\n');
    }
    expect.assert_eq(&out);
}

#[test]
fn closes_an_unclosed_call_at_the_end_of_its_line() {
    check(
        "import cadquery as cq\nwp = cq.Workplane('XY')\nsolid = wp.box(1, 2, 3\nsolid = solid.faces('>Z').workplane().hole(0.5)\n",
        expect![[r#"
            import cadquery as cq
            wp = cq.Workplane('XY')
            solid = wp.box(1, 2, 3)
            solid = solid.faces('>Z').workplane().hole(0.5)
            ---
            line 3: closed `(` opened at 3:15
        "#]],
    );
}

#[test]
fn closes_nested_brackets_of_a_truncated_last_line() {
    check(
        "import cadquery as cq\nsolid = cq.Workplane('XY').polyline([(0, 0), (1, 0), (1, 1)",
        expect![[r#"
            import cadquery as cq
            solid = cq.Workplane('XY').polyline([(0, 0), (1, 0), (1, 1)])---
            line 2: closed `[` opened at 2:37
            line 2: closed `(` opened at 2:36
        "#]],
    );
}

#[test]
fn closes_an_unclosed_string() {
    check(
        "import cadquery as cq\nsolid = cq.Workplane('XY').box(1, 1, 1).faces('>Z)\n",
        expect![[r#"
            import cadquery as cq
            solid = cq.Workplane('XY').box(1, 1, 1).faces('>Z')
            ---
            line 2: Insert the missing `'`
        "#]],
    );
}

#[test]
fn removes_an_unmatched_closer() {
    check(
        "import cadquery as cq\nsolid = cq.Workplane('XY').box(1, 1, 1))\n",
        expect![[r#"
            import cadquery as cq
            solid = cq.Workplane('XY').box(1, 1, 1)
            ---
            line 2: Remove the unmatched `)`
        "#]],
    );
}

#[test]
fn drops_a_truncated_last_statement() {
    check(
        "import cadquery as cq\nsolid = cq.Workplane('XY').box(1, 1, 1)\nsolid = solid.faces('>Z').\n",
        expect![[r#"
            import cadquery as cq
            solid = cq.Workplane('XY').box(1, 1, 1)
            ---
            line 3: dropped `solid = solid.faces('>Z').`: it does not parse (expected a method or attribute name after `.`)
        "#]],
    );
}

#[test]
fn drops_an_assignment_without_a_value() {
    check(
        "import cadquery as cq\nsolid = cq.Workplane('XY').box(1, 1, 1)\nx = \n",
        expect![[r#"
            import cadquery as cq
            solid = cq.Workplane('XY').box(1, 1, 1)
            ---
            line 3: dropped `x =`: it does not parse (expected an expression after `=`)
        "#]],
    );
}

#[test]
fn renames_an_undefined_name_to_the_closest_defined_one() {
    check(
        "import cadquery as cq\nsolid0 = cq.Workplane('XY').box(1, 1, 1)\nsolid = solid1.faces('>Z').workplane().hole(0.2)\n",
        expect![[r#"
            import cadquery as cq
            solid0 = cq.Workplane('XY').box(1, 1, 1)
            solid = solid0.faces('>Z').workplane().hole(0.2)
            ---
            line 3: Change to `solid0` (`solid1` is not defined; did you mean `solid0`?)
        "#]],
    );
}

#[test]
fn drops_a_statement_reading_an_unrelated_undefined_name() {
    check(
        "import cadquery as cq\nsolid = cq.Workplane('XY').box(1, 1, 1)\nsolid = solid.union(bracket_part)\n",
        expect![[r#"
            import cadquery as cq
            solid = cq.Workplane('XY').box(1, 1, 1)
            ---
            line 3: dropped `solid = solid.union(bracket_part)`: it reads an undefined name (`bracket_part` is not defined)
        "#]],
    );
}

#[test]
fn fixes_method_and_keyword_typos() {
    check(
        "import cadquery as cq\nsolid = cq.Workplane('XY').circle(1).extrud(2, bot=True)\n",
        expect![[r#"
            import cadquery as cq
            solid = cq.Workplane('XY').circle(1).extrude(2, both=True)
            ---
            line 2: Change to `extrude` (`Workplane` has no attribute `extrud`; did you mean `extrude`?)
            line 2: Change to `both` (`extrude` has no parameter `bot`; did you mean `both`?)
        "#]],
    );
}

#[test]
fn assigns_the_last_built_solid_when_no_result_variable_exists() {
    check(
        "import cadquery as cq\nwp_sketch0 = cq.Workplane('XY')\nloop0 = wp_sketch0.moveTo(0, 0).lineTo(1, 0).lineTo(1, 1).close()\nsolid0 = wp_sketch0.add(loop0).extrude(0.5)\n",
        expect![[r#"
            import cadquery as cq
            wp_sketch0 = cq.Workplane('XY')
            loop0 = wp_sketch0.moveTo(0, 0).lineTo(1, 0).lineTo(1, 1).close()
            solid0 = wp_sketch0.add(loop0).extrude(0.5)
            solid = solid0
            ---
            assigned the last built solid `solid0` to `solid`
        "#]],
    );
}

#[test]
fn leaves_valid_code_alone() {
    let code = "import cadquery as cq\nsolid = cq.Workplane('XY').box(1, 1, 1)\n";
    let r = repair(code);
    assert_eq!(r.code, code);
    assert!(r.fixes_applied.is_empty());
}
