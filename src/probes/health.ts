import { latencyHistogramOf, type ProbeResult } from "./result.js";
import { evaluateSlos, type Slo } from "./slo.js";

/** Below this share of answered requests a run is never called healthy (`--min-success`). */
export const DEFAULT_MIN_SUCCESS_RATIO = 0.99;

export interface HealthRules {
  /** 0…1; default DEFAULT_MIN_SUCCESS_RATIO. */
  minSuccessRatio?: number;
  slos?: readonly Slo[];
}

/**
 * Judges a run and writes the verdict into it: `healthy`, `problems` (most
 * important first), and each SLO's value. Percentile SLOs are judged on every
 * request, failures included at their time to failure.
 */
export function judgeRun<T extends ProbeResult>(r: T, rules: HealthRules): T {
  const floor = rules.minSuccessRatio ?? DEFAULT_MIN_SUCCESS_RATIO;
  const problems: string[] = [];
  const failed = r.requests - r.hits - r.misses;
  if (r.requests === 0) problems.push("no request completed");
  else if (r.successRatio < floor) {
    problems.push(
      `success ${fmtPct(r.successRatio)} is below the floor of ${fmtPct(floor)}: ${failed} of ${r.requests} requests failed`,
    );
  }
  if (r.strayReplies > 0) {
    problems.push(
      `${r.strayReplies} ${r.strayReplies === 1 ? "reply" : "replies"} answered no request: the server is out of step (does it answer twice?)`,
    );
  }
  if (r.aborted !== undefined) problems.push(`the run stopped early: ${r.aborted}`);
  r.minSuccessRatio = floor;
  if (rules.slos !== undefined && rules.slos.length > 0) {
    const results = evaluateSlos(rules.slos, latencyHistogramOf(r), {
      requests: r.requests,
      answered: r.hits + r.misses,
      stalledRatio: r.stalledRatio,
    });
    r.slos = results;
    r.sloMet = results.every((x) => x.met);
    const broken = results.filter((x) => !x.met).map((x) => x.slo);
    if (broken.length > 0) problems.push(`SLO broken: ${broken.join(", ")}`);
  }
  r.problems = problems;
  r.healthy = problems.length === 0;
  return r;
}

/** A ratio as a percentage for the problem lines: 0.995 → "99.5 %". */
function fmtPct(ratio: number): string {
  const p = ratio * 100;
  if (Number.isInteger(p)) return `${p} %`;
  if (p < 0.1) return "<0.1 %";
  // Enough digits that a value just under a floor never prints as the floor.
  return `${String(Number(p.toFixed(p >= 99 ? 3 : 1)))} %`;
}
