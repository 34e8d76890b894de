import { allFailed, type CompareFindings } from "../../probes/compare.js";
import type { ProbeResult } from "../../probes/result.js";
import { renderCompare } from "../compare-report.js";
import { fmtMs, fmtPattern, fmtPct, fmtRate } from "../format.js";
import { errorList, errorTotal } from "../probe-report.js";
import { histogramOf, percentileChart, timelineChart, us, verdictFromTerminal } from "./common.js";
import type { Cell, PageModel, Section } from "./model.js";
import { patternStyle } from "./palette.js";

/** What `compare --json` (and `demo --json`) prints. */
export interface CompareDoc {
  endpoint: string;
  runs: ProbeResult[];
  findings: CompareFindings;
  verdict: string;
  interrupted?: true;
}

export function comparePage(c: CompareDoc): PageModel {
  const terminal = renderCompare(c);
  const first = c.runs[0];
  const styles = c.runs.map((r) => patternStyle(r.write, r.noDelay));
  const stalling = c.findings.stalling.map((s) => `${fmtPattern(s.write, s.noDelay)} (~${fmtMs(s.typicalStallMs)})`);
  const caption =
    stalling.length > 0
      ? `The plateau of ${stalling.join(", ")} against the sub-millisecond lines is the delayed-ACK stall; the lines that stay low are its fix.`
      : "Lines close together: no write pattern stalls on this path.";
  const percentiles = percentileChart(
    "percentiles",
    "Wire latency percentiles by write pattern",
    caption,
    c.runs
      .map((r, i) => ({
        label: fmtPattern(r.write, r.noDelay),
        summary: r.wireUs,
        histogram: allFailed(r) ? undefined : histogramOf(r, "wireUs", r.wireUs, `runs[${i}].histograms`),
        style: styles[i],
      }))
      .filter((_l, i) => !allFailed(c.runs[i]!)),
  );
  const sections: Section[] = [
    { id: "distribution", heading: "The percentile distribution", charts: [percentiles], tables: [] },
  ];
  const withTimeline = c.runs.filter((r) => r.timeline !== undefined);
  if (withTimeline.length > 0) {
    sections.push({
      id: "over-time",
      heading: "Latency over time",
      charts: [
        timelineChart(
          "timeline",
          "Latency over time, each pattern from its own start",
          "One dot per request, coloured by write pattern: the split + Nagle on dots sit at ~40 ms the whole run, the others below 1 ms.",
          styles,
          withTimeline.map((r) => {
            const k = c.runs.indexOf(r);
            return { label: styles[k]!.label, timeline: r.timeline!, categoryMap: r.timeline!.categories.map(() => k) };
          }),
        ),
      ],
      tables: [],
    });
  }
  sections.push({ id: "tables", heading: "The comparison table", charts: [], tables: [compareTable(c)] });
  const params: [string, string][] = [["endpoint", c.endpoint]];
  if (first) {
    params.push(
      ["patterns", c.runs.map((r) => fmtPattern(r.write, r.noDelay)).join(", ")],
      ["pool size", String(first.poolSize)],
      ["concurrency", String(first.concurrency)],
      ["health check", first.healthCheck],
      ["per pattern", fmtMs(first.durationMs)],
      ["stall threshold", `wire ≥ ${first.stallThresholdMs} ms`],
    );
  }
  if (c.interrupted) params.push(["interrupted", "yes: the last pattern is partial"]);
  return {
    kind: "compare",
    title: `mcdiag compare ${c.endpoint}: write patterns side by side`,
    subtitle: terminal.split("\n")[0]!,
    verdict: verdictFromTerminal(terminal),
    params,
    sections,
    terminal,
  };
}

function compareTable(c: CompareDoc) {
  const rows: (string | Cell)[][] = c.runs.map((r) => {
    const errors = errorTotal(r.errors);
    const errorsCell: Cell = {
      text: errors > 0 ? `${errors.toLocaleString("en-US")} (${errorList(r.errors)})` : "0",
      value: errors,
    };
    if (allFailed(r)) return [fmtPattern(r.write, r.noDelay), "FAILED", "-", "-", "-", "-", "-", errorsCell];
    return [
      fmtPattern(r.write, r.noDelay),
      us(r.wireUs.p50),
      us(r.wireUs.p90),
      us(r.wireUs.p99),
      us(r.wireUs.max),
      { text: fmtPct(r.stalledRatio), value: r.stalledRatio },
      { text: fmtRate(r.throughputPerSec), value: r.throughputPerSec },
      errorsCell,
    ];
  });
  return {
    caption: "Each write pattern, as the terminal shows it (µs, ratios and rates in data-value)",
    head: ["write pattern", "p50 wire", "p90", "p99", "max", "stalled", "throughput", "errors"],
    numeric: [1, 2, 3, 4, 5, 6, 7],
    rows,
  };
}
