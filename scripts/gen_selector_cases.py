#!/usr/bin/env python3
"""Record CadQuery's verdict (parses or not) on tricky selector strings, so the Rust
selector grammar (src/syntax/selector.rs) is tested against the real pyparsing grammar.

    /root/.cache/cadquery-lsp-dev/venv/bin/python scripts/gen_selector_cases.py
"""

import json
import pathlib

from cadquery.selectors import _expression_grammar

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "selector_cases.json"

CASES = [
    ">Z", "<Z", "|Z", "#Z", "+Z", "-Z", ">X", "<Y", "X", "Y", "Z", "XY", "XZ", "YZ", "ZY", "YX",
    ">XY", ">YZ", "|XZ", ">Z[-2]", ">Z[1]", "<X[0]", ">Z[ - 2 ]", ">Z[1", ">Z[]", ">Z[a]",
    ">Z[1.5]", ">>Z", "<<Y", ">>Z[-1]", ">>(1,0,0)", "<<Y[2]", "%PLANE", "%plane", "%Plane",
    "%CYLINDER", "%LINE", "%CIRCLE", "%BSPLINE", "%PLAIN", "% PLANE", "%", ">(1,0,0)",
    ">(1, 0, 0)", ">( 1 , 0 , 0 )", ">(1,0)", ">(1,0,0,0)", ">(1.,0,0)", ">(.5,0,0)",
    ">(-1,0,0)", ">(+1,0,0)", ">(1e3,0,0)", ">(1 .5,0,0)", "(1,0,0)", "-(0,0,1)", "|(1,1,0)",
    "front", "back", "left", "right", "top", "bottom", "Front", "TOP", "frontal", "> Z",
    " >Z ", ">z", ">Q", "", " ", ">", "<", "Z>", ">ZZ", ">XYZ", "|Z and >Y", "|Z or |X",
    "|X exc >Z", "|X except >Z", "not #XY", "not not >X", ">X and not >Y", "not >X and >Y",
    "(not >X[0] and #XY) or >XY[0]", "(>Z)", "((>Z))", "(>Z", ">Z)", "not(<X or >X)",
    ">Xand>Y", ">X and", "and >X", ">X or or >Y", ">X >Y", "|Z or (|X and >Y)",
    "not", "<Z exc (|X or |Y)", ">Z and <Z and |X", ">Z or <Z exc |Y", "not (|X) or >Y",
    "#XY or not |Z", ">Z[-1] or <Z[0]", "%PLANE and >Z", "%PLANE and not >Z", ">Z[--1]",
    ">Z[- 1]", "+Z[1]", "|Z[0]", ">>Z[ 0 ]", "<Z\t", "\n>Z", "top or bottom", ">", "x",
]


def verdict(s):
    try:
        _expression_grammar.parse_string(s, parse_all=True)
        return True
    except Exception:
        return False


def main():
    cases = [[s, verdict(s)] for s in dict.fromkeys(CASES)]
    OUT.write_text(json.dumps(cases, indent=0) + "\n")
    print(f"wrote {OUT}: {sum(v for _, v in cases)} valid, {sum(not v for _, v in cases)} invalid")


if __name__ == "__main__":
    main()
