import type { Histogram } from "../../metrics/histogram.js";

/** A percentile line: x = 1/(1-p) (HdrHistogram's plot axis: 10 is p90, 100 is p99), y in µs. */
export interface Curve {
  x: number[];
  yUs: number[];
}

/** The summary fields a curve can be read from (probe summaries have them all; analyze's wire summary fewer). */
export interface SummaryLike {
  count: number;
  min?: number;
  p50: number;
  p90?: number;
  p95?: number;
  p99: number;
  p999?: number;
  max: number;
}

/**
 * The percentiles a summary holds, on the 1/(1-p) axis. The max is placed
 * at the last request's percentile, 1 − 1/count; a percentile finer than
 * the count can resolve is left out (it is the max).
 */
export function curveFromSummary(s: SummaryLike): Curve {
  const x: number[] = [];
  const yUs: number[] = [];
  if (s.count === 0) return { x, yUs };
  const add = (p: number, v: number | undefined) => {
    if (v === undefined) return;
    const at = 1 / (1 - p);
    if (at >= s.count) return;
    x.push(at);
    yUs.push(v);
  };
  add(0, s.min);
  add(0.5, s.p50);
  add(0.9, s.p90);
  add(0.95, s.p95);
  add(0.99, s.p99);
  add(0.999, s.p999);
  x.push(Math.max(s.count, (x[x.length - 1] ?? 1) * 1.01));
  yUs.push(s.max);
  return { x, yUs };
}

/** Points per halving of the remaining share, as HdrHistogram's percentile output uses by default. */
const TICKS_PER_HALF = 5;

/** The full percentile distribution of a histogram (µs), as `outputPercentileDistribution` walks it. */
export function curveFromHistogram(h: Histogram): Curve {
  const x: number[] = [];
  const yUs: number[] = [];
  const n = h.totalCount;
  if (n === 0) return { x, yUs };
  for (let k = 0; ; k++) {
    const rest = 0.5 ** (k / TICKS_PER_HALF);
    const at = 1 / rest;
    if (at >= n) break;
    x.push(at);
    yUs.push(Math.min(h.getValueAtPercentile(100 * (1 - rest)), h.maxValue));
  }
  x.push(Math.max(n, (x[x.length - 1] ?? 1) * 1.01));
  yUs.push(h.maxValue);
  return { x, yUs };
}
