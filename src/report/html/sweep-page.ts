import { parseSlos } from "../../probes/slo.js";
import type { SweepResult, SweepStep } from "../../probes/sweep.js";
import { fmtMs, fmtPattern, fmtPct, fmtRate } from "../format.js";
import { errorTotal } from "../probe-report.js";
import { renderSweep, SWEEP_TABLE_HEAD } from "../sweep-report.js";
import { count, us, verdictFromTerminal } from "./common.js";
import type { Cell, LinesChart, PageModel, Section, TableModel } from "./model.js";
import { workersSection } from "./probe-page.js";
import { COLORS } from "./palette.js";

/** What `sweep --json` prints (after its envelope): the sweep result. */
export type SweepDoc = SweepResult;

/** The SLO text as given (every step is judged by the same list). */
export function sloText(d: SweepDoc): string | undefined {
  const s = d.steps.find((x) => x.slos.length > 0);
  return s ? s.slos.map((x) => x.slo).join(",") : undefined;
}

/** The report as `sweep` printed it. */
export function sweepTerminal(d: SweepDoc): string {
  return renderSweep(d, sloText(d));
}

export function sweepPage(d: SweepDoc): PageModel {
  const slo = sloText(d);
  const terminal = sweepTerminal(d);
  const steps = d.steps;
  const x = steps.map((s) => s.requestedRate);
  const firstBroken = steps.find((s) => !s.sloMet && s.interrupted === undefined);
  const marks: LinesChart["marks"] = [];
  if (d.maxRateMeetingSlo !== null)
    marks.push({
      label: `knee: ${fmtRate(d.maxRateMeetingSlo)} meets every SLO`,
      color: COLORS.green,
      x: d.maxRateMeetingSlo,
    });
  if (firstBroken)
    marks.push({
      label: `${fmtRate(firstBroken.requestedRate)}: ${d.firstBrokenSlo ?? "broken"}`,
      color: COLORS.vermillion,
      x: firstBroken.requestedRate,
    });
  // Latency SLOs as thresholds on the latency chart (µs).
  const refs: LinesChart["refs"] = [];
  if (slo) {
    for (const s of parseSlos(slo)) {
      if (s.metric.kind === "percentile" || s.metric.kind === "mean" || s.metric.kind === "max")
        refs.push({ label: `SLO ${s.text}`, color: COLORS.black, y: s.value, dash: [2, 3] });
    }
  }
  const ok = (s: SweepStep) => !s.failed;
  const latency: LinesChart = {
    kind: "lines",
    id: "sweep-latency",
    title: "Latency per step (from the intended start, every request)",
    caption:
      "Where the p99 line crosses an SLO line is the knee; the green mark is the highest rate meeting every SLO, the vermillion one the step that broke first.",
    alt:
      `Latency per rate: ` +
      steps.map((s) => `${fmtRate(s.requestedRate)} p50 ${fmtUsOr(s, "p50")}, p99 ${fmtUsOr(s, "p99")}`).join("; ") +
      (d.maxRateMeetingSlo !== null
        ? `; highest rate meeting every SLO ${fmtRate(d.maxRateMeetingSlo)}`
        : "; no step met every SLO"),
    xLabel: "requested rate (requests/s)",
    yLabel: "latency (ms, log)",
    logY: true,
    yUs: true,
    x,
    lines: [
      { label: "p50", color: COLORS.blue, y: steps.map((s) => (ok(s) ? s.latencyUs.p50 : null)), points: true },
      {
        label: "p95",
        color: COLORS.orange,
        y: steps.map((s) => (ok(s) ? s.latencyUs.p95 : null)),
        points: true,
        dash: [8, 4],
      },
      { label: "p99", color: COLORS.vermillion, y: steps.map((s) => (ok(s) ? s.latencyUs.p99 : null)), points: true },
    ],
    refs,
    marks,
    table: stepTable(d),
  };
  const rates: LinesChart = {
    kind: "lines",
    id: "sweep-rates",
    title: "Requested against achieved rate",
    caption:
      "The achieved line leaving the requested one means the generator could not keep its rate; throughput below achieved means requests failed.",
    alt: `Rates: ${steps.map((s) => `${fmtRate(s.requestedRate)} requested, ${fmtRate(s.achievedRate)} achieved, ${fmtRate(s.throughputPerSec)} answered`).join("; ")}`,
    xLabel: "requested rate (requests/s)",
    yLabel: "requests/s",
    x,
    lines: [
      { label: "requested", color: COLORS.grey, y: x, dash: [2, 3] },
      { label: "achieved", color: COLORS.blue, y: steps.map((s) => s.achievedRate), points: true },
      {
        label: "throughput (answered)",
        color: COLORS.green,
        y: steps.map((s) => s.throughputPerSec),
        points: true,
        dash: [8, 4],
      },
    ],
    table: {
      caption: "Requested, achieved and answered rates per step (requests/s in data-value)",
      head: ["requested", "achieved", "throughput", "success"],
      numeric: [0, 1, 2, 3],
      rows: steps.map((s) => [
        rateCell(s.requestedRate),
        rateCell(s.achievedRate),
        rateCell(s.throughputPerSec),
        { text: fmtPct(s.successRatio), value: s.successRatio },
      ]),
    },
  };
  const first = d.runs[0];
  const params: [string, string][] = [
    ["endpoint", d.endpoint],
    ["rates", steps.map((s) => fmtRate(s.requestedRate)).join(", ")],
  ];
  if (slo) params.push(["SLOs", slo]);
  if (first) {
    params.push(
      ["write pattern", fmtPattern(first.write, first.noDelay)],
      ["pool size", String(first.poolSize)],
      ["health check", first.healthCheck],
      ["step length", fmtMs(first.durationMs)],
    );
    if (first.minSuccessRatio !== undefined) params.push(["success floor", fmtPct(first.minSuccessRatio)]);
  }
  const sections: Section[] = [{ id: "knee", heading: "Finding the knee", charts: [latency, rates], tables: [] }];
  if (d.runs.some((r) => r.workers !== undefined)) {
    const workers = workersSection(
      d.runs.flatMap((r) => r.workers ?? []),
      "The workers of each step",
    );
    // One block of rows per step, each row led by the step's rate.
    const table = workers.tables[0]!;
    table.head = ["step", ...table.head];
    table.numeric = [0, ...(table.numeric ?? []).map((i) => i + 1)];
    let k = 0;
    table.rows = d.runs.flatMap((r) => (r.workers ?? []).map(() => [rateCell(r.requestedRate), ...table.rows[k++]!]));
    sections.push(workers);
  }
  return {
    kind: "sweep",
    title: `mcdiag sweep ${d.endpoint}: ${steps.length} steps`,
    subtitle: terminal.split("\n")[0]!,
    verdict: verdictFromTerminal(terminal),
    params,
    sections,
    terminal,
  };
}

function fmtUsOr(s: SweepStep, p: "p50" | "p99"): string {
  return s.failed ? "failed" : fmtMs(s.latencyUs[p] / 1000);
}

function rateCell(v: number): Cell {
  return { text: fmtRate(v), value: v };
}

/** The terminal's sweep table. */
function stepTable(d: SweepDoc): TableModel {
  return {
    caption: "Each step as the terminal shows it (µs, ratios and rates in data-value)",
    head: [...SWEEP_TABLE_HEAD],
    numeric: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    rows: d.steps.map((s) => {
      const verdict = s.failed
        ? "failed: every request failed"
        : s.interrupted
          ? "interrupted"
          : s.sloMet
            ? s.slos.length === 0
              ? "healthy"
              : "met"
            : `broken: ${
                s.slos
                  .filter((x) => !x.met)
                  .map((x) => x.slo)
                  .join(", ") ||
                (s.problems[0] ?? "unhealthy")
              }`;
      if (s.failed)
        return [
          rateCell(s.requestedRate),
          rateCell(s.achievedRate),
          "FAILED",
          "0 %",
          "-",
          "-",
          "-",
          "-",
          "-",
          "-",
          "-",
          count(errorTotal(s.errors)),
          "-",
          verdict,
        ];
      return [
        rateCell(s.requestedRate),
        rateCell(s.achievedRate),
        rateCell(s.throughputPerSec),
        { text: fmtPct(s.successRatio), value: s.successRatio },
        us(s.latencyUs.p50),
        us(s.latencyUs.p90),
        us(s.latencyUs.p95),
        us(s.latencyUs.p99),
        us(s.latencyUs.max),
        us(s.poolWaitUs.p99),
        { text: fmtPct(s.stalledRatio), value: s.stalledRatio },
        count(errorTotal(s.errors)),
        { text: fmtMs(s.drainMs), value: s.drainMs },
        verdict,
      ];
    }),
  };
}
