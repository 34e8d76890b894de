import { execFileSync } from "node:child_process";

/** True when running under CI (.ci/run sets CI=true). */
export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

export function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether tests needing `tool` can run. Outside CI a missing tool skips them
 * (with the reason printed); in CI it is a failure: .ci/run installs it.
 */
export function requireTool(tool: string, why: string): boolean {
  if (hasCommand(tool)) return true;
  if (IN_CI) throw new Error(`${tool} is required in CI (${why}) but is not installed; .ci/run should install it`);
  console.warn(`skipping: ${tool} is not installed (${why}); install it or run .ci/run`);
  return false;
}
