#!/usr/bin/env python3
"""Count how often each attribute name (`.box(`, `cq.Workplane`) is used in a corpus of
CadQuery scripts and write the names, most used first, to src/syntax/method_ranks.json.
Completions rank chain methods by this order.

    python3 scripts/gen_method_ranks.py DIR [DIR...]

The committed table was built from the 20 GenCAD dev scripts ($CADQUERY_LSP_SHARED/data/
gencad-dev), CadQuery's own examples (examples/Ex0*.py of the CadQuery repository);
only the counts are kept, none of the scripts.
"""

import collections
import json
import pathlib
import re
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "src" / "syntax" / "method_ranks.json"
ATTR = re.compile(r"\.\s*([A-Za-z_][A-Za-z0-9_]*)")


def main(dirs):
    counts = collections.Counter()
    files = 0
    for d in dirs:
        for path in sorted(pathlib.Path(d).rglob("*.py")):
            files += 1
            # Each file counts a name at most 3 times: one long generated file must not
            # decide the order alone.
            per_file = collections.Counter(ATTR.findall(path.read_text(errors="replace")))
            for name, n in per_file.items():
                counts[name] += min(n, 3)
    ranked = [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    OUT.write_text(json.dumps(ranked, indent=0) + "\n")
    print(f"wrote {OUT}: {len(ranked)} names from {files} files", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: gen_method_ranks.py DIR [DIR...]")
    main(sys.argv[1:])
