// Owns the connection to `cadquery-lsp serve`: starting it on demand, restarting it when its
// path changes, and reflecting its state in the status bar.
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import { cadqueryOnlySync } from "./cadqueryDocuments";
import { findServerBinary, ServerBinary, ServerNotFound } from "./serverBinary";
import { configuredServerPath, SECTION, serverSettings } from "./settings";
import { StatusBar } from "./statusBar";

/** The server's executeCommand id for generation (docs/DESIGN.md, "LSP surface"). */
export const SERVER_GENERATE_COMMAND = "cadquery.generate";

export class CadQueryServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private binary: ServerBinary | undefined;
  /** Set when a start failed: opening files then no longer retries (and re-reports) it. */
  private startFailed = false;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly status: StatusBar,
  ) {}

  /** The running client, starting the server first if needed; undefined if it cannot start. */
  ensureStarted(): Promise<LanguageClient | undefined> {
    if (this.client?.isRunning()) return Promise.resolve(this.client);
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /** Starts the server for a CadQuery file, unless starting it already failed. */
  autoStart(): void {
    if (!this.startFailed) void this.ensureStarted();
  }

  get running(): LanguageClient | undefined {
    return this.client?.isRunning() ? this.client : undefined;
  }

  /** Whether the running server advertises `cadquery.generate`. */
  offersGenerate(): boolean {
    const commands = this.running?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    return commands.includes(SERVER_GENERATE_COMMAND);
  }

  get binaryPath(): string | undefined {
    return this.binary?.path;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.ensureStarted();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.dispose(2000).catch(() => undefined);
    this.status.setServer("stopped");
  }

  /** Sends the current settings; the server pulls them with workspace/configuration when it can. */
  notifySettingsChanged(): void {
    void this.running?.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { [SECTION]: serverSettings() },
    });
  }

  private async start(): Promise<LanguageClient | undefined> {
    const client = await this.launch();
    this.startFailed = client === undefined;
    return client;
  }

  private async launch(): Promise<LanguageClient | undefined> {
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    try {
      this.binary = findServerBinary(configuredServerPath(), folders);
    } catch (e) {
      if (!(e instanceof ServerNotFound)) throw e;
      this.status.setServer("failed", "binary not found");
      this.output.error(e.message);
      void vscode.window.showErrorMessage(e.message, "Open Settings").then((choice) => {
        if (choice) void vscode.commands.executeCommand("workbench.action.openSettings", "cadquery.serverPath");
      });
      return undefined;
    }
    this.output.info(`starting ${this.binary.path} serve (found via ${this.binary.origin})`);
    this.status.setServer("starting", this.binary.path);

    const titles = new Map<string, string>();
    const run = { command: this.binary.path, args: ["serve"], transport: TransportKind.stdio };
    const serverOptions: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "python" },
        { scheme: "untitled", language: "python" },
      ],
      outputChannel: this.output,
      initializationOptions: serverSettings(),
      middleware: {
        ...cadqueryOnlySync(() => this.client),
        // Mirror the server's progress (runtime start-up, executions) in the status bar; the
        // client still shows it as notifications.
        handleWorkDoneProgress: (token, params, next) => {
          const key = String(token);
          if (params.kind === "begin") {
            titles.set(key, params.title);
            this.status.setWork(key, { title: params.title, message: params.message, percentage: params.percentage });
          } else if (params.kind === "report") {
            const title = titles.get(key) ?? "working";
            this.status.setWork(key, { title, message: params.message, percentage: params.percentage });
          } else {
            titles.delete(key);
            this.status.setWork(key, undefined);
          }
          next(token, params);
        },
        workspace: {
          // Answer for our section with the server's keys only (see settings.ts).
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) return answers;
            return params.items.map((item, i) =>
              item.section === SECTION
                ? serverSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
                : answers[i],
            );
          },
        },
      },
    };
    const client = new LanguageClient("cadquery", "CadQuery", serverOptions, clientOptions);
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Running) this.status.setServer("running", this.binary?.path);
      else if (newState === State.Starting) this.status.setServer("starting", this.binary?.path);
      else if (this.client === client) this.status.setServer("stopped", "see the log");
    });
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.status.setServer("failed", String(e));
      this.output.error(`the server did not start: ${e}`);
      void vscode.window.showErrorMessage(
        `cadquery-lsp (${this.binary.path}) did not start: ${e}. See the CadQuery output for its log.`,
      );
      return undefined;
    }
    return client;
  }

  dispose(): void {
    void this.stop();
  }
}
