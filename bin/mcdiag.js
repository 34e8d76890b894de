#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the
// `prepare` script, or by `npm run build`).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write("mcdiag: not built yet: run `npm run build` in the mcdiag folder\n");
  process.exit(2);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv);
