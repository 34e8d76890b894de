import type { ProbeResult } from "../probes/result.js";
import { McdiagError } from "../util/errors.js";

/**
 * Exit 3 (after the report has printed) when the runs completed but no
 * request got an answer, naming the first error seen.
 */
export function failIfNothingAnswered(endpoint: string, runs: readonly ProbeResult[]): void {
  if (runs.length === 0 || runs.some((r) => r.hits + r.misses > 0)) return;
  const first = runs.flatMap((r) => Object.values(r.errorSamples))[0];
  if (runs.some((r) => r.requests > 0)) {
    throw new McdiagError("ALL_FAILED", `every request to ${endpoint} failed${first ? `: ${first}` : ""}`);
  }
  const aborted = runs.find((r) => r.aborted !== undefined)?.aborted;
  if (aborted !== undefined) throw new McdiagError("ALL_FAILED", `no request to ${endpoint} completed: ${aborted}`);
}

/**
 * Exit 3 (after the report has printed) when any run among several (a
 * compare pattern, a sweep step) had every request fail: the comparison
 * cannot be trusted.
 */
export function failIfAnyRunFailed(
  endpoint: string,
  runs: readonly ProbeResult[],
  what: (r: ProbeResult) => string,
): void {
  const failed = runs.filter((r) => r.requests > 0 && r.hits + r.misses === 0);
  if (failed.length === 0) return;
  throw new McdiagError(
    "ALL_FAILED",
    `every request to ${endpoint} failed in ${failed.map(what).join(", ")}: the run cannot be trusted`,
  );
}
