// The `cadquery` settings section, split into what the client uses itself and what the server
// reads (via initializationOptions and workspace/configuration). The server reports unknown keys
// as mistakes, so client-only keys never reach it.
import * as vscode from "vscode";

export const SECTION = "cadquery";

/** Keys the server understands (src/lsp/settings.rs). */
const SERVER_KEYS = [
  "pythonPath",
  "modelPath",
  "candidateCount",
  "generationBudgetMs",
  "refineExecutions",
  "executionTimeoutMs",
  "poolSize",
  "executeOnSave",
  "executeAfterIdleMs",
  "modelCompletions",
  "modelCompletionCount",
] as const;

/** Settings for the server: one flat object, every key present. */
export function serverSettings(scope?: vscode.ConfigurationScope): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const out: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const value = config.get(key);
    if (value === undefined) continue;
    // An empty path means "let the server decide", which the server spells null; sending null
    // (not leaving the key out) also resets a path the user just cleared.
    out[key] = value === "" ? null : value;
  }
  return out;
}

/** The server binary the user configured, or undefined to search for one. */
export function configuredServerPath(): string | undefined {
  const path = vscode.workspace.getConfiguration(SECTION).get<string>("serverPath", "").trim();
  return path === "" ? undefined : path;
}

/** Whether a change touches settings that only take effect when the server is restarted. */
export function needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration(`${SECTION}.serverPath`);
}
