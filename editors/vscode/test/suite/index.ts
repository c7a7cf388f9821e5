// The extension's tests, run inside a real VS Code extension host (test/run-in-code-server.mjs)
// against the real `cadquery-lsp serve`. The workspace is a copy of editors/fixtures/workspace.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import type { CadQueryApi } from "../../src/extension";
import { assert, pending, Suite, waitFor } from "./runner";

const EXTENSION_ID = "cadquery-lsp.cadquery-lsp";
const SERVER_TIMEOUT_MS = 30_000;

export async function run(): Promise<void> {
  const suite = new Suite();
  let api: CadQueryApi | undefined;
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri;
  const file = (name: string) => vscode.Uri.joinPath(workspace!, name);

  // What the status bar showed over the run, sampled: the server's progress passes quickly.
  const statusSeen = new Set<string>();
  const sampler = setInterval(() => api && statusSeen.add(api.status.text), 50);

  suite.test("opening a CadQuery file activates the extension and starts the server", async () => {
    assert(workspace, "the harness opened no workspace folder");
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file("part_ok.py")));
    const extension = vscode.extensions.getExtension<CadQueryApi>(EXTENSION_ID);
    assert(extension, `extension ${EXTENSION_ID} is not installed in this host`);
    api = await waitFor("the extension to activate", 10_000, () => (extension.isActive ? extension.exports : undefined));
    await waitFor("the server to run", SERVER_TIMEOUT_MS, () => api!.server.running);
    assert(api.status.text.includes("$(check)"), `status bar says ${api.status.text}, not running`);
  });

  suite.test("a syntax error gets a diagnostic from cadquery-lsp on its line", async () => {
    const doc = await vscode.workspace.openTextDocument(file("part_syntax_error.py"));
    await vscode.window.showTextDocument(doc);
    const diagnostics = await waitFor("a cadquery-lsp diagnostic", SERVER_TIMEOUT_MS, () => {
      const ours = serverDiagnostics(doc.uri);
      return ours.length > 0 ? ours : undefined;
    });
    const onLine = diagnostics.filter((d) => d.range.start.line === 3 && d.severity === vscode.DiagnosticSeverity.Error);
    assert(onLine.length > 0, `no error on line 4; got ${describe(diagnostics)}`);
    if (process.env.CADQUERY_EDITOR_SCREENSHOTS) {
      // For the README: the Problems panel, the message in a hover, the server idle.
      await vscode.commands.executeCommand("workbench.actions.view.problems");
      await vscode.commands.executeCommand("workbench.action.closeAuxiliaryBar");
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(onLine[0].range.start, onLine[0].range.start);
      // The server starts its CadQuery runtime shortly after the first document: let it finish.
      const busy = () => api!.status.text.includes("~spin");
      await waitFor("the server to get busy", 5_000, () => (busy() ? true : undefined)).catch(() => undefined);
      await waitFor("the server to be idle", 60_000, () => (busy() ? undefined : true)).catch(() => undefined);
      await vscode.commands.executeCommand("editor.action.showHover");
      await screenshot("vscode-diagnostics");
    }
  });

  suite.test("the server's quick fix removes the stray parenthesis and the diagnostic clears", async () => {
    const doc = await vscode.workspace.openTextDocument(file("part_syntax_error.py"));
    const diagnostic = serverDiagnostics(doc.uri).find((d) => d.range.start.line === 3);
    assert(diagnostic, "no diagnostic on line 4 to start from (the previous test failed?)");
    const actions =
      (await vscode.commands.executeCommand<vscode.CodeAction[]>(
        "vscode.executeCodeActionProvider",
        doc.uri,
        diagnostic.range,
        vscode.CodeActionKind.QuickFix.value,
      )) ?? [];
    // The workbench adds its own actions (Copilot's "Fix", "Explain"): those run commands, the
    // server's carry an edit.
    const fix = actions.find((a) => a.edit && a.edit.size > 0);
    assert(fix?.edit, `no quick fix from cadquery-lsp; actions: ${actions.map((a) => a.title).join("; ") || "none"}`);
    assert(await vscode.workspace.applyEdit(fix.edit), `the quick fix "${fix.title}" was refused`);
    assert(doc.lineAt(3).text.includes("box(40, 30, 6).faces"), `after "${fix.title}": ${doc.lineAt(3).text}`);
    await waitFor("the diagnostic to clear", SERVER_TIMEOUT_MS, () =>
      serverDiagnostics(doc.uri).every((d) => d.range.start.line !== 3) ? true : undefined,
    );
  });

  suite.test("edits reach the server: breaking the line brings the diagnostic back, repairing clears it", async () => {
    const doc = await vscode.workspace.openTextDocument(file("part_syntax_error.py"));
    const edit = (from: string, to: string) => {
      const line = doc.lineAt(3);
      assert(line.text.includes(from), `line 4 has no ${from}: ${line.text}`);
      const change = new vscode.WorkspaceEdit();
      change.replace(doc.uri, line.range, line.text.replace(from, to));
      return vscode.workspace.applyEdit(change);
    };
    const onLine4 = () => serverDiagnostics(doc.uri).some((d) => d.range.start.line === 3);
    assert(await edit("6).faces", "6)).faces"), "the breaking edit was refused");
    await waitFor("the diagnostic to come back", SERVER_TIMEOUT_MS, () => (onLine4() ? true : undefined));
    assert(await edit("6)).faces", "6).faces"), "the repairing edit was refused");
    await waitFor("the diagnostic to clear", SERVER_TIMEOUT_MS, () => (onLine4() ? undefined : true));
  });

  suite.test("the status bar shows the server's progress (its CadQuery runtime starting), then idle", async () => {
    assert(api, "the extension did not activate");
    const busy = (text: string) => text.startsWith("$(sync~spin) CadQuery: ");
    await waitFor("progress in the status bar", SERVER_TIMEOUT_MS, () => ([...statusSeen].some(busy) ? true : undefined));
    await waitFor("the status bar to be idle", 120_000, () => (api!.status.text === "$(check) CadQuery" ? true : undefined));
  });

  suite.test("a Python file without cadquery is not sent to the server", async () => {
    const plain = await vscode.workspace.openTextDocument(file("plain.py"));
    await vscode.window.showTextDocument(plain);
    // Then a CadQuery file with the same mistake: once its diagnostic is back, the server has
    // had every chance to diagnose plain.py too.
    const witness = await vscode.workspace.openTextDocument({
      language: "python",
      content: "import cadquery as cq\nvalue = max(1, 2))\n",
    });
    await waitFor("a diagnostic on the CadQuery witness", SERVER_TIMEOUT_MS, () =>
      serverDiagnostics(witness.uri).length > 0 ? true : undefined,
    );
    const leaked = serverDiagnostics(plain.uri);
    assert(leaked.length === 0, `the server diagnosed plain.py: ${describe(leaked)}`);
  });

  // Fixture candidates, labelled as such: this drives the panel's own behaviour (render, click,
  // swap), not generation, which the next test covers once the server offers it.
  suite.test("clicking a candidate in the panel puts its code in place of the previous one", async () => {
    assert(api, "the extension did not activate");
    const first = "result = cq.Workplane().box(1, 1, 1)  # fixture candidate A\n";
    const second = "result = cq.Workplane().cylinder(2, 1)  # fixture candidate B\n";
    const doc = await vscode.workspace.openTextDocument({ language: "python", content: `import cadquery as cq\n${first}` });
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const picture = file("input.png");
    await vscode.workspace.fs.writeFile(picture, Buffer.from(ONE_PIXEL_PNG, "base64"));
    api.showCandidates(doc, picture, [
      { code: first, score: 0.9 },
      { code: second, score: 0.4, render: `data:image/png;base64,${ONE_PIXEL_PNG}` },
    ]);
    assert(api.panel.visible, "the panel did not open");
    await request("click", '.card[data-index="1"]');
    await waitFor("candidate B in the editor", 20_000, () =>
      doc.getText() === `import cadquery as cq\n${second}` ? true : undefined,
    );
    assert(api.panel.current?.chosen === 1, `the panel marks #${(api.panel.current?.chosen ?? -1) + 1} as chosen`);
    await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
  });

  suite.test("generate from image puts code that builds in the editor", async () => {
    assert(api, "the extension did not activate");
    if (!api.server.offersGenerate()) {
      pending("the server does not offer cadquery.generate yet (the generation pipeline is not built)");
    }
    const shared = process.env.CADQUERY_LSP_SHARED;
    if (!shared) pending("CADQUERY_LSP_SHARED is not set: no example picture to generate from");
    const dev = path.join(shared, "data", "gencad-dev");
    const png = fs.readdirSync(dev).filter((f) => f.endsWith(".png")).sort()[0];
    assert(png, `no .png in ${dev}`);
    const doc = await vscode.workspace.openTextDocument(file("generated.py"));
    const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const end = doc.lineAt(doc.lineCount - 1).range.end;
    editor.selection = new vscode.Selection(end, end);
    api.setImagePicker(async () => vscode.Uri.file(path.join(dev, png)));
    const candidates = (await vscode.commands.executeCommand("cadquery.generateFromImage")) as
      | { code: string; score: number }[]
      | undefined;
    assert(candidates && candidates.length > 0, `the command returned no candidates: ${JSON.stringify(candidates)}`);
    await waitFor("the best candidate in the editor", SERVER_TIMEOUT_MS, () =>
      doc.getText().includes(candidates[0].code) ? true : undefined,
    );
    assert(api.panel.visible, "the candidates panel is not shown");
    const shown = api.panel.current?.candidates ?? [];
    assert(shown.length === candidates.length, `the panel shows ${shown.length} of ${candidates.length} candidates`);
    assert(
      shown.every((c) => c.render?.startsWith("data:image/png;base64,")),
      "every candidate in the panel has the server's render",
    );
    await doc.save();
    // Saving runs the script in the server: valid code leaves no error behind.
    await new Promise((r) => setTimeout(r, 5_000));
    const errors = serverDiagnostics(doc.uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
    assert(errors.length === 0, `the generated code has errors: ${describe(errors)}`);
    await screenshot("vscode-generate");
  });

  // Last: it replaces the server by a path that does not exist.
  suite.test("a server path that does not exist shows as failed in the status bar", async () => {
    assert(api, "the extension did not activate");
    const config = vscode.workspace.getConfiguration("cadquery");
    const previous = config.get<string>("serverPath");
    await config.update("serverPath", "/nonexistent/cadquery-lsp", vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor("the status bar to show the failure", 10_000, () =>
        api!.status.text.includes("$(error)") ? true : undefined,
      );
      assert(!api.server.running, "a server is still running after its binary went away");
    } finally {
      await config.update("serverPath", previous, vscode.ConfigurationTarget.Workspace);
    }
  });

  const outcomes = await suite.run(process.env.CADQUERY_EDITOR_TEST_RESULTS);
  clearInterval(sampler);
  const failed = outcomes.filter((o) => o.status === "failed");
  if (failed.length > 0) throw new Error(`${failed.length} test(s) failed: ${failed.map((o) => o.name).join("; ")}`);
}

function serverDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source?.startsWith("cadquery-lsp"));
}

function describe(diagnostics: vscode.Diagnostic[]): string {
  if (diagnostics.length === 0) return "none";
  return diagnostics.map((d) => `line ${d.range.start.line + 1} [${d.source}] ${d.message}`).join("; ");
}

const ONE_PIXEL_PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==";

/** Asks the harness to do something only the page can (`click` a selector), and waits for it. */
async function request(kind: "click", argument: string): Promise<void> {
  const dir = process.env.CADQUERY_EDITOR_REQUESTS;
  assert(dir, "CADQUERY_EDITOR_REQUESTS is not set: run the tests with test/run-in-code-server.mjs");
  const file = path.join(dir, `${Date.now()}.${kind}`);
  fs.writeFileSync(file, argument);
  await waitFor(`the harness to ${kind} ${argument}`, 20_000, () => (fs.existsSync(file) ? undefined : true));
}

/** Asks the harness for a screenshot of the window now, and waits until it is taken. */
async function screenshot(name: string): Promise<void> {
  const dir = process.env.CADQUERY_EDITOR_SCREENSHOTS;
  if (!dir) return;
  await new Promise((r) => setTimeout(r, 1_500)); // let the workbench paint
  const request = path.join(dir, `${name}.request`);
  fs.writeFileSync(request, "");
  await waitFor(`the harness to take ${name}.png`, 15_000, () => (fs.existsSync(request) ? undefined : true));
}
