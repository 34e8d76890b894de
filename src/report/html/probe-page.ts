import type { RateProbeResult } from "../../probes/open-loop.js";
import type { ProbeResult, WorkerRow } from "../../probes/result.js";
import { fmtMs, fmtNum, fmtPattern, fmtPct, fmtRate } from "../format.js";
import type { CaptureAttribution } from "../../analyze/capture-run.js";
import { renderCaptureAttribution } from "../analyze-report.js";
import { renderProbe, renderRateProbe, workerRows } from "../probe-report.js";
import { causesTable } from "./analyze-page.js";
import {
  histogramOf,
  LATENCY_HEAD,
  latencyCells,
  percentileChart,
  timelineChart,
  verdictFromTerminal,
} from "./common.js";
import type { LatencySummaryUs } from "../../metrics/histogram.js";
import type { Cell, LinesChart, PageModel, Section, Styled } from "./model.js";
import { CATEGORY_COLORS, COLORS } from "./palette.js";

export function isRateProbe(r: ProbeResult): r is RateProbeResult {
  return (r as RateProbeResult).mode === "rate";
}

/** What `probe --json` prints: the result, and with --capture the attribution of its slow requests. */
export type ProbeDoc = ProbeResult & { capture?: CaptureAttribution };

/** The page for `probe` (closed loop or constant rate). */
export function probePage(r: ProbeDoc): PageModel {
  const terminal = probeTerminal(r);
  const sections: Section[] = [];
  const pattern = fmtPattern(r.write, r.noDelay);
  const timeline = probeTimeline(r, "probe-timeline");
  if (timeline) sections.push({ id: "over-time", heading: "Latency over time", charts: [timeline], tables: [] });
  const phases = phasesSection(r);
  if (r.capture !== undefined && r.capture.causes.length > 0)
    phases.tables.push(causesTable(r.capture.causes, r.capture.slowThresholdMs));
  sections.push(phases);
  const busy = busyChart(r, "busy");
  if (busy)
    sections.push({ id: "pool", heading: "The pool: busy connections and Little's law", charts: [busy], tables: [] });
  if (r.workers !== undefined) sections.push(workersSection(r.workers));
  return {
    kind: "probe",
    title: `mcdiag probe ${r.endpoint}: ${pattern}`,
    subtitle: terminal.split("\n")[0]!,
    verdict: verdictFromTerminal(terminal),
    params: probeParams(r),
    sections,
    terminal,
  };
}

/** The report as `probe` printed it. */
export function probeTerminal(r: ProbeDoc): string {
  const own = isRateProbe(r) ? renderRateProbe(r) : renderProbe(r);
  return r.capture === undefined ? own : `${own}${renderCaptureAttribution(r.capture)}`;
}

export function probeParams(r: ProbeResult): [string, string][] {
  const p: [string, string][] = [
    ["endpoint", r.endpoint],
    ["write pattern", fmtPattern(r.write, r.noDelay)],
    ["health check", r.healthCheck],
    ["pool size", String(r.poolSize)],
  ];
  if (r.workers !== undefined) {
    const hosts = new Set(r.workers.map((w) => w.host)).size;
    p.push([
      "merged from",
      `${r.workers.length} workers on ${hosts} host${hosts === 1 ? "" : "s"} (pool and concurrency: their totals)`,
    ]);
  }
  if (isRateProbe(r)) p.push(["rate", `${fmtRate(r.requestedRate)} (achieved ${fmtRate(r.achievedRate)})`]);
  else p.push(["concurrency", String(r.concurrency)]);
  p.push(
    ["measured", fmtMs(r.durationMs)],
    ["requests", r.requests.toLocaleString("en-US")],
    ["stall threshold", `wire ≥ ${r.stallThresholdMs} ms`],
  );
  if (r.minSuccessRatio !== undefined) p.push(["success floor", fmtPct(r.minSuccessRatio)]);
  if (r.slos) p.push(["SLOs", r.slos.map((s) => s.slo).join(", ")]);
  if (r.interrupted) p.push(["interrupted", "yes: the figures cover the time it ran"]);
  return p;
}

export const PROBE_CATEGORY_STYLES: Styled[] = ["answered", "stalled", "failed"].map((label) => ({
  label,
  color: CATEGORY_COLORS[label]!,
}));

export function probeTimeline(r: ProbeResult, id: string) {
  if (r.timeline === undefined) return undefined;
  const rate = isRateProbe(r);
  return timelineChart(
    id,
    rate
      ? "Users' latency over time (from each request's intended start)"
      : "Latency over time (asked for a connection → answer)",
    `One dot per request at the time it ${rate ? "was due" : "asked for a connection"}. A band of ${
      r.stalled > 0 ? "vermillion dots near 40 ms is the delayed-ACK stall; " : ""
    }a rising floor means queueing; black dots failed (at their time to failure).`,
    PROBE_CATEGORY_STYLES,
    [
      {
        label: fmtPattern(r.write, r.noDelay),
        timeline: r.timeline,
        categoryMap: r.timeline.categories.map((_c, i) => i),
      },
    ],
  );
}

function phasesSection(r: ProbeResult): Section {
  const rate = isRateProbe(r) ? r : undefined;
  // Each phase with the name of the histogram behind it in the JSON.
  const phases: [string, string, LatencySummaryUs][] = rate
    ? [
        ["from intended start (users)", "latencyUs", rate.latencyUs],
        ["pool wait", "poolWaitUs", r.poolWaitUs],
        ["health check", "healthCheckUs", r.healthCheckUs],
        ["service (wire)", "wireUs", rate.serviceUs],
      ]
    : [
        ["pool wait", "poolWaitUs", r.poolWaitUs],
        ["health check", "healthCheckUs", r.healthCheckUs],
        ["wire", "wireUs", r.wireUs],
        ["total (every request)", "totalUs", r.totalUs],
      ];
  const rows = phases.map(([label, name, summary]) => ({
    label,
    summary,
    histogram: summary.count > 0 ? histogramOf(r, name, summary, "histograms") : undefined,
  }));
  const chart = percentileChart(
    "phases",
    "Where the time goes: each phase's percentiles",
    r.stalled > 0
      ? "A phase whose line sits at ~40 ms from the median up is the stall; compare it with the pool wait and the health check to rule them out."
      : "The highest line is where the time goes; a pool wait that climbs with the percentile means callers queue for connections.",
    rows,
  );
  // The chart's table is the terminal's phase table.
  const shown = rows.filter((x) => x.summary.count > 0 || x.label !== "health check");
  chart.table = {
    caption: "Phases as the terminal shows them (µs values in data-value)",
    head: ["phase", ...LATENCY_HEAD],
    numeric: [1, 2, 3, 4, 5, 6, 7],
    rows: shown.map((x) => [x.label, ...latencyCells(x.summary)]),
  };
  return { id: "phases", heading: "Where the time goes", charts: [chart], tables: [] };
}

/** Rows at most in the busy-connections data table. */
const BUSY_TABLE_ROWS = 60;

export function busyChart(r: ProbeResult, id: string): LinesChart | undefined {
  const b = r.busyOverTime;
  if (b === undefined || b.tMs.length === 0) return undefined;
  const l = r.littlesLaw;
  const refs = [
    { label: `pool size (${r.poolSize})`, color: COLORS.black, y: r.poolSize, dash: [2, 3] },
    {
      label: `Little's law L = λ·W (${fmtNum(l.busyConnections)})`,
      color: COLORS.vermillion,
      y: l.busyConnections,
      dash: [8, 4],
    },
  ];
  const rows: (string | Cell)[][] = [];
  const step = Math.max(1, Math.ceil(b.tMs.length / BUSY_TABLE_ROWS));
  for (let i = 0; i < b.tMs.length; i += step) {
    // Time-weighted over the merged intervals.
    let area = 0;
    let waitArea = 0;
    let span = 0;
    for (let j = i; j < Math.min(b.tMs.length, i + step); j++) {
      const d = b.tMs[j]! - (j === 0 ? 0 : b.tMs[j - 1]!);
      area += b.busy[j]! * d;
      waitArea += b.waiting[j]! * d;
      span += d;
    }
    const end = b.tMs[Math.min(b.tMs.length, i + step) - 1]!;
    rows.push([
      { text: `${(end / 1000).toFixed(2)} s`, value: end },
      { text: fmtNum(span > 0 ? area / span : 0), value: span > 0 ? area / span : 0 },
      { text: fmtNum(span > 0 ? waitArea / span : 0), value: span > 0 ? waitArea / span : 0 },
    ]);
  }
  return {
    kind: "lines",
    id,
    title: "Busy connections over time, against the pool size and Little's law",
    caption:
      "Busy connections touching the pool size, with callers waiting, is pool exhaustion; far below it (as Little's law L predicts), the pool is not the cause.",
    alt: `Busy connections over ${fmtMs(r.durationMs)}: mean ${fmtNum(l.sampledBusy)} of ${r.poolSize}; Little's law L ${fmtNum(l.busyConnections)}; waiting callers mean ${fmtNum(l.sampledWaiting)}`,
    xLabel: "seconds since the start",
    yLabel: "connections / callers",
    x: b.tMs.map((t) => t / 1000),
    lines: [
      { label: "busy connections", color: COLORS.blue, y: b.busy },
      { label: "callers waiting", color: COLORS.orange, y: b.waiting, dash: [8, 4] },
    ],
    refs,
    table: {
      caption: `Time-averaged busy connections and waiting callers (interval ${b.intervalMs * step} ms; pool size ${r.poolSize}, Little's law L ${fmtNum(l.busyConnections)})`,
      head: ["until", "busy connections", "callers waiting"],
      numeric: [1, 2],
      rows,
    },
  };
}

/** A merged result's workers, one row each, as the terminal shows them (numbers in data-value). */
export function workersSection(rows: readonly WorkerRow[], heading = "The workers"): Section {
  const t = workerRows(rows);
  const numeric = t.head.flatMap((_h, i) => (t.rows.some((r) => r[i]!.value !== undefined) ? [i] : []));
  return {
    id: "workers",
    heading,
    intro:
      "The merged figures above are the fleet's; a worker that started late, fell behind its rate or was interrupted shows here.",
    charts: [],
    tables: [
      {
        caption: "Each worker of the merged run, as the terminal shows it (ms, rates and µs in data-value)",
        head: t.head,
        numeric,
        rows: t.rows.map((r) => r.map((c) => (c.value === undefined ? c.text : { text: c.text, value: c.value }))),
      },
    ],
  };
}
