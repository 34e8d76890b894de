// An earlier build of mcdiag for side-by-side benchmarks: `ref` (a git ref of
// this repository) exported with `git archive` into a temporary folder and
// compiled there with this checkout's node_modules. Nothing is added to the
// repository (no worktree).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Builds `ref`; returns its bin, its short commit and a cleanup. */
export function buildAt(ref) {
  const dir = mkdtempSync(join(tmpdir(), "mcdiag-baseline-"));
  const commit = execFileSync("git", ["-C", ROOT, "rev-parse", "--short", ref], { encoding: "utf8" }).trim();
  execFileSync("sh", ["-c", `git -C '${ROOT}' archive '${commit}' | tar -x -C '${dir}'`]);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")]);
  return { bin: join(dir, "bin/mcdiag.js"), commit, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
