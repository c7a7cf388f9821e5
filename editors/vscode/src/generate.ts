// "CadQuery: Generate from Image…": pick a picture, ask the server's `cadquery.generate` for
// candidates with work-done progress, show them beside the editor, and let a click swap the code.
import * as crypto from "crypto";
import * as path from "path";
import * as vscode from "vscode";
import { ExecuteCommandRequest, WorkDoneProgress } from "vscode-languageclient/node";
import { isCadQueryDocument } from "./cadqueryDocuments";
import { Candidate, parseGenerateResult } from "./candidates";
import { CandidatesPanel } from "./candidatesPanel";
import { CadQueryServer, SERVER_GENERATE_COMMAND } from "./server";

const CANCELLED = Symbol("cancelled");

/** Asks the user for a picture; replaceable so tests can answer without a dialog. */
export type ImagePicker = () => Promise<vscode.Uri | undefined>;

export const pickImageWithDialog: ImagePicker = async () => {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: "Generate CadQuery",
    title: "Picture of the part",
    filters: { Images: ["png", "jpg", "jpeg"] },
  });
  return picked?.[0];
};

export class GenerateCommand {
  pickImage: ImagePicker = pickImageWithDialog;

  constructor(
    private readonly server: CadQueryServer,
    private readonly panel: CandidatesPanel,
  ) {}

  /** `image` is set when run from the explorer's context menu on a picture. */
  async run(image?: vscode.Uri): Promise<Candidate[] | undefined> {
    image ??= await this.pickImage();
    if (!image) return undefined;
    if (image.scheme !== "file") {
      void vscode.window.showErrorMessage(`CadQuery can only read pictures from disk, not ${image.toString()}.`);
      return undefined;
    }
    const client = await this.server.ensureStarted();
    if (!client) return undefined; // start-up already told the user why
    if (!this.server.offersGenerate()) {
      void vscode.window.showErrorMessage(
        `This cadquery-lsp server (${this.server.binaryPath}) does not offer generation ` +
          `(no \`${SERVER_GENERATE_COMMAND}\` command): update the server.`,
      );
      return undefined;
    }
    const editor = await targetEditor();
    const document = editor.document;
    const position = editor.selection.active;

    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `CadQuery: generating from ${path.basename(image.fsPath)}`,
        cancellable: true,
      },
      async (progress, cancel) => {
        const token = `cadquery-generate-${crypto.randomUUID()}`;
        let done = 0;
        const listener = client.onProgress(WorkDoneProgress.type, token, (value) => {
          if (value.kind === "end") return;
          const pct = value.percentage ?? done;
          progress.report({ message: value.message, increment: Math.max(0, pct - done) });
          done = Math.max(done, pct);
        });
        try {
          return await client.sendRequest(
            ExecuteCommandRequest.type,
            {
              command: SERVER_GENERATE_COMMAND,
              arguments: [
                {
                  image: image.fsPath,
                  uri: client.code2ProtocolConverter.asUri(document.uri),
                  position: { line: position.line, character: position.character },
                },
              ],
              workDoneToken: token,
            },
            cancel,
          );
        } catch (e) {
          if (cancel.isCancellationRequested) return CANCELLED;
          throw e;
        } finally {
          listener.dispose();
        }
      },
    );
    if (result === CANCELLED) return undefined;
    const candidates = parseGenerateResult(result);
    if (candidates.length === 0) {
      void vscode.window.showWarningMessage(
        `No candidate for ${path.basename(image.fsPath)} executed and matched the picture; ` +
          "try a larger budget (cadquery.generationBudgetMs) or a cleaner picture.",
      );
      return candidates;
    }
    // The server applies the best candidate itself (workspace/applyEdit against the version it
    // computed for); the panel then swaps whole candidates in place.
    this.panel.show({ image, candidates, chosen: 0 }, (index) => swapCandidate(document, candidates, index, this.panel));
    return candidates;
  }
}

/**
 * The active CadQuery editor, or a new CadQuery document for the code to go into: the server
 * only knows documents that import cadquery, and it edits the document it generated for.
 */
async function targetEditor(): Promise<vscode.TextEditor> {
  const active = vscode.window.activeTextEditor;
  if (active && isCadQueryDocument(active.document)) return active;
  const content = "import cadquery as cq\n\n";
  const document = await vscode.workspace.openTextDocument({ language: "python", content });
  const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  const end = document.positionAt(content.length);
  editor.selection = new vscode.Selection(end, end);
  return editor;
}

/** Replaces the code of the candidate now in the document by candidate `index`'s. */
async function swapCandidate(
  document: vscode.TextDocument,
  candidates: Candidate[],
  index: number,
  panel: CandidatesPanel,
): Promise<boolean> {
  const chosen = panel.current?.chosen ?? 0;
  const text = document.getText();
  const at = text.indexOf(candidates[chosen].code);
  if (at < 0) {
    void vscode.window.showWarningMessage(
      `Candidate #${chosen + 1} is no longer in ${path.basename(document.fileName)} as generated ` +
        "(it was edited), so it is not replaced: copy the code from the panel instead.",
    );
    return false;
  }
  const range = new vscode.Range(document.positionAt(at), document.positionAt(at + candidates[chosen].code.length));
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, range, candidates[index].code);
  return vscode.workspace.applyEdit(edit);
}
