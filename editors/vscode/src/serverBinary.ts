// Finds the `cadquery-lsp` binary: the configured path, else the one on PATH, else a build in
// the workspace (target/release before target/debug, as a developer of the server would expect).
import * as fs from "fs";
import * as path from "path";

const BINARY = process.platform === "win32" ? "cadquery-lsp.exe" : "cadquery-lsp";

export interface ServerBinary {
  path: string;
  /** Where it came from, for the status bar and error messages. */
  origin: "setting" | "PATH" | "workspace build";
}

export class ServerNotFound extends Error {}

export function findServerBinary(configured: string | undefined, workspaceFolders: string[]): ServerBinary {
  if (configured !== undefined) {
    if (!isExecutable(configured)) {
      throw new ServerNotFound(
        `cadquery.serverPath is set to ${configured}, which is not an executable file: ` +
          "fix the setting or clear it to use the cadquery-lsp on PATH.",
      );
    }
    return { path: configured, origin: "setting" };
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, BINARY);
    if (isExecutable(candidate)) return { path: candidate, origin: "PATH" };
  }
  const targets = process.env.CARGO_TARGET_DIR ? [process.env.CARGO_TARGET_DIR] : [];
  for (const folder of workspaceFolders) targets.push(path.join(folder, "target"));
  for (const profile of ["release", "debug"]) {
    for (const target of targets) {
      const candidate = path.join(target, profile, BINARY);
      if (isExecutable(candidate)) return { path: candidate, origin: "workspace build" };
    }
  }
  throw new ServerNotFound(
    "cadquery-lsp was not found on PATH nor in the workspace's target/release or target/debug: " +
      "install it (cargo install --path .) or set cadquery.serverPath.",
  );
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
