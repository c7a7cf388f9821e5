// Bundles the extension and its in-editor test suite into out/ (CommonJS, as VS Code loads it).
import * as esbuild from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["vscode"],
  sourcemap: true,
  logLevel: "warning",
};

await Promise.all([
  esbuild.build({ ...common, entryPoints: ["src/extension.ts"], outfile: "out/extension.js" }),
  esbuild.build({ ...common, entryPoints: ["test/suite/index.ts"], outfile: "out/test/suite.js" }),
  esbuild.build({ ...common, entryPoints: ["test/unit/unit.test.ts"], outfile: "out/test/unit.test.js" }),
]);
