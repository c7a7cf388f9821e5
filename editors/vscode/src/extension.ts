// Entry point. VS Code activates the extension on any Python file; the server is started only
// when a Python file that imports cadquery is open (or a CadQuery command is run).
import * as vscode from "vscode";
import { isCadQueryDocument } from "./cadqueryDocuments";
import { CandidatesPanel } from "./candidatesPanel";
import { GenerateCommand, ImagePicker } from "./generate";
import { CadQueryServer } from "./server";
import { needsRestart, SECTION } from "./settings";
import { StatusBar } from "./statusBar";

/** What `activate` returns: a small surface for the extension's own tests. */
export interface CadQueryApi {
  server: CadQueryServer;
  status: StatusBar;
  panel: CandidatesPanel;
  setImagePicker(picker: ImagePicker): void;
}

let running: CadQueryServer | undefined;

export function activate(context: vscode.ExtensionContext): CadQueryApi {
  const output = vscode.window.createOutputChannel("CadQuery", { log: true });
  const status = new StatusBar("cadquery.showLog");
  const server = new CadQueryServer(output, status);
  running = server;
  const panel = new CandidatesPanel();
  const generate = new GenerateCommand(server, panel);
  context.subscriptions.push(output, status, server, panel);

  const startIfCadQuery = (doc: vscode.TextDocument) => {
    if (isCadQueryDocument(doc)) server.autoStart();
  };
  vscode.workspace.textDocuments.forEach(startIfCadQuery);

  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument(startIfCadQuery),
    // A file may gain its `import cadquery` while it is being written.
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (!server.running && e.contentChanges.length > 0) startIfCadQuery(e.document);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (needsRestart(e)) void server.restart();
      else if (e.affectsConfiguration(SECTION)) server.notifySettingsChanged();
    }),
    vscode.commands.registerCommand("cadquery.generateFromImage", (image?: vscode.Uri) =>
      generate.run(image).catch((e) => {
        void vscode.window.showErrorMessage(`CadQuery generation failed: ${e instanceof Error ? e.message : e}`);
      }),
    ),
    vscode.commands.registerCommand("cadquery.restartServer", () => server.restart()),
    vscode.commands.registerCommand("cadquery.showLog", () => output.show(true)),
  );

  return {
    server,
    status,
    panel,
    setImagePicker: (picker) => (generate.pickImage = picker),
  };
}

export function deactivate(): Promise<void> | undefined {
  return running?.stop();
}
