import { newTable } from "./table.js";
import type { CompareResult } from "../probes/compare.js";
import { allFailed } from "../probes/compare.js";
import { errorList, errorTotal } from "./probe-report.js";
import { fmtCount, fmtMs, fmtPattern, fmtPct, fmtRate, fmtUs } from "./format.js";
import { compareVerdict } from "./verdict.js";
import { envelope } from "../results/record.js";

export function renderCompare(c: CompareResult): string {
  const first = c.runs[0];
  const out: string[] = [];
  if (first) {
    out.push(
      `mcdiag compare ${c.endpoint}: pool ${first.poolSize}, concurrency ${first.concurrency}, health check ${first.healthCheck}, ` +
        `${fmtMs(first.durationMs)} per pattern, stall = wire ≥ ${first.stallThresholdMs} ms`,
    );
  }
  const t = newTable(["write pattern", "p50 wire", "p90", "p99", "max", "stalled", "throughput", "errors"]);
  for (const r of c.runs) {
    if (allFailed(r)) {
      // No answer, no latency: a row of zeros would read as the fastest pattern.
      t.push([
        fmtPattern(r.write, r.noDelay),
        "FAILED",
        "-",
        "-",
        "-",
        "-",
        "-",
        `${fmtCount(errorTotal(r.errors))} (${errorList(r.errors)})`,
      ]);
      continue;
    }
    t.push([
      fmtPattern(r.write, r.noDelay),
      fmtUs(r.wireUs.p50),
      fmtUs(r.wireUs.p90),
      fmtUs(r.wireUs.p99),
      fmtUs(r.wireUs.max),
      fmtPct(r.stalledRatio),
      fmtRate(r.throughputPerSec),
      errorTotal(r.errors) > 0 ? `${fmtCount(errorTotal(r.errors))} (${errorList(r.errors)})` : "0",
    ]);
  }
  out.push(t.toString());
  if (c.interrupted) out.push(`interrupted: ${c.runs.length} patterns ran, the last one cut short`);
  out.push(`verdict: ${compareVerdict(c.findings)}`);
  for (const r of c.runs) {
    if (r.aborted) out.push(`${fmtPattern(r.write, r.noDelay)} stopped early: ${r.aborted}`);
    else if (!r.healthy && !allFailed(r))
      out.push(`${fmtPattern(r.write, r.noDelay)} is not healthy: ${r.problems.join("; ")}`);
    for (const [kind, msg] of Object.entries(r.errorSamples))
      out.push(`  ${fmtPattern(r.write, r.noDelay)}, first ${kind}: ${msg}`);
  }
  return out.join("\n") + "\n";
}

/** The JSON document for `compare --json`. */
export function compareJson(c: CompareResult): object {
  const j: Record<string, unknown> = {
    ...envelope("compare"),
    endpoint: c.endpoint,
    runs: c.runs,
    findings: c.findings,
    verdict: compareVerdict(c.findings),
  };
  if (c.interrupted) j.interrupted = true;
  return j;
}
