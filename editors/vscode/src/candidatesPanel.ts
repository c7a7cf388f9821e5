// The side panel of a generation: the input picture beside each candidate's render, score and
// code. Clicking a candidate asks the extension to put that candidate's code in the editor.
import * as crypto from "crypto";
import * as path from "path";
import * as vscode from "vscode";
import { Candidate } from "./candidates";

export interface Generation {
  image: vscode.Uri;
  candidates: Candidate[];
  /** Index of the candidate whose code is in the document now. */
  chosen: number;
}

type Choose = (index: number) => Promise<boolean>;

export class CandidatesPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private generation: Generation | undefined;
  private choose: Choose | undefined;

  /** Shows (or refreshes) the panel beside the editor. */
  show(generation: Generation, choose: Choose): void {
    this.generation = generation;
    this.choose = choose;
    const roots = [vscode.Uri.file(path.dirname(generation.image.fsPath))];
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(
        "cadquery.candidates",
        "CadQuery candidates",
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: true, localResourceRoots: roots },
      );
      this.panel.onDidDispose(() => (this.panel = undefined));
      this.panel.webview.onDidReceiveMessage((message) => this.onMessage(message));
    } else {
      this.panel.webview.options = { enableScripts: true, localResourceRoots: roots };
      this.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    this.panel.title = `CadQuery: ${path.basename(generation.image.fsPath)}`;
    this.render();
  }

  get visible(): boolean {
    return this.panel !== undefined;
  }

  get current(): Generation | undefined {
    return this.generation;
  }

  private async onMessage(message: unknown): Promise<void> {
    const index = (message as { use?: unknown })?.use;
    if (typeof index !== "number" || !this.generation || !this.choose) return;
    if (await this.choose(index)) {
      this.generation.chosen = index;
      this.render();
    }
  }

  private render(): void {
    if (!this.panel || !this.generation) return;
    const webview = this.panel.webview;
    const nonce = crypto.randomBytes(16).toString("base64");
    const { image, candidates, chosen } = this.generation;
    const cards = candidates
      .map((c, i) => {
        const render = c.render
          ? `<img class="render" src="${escape(c.render)}" alt="render of candidate ${i + 1}">`
          : `<div class="render missing">no render</div>`;
        return `<li class="card${i === chosen ? " chosen" : ""}" data-index="${i}" tabindex="0"
            title="Put this candidate's code in the editor">
          <div class="pictures">
            <img class="input" src="${webview.asWebviewUri(image)}" alt="input picture">${render}
          </div>
          <div class="meta"><b>#${i + 1}</b> score ${(c.score * 100).toFixed(1)}%${i === chosen ? " · in the editor" : ""}</div>
          <pre>${escape(c.code)}</pre>
        </li>`;
      })
      .join("\n");
    webview.html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource} data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
  ul { list-style: none; padding: 0; margin: 0; }
  .card { border: 1px solid var(--vscode-panel-border); border-radius: 4px; padding: 8px; margin-bottom: 10px; cursor: pointer; }
  .card:hover, .card:focus { border-color: var(--vscode-focusBorder); }
  .card.chosen { border: 2px solid var(--vscode-focusBorder); }
  .pictures { display: flex; gap: 6px; }
  .pictures img, .missing { width: 48%; max-width: 224px; aspect-ratio: 1; background: white; object-fit: contain; }
  .missing { display: flex; align-items: center; justify-content: center; color: #666; }
  pre { max-height: 9em; overflow: auto; font-size: 11px; background: var(--vscode-textCodeBlock-background); padding: 4px; }
</style></head>
<body>
  <p>${candidates.length} candidate${candidates.length === 1 ? "" : "s"} for ${escape(path.basename(image.fsPath))}
     (input left, candidate right). Click one to put its code in the editor.</p>
  <ul>${cards}</ul>
  <script nonce="${nonce}">
    const vscode = acquireVsCodeApi();
    for (const card of document.querySelectorAll(".card")) {
      const use = () => vscode.postMessage({ use: Number(card.dataset.index) });
      card.addEventListener("click", use);
      card.addEventListener("keydown", (e) => { if (e.key === "Enter") use(); });
    }
  </script>
</body></html>`;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
