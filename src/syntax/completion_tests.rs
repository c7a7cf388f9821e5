//! Completion fixtures: `$0` marks the cursor; the rendering shows the context and the
//! first items offered.

use expect_test::{expect, Expect};

use super::*;

fn check(src: &str, expect: Expect) {
    let offset = src.find("$0").expect("fixture has a $0 cursor");
    let text = src.replacen("$0", "", 1);
    let ctx = completion_context(&text, offset);
    let items = api_completions(&ctx);
    let mut out = format!("{:?} prefix={:?}\n", ctx.place, ctx.prefix);
    for i in items.iter().take(6) {
        out.push_str(&format!(
            "{} | {}\n",
            i.label,
            i.detail.as_deref().unwrap_or("")
        ));
    }
    out.push_str(&format!("({} items)\n", items.len()));
    expect.assert_eq(&out);
}

#[test]
fn after_a_dot_on_a_workplane_chain() {
    check(
        "import cadquery as cq\nr = cq.Workplane('XY').box(1, 2, 3)\nr.faces('>Z').$0\n",
        expect![[r#"
            Member { receiver: Instance("Workplane") } prefix=""
            workplane | workplane(offset: float = 0.0, invert: bool = False, centerOption: Literal['CenterOfMass', 'ProjectedOrigin', 'CenterOfBoundBox'] = 'ProjectedOrigin', origin: Union[Tuple[float, float], Tuple[float, float, float], Vector, NoneType] = None) -> Workplane
            shell | shell(thickness: float, kind: Literal['arc', 'intersection'] = 'arc') -> Workplane
            edges | edges(selector: Union[str, Selector, NoneType] = None, tag: Optional[str] = None) -> Workplane
            fillet | fillet(radius: float) -> Workplane
            chamfer | chamfer(length: float, length2: Optional[float] = None) -> Workplane
            wires | wires(selector: Union[str, Selector, NoneType] = None, tag: Optional[str] = None) -> Workplane
            (111 items)
        "#]],
    );
}

#[test]
fn partial_method_name_on_a_multiline_chain() {
    check(
        "import cadquery as cq\nresult = (\n    cq.Workplane()\n    .rect(2, 2)\n    .ext$0\n)\n",
        expect![[r#"
            Member { receiver: Instance("Workplane") } prefix="ext"
            extrude | extrude(until: Union[float, Literal['next', 'last'], Face], combine: Union[bool, Literal['cut', 'a', 's']] = True, clean: bool = True, both: bool = False, taper: Optional[float] = None) -> Workplane
            twistExtrude | twistExtrude(distance: float, angleDegrees: float, combine: Union[bool, Literal['cut', 'a', 's']] = True, clean: bool = True) -> Workplane
            export | export(fname: str, tolerance: float = 0.1, angularTolerance: float = 0.1, unit: Literal['MM', 'CM', 'M', 'KM', 'INCH', 'FT', 'MI', 'UM', 'NM'] = 'MM', outputUnit: Optional[Literal['MM', 'CM', 'M', 'KM', 'INCH', 'FT', 'MI', 'UM', 'NM']] = None, opt: Optional[Dict[str, Any]] = None) -> Workplane
            exportSvg | exportSvg(fileName: str)
            text | text(txt: str, fontsize: float, distance: float, combine: Union[bool, Literal['cut', 'a', 's']] = 'cut', clean: bool = True, font: str = 'Arial', fontPath: Optional[str] = None, kind: Literal['regular', 'bold', 'italic'] = 'regular', halign: Literal['center', 'left', 'right'] = 'center', valign: Literal['center', 'top', 'bottom'] = 'center') -> Workplane
            (5 items)
        "#]],
    );
}

#[test]
fn after_cq_dot() {
    check(
        "import cadquery as cq\nx = cq.$0\n",
        expect![[r#"
        Member { receiver: CqModule } prefix=""
        Vector | Vector(*args)
        Workplane | Workplane(inPlane='XY', origin=(0, 0, 0), obj=None)
        Plane | Plane(origin: Union[Tuple[Union[int, float], Union[int, float], Union[int, float]], Vector], xDir: Union[Tuple[Union[int, float], Union[int, float], Union[int, float]], Vector, NoneType] = None, normal: Union[Tuple[Union[int, float], Union[int, float], Union[int, float]], Vector] = (0, 0, 1))
        selectors | 
        Assembly | Assembly(obj: Union[Shape, Workplane, NoneType] = None, loc: Optional[Location] = None, name: Optional[str] = None, color: Optional[Color] = None, material: Optional[Material] = None, metadata: Optional[Dict[str, Any]] = None)
        BoundBox | BoundBox(bb: Bnd_Box)
        (44 items)
    "#]],
    );
}

#[test]
fn sketch_chain_through_a_variable() {
    check(
        "import cadquery as cq\ns = cq.Workplane().sketch()\ns.rect(1, 2).$0",
        expect![[r#"
            Member { receiver: Instance("Sketch") } prefix=""
            add | add() -> Sketch
            circle | circle(r: Union[int, float], mode: Literal['a', 's', 'i', 'c', 'r'] = 'a', tag: Optional[str] = None) -> Sketch
            close | close(tag: Optional[str] = None) -> Sketch
            faces | faces(s: Union[str, Selector, NoneType] = None, tag: Optional[str] = None) -> Sketch
            rect | rect(w: Union[int, float], h: Union[int, float], angle: Union[int, float] = 0, mode: Literal['a', 's', 'i', 'c', 'r'] = 'a', tag: Optional[str] = None) -> Sketch
            spline | spline(pts: Iterable[Union[Vector, Tuple[Union[int, float], Union[int, float]]]], tangents: Optional[Iterable[Union[Vector, Tuple[Union[int, float], Union[int, float]]]]], periodic: bool, tag: Optional[str] = None, forConstruction: bool = False) -> Sketch
            (53 items)
        "#]],
    );
}

#[test]
fn inside_an_argument_list() {
    check(
        "import cadquery as cq\nwp = cq.Workplane()\nwp.box(1, 2, $0)\n",
        expect![[r#"
            Argument { callee: Member { class: "Workplane", name: "box" }, callee_name: Some("box"), index: 2, keyword: None } prefix=""
            height= | height: float
            centered= | centered: Union[bool, Tuple[bool, bool, bool]] = True
            combine= | combine: Union[bool, Literal['cut', 'a', 's']] = True
            clean= | clean: bool = True
            cq | module cadquery
            wp | Workplane
            (6 items)
        "#]],
    );
}

#[test]
fn keyword_value_in_an_unclosed_call() {
    check(
        "import cadquery as cq\nwp = cq.Workplane()\nwp.extrude(2, both=$0",
        expect![[r#"
            Argument { callee: Member { class: "Workplane", name: "extrude" }, callee_name: Some("extrude"), index: 1, keyword: Some("both") } prefix=""
            cq | module cadquery
            wp | Workplane
            (2 items)
        "#]],
    );
}

#[test]
fn new_statement_lists_names_in_scope() {
    check(
        "import cadquery as cq\nbase = cq.Workplane().box(1, 1, 1)\nsize = 2\n$0\n",
        expect![[r#"
            NewStatement prefix=""
            base | Workplane
            cq | module cadquery
            size | 
            (3 items)
        "#]],
    );
}

#[test]
fn nothing_inside_strings_and_comments() {
    check(
        "import cadquery as cq\nr = cq.Workplane().faces('>$0')\n",
        expect![[r#"
        StringOrComment prefix=""
        (0 items)
    "#]],
    );
    check(
        "import cadquery as cq\n# cq.$0\n",
        expect![[r#"
        StringOrComment prefix=""
        (0 items)
    "#]],
    );
}

#[test]
fn unknown_receiver_offers_nothing() {
    check(
        "import numpy as np\nnp.$0\n",
        expect![[r#"
        Member { receiver: Unknown } prefix=""
        (0 items)
    "#]],
    );
}
