// One status bar item for the language server and the CadQuery runtime behind it. Clicking it
// shows the output channel, where the server's log and any start-up error are.
import * as vscode from "vscode";

export type ServerState = "not started" | "starting" | "running" | "stopped" | "failed";

/**
 * Runtime state as the server reports it in a `cadquery/status` notification
 * ({ runtime: "starting" | "ready" | "failed", message?: string }). A server that does not send
 * it leaves the runtime "unknown": the item never guesses.
 */
export interface RuntimeStatus {
  runtime: "starting" | "ready" | "failed";
  message?: string;
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
  private runtime: RuntimeStatus | undefined;

  constructor(showLogCommand: string) {
    this.item.name = "CadQuery";
    this.item.command = showLogCommand;
    this.render();
  }

  setServer(state: ServerState, detail = ""): void {
    this.server = state;
    this.serverDetail = detail;
    if (state !== "running") this.runtime = undefined;
    this.render();
  }

  setRuntime(status: RuntimeStatus): void {
    this.runtime = status;
    this.render();
  }

  /** The text shown, for tests and screenshots. */
  get text(): string {
    return this.item.text;
  }

  private render(): void {
    const runtimeBusy = this.runtime?.runtime === "starting";
    const icon = runtimeBusy ? "$(sync~spin)" : this.runtime?.runtime === "failed" ? "$(warning)" : ICONS[this.server];
    this.item.text = `${icon} CadQuery`;
    const lines = [`Language server: ${this.server}${this.serverDetail ? ` (${this.serverDetail})` : ""}`];
    lines.push(
      this.runtime
        ? `CadQuery runtime: ${this.runtime.runtime}${this.runtime.message ? ` (${this.runtime.message})` : ""}`
        : "CadQuery runtime: not reported by the server yet",
    );
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
