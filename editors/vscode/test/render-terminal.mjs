#!/usr/bin/env node
// Draws a terminal recording (the bytes a TUI wrote, see editors/nvim/test/capture_tui.py) with
// xterm.js in headless chromium and saves it as a PNG: how the README gets a real picture of
// Neovim in use.
//
// node test/render-terminal.mjs RECORDING COLS ROWS OUT.png [--chromium /usr/bin/chromium]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { chromium: { type: "string", default: process.env.CHROMIUM ?? "/usr/bin/chromium" } },
});
const [recording, cols, rows, out] = positionals;
if (!out) {
  console.error("usage: render-terminal.mjs RECORDING COLS ROWS OUT.png");
  process.exit(2);
}
const { chromium } = await import("playwright-core");
const xtermDir = path.dirname(path.dirname(require.resolve("@xterm/xterm")));
const script = fs.readFileSync(path.join(xtermDir, "lib", "xterm.js"), "utf8");
const css = fs.readFileSync(path.join(xtermDir, "css", "xterm.css"), "utf8");
const bytes = fs.readFileSync(recording).toString("base64");

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "render-terminal-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: opts.chromium,
  headless: true,
  viewport: { width: 1600, height: 1000 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.setContent(`<!DOCTYPE html><html><head><style>${css}
    body { margin: 0; background: #1e1e1e; } #t { display: inline-block; padding: 8px; background: #14161b; }</style>
    </head><body><div id="t"></div></body></html>`);
  await page.addScriptTag({ content: script });
  await page.evaluate(
    ({ cols, rows, bytes }) =>
      new Promise((resolve) => {
        const term = new window.Terminal({
          cols,
          rows,
          fontFamily: "DejaVu Sans Mono, monospace",
          fontSize: 14,
          theme: { background: "#14161b" },
          allowProposedApi: true,
        });
        term.open(document.getElementById("t"));
        const data = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
        term.write(data, () => setTimeout(resolve, 200));
      }),
    { cols: Number(cols), rows: Number(rows), bytes },
  );
  await page.locator("#t").screenshot({ path: out });
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
