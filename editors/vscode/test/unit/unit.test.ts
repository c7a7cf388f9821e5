// Plain-Node tests of the parts that need no editor: `npm run test:unit`.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { MalformedResult, parseGenerateResult } from "../../src/candidates";
import { importsCadQuery } from "../../src/imports";
import { findServerBinary, ServerNotFound } from "../../src/serverBinary";

test("importsCadQuery sees the import forms CadQuery files use", () => {
  for (const text of [
    "import cadquery as cq\n",
    "import os, cadquery\n",
    "import numpy as np, cadquery as cq",
    "from cadquery import Workplane",
    "    from cadquery.occ_impl.shapes import Solid",
    "import cadquery.occ_impl.exporters",
    "'''doc'''\nimport cadquery  # CAD\n",
  ]) {
    assert.ok(importsCadQuery(text), text);
  }
});

test("importsCadQuery ignores look-alikes, comments and strings", () => {
  for (const text of [
    "import cadquery_extras",
    "from cadquery_extras import x",
    "# import cadquery",
    "x = 'import cadquery'",
    "import build123d as bd",
  ]) {
    assert.ok(!importsCadQuery(text), text);
  }
});

test("parseGenerateResult reads candidates and makes renders data URIs", () => {
  const [a, b] = parseGenerateResult({
    candidates: [
      { code: "import cadquery as cq\n", score: 0.9, render: "iVBORw0KGgo=" },
      { code: "x", score: 0.5, render: "data:image/png;base64,AAAA" },
    ],
  });
  assert.equal(a.render, "data:image/png;base64,iVBORw0KGgo=");
  assert.equal(b.render, "data:image/png;base64,AAAA");
  assert.deepEqual(parseGenerateResult({ candidates: [] }), []);
});

test("parseGenerateResult refuses answers it cannot use, saying what it got", () => {
  assert.throws(() => parseGenerateResult(null), MalformedResult);
  assert.throws(() => parseGenerateResult(["import cadquery"]), /not \{ candidates/);
  assert.throws(() => parseGenerateResult({ candidates: [{ code: "x" }] }), /candidate 0 has no code or score/);
});

test("findServerBinary: setting, then PATH, then the workspace's release before debug build", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "server-binary-"));
  const exe = (p: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, "#!/bin/sh\n", { mode: 0o755 });
    return p;
  };
  const saved = { PATH: process.env.PATH, CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR };
  try {
    delete process.env.CARGO_TARGET_DIR;
    process.env.PATH = path.join(tmp, "empty-bin");
    const ws = path.join(tmp, "ws");
    assert.throws(() => findServerBinary(undefined, [ws]), ServerNotFound);
    const debug = exe(path.join(ws, "target", "debug", "cadquery-lsp"));
    assert.deepEqual(findServerBinary(undefined, [ws]), { path: debug, origin: "workspace build" });
    const release = exe(path.join(ws, "target", "release", "cadquery-lsp"));
    assert.equal(findServerBinary(undefined, [ws]).path, release);
    const onPath = exe(path.join(tmp, "bin", "cadquery-lsp"));
    process.env.PATH = `${path.join(tmp, "empty-bin")}${path.delimiter}${path.dirname(onPath)}`;
    assert.deepEqual(findServerBinary(undefined, [ws]), { path: onPath, origin: "PATH" });
    assert.deepEqual(findServerBinary(debug, [ws]), { path: debug, origin: "setting" });
    assert.throws(() => findServerBinary(path.join(tmp, "nope"), [ws]), /not an executable file/);
    fs.chmodSync(debug, 0o644);
    assert.throws(() => findServerBinary(debug, [ws]), ServerNotFound);
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.CARGO_TARGET_DIR !== undefined) process.env.CARGO_TARGET_DIR = saved.CARGO_TARGET_DIR;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
