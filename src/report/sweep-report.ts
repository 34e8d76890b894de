import type { SweepResult, SweepStep } from "../probes/sweep.js";
import { fmtCount, fmtMs, fmtPct, fmtRate, fmtUs } from "./format.js";
import { errorTotal } from "./probe-report.js";
import { newTable } from "./table.js";

export function renderSweepStepLine(s: SweepStep, i: number, of: number): string {
  return `step ${i + 1}/${of}: ${fmtRate(s.requestedRate)} → p99 ${fmtUs(s.latencyUs.p99)}, success ${fmtPct(s.successRatio)}, ${s.sloMet ? "SLOs met" : "SLO broken"}\n`;
}

export function renderSweep(r: SweepResult, sloText: string | undefined): string {
  const out: string[] = [
    `mcdiag sweep ${r.endpoint}: ${r.steps.length} steps${sloText ? `, SLO ${sloText}` : ""} (latency from the intended start)`,
  ];
  const t = newTable([
    "rate",
    "achieved",
    "throughput",
    "success",
    "p50",
    "p90",
    "p95",
    "p99",
    "max",
    "pool wait p99",
    "stalled",
    "errors",
    "drain",
    "SLO",
  ]);
  for (const s of r.steps) {
    t.push([
      fmtRate(s.requestedRate),
      fmtRate(s.achievedRate),
      fmtRate(s.throughputPerSec),
      fmtPct(s.successRatio),
      fmtUs(s.latencyUs.p50),
      fmtUs(s.latencyUs.p90),
      fmtUs(s.latencyUs.p95),
      fmtUs(s.latencyUs.p99),
      fmtUs(s.latencyUs.max),
      fmtUs(s.poolWaitUs.p99),
      fmtPct(s.stalledRatio),
      errorsText(s),
      fmtMs(s.drainMs),
      s.slos.length === 0
        ? "-"
        : s.sloMet
          ? "met"
          : `broken: ${s.slos
              .filter((x) => !x.met)
              .map((x) => x.slo)
              .join(", ")}`,
    ]);
  }
  out.push(t.toString());
  if (r.steps.some((s) => s.slos.length > 0)) {
    out.push(
      r.maxRateMeetingSlo === null
        ? `no step met the SLOs (the first rate broke ${r.firstBrokenSlo})`
        : r.firstBrokenSlo === null
          ? `every step met the SLOs, up to ${fmtRate(r.maxRateMeetingSlo)}`
          : `highest rate meeting every SLO: ${fmtRate(r.maxRateMeetingSlo)}; above it, ${r.firstBrokenSlo} broke first`,
    );
  }
  for (const s of r.steps)
    if (s.generatorWarning) out.push(`warning at ${fmtRate(s.requestedRate)}: ${s.generatorWarning}`);
  return out.join("\n") + "\n";
}

function errorsText(s: SweepStep): string {
  const n = errorTotal(s.errors);
  if (n === 0) return "0";
  return `${fmtCount(n)} (${Object.entries(s.errors)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")})`;
}

/** JSON for `sweep --json`: the steps and the answer (full probe records under `runs`). */
export function sweepJson(r: SweepResult): object {
  return {
    endpoint: r.endpoint,
    steps: r.steps,
    maxRateMeetingSlo: r.maxRateMeetingSlo,
    firstBrokenSlo: r.firstBrokenSlo,
    runs: r.runs,
  };
}
