import { newMergedHistogram, type Histogram } from "../metrics/histogram.js";

/**
 * Exact merges of the additive parts of results: histograms bucket by
 * bucket, counts by name, and time intervals by their union on the wall
 * clock. Percentiles are read from merged histograms, never averaged; a rate
 * is a total count over the union of the intervals, never a sum or a mean of
 * rates (results that did not overlap in time would otherwise read as a
 * fraction of their real rate, or a multiple of it).
 */

/** The histograms added bucket by bucket into one with 64-bit buckets; exact min and max are kept. */
export function mergeHistograms(hs: readonly Histogram[]): Histogram {
  const out = newMergedHistogram();
  for (const h of hs) out.add(h);
  return out;
}

/** Each histogram name merged across the inputs. */
export function mergeHistogramSets<K extends string>(sets: readonly Record<K, Histogram>[]): Record<K, Histogram> {
  const out = {} as Record<K, Histogram>;
  if (sets.length === 0) return out;
  for (const name of Object.keys(sets[0]!) as K[]) out[name] = mergeHistograms(sets.map((s) => s[name]));
  return out;
}

/** Counts by kind, summed (a kind absent from one input counts 0 there). */
export function sumCounts<K extends string>(objs: readonly Partial<Record<K, number>>[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const o of objs) {
    for (const k of Object.keys(o) as K[]) out[k] = (out[k] ?? 0) + (o[k] ?? 0);
  }
  return out;
}

/** The first value seen for each key (the first error message of each kind across workers). */
export function firstOf<K extends string, V>(objs: readonly Partial<Record<K, V>>[]): Partial<Record<K, V>> {
  const out: Partial<Record<K, V>> = {};
  for (const o of objs) for (const k of Object.keys(o) as K[]) if (out[k] === undefined) out[k] = o[k];
  return out;
}

/** An interval on the wall clock: its start (epoch ms) and its length (ms). */
export interface TimeSpan {
  startMs: number;
  lengthMs: number;
}

/**
 * The length of the union of the spans (ms): overlapping time counts once,
 * gaps between spans not at all. Lengths are added as given wherever spans
 * do not overlap, so one span's union is its own length to the last bit.
 */
export function unionLengthMs(spans: readonly TimeSpan[]): number {
  const sorted = [...spans].filter((s) => s.lengthMs > 0).sort((a, b) => a.startMs - b.startMs);
  let total = 0;
  let segEnd = -Infinity;
  let segLen = 0;
  for (const s of sorted) {
    const end = s.startMs + s.lengthMs;
    if (s.startMs >= segEnd) {
      total += segLen;
      segLen = s.lengthMs;
      segEnd = end;
    } else if (end > segEnd) {
      segLen += end - segEnd;
      segEnd = end;
    }
  }
  return total + segLen;
}

/** The middle value (the lower of the two middles for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}
