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
    await vscode.commands.executeCommand("workbench.actions.view.problems");
    await screenshot("vscode-diagnostics");
  });

  suite.test("fixing the error clears the diagnostic (edits reach the server)", async () => {
    const doc = await vscode.workspace.openTextDocument(file("part_syntax_error.py"));
    assert(
      serverDiagnostics(doc.uri).some((d) => d.range.start.line === 3),
      "no diagnostic on line 4 to start from (the previous test failed?)",
    );
    const line = doc.lineAt(3);
    const fixed = line.text.replace("6))", "6)");
    assert(fixed !== line.text, "the fixture no longer has its extra parenthesis");
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, line.range, fixed);
    assert(await vscode.workspace.applyEdit(edit), "the edit was refused");
    await waitFor("the diagnostic to clear", SERVER_TIMEOUT_MS, () =>
      serverDiagnostics(doc.uri).every((d) => d.range.start.line !== 3) ? true : undefined,
    );
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

/** Asks the harness for a screenshot of the window now, and waits until it is taken. */
async function screenshot(name: string): Promise<void> {
  const dir = process.env.CADQUERY_EDITOR_SCREENSHOTS;
  if (!dir) return;
  await new Promise((r) => setTimeout(r, 1_500)); // let the workbench paint
  const request = path.join(dir, `${name}.request`);
  fs.writeFileSync(request, "");
  await waitFor(`the harness to take ${name}.png`, 15_000, () => (fs.existsSync(request) ? undefined : true));
}
