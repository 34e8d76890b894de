import { newTable } from "./table.js";
import type { CompareResult } from "../probes/compare.js";
import { errorTotal } from "./probe-report.js";
import { fmtCount, fmtMs, fmtPattern, fmtPct, fmtRate, fmtUs } from "./format.js";
import { compareVerdict } from "./verdict.js";

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
    t.push([
      fmtPattern(r.write, r.noDelay),
      fmtUs(r.wireUs.p50),
      fmtUs(r.wireUs.p90),
      fmtUs(r.wireUs.p99),
      fmtUs(r.wireUs.max),
      fmtPct(r.stalledRatio),
      fmtRate(r.throughputPerSec),
      fmtCount(errorTotal(r.errors)),
    ]);
  }
  out.push(t.toString());
  out.push(`verdict: ${compareVerdict(c.findings)}`);
  for (const r of c.runs) {
    if (r.aborted) out.push(`${fmtPattern(r.write, r.noDelay)} stopped early: ${r.aborted}`);
  }
  return out.join("\n") + "\n";
}

/** The JSON document for `compare --json`. */
export function compareJson(c: CompareResult): object {
  return { endpoint: c.endpoint, runs: c.runs, findings: c.findings, verdict: compareVerdict(c.findings) };
}
