"""cadquery-lsp worker: imports CadQuery once, then runs jobs.

Protocol: one JSON object per line on stdin (a job), one JSON object per line on the
protocol channel (a copy of the original stdout; fd 1 itself is pointed at stderr so
that nothing else -- user prints, C libraries -- can corrupt the channel).
Shipped inside the cadquery-lsp binary (src/runtime/worker.rs); not meant to be run by hand.
"""
import os
import sys

PROTO = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
os.dup2(2, 1)
os.environ.setdefault("CADQUERY_LOG_LEVEL", "ERROR")

import ast  # noqa: E402
import base64  # noqa: E402
import builtins  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

SCRIPT = "<script>"
PREFERRED = ["solid", "result", "shape", "part", "object", "obj", "res"]
OUTPUT_CAP = 64 * 1024


def send(obj):
    PROTO.write(json.dumps(obj, separators=(",", ":")))
    PROTO.write("\n")
    PROTO.flush()


_t0 = time.perf_counter()
try:
    import numpy as np
    import cadquery as cq
    from OCP.BRep import BRep_Tool
    from OCP.BRepAdaptor import BRepAdaptor_Curve
    from OCP.GCPnts import GCPnts_TangentialDeflection
    from OCP.TopAbs import TopAbs_REVERSED
    from OCP.TopLoc import TopLoc_Location
except Exception as e:  # reported to the pool, which turns it into a set-up error
    send({"ready": False, "error": "%s: %s" % (type(e).__name__, e), "python": sys.executable})
    sys.exit(3)
IMPORT_S = time.perf_counter() - _t0


class Refused(Exception):
    def __init__(self, message, line):
        super().__init__(message)
        self.line = line


class JobTimeout(BaseException):
    """Raised by the wall-clock alarm; BaseException so `except Exception` in a script can't eat it."""


class ScriptFailure(Exception):
    def __init__(self, kind, message, line=None):
        super().__init__(message)
        self.kind, self.message, self.line = kind, message, line


class CappedOutput(io.TextIOBase):
    """Keeps the first OUTPUT_CAP characters a script prints and counts the rest."""

    def __init__(self):
        self.parts, self.kept, self.dropped = [], 0, 0

    def writable(self):
        return True

    def write(self, s):
        room = OUTPUT_CAP - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self):
        return "".join(self.parts)


# ---- static check for untrusted (generated) code --------------------------------------

ALLOWED_MODULES = {"cadquery", "math"}
FORBIDDEN_NAMES = {
    "open", "exec", "eval", "compile", "__import__", "getattr", "setattr", "delattr",
    "globals", "locals", "vars", "input", "breakpoint", "help", "memoryview", "exit", "quit",
    "os", "sys", "subprocess", "importlib", "builtins", "__builtins__", "shutil", "socket",
    "ctypes", "pathlib", "tempfile", "pickle", "marshal",
}
# attributes that reach files, processes or the interpreter through CadQuery itself
FORBIDDEN_ATTRS = {
    "os", "sys", "subprocess", "exporters", "importers", "occ_impl", "OCP", "save", "load",
    "format", "format_map", "builtins", "shutil", "pathlib", "tempfile", "socket", "ctypes",
    "gi_frame", "gi_code", "f_globals", "f_locals", "f_builtins", "tb_frame", "co_code",
}
SAFE_BUILTINS = [
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "frozenset",
    "int", "isinstance", "len", "list", "map", "max", "min", "pow", "print", "range", "reversed",
    "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip", "True", "False", "None",
    "ArithmeticError", "Exception", "IndexError", "KeyError", "TypeError", "ValueError",
    "ZeroDivisionError", "StopIteration",
]


def check_untrusted(tree):
    """Refuses generated code that could touch anything but CadQuery geometry."""
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] not in ALLOWED_MODULES:
                    raise Refused("import of `%s` (only cadquery and math may be imported)" % a.name, line)
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").split(".")[0] not in ALLOWED_MODULES:
                raise Refused("import from `%s` (only cadquery and math may be imported)" % node.module, line)
            for a in node.names:
                if a.name == "*" or a.name.startswith("_"):
                    raise Refused("`from %s import %s`" % (node.module, a.name), line)
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES or node.id.startswith("__"):
                raise Refused("use of `%s`" % node.id, line)
        elif isinstance(node, ast.Attribute):
            a = node.attr
            low = a.lower()
            if a.startswith("_") or a in FORBIDDEN_ATTRS or low.startswith("export") or low.startswith("import"):
                raise Refused("access to attribute `.%s`" % a, line)
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await)):
            raise Refused("`%s` statement" % type(node).__name__.lower(), line)


def safe_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level or name.split(".")[0] not in ALLOWED_MODULES:
        raise ImportError("import of %s is not allowed in generated code" % name)
    return builtins.__import__(name, globals, locals, fromlist, level)


def restricted_builtins():
    b = {k: getattr(builtins, k) for k in SAFE_BUILTINS}
    b["__import__"] = safe_import
    b["__build_class__"] = builtins.__build_class__
    return b


# ---- running a script ------------------------------------------------------------------


def prepare(code):
    """The metric's own normalisation (iou_ref.py load()), remembering how many lines strip() took."""
    dedented = textwrap.dedent(code)
    stripped = dedented.strip()
    offset = dedented[: len(dedented) - len(dedented.lstrip())].count("\n")
    return stripped, offset


def script_line(tb, offset):
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == SCRIPT:
            line = lineno
    return None if line is None else line + offset


def on_alarm(signum, frame):
    raise JobTimeout()


def run_script(code, untrusted, out):
    """Executes a script; returns its namespace. Raises ScriptFailure with a user-facing line."""
    text, offset = prepare(code)
    try:
        tree = ast.parse(text, SCRIPT)
    except SyntaxError as e:
        line = None if e.lineno is None else e.lineno + offset
        raise ScriptFailure("SyntaxError", e.msg, line)
    if untrusted:
        try:
            check_untrusted(tree)
        except Refused as e:
            line = None if e.line is None else e.line + offset
            raise ScriptFailure("Refused", "%s is not allowed in generated code" % e, line)
    try:
        compiled = compile(tree, SCRIPT, "exec")
    except SyntaxError as e:
        raise ScriptFailure("SyntaxError", e.msg, None if e.lineno is None else e.lineno + offset)
    ns = {"cq": cq, "cadquery": cq, "np": np, "numpy": np}
    if untrusted:
        ns = {"cq": cq, "cadquery": cq, "__builtins__": restricted_builtins()}
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out
    try:
        exec(compiled, ns)
    except JobTimeout:
        raise
    except MemoryError as e:
        raise ScriptFailure("MemoryLimit", "the script ran out of memory (limit %s): %s"
                            % (MEMORY_LIMIT_TEXT, e or "MemoryError"), script_line(e.__traceback__, offset))
    except BaseException as e:
        msg = str(e) if str(e) else type(e).__name__
        raise ScriptFailure(type(e).__name__, msg, script_line(e.__traceback__, offset))
    finally:
        sys.stdout, sys.stderr = saved
    return ns


def pick_result(ns):
    """The result object exactly as the field's metric chooses it (iou_ref.py load())."""
    found = [(k, v) for k, v in ns.items() if isinstance(v, (cq.Workplane, cq.Solid, cq.Compound))]
    if not found:
        raise ScriptFailure("NoResult", "no CadQuery object (Workplane, Solid or Compound) is left in the script's namespace")
    pick = found[0]
    for name in PREFERRED:
        hit = [f for f in found if f[0] == name]
        if hit:
            pick = hit[0]
            break
    name, obj = pick
    if isinstance(obj, cq.Workplane):
        obj = obj.val()
    if hasattr(obj, "Solids"):
        s = obj.Solids()
        if len(s) == 1:
            obj = s[0]
        elif not s:
            raise ScriptFailure("NoResult", "`%s` holds no solid" % name)
    if not isinstance(obj, (cq.Solid, cq.Compound)):
        raise ScriptFailure("NoResult", "`%s` is not a solid but a %s" % (name, type(obj).__name__))
    return name, obj


def facts(obj):
    c = obj.Center()
    bb = obj.BoundingBox()
    return {
        "volume": obj.Volume(),
        "centroid": [c.x, c.y, c.z],
        "inertia": [list(r) for r in cq.Shape.matrixOfInertia(obj)],
        "bbox": {"min": [bb.xmin, bb.ymin, bb.zmin], "max": [bb.xmax, bb.ymax, bb.zmax]},
        "valid": bool(obj.isValid()),
        "solids": len(obj.Solids()),
    }


def pack(arr, dtype, wire):
    a = np.asarray(arr, dtype=dtype)
    if wire == "json":
        return a.reshape(-1).tolist()
    return base64.b64encode(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()).decode("ascii")


def diagonal(obj):
    bb = obj.BoundingBox()
    return max(bb.DiagonalLength, 1e-9)


def mesh(obj, opts, wire):
    tol = opts["tolerance"] if opts["tolerance"] > 0 else 1e-3 * diagonal(obj)
    obj.mesh(tol, opts["angular_tolerance"])
    verts, tris, face_ids, planar = [], [], [], []
    offset = 0
    for fi, f in enumerate(obj.Faces()):
        planar.append(f.geomType() == "PLANE")
        loc = TopLoc_Location()
        poly = BRep_Tool.Triangulation_s(f.wrapped, loc)
        if poly is None:
            continue
        trsf = loc.Transformation()
        n = poly.NbNodes()
        for i in range(1, n + 1):
            p = poly.Node(i).Transformed(trsf)
            verts.append((p.X(), p.Y(), p.Z()))
        rev = f.wrapped.Orientation() == TopAbs_REVERSED
        for t in poly.Triangles():
            a, b, c = t.Value(1), t.Value(2), t.Value(3)
            tris.append((a + offset - 1, c + offset - 1, b + offset - 1) if rev else (a + offset - 1, b + offset - 1, c + offset - 1))
            face_ids.append(fi)
        offset += n
    return {
        "vertices": pack(verts, np.float64, wire),
        "triangles": pack(tris, np.uint32, wire),
        "face_ids": pack(face_ids, np.uint32, wire),
        "face_is_planar": planar,
    }


def edges(obj, wire):
    # ~0.25 px chord error and 3 degree turns when the part spans ~400 px of a 448 px picture
    curv = 6e-4 * diagonal(obj)
    pts, counts = [], []
    for e in obj.Edges():
        if BRep_Tool.Degenerated_s(e.wrapped):
            continue
        if e.geomType() == "LINE":
            a, b = e.startPoint(), e.endPoint()
            pts += [(a.x, a.y, a.z), (b.x, b.y, b.z)]
            counts.append(2)
            continue
        curve = BRepAdaptor_Curve(e.wrapped)
        d = GCPnts_TangentialDeflection(curve, 0.05, curv, 2)
        n = d.NbPoints()
        for i in range(1, n + 1):
            p = d.Value(i)
            pts.append((p.X(), p.Y(), p.Z()))
        counts.append(n)
    return {"points": pack(pts, np.float64, wire), "counts": pack(counts, np.uint32, wire)}


def iou_vol(gt, pr):
    """CAD-Coder's IoU_vol, as ../shared/tools/iou_ref.py computes it (kept verbatim)."""
    def norm(s):
        c = cq.Shape.centerOfMass(s)
        I = np.array(cq.Shape.matrixOfInertia(s))
        w, v = np.linalg.eigh(I)
        k = np.sqrt(np.abs(w).sum() / cq.Shape.computeMass(s))
        return s.translate(-c).scale(1 / k), v
    ng, vg = norm(gt)
    np_, vp = norm(pr)
    best = 0.0
    flips = [np.ones(3)] + [1 - 2 * np.array([i > 0, (i + 1) % 2, i % 3 <= 1]) for i in range(3)]
    for f in flips:
        T = np.eye(4)
        T[:3, :3] = vg @ (f[None, :] * vp).T
        a = np_.transformGeometry(cq.Matrix(T.tolist()))
        try:
            v = a.intersect(ng).Volume() / a.fuse(ng).Volume()
        except Exception:
            v = 0.0
        best = max(best, v)
    return float(best)


def build(code, untrusted, out):
    t = time.perf_counter()
    ns = run_script(code, untrusted, out)
    name, obj = pick_result(ns)
    return name, obj, time.perf_counter() - t


def handle(job, out):
    op = job["op"]
    wire = job.get("wire", "b64")
    if op == "execute":
        name, obj, exec_s = build(job["code"], job.get("untrusted", False), out)
        reply = {"ok": True, "result_name": name, "facts": facts(obj), "exec_s": exec_s}
        if job.get("mesh"):
            reply["mesh"] = mesh(obj, job["mesh"], wire)
        if job.get("edges"):
            reply["edges"] = edges(obj, wire)
        return reply
    if op == "export":
        name, obj, exec_s = build(job["code"], job.get("untrusted", False), out)
        cq.exporters.export(obj, job["path"], job["format"].upper())
        return {"ok": True, "result_name": name, "exec_s": exec_s}
    if op == "iou_vol":
        _, gt, _ = build(job["ground_truth"], False, out)
        _, pr, exec_s = build(job["prediction"], True, out)
        return {"ok": True, "iou_vol": iou_vol(gt, pr), "exec_s": exec_s}
    raise ScriptFailure("Protocol", "unknown job kind %r" % op)


def set_cpu_budget(seconds):
    """RLIMIT_CPU counts the worker's whole life, so each job gets `seconds` more than used so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(ru.ru_utime + ru.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def memory_limit_text():
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return "none" if soft == resource.RLIM_INFINITY else "%.1f GiB" % (soft / 2**30)


MEMORY_LIMIT_TEXT = memory_limit_text()


def serve():
    signal.signal(signal.SIGALRM, on_alarm)
    base = os.getcwd()
    send({"ready": True, "python": sys.executable, "python_version": sys.version.split()[0],
          "cadquery": cq.__version__, "import_s": IMPORT_S, "pid": os.getpid()})
    for line in sys.stdin.buffer:
        job = json.loads(line)
        t = time.perf_counter()
        out = CappedOutput()
        jobdir = tempfile.mkdtemp(prefix="job-", dir=base)
        os.chdir(jobdir)
        timeout = float(job.get("timeout_s", 10.0))
        set_cpu_budget(timeout + 1)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            reply = handle(job, out)
        except JobTimeout:
            reply = {"ok": False, "error": {"kind": "Timeout", "message": "the script ran longer than %g s" % timeout, "line": None}}
        except ScriptFailure as e:
            reply = {"ok": False, "error": {"kind": e.kind, "message": e.message, "line": e.line}}
        except MemoryError:
            reply = {"ok": False, "error": {"kind": "MemoryLimit", "message": "out of memory (limit %s) while measuring the result" % MEMORY_LIMIT_TEXT, "line": None}}
        except Exception as e:
            reply = {"ok": False, "error": {"kind": type(e).__name__, "message": "while measuring the result: %s" % e, "line": None}}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            os.chdir(base)
            shutil.rmtree(jobdir, ignore_errors=True)
        reply["id"] = job["id"]
        reply["output"] = out.text()
        reply["output_dropped"] = out.dropped
        reply["worker_s"] = time.perf_counter() - t
        send(reply)


if __name__ == "__main__":
    serve()
