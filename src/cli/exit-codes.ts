import type { McdiagErrorCode } from "../util/errors.js";

/**
 * Exit codes, one meaning each across commands:
 * 0 done; 1 the check found what it looks for (violations, stalls with
 * --fail-on-stall, a broken SLO); 2 bad usage, bad input, or an endpoint
 * that cannot be reached; 3 the run completed but every request failed.
 */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
export const EXIT_ALL_FAILED = 3;

export function exitCodeFor(code: McdiagErrorCode): number {
  return code === "ALL_FAILED" ? EXIT_ALL_FAILED : EXIT_USAGE;
}
