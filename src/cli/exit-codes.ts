import type { McdiagErrorCode } from "../util/errors.js";

/**
 * Exit codes, one meaning each across commands:
 * 0 done; 1 the check found what it looks for (violations, stalls with
 * --fail-on-stall, a broken SLO, an unhealthy run); 2 bad usage, bad input,
 * an endpoint that cannot be reached, or output that cannot be written;
 * 3 the run completed but cannot be trusted (every request failed);
 * 70 an internal error (a bug: please report it); 130 interrupted (SIGINT or
 * SIGTERM), after printing the partial result.
 */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
export const EXIT_ALL_FAILED = 3;
export const EXIT_INTERNAL = 70;
export const EXIT_INTERRUPTED = 130;

export function exitCodeFor(code: McdiagErrorCode): number {
  return code === "ALL_FAILED" ? EXIT_ALL_FAILED : EXIT_USAGE;
}
