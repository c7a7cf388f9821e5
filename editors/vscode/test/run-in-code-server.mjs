#!/usr/bin/env node
// Runs the extension's tests in a real VS Code extension host, headless: the VS Code server that
// ships in the npm package code-server, driven by Debian's chromium through playwright-core.
// Exits non-zero when a test fails, when no test reported, or when the host never finished.
//
// node test/run-in-code-server.mjs --server /path/to/cadquery-lsp
//   [--code-server DIR] [--node NODE24] [--chromium /usr/bin/chromium]
//   [--screenshots DIR] [--summary FILE.json] [--timeout SECONDS] [--keep]
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const extensionDir = path.resolve(here, "..");

const { values: opts } = parseArgs({
  options: {
    server: { type: "string" },
    "code-server": { type: "string", default: process.env.CODE_SERVER_DIR },
    node: { type: "string", default: process.env.NODE24 },
    chromium: { type: "string", default: process.env.CHROMIUM ?? "/usr/bin/chromium" },
    screenshots: { type: "string" },
    summary: { type: "string" },
    timeout: { type: "string", default: "300" },
    keep: { type: "boolean", default: false },
  },
});

function fail(message) {
  console.error(`run-in-code-server: ${message}`);
  process.exit(2);
}

if (!opts.server || !fs.existsSync(opts.server)) fail(`--server must name the cadquery-lsp binary (got ${opts.server})`);
if (!opts["code-server"]) fail("--code-server (or CODE_SERVER_DIR) must name the code-server package directory");
const serverMain = path.join(opts["code-server"], "lib", "vscode", "out", "server-main.js");
if (!fs.existsSync(serverMain)) fail(`${serverMain} is missing: is ${opts["code-server"]} a code-server 4.x package?`);
if (!opts.node) fail("--node (or NODE24) must name a Node 24 binary: code-server's VS Code needs it");
if (!fs.existsSync(opts.chromium)) fail(`no chromium at ${opts.chromium}: apt-get install -y chromium`);
if (!fs.existsSync(path.join(extensionDir, "out", "extension.js"))) fail("the extension is not built: npm ci && npm run build");

const { chromium } = await import("playwright-core");

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cadquery-vscode-test-"));
const workspace = path.join(tmp, "workspace");
fs.cpSync(path.join(extensionDir, "..", "fixtures", "workspace"), workspace, { recursive: true });
fs.mkdirSync(path.join(workspace, ".vscode"));
fs.writeFileSync(
  path.join(workspace, ".vscode", "settings.json"),
  JSON.stringify(
    {
      "cadquery.serverPath": path.resolve(opts.server),
      "cadquery.trace.server": "messages",
      "workbench.startupEditor": "none",
      "workbench.tips.enabled": false,
      "telemetry.telemetryLevel": "off",
      "extensions.ignoreRecommendations": true,
      "security.workspace.trust.enabled": false,
    },
    null,
    2,
  ),
);
const resultsFile = path.join(tmp, "results.json");
const screenshotDir = opts.screenshots ? path.resolve(opts.screenshots) : path.join(tmp, "screenshots");
fs.mkdirSync(screenshotDir, { recursive: true });
const serverLog = fs.openSync(path.join(tmp, "vscode-server.log"), "w");
const hostLog = fs.createWriteStream(path.join(tmp, "workbench.log"));

const port = await freePort();
const vscodeServer = spawn(
  opts.node,
  [
    serverMain,
    "--host", "127.0.0.1",
    "--port", String(port),
    "--without-connection-token",
    "--accept-server-license-terms",
    "--enable-smoke-test-driver",
    "--disable-workspace-trust",
    "--server-data-dir", path.join(tmp, "server-data"),
  ],
  {
    // The extension host inherits this environment: it is how the tests find their files.
    env: {
      ...process.env,
      CADQUERY_EDITOR_TEST_RESULTS: resultsFile,
      CADQUERY_EDITOR_SCREENSHOTS: screenshotDir,
    },
    stdio: ["ignore", serverLog, serverLog],
    detached: true,
  },
);

let browser;
let exitCode;
let harnessError;
try {
  await waitForHttp(`http://127.0.0.1:${port}/`, 60_000);
  browser = await chromium.launchPersistentContext(path.join(tmp, "chromium-profile"), {
    executablePath: opts.chromium,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const exited = new Promise((resolve) => {
    void page.exposeFunction("codeAutomationExit", (code) => resolve(code));
  });
  await page.exposeFunction("codeAutomationLog", (type, args) => hostLog.write(`[${type}] ${JSON.stringify(args)}\n`));
  page.on("console", (m) => hostLog.write(`[console.${m.type()}] ${m.text()}\n`));
  page.on("pageerror", (e) => hostLog.write(`[pageerror] ${e}\n`));

  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const payload = [
    ["extensionDevelopmentPath", remote(extensionDir)],
    ["extensionTestsPath", remote(path.join(extensionDir, "out", "test", "suite"))],
  ];
  const url =
    `http://127.0.0.1:${port}/?folder=${encodeURIComponent(remote(workspace))}` +
    `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  await page.goto(url);

  const screenshots = servePicturesOnRequest(page, screenshotDir);
  const timeout = Number(opts.timeout) * 1000;
  exitCode = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), timeout))]);
  clearInterval(screenshots);
  if (exitCode === "timeout") {
    await page.screenshot({ path: path.join(tmp, "timeout.png") }).catch(() => undefined);
    console.error(`run-in-code-server: the extension host did not finish within ${opts.timeout} s`);
  }
} catch (e) {
  harnessError = e;
  console.error(`run-in-code-server: ${e?.stack ?? e}`);
} finally {
  await browser?.close().catch(() => undefined);
  try {
    process.kill(-vscodeServer.pid, "SIGTERM");
  } catch {
    // already gone
  }
  hostLog.end();
}

const outcomes = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, "utf8")) : [];
const count = (status) => outcomes.filter((o) => o.status === status).length;
for (const o of outcomes) {
  console.log(`vscode: [${o.status}] ${o.name} (${o.ms} ms)${o.detail ? `\n    ${o.detail.replace(/\n/g, "\n    ")}` : ""}`);
}
let failed = count("failed");
if (harnessError) {
  failed += 1;
} else if (outcomes.length === 0) {
  console.error("run-in-code-server: no test reported a result (the host did not load the suite?)");
  failed += 1;
} else if (exitCode !== 0 && failed === 0) {
  console.error(`run-in-code-server: the extension host exited with ${exitCode} though no test failed`);
  failed += 1;
}
const summary = { passed: count("passed"), failed, pending: count("pending") };
console.log(`vscode: ${summary.passed} passed, ${summary.failed} failed, ${summary.pending} pending`);
if (opts.summary) fs.writeFileSync(opts.summary, JSON.stringify(summary));
if (failed > 0 || opts.keep) console.error(`run-in-code-server: logs kept in ${tmp}`);
else fs.rmSync(tmp, { recursive: true, force: true });
process.exit(failed > 0 ? 1 : 0);

/** Takes a screenshot for each `NAME.request` file the tests leave, then removes the request. */
function servePicturesOnRequest(page, dir) {
  let busy = false;
  return setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".request"))) {
        await page.screenshot({ path: path.join(dir, f.replace(/\.request$/, ".png")) });
        fs.rmSync(path.join(dir, f));
      }
    } finally {
      busy = false;
    }
  }, 250);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (vscodeServer.exitCode !== null) throw new Error(`the VS Code server exited with ${vscodeServer.exitCode}; see ${tmp}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the VS Code server did not answer at ${url} within ${timeoutMs} ms`);
}
