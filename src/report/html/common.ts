import type { Histogram, LatencySummaryUs } from "../../metrics/histogram.js";
import { decodeHistogram, type HistogramSummaryFields } from "../../results/histogram-codec.js";
import { decodeBytes, decodeFloats, niceBucketMs, type TimelineSeries } from "../../metrics/timeline.js";
import { fmtCount, fmtMs, fmtUs } from "../format.js";
import { curveFromHistogram, curveFromSummary, type SummaryLike } from "./curves.js";
import type { Cell, PageModel, PercentileChart, Styled, TableModel, TimelineChart } from "./model.js";
import { SERIES_STYLES } from "./palette.js";

/** A number as the terminal writes it, with the number itself kept for machines (and the tests). */
export function us(v: number): Cell {
  return { text: fmtUs(v), value: v };
}

export function ms(v: number): Cell {
  return { text: fmtMs(v), value: v };
}

export function count(v: number): Cell {
  return { text: fmtCount(v), value: v };
}

/** The latency columns every phase table shares, as the terminal's. */
export const LATENCY_HEAD = ["p50", "p90", "p99", "p99.9", "max", "mean", "count"];

export function latencyCells(s: LatencySummaryUs): (string | Cell)[] {
  if (s.count === 0) return ["-", "-", "-", "-", "-", "-", count(0)];
  return [us(s.p50), us(s.p90), us(s.p99), us(s.p999), us(s.max), us(s.mean), count(s.count)];
}

/**
 * The verdict box: the lines of the terminal report that judge the run
 * (verdicts, problems, advice, warnings), in the terminal's words.
 */
export function verdictFromTerminal(text: string): PageModel["verdict"] {
  const out: PageModel["verdict"] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (/^(NOT HEALTHY|cannot be trusted|failures:|run stopped early)/.test(line))
      out.push({ text: line, tone: "bad" });
    else if (/^verdict: /.test(line)) out.push({ text: line.slice(9), tone: verdictTone(line) });
    else if (/^(no step met|highest rate meeting|every step met|of the steps that ran|interrupted)/.test(line))
      out.push({ text: line, tone: /^(no step|highest)/.test(line) ? "bad" : "ok" });
    else if (/^(stalls: |stalled \()/.test(line))
      out.push({ text: line, tone: /: none$|: 0 of|\b0 \(0 %\)/.test(line) ? "ok" : "bad" });
    else if (/^SLO /.test(line)) out.push({ text: line, tone: /BROKEN/.test(line) ? "bad" : "ok" });
    else if (/^advice: /.test(line)) out.push({ text: `Advice: ${line.slice(8)}`, tone: "info" });
    else if (/^advice \([^)]+\): /.test(line)) out.push({ text: `Advice${line.slice(6)}`, tone: "info" });
    else if (/^(capture warning: |slow requests)/.test(line)) out.push({ text: line, tone: "warn" });
    else if (/^warning( at [^:]+)?: /.test(line)) out.push({ text: line, tone: "warn" });
  }
  return out;
}

function verdictTone(line: string): "ok" | "bad" | "warn" {
  if (/cannot be trusted/.test(line)) return "bad";
  return /stall \d/.test(line) || /every pattern stalls/.test(line) ? "bad" : "ok";
}

/**
 * The histogram a result carries behind one of its summaries (`histograms`
 * in the JSON, HdrHistogram's compressed base64), decoded and checked
 * against the summary; undefined when the result has none.
 */
export function histogramOf(
  r: { histograms?: Record<string, string> },
  name: string,
  summary: HistogramSummaryFields,
  where: string,
): Histogram | undefined {
  const encoded = r.histograms?.[name];
  return encoded === undefined ? undefined : decodeHistogram(encoded, `${where}.${name}`, summary);
}

/**
 * A percentile chart: one line per series, the full distribution walked
 * from its histogram when there is one, else the summary's percentiles.
 */
export function percentileChart(
  id: string,
  title: string,
  caption: string,
  lines: { label: string; summary: SummaryLike; histogram?: Histogram; style?: { color: string; dash?: number[] } }[],
): PercentileChart {
  const drawn = lines.filter((l) => l.summary.count > 0);
  const chartLines = drawn.map((l, i) => ({
    label: l.label,
    ...(l.style ?? SERIES_STYLES[i % SERIES_STYLES.length]!),
    ...(l.histogram === undefined ? curveFromSummary(l.summary) : curveFromHistogram(l.histogram)),
  }));
  const alt =
    `${title}: ` +
    drawn
      .map((l) => `${l.label}: p50 ${fmtUs(l.summary.p50)}, p99 ${fmtUs(l.summary.p99)}, max ${fmtUs(l.summary.max)}`)
      .join("; ");
  const head = ["series", "p50", "p90", "p99", "p99.9", "max", "count"];
  const opt = (v: number | undefined) => (v === undefined ? "-" : us(v));
  return {
    kind: "percentiles",
    id,
    title,
    caption,
    alt,
    lines: chartLines,
    table: {
      caption: `${title}: the percentiles drawn (µs values in data-value)`,
      head,
      numeric: [1, 2, 3, 4, 5, 6],
      rows: drawn.map((l) => [
        l.label,
        us(l.summary.p50),
        opt(l.summary.p90),
        us(l.summary.p99),
        opt(l.summary.p999),
        us(l.summary.max),
        count(l.summary.count),
      ]),
    },
  };
}

/** Rows at most in a timeline's data table when it is made from dots. */
const TABLE_BUCKETS = 30;

/**
 * "Latency over time" and its data table: per time bucket, the requests,
 * their exact min/p50/p99/max and the count of each category.
 */
export function timelineChart(
  id: string,
  title: string,
  caption: string,
  categories: Styled[],
  series: { label: string; timeline: TimelineSeries; categoryMap: number[] }[],
): TimelineChart {
  const rows: (string | Cell)[][] = [];
  const many = series.length > 1;
  let total = 0;
  for (const s of series) {
    total += s.timeline.requests;
    for (const b of bucketsOf(s.timeline)) {
      const byCat = categories.map(() => 0);
      b.byCategory.forEach((n, c) => (byCat[s.categoryMap[c] ?? 0]! += n));
      rows.push([
        { text: `${many ? `${s.label}, ` : ""}${(b.startMs / 1000).toFixed(3)} s`, value: b.startMs },
        count(b.count),
        us(b.minUs),
        us(b.p50Us),
        us(b.p99Us),
        us(b.maxUs),
        ...byCat.map((n) => (b.byCategory.length > 0 ? count(n) : "-")),
      ]);
    }
  }
  const dotsNote = series.some((s) => s.timeline.mode === "bands")
    ? " Above 100,000 requests each time bucket is drawn as its range (min–max shaded), p50 and p99, with the stalled, failed or slow requests still as dots."
    : "";
  return {
    kind: "timeline",
    id,
    title,
    caption: caption + dotsNote,
    alt:
      `${title}: ${fmtCount(total)} requests; ` +
      categories.map((c, i) => `${c.label} ${fmtCount(sumCategory(series, i))}`).join(", "),
    categories,
    series,
    xLabel: "seconds since the start",
    table: {
      caption: `${title}, per time bucket (latencies exact within each bucket; per-category counts where known)`,
      head: ["bucket start", "requests", "min", "p50", "p99", "max", ...categories.map((c) => c.label)],
      numeric: [1, 2, 3, 4, 5, ...categories.map((_c, i) => 6 + i)],
      rows,
    },
  };
}

function sumCategory(series: { timeline: TimelineSeries; categoryMap: number[] }[], cat: number): number {
  let n = 0;
  for (const s of series) s.timeline.byCategory.forEach((k, c) => (n += s.categoryMap[c] === cat ? k : 0));
  return n;
}

interface Bucket {
  startMs: number;
  count: number;
  minUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** Empty when not known (bands keep no categories per bucket). */
  byCategory: number[];
}

/** The table's buckets: the bands as they are, or the dots cut into TABLE_BUCKETS buckets, exact. */
function bucketsOf(t: TimelineSeries): Bucket[] {
  if (t.mode === "bands" && t.bands !== undefined) {
    const b = t.bands;
    return b.startMs.map((startMs, i) => ({
      startMs,
      count: b.count[i]!,
      minUs: b.minUs[i]!,
      p50Us: b.p50Us[i]!,
      p99Us: b.p99Us[i]!,
      maxUs: b.maxUs[i]!,
      byCategory: [],
    }));
  }
  const tMs = decodeFloats(t.dots.tMs);
  const v = decodeFloats(t.dots.latencyUs);
  const c = decodeBytes(t.dots.category);
  if (tMs.length === 0) return [];
  const width = niceBucketMs((tMs[tMs.length - 1]! + 1) / TABLE_BUCKETS);
  const out: Bucket[] = [];
  let i = 0;
  while (i < tMs.length) {
    const k = Math.floor(tMs[i]! / width);
    let j = i;
    while (j < tMs.length && Math.floor(tMs[j]! / width) === k) j++;
    const vals = v.slice(i, j).sort();
    const byCategory = t.categories.map(() => 0);
    for (let x = i; x < j; x++) byCategory[c[x]!]!++;
    const n = j - i;
    const at = (p: number) => Math.round(vals[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!);
    out.push({
      startMs: k * width,
      count: n,
      minUs: Math.round(vals[0]!),
      p50Us: at(0.5),
      p99Us: at(0.99),
      maxUs: Math.round(vals[n - 1]!),
      byCategory,
    });
    i = j;
  }
  return out;
}

/** A plain table model (the terminal's tables, as HTML). */
export function tableModel(caption: string, head: string[], rows: (string | Cell)[][], numeric?: number[]): TableModel {
  return numeric ? { caption, head, rows, numeric } : { caption, head, rows };
}
