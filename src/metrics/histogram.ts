import * as hdr from "hdr-histogram-js";
import { round } from "../util/round.js";

export type Histogram = hdr.Histogram;

/**
 * The one place that fixes HDR settings. Values are microseconds, from 1 µs
 * to 1 hour, with 3 significant digits (0.1 % resolution). Histograms built
 * here merge with each other (`add`) because they share these settings.
 */
export const HISTOGRAM_SETTINGS = {
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000,
  numberOfSignificantValueDigits: 3,
  bitBucketSize: 32,
  autoResize: false,
  useWebAssembly: false,
} as const;

export function newHistogram(): Histogram {
  return hdr.build(HISTOGRAM_SETTINGS);
}

/**
 * Bucket width of histograms that hold merged or decoded counts: 64-bit
 * (float) buckets count exactly up to 2^53, where the 32-bit buckets of a
 * single run would wrap once a fleet's merged bucket passes 2^32. Same
 * range and precision, so percentiles are unchanged.
 */
export const MERGED_BUCKET_BITS = 64;

export function newMergedHistogram(): Histogram {
  return hdr.build({ ...HISTOGRAM_SETTINGS, bitBucketSize: MERGED_BUCKET_BITS });
}

/**
 * Records a duration in µs, rounded and clamped into the histogram's range
 * (0 … 1 h). Returns true when the value was out of range and had to be
 * clamped, so callers can count and report it instead of losing the run.
 */
export function recordClampedUs(h: Histogram, us: number): boolean {
  let v = Math.round(us);
  let clamped = false;
  if (!(v >= 0)) {
    v = 0;
    clamped = true;
  } else if (v > HISTOGRAM_SETTINGS.highestTrackableValue) {
    v = HISTOGRAM_SETTINGS.highestTrackableValue;
    clamped = true;
  }
  h.recordValue(v);
  return clamped;
}

/** Percentiles of one histogram, microseconds. */
export interface LatencySummaryUs {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** A percentile, µs. HDR percentiles are bucket upper bounds: clamp so none exceeds the max. */
export function percentileUs(h: Histogram, p: number): number {
  return Math.min(h.getValueAtPercentile(p), h.maxValue);
}

export function summarize(h: Histogram): LatencySummaryUs {
  if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  const at = (p: number) => percentileUs(h, p);
  return {
    count: h.totalCount,
    min: h.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : h.minNonZeroValue,
    mean: round(h.mean, 1),
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: h.maxValue,
  };
}
