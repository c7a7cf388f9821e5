#!/usr/bin/env python3
"""Generate src/syntax/cadquery_api.json from the installed CadQuery by introspection.

The static checks (unknown method, arity, keywords), completions and hover docs read this
table, so it must describe the CadQuery version users run, not one typed by hand.

Run with a Python that has CadQuery (the dev venv):
    /root/.cache/cadquery-lsp-dev/venv/bin/python scripts/gen_api_table.py
"""

import inspect
import json
import pathlib
import re
import sys
import typing

import cadquery as cq
from cadquery.occ_impl import exporters as cq_exporters, importers as cq_importers
import cadquery.selectors

OUT = pathlib.Path(__file__).resolve().parent.parent / "src" / "syntax" / "cadquery_api.json"

# Classes a CadQuery script reaches through `cq.<Name>`; their methods' return annotations
# name each other, which gives chain typing (`.box()` on a Workplane is a Workplane).
TOP_CLASSES = [
    "Workplane", "Sketch", "Assembly", "Vector", "Plane", "Location", "Matrix", "Color",
    "BoundBox", "Shape", "Solid", "Compound", "Face", "Edge", "Wire", "Vertex", "Shell",
    "Material",
]
SELECTOR_CLASSES = [
    n for n, v in vars(cadquery.selectors).items()
    if inspect.isclass(v) and issubclass(v, cadquery.selectors.Selector)
    and not n.startswith("_")
]
MODULE_FUNCTIONS = {
    "exporters": cq_exporters,
    "importers": cq_importers,
}
KIND = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}
KNOWN = set(TOP_CLASSES) | set(SELECTOR_CLASSES)
# Methods CadQuery leaves unannotated although they always return this class: without these
# the chain typing would stop at `.add(...)`, common in the canonical code.
RETURN_OVERRIDES = {
    ("Workplane", "add"): "Workplane",
    ("Assembly", "add"): "Assembly",
    ("Assembly", "constrain"): "Assembly",
    ("Plane", "rotated"): "Plane",
    **{("Plane", n): "Plane" for n in ("XY", "YZ", "ZX", "XZ", "YX", "ZY", "front", "back",
                                       "left", "right", "top", "bottom")},
}


def first_paragraph(doc):
    if not doc:
        return ""
    doc = inspect.cleandoc(doc)
    para = doc.split("\n\n")[0]
    return " ".join(line.strip() for line in para.splitlines()).strip()


def annotation_text(ann):
    if ann is inspect.Parameter.empty:
        return None
    if isinstance(ann, str):
        return ann
    if isinstance(ann, type):
        return ann.__name__
    text = str(ann)
    # Drop module paths: `cadquery.occ_impl.geom.Vector` -> `Vector`
    text = re.sub(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+([A-Za-z_][A-Za-z0-9_]*)", r"\1", text)
    return text


def return_class(ann, owner):
    """The class a call returns, when it is one class of the table (chain typing)."""
    if ann is inspect.Parameter.empty or ann is None:
        return None
    if ann is typing.Self:
        return owner
    if isinstance(ann, typing.TypeVar):
        # `T = TypeVar("T", bound="Workplane")`: methods return their own (sub)class.
        return owner
    if isinstance(ann, str):
        name = ann.strip("'\"")
        if name in ("T", "Self"):
            return owner
        return name if name in KNOWN else None
    if isinstance(ann, type):
        return ann.__name__ if ann.__name__ in KNOWN else None
    return None


def signature_of(func, owner, drop_self):
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = []
    for i, p in enumerate(sig.parameters.values()):
        if drop_self and i == 0 and p.name in ("self", "cls"):
            continue
        params.append({
            "name": p.name,
            "kind": KIND[p.kind],
            "default": None if p.default is inspect.Parameter.empty else repr(p.default),
            "annotation": annotation_text(p.annotation),
        })
    return {
        "params": params,
        "returns": return_class(sig.return_annotation, owner),
        "return_annotation": annotation_text(sig.return_annotation),
    }


def overloads(raw, owner, drop_self):
    """One signature per overload: multimethods (Sketch.segment, ...) carry several."""
    funcs = []
    if type(raw).__name__ == "multimethod":
        funcs = list(dict.fromkeys(raw.values()))
    else:
        funcs = [raw]
    sigs = [s for s in (signature_of(f, owner, drop_self) for f in funcs) if s]
    return sigs, funcs


def describe_class(cls):
    name = cls.__name__
    methods = {}
    for attr in sorted(dir(cls)):
        if attr.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, attr)
        kind = "method"
        if isinstance(raw, property):
            ann = typing.get_type_hints(raw.fget).get("return") if raw.fget else None
            methods[attr] = {
                "kind": "property",
                "signatures": [],
                "returns": return_class(ann, name) if ann is not None else None,
                "doc": first_paragraph(raw.__doc__),
            }
            continue
        drop_self = True
        if isinstance(raw, staticmethod):
            kind, raw, drop_self = "staticmethod", raw.__func__, False
        elif isinstance(raw, classmethod):
            kind, raw = "classmethod", raw.__func__
        if not callable(raw):
            continue
        sigs, funcs = overloads(raw, name, drop_self)
        if not sigs:
            continue
        doc = next((first_paragraph(f.__doc__) for f in funcs if f.__doc__), "")
        returns = next((s["returns"] for s in sigs if s["returns"]), None)
        returns = RETURN_OVERRIDES.get((name, attr), returns)
        methods[attr] = {"kind": kind, "signatures": sigs, "returns": returns, "doc": doc}
    init_sigs, _ = overloads(inspect.getattr_static(cls, "__init__"), name, True)
    return {
        "doc": first_paragraph(cls.__doc__) or first_paragraph(cls.__init__.__doc__),
        "constructor": init_sigs,
        "methods": methods,
    }


def describe_function(func):
    sigs, _ = overloads(func, None, False)
    return {"kind": "function", "signatures": sigs, "returns": sigs[0]["returns"] if sigs else None,
            "doc": first_paragraph(func.__doc__)}


def main():
    classes = {}
    for name in TOP_CLASSES:
        classes[name] = describe_class(getattr(cq, name))
    for name in SELECTOR_CLASSES:
        entry = describe_class(getattr(cadquery.selectors, name))
        entry["module"] = "selectors"
        classes[name] = entry
    modules = {}
    for mod_name, mod in MODULE_FUNCTIONS.items():
        funcs = {}
        for n, v in sorted(vars(mod).items()):
            if n.startswith("_") or not inspect.isfunction(v):
                continue
            if not v.__module__.startswith("cadquery"):
                continue
            funcs[n] = describe_function(v)
        modules[mod_name] = funcs
    functions = {"sortWiresByBuildOrder": describe_function(cq.sortWiresByBuildOrder)}
    table = {
        "cadquery_version": cq.__version__,
        "generated_by": "scripts/gen_api_table.py",
        "classes": classes,
        "modules": modules,
        "functions": functions,
    }
    OUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(classes)} classes, CadQuery {cq.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
