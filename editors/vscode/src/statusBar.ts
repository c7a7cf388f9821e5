// One status bar item for the language server and the work it reports: the CadQuery runtime
// starting (a first use may install it), executions, generations. Clicking it shows the log.
import * as vscode from "vscode";

export type ServerState = "not started" | "starting" | "running" | "stopped" | "failed";

/** One piece of work-done progress the server reports ($/progress), as last seen. */
export interface Work {
  title: string;
  message?: string;
  percentage?: number;
}

const ICONS: Record<ServerState, string> = {
  "not started": "$(circle-outline)",
  starting: "$(sync~spin)",
  running: "$(check)",
  stopped: "$(circle-slash)",
  failed: "$(error)",
};

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("cadquery.status", vscode.StatusBarAlignment.Left, 10);
  private server: ServerState = "not started";
  private serverDetail = "";
  private readonly work = new Map<string, Work>();

  constructor(showLogCommand: string) {
    this.item.name = "CadQuery";
    this.item.command = showLogCommand;
    this.render();
  }

  setServer(state: ServerState, detail = ""): void {
    this.server = state;
    this.serverDetail = detail;
    if (state !== "running") this.work.clear();
    this.render();
  }

  /** Records the server's progress for `token`; `undefined` ends it. */
  setWork(token: string, work: Work | undefined): void {
    if (work) this.work.set(token, work);
    else this.work.delete(token);
    this.render();
  }

  /** The text shown, for tests and screenshots. */
  get text(): string {
    return this.item.text;
  }

  private render(): void {
    const busy = [...this.work.values()];
    const latest = busy[busy.length - 1];
    this.item.text = latest ? `$(sync~spin) CadQuery: ${latest.title}` : `${ICONS[this.server]} CadQuery`;
    const lines = [`Language server: ${this.server}${this.serverDetail ? ` (${this.serverDetail})` : ""}`];
    if (busy.length === 0 && this.server === "running") lines.push("Server work: none");
    for (const w of busy) {
      const pct = w.percentage !== undefined ? ` ${w.percentage}%` : "";
      lines.push(`Server work: ${w.title}${w.message ? `: ${w.message}` : ""}${pct}`);
    }
    lines.push("Click to show the log.");
    this.item.tooltip = lines.join("\n");
    this.item.backgroundColor =
      this.server === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
