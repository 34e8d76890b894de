import type { SweepResult, SweepStep } from "../probes/sweep.js";
import { fmtCount, fmtMs, fmtPct, fmtRate, fmtUs } from "./format.js";
import { errorTotal } from "./probe-report.js";
import { newTable } from "./table.js";
import { envelope } from "../results/record.js";

export function renderSweepStepLine(s: SweepStep, i: number, of: number): string {
  const verdict = s.failed ? "FAILED" : s.interrupted ? "interrupted" : s.sloMet ? "SLOs met" : "SLO broken";
  return `step ${i + 1}/${of}: ${fmtRate(s.requestedRate)} → p99 ${fmtUs(s.latencyUs.p99)}, success ${fmtPct(s.successRatio)}, ${verdict}\n`;
}

/** The columns of the sweep table, on the terminal and on the page. */
export const SWEEP_TABLE_HEAD = [
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
] as const;

export function renderSweep(r: SweepResult, sloText: string | undefined): string {
  const out: string[] = [
    `mcdiag sweep ${r.endpoint}: ${r.steps.length} steps${sloText ? `, SLO ${sloText}` : ""} (latency from the intended start, every request)` +
      (r.interrupted ? "; INTERRUPTED: the last step is partial" : ""),
  ];
  if (r.failedRates.length > 0) {
    out.push(
      `cannot be trusted: every request failed at ${r.failedRates.map(fmtRate).join(", ")}; the latency there is time to failure`,
    );
  }
  const t = newTable([...SWEEP_TABLE_HEAD]);
  for (const s of r.steps) {
    if (s.failed) {
      t.push([
        fmtRate(s.requestedRate),
        fmtRate(s.achievedRate),
        "FAILED",
        "0 %",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        errorsText(s),
        "-",
        "failed: every request failed",
      ]);
      continue;
    }
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
      s.interrupted ? "interrupted" : s.sloMet ? (s.slos.length === 0 ? "healthy" : "met") : `broken: ${brokenText(s)}`,
    ]);
  }
  out.push(t.toString());
  if (r.steps.some((s) => s.interrupted === undefined)) {
    const upTo = r.interrupted ? "of the steps that ran in full, " : "";
    out.push(
      r.maxRateMeetingSlo === null
        ? `no step met the SLOs and the success floor (the first rate broke ${r.firstBrokenSlo})`
        : r.firstBrokenSlo === null
          ? `${upTo}every step met the SLOs and the success floor, up to ${fmtRate(r.maxRateMeetingSlo)}`
          : `highest rate meeting every SLO and the success floor: ${fmtRate(r.maxRateMeetingSlo)}; above it, ${r.firstBrokenSlo} broke first`,
    );
  } else if (r.interrupted) out.push("interrupted before any step ran in full: no verdict");
  for (const s of r.steps)
    if (s.generatorWarning) out.push(`warning at ${fmtRate(s.requestedRate)}: ${s.generatorWarning}`);
  return out.join("\n") + "\n";
}

function brokenText(s: SweepStep): string {
  const slos = s.slos.filter((x) => !x.met).map((x) => x.slo);
  return slos.length > 0 ? slos.join(", ") : (s.problems[0] ?? "unhealthy");
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
  const j: Record<string, unknown> = {
    ...envelope("sweep"),
    endpoint: r.endpoint,
    rates: r.rates,
    steps: r.steps,
    maxRateMeetingSlo: r.maxRateMeetingSlo,
    firstBrokenSlo: r.firstBrokenSlo,
    failedRates: r.failedRates,
  };
  if (r.interrupted) j.interrupted = true;
  j.runs = r.runs;
  return j;
}
