/**
 * The page as plain data: what the data preparation builds from a result
 * record, what the template writes as HTML, and (the charts) what the
 * browser script draws. Shared with the browser script by type only.
 */
import type { TimelineSeries } from "../../metrics/timeline-series.js";

/** A table cell: its text as the terminal shows it, and the number (or text) it stands for, kept in `data-value`. */
export interface Cell {
  text: string;
  value?: number | string;
}

export interface TableModel {
  /** Says what the table holds, for screen readers and print. */
  caption: string;
  head: string[];
  rows: (string | Cell)[][];
  /** Columns that hold numbers (right-aligned). */
  numeric?: number[];
}

interface ChartBase {
  id: string;
  title: string;
  /** One line: what to look for. */
  caption: string;
  /** The chart's message in words, for screen readers (aria-label of the canvas). */
  alt: string;
  /** The same data as a table. */
  table: TableModel;
}

/** A named line or set of points, with the colour and dash it is drawn in. */
export interface Styled {
  label: string;
  color: string;
  dash?: number[];
}

/** Percentile lines on HdrHistogram's 1/(1-p) axis; y in µs, drawn in ms. */
export interface PercentileChart extends ChartBase {
  kind: "percentiles";
  lines: (Styled & { x: number[]; yUs: number[] })[];
}

/** Latency over time: dots per request (by category), or bands per time bucket. */
export interface TimelineChart extends ChartBase {
  kind: "timeline";
  /** One legend entry per category (probe: answered/stalled/failed; analyze: causes; compare: write patterns). */
  categories: Styled[];
  /** Several series (compare: one per pattern) share the axes; each maps its own categories onto `categories`. */
  series: { label: string; timeline: TimelineSeries; categoryMap: number[] }[];
  xLabel: string;
}

/** Lines over a shared x (time or rate), with constant reference lines. */
export interface LinesChart extends ChartBase {
  kind: "lines";
  xLabel: string;
  yLabel: string;
  /** y axis on a log scale. */
  logY?: boolean;
  /** y values are µs, shown as ms. */
  yUs?: boolean;
  x: number[];
  lines: (Styled & { y: (number | null)[]; points?: boolean })[];
  /** Horizontal reference lines (pool size, Little's law L, SLO thresholds). */
  refs?: (Styled & { y: number })[];
  /** Vertical markers (the knee, the step that broke an SLO). */
  marks?: (Styled & { x: number })[];
}

/** Stacked bars, one per category (server); segments are where its time went. */
export interface StackedBarChart extends ChartBase {
  kind: "stacked-bars";
  yLabel: string;
  bars: string[];
  segments: (Styled & { ms: number[] })[];
}

/** One packet of an exchange, as the waterfall draws it. */
export interface WaterfallPacket {
  frame: number;
  /** ms since the exchange's first packet. */
  tMs: number;
  /** "c2s" client → server, "s2c" server → client. */
  dir: "c2s" | "s2c";
  bytes: number;
  /** data, ack (pure ACK), retransmission, syn, fin, rst */
  kind: string;
  /** e.g. "get " or "END" (masked keys); absent for pure ACKs. */
  note?: string;
}

export interface WaterfallChart extends ChartBase {
  kind: "waterfall";
  packets: WaterfallPacket[];
  /** Silences worth showing: from one packet to the next, with their length. */
  gaps: { fromFrame: number; toFrame: number; ms: number }[];
  legend: Styled[];
}

export type ChartModel = PercentileChart | TimelineChart | LinesChart | StackedBarChart | WaterfallChart;

export interface Section {
  id: string;
  heading: string;
  intro?: string;
  charts: ChartModel[];
  tables: TableModel[];
}

export interface PageModel {
  kind: "probe" | "compare" | "sweep" | "analyze";
  title: string;
  /** What made the page: the command's summary line. */
  subtitle: string;
  /** Verdict, problems and warnings, each with how it reads. */
  verdict: { text: string; tone: "ok" | "bad" | "warn" | "info" }[];
  params: [string, string][];
  sections: Section[];
  /** The report as the terminal prints it. */
  terminal: string;
}
