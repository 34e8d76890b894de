/**
 * Per-request points for "latency over time": when each request started,
 * how long it took and what kind it was (a category: stalled, failed, a
 * cause). Up to DOTS_LIMIT requests the series keeps every point; above
 * that it keeps per-time-bucket bands (count, min, p50, p99, max of every
 * request in the bucket, computed exactly from the values, not from a
 * sample) and the requests of a category other than 0 as points, up to
 * NOTABLE_LIMIT.
 *
 * Storage: three typed arrays that grow by doubling up to RAW_CAP samples
 * (9 bytes each); beyond that, the buckets that can no longer receive a
 * request are folded into their statistics and their room reused, so
 * memory stays bounded whatever the run's length.
 */

import type { TimelineBands, TimelineDots, TimelineSeries } from "./timeline-series.js";
import { round } from "../util/round.js";

export type { TimelineBands, TimelineDots, TimelineSeries };

/** Up to this many requests, every one is a dot; above, bands. */
export const DOTS_LIMIT = 100_000;
/** Requests of a category other than 0 kept as dots beside the bands. */
export const NOTABLE_LIMIT = 20_000;
/** Buckets a series of bands aims at. */
export const BANDS_TARGET = 400;
/** Samples held raw at most (≈ 19 MB); beyond it, old buckets are folded. */
export const RAW_CAP = 1 << 21;

/** Probe requests: answered, answered after a stall (wire ≥ the stall threshold), failed. */
export const PROBE_CATEGORIES = ["answered", "stalled", "failed"] as const;
export const CATEGORY_ANSWERED = 0;
export const CATEGORY_STALLED = 1;
export const CATEGORY_FAILED = 2;

export class Timeline {
  private t = new Float32Array(4096);
  private v = new Float32Array(4096);
  private c = new Uint8Array(4096);
  private n = 0;
  private total = 0;
  private readonly byCategory: number[];
  private maxT = 0;
  // Folded buckets (bands mode before the end), by bucket index from 0.
  private bucketMs = 0;
  private foldedBuckets = 0;
  private readonly folded: TimelineBands = {
    bucketMs: 0,
    startMs: [],
    count: [],
    minUs: [],
    p50Us: [],
    p99Us: [],
    maxUs: [],
  };
  private readonly foldedIndex: number[] = [];
  private notable: { t: number[]; v: number[]; c: number[] } | undefined;
  private notableOmitted = 0;
  private late = 0;

  /**
   * @param plannedMs the run's planned length, if known: sets the bucket width when it has to fold early
   * @param horizonMs how long after its start a request may still finish (its timeout): buckets younger than this are not folded
   * @param rawCap samples held raw at most (tests lower it)
   */
  constructor(
    readonly categories: readonly string[],
    private readonly plannedMs: number | undefined,
    private readonly horizonMs: number,
    private readonly rawCap = RAW_CAP,
  ) {
    this.byCategory = categories.map(() => 0);
  }

  get requests(): number {
    return this.total;
  }

  /** One request: started `tMs` after the run's start, took `latencyUs`. No allocation but amortised growth. */
  add(tMs: number, latencyUs: number, category: number): void {
    if (this.n === this.t.length) this.makeRoom();
    const i = this.n++;
    this.t[i] = tMs;
    this.v[i] = latencyUs;
    this.c[i] = category;
    this.total++;
    this.byCategory[category]!++;
    if (tMs > this.maxT) this.maxT = tMs;
  }

  /** The series as JSON: dots up to DOTS_LIMIT requests, bands above. */
  finish(): TimelineSeries {
    const base = { requests: this.total, categories: [...this.categories], byCategory: [...this.byCategory] };
    if (this.foldedBuckets === 0 && this.n <= DOTS_LIMIT) {
      const order = sortedOrder(this.t, this.n);
      return {
        mode: "dots",
        ...base,
        dots: encodeDots(order.length, (k) => order[k]!, this.t, this.v, this.c),
        dotsOmitted: 0,
      };
    }
    if (this.bucketMs === 0) this.bucketMs = niceBucketMs(this.maxT / BANDS_TARGET);
    this.fold(Infinity);
    const bands = this.folded;
    bands.bucketMs = this.bucketMs;
    const nt = this.notable ?? { t: [], v: [], c: [] };
    const t = Float32Array.from(nt.t);
    const order = sortedOrder(t, t.length);
    const series: TimelineSeries = {
      mode: "bands",
      ...base,
      dots: encodeDots(order.length, (k) => order[k]!, t, Float32Array.from(nt.v), Uint8Array.from(nt.c)),
      dotsOmitted: this.notableOmitted,
      bands,
    };
    if (this.late > 0) series.lateRequests = this.late;
    return series;
  }

  private makeRoom(): void {
    if (this.t.length < this.rawCap) {
      this.t = grow(this.t, new Float32Array(this.t.length * 2));
      this.v = grow(this.v, new Float32Array(this.v.length * 2));
      this.c = grow(this.c, new Uint8Array(this.c.length * 2));
      return;
    }
    if (this.bucketMs === 0) {
      // The planned length if known; else twice the span so far (buckets then grow in number with the run).
      this.bucketMs = niceBucketMs((this.plannedMs ?? this.maxT * 2) / BANDS_TARGET);
    }
    this.fold(this.maxT - this.horizonMs);
    // Requests that all finished within the horizon: widen it rather than lose them.
    if (this.n === this.t.length) this.fold(Infinity);
  }

  /** Folds every bucket that ends at or before `cutoffMs` into its statistics; keeps the rest raw. */
  private fold(cutoffMs: number): void {
    const w = this.bucketMs;
    const first = this.foldedBuckets;
    const last = cutoffMs === Infinity ? Math.floor(this.maxT / w) + 1 : Math.floor(cutoffMs / w);
    if (last <= first) return;
    const counts = new Int32Array(last - first + 1);
    for (let i = 0; i < this.n; i++) {
      const b = Math.floor(this.t[i]! / w);
      if (b < first) {
        this.lateSample(b, this.v[i]!);
        if (this.c[i] !== 0) this.keepNotable(this.t[i]!, this.v[i]!, this.c[i]!);
      } else if (b < last) counts[b - first]!++;
    }
    // Counting sort of the folded values by bucket, then an exact sort within each bucket.
    const starts = new Int32Array(counts.length);
    for (let k = 1; k < counts.length; k++) starts[k] = starts[k - 1]! + counts[k - 1]!;
    const values = new Float32Array(starts[counts.length - 1]! + counts[counts.length - 1]!);
    const fill = starts.slice();
    let kept = 0;
    for (let i = 0; i < this.n; i++) {
      const tv = this.t[i]!;
      const b = Math.floor(tv / w);
      if (b < first) continue;
      if (b >= last) {
        this.t[kept] = tv;
        this.v[kept] = this.v[i]!;
        this.c[kept] = this.c[i]!;
        kept++;
        continue;
      }
      values[fill[b - first]!++] = this.v[i]!;
      if (this.c[i] !== 0) this.keepNotable(tv, this.v[i]!, this.c[i]!);
    }
    this.n = kept;
    const f = this.folded;
    for (let k = 0; k < last - first; k++) {
      const n = counts[k]!;
      if (n === 0) continue;
      const s = values.subarray(starts[k], starts[k]! + n).sort();
      f.startMs.push(round((first + k) * w, 3));
      f.count.push(n);
      f.minUs.push(Math.round(s[0]!));
      f.p50Us.push(Math.round(s[rank(n, 0.5)]!));
      f.p99Us.push(Math.round(s[rank(n, 0.99)]!));
      f.maxUs.push(Math.round(s[n - 1]!));
      this.foldedIndex.push(first + k);
    }
    this.foldedBuckets = last;
  }

  /** A request whose bucket was folded before it finished: counted, min and max kept exact. */
  private lateSample(bucket: number, us: number): void {
    this.late++;
    const f = this.folded;
    const k = this.foldedIndex.lastIndexOf(bucket);
    if (k < 0) {
      // Its bucket had no request: insert one in order.
      let at = this.foldedIndex.length;
      while (at > 0 && this.foldedIndex[at - 1]! > bucket) at--;
      this.foldedIndex.splice(at, 0, bucket);
      f.startMs.splice(at, 0, round(bucket * this.bucketMs, 3));
      const r = Math.round(us);
      f.count.splice(at, 0, 1);
      f.minUs.splice(at, 0, r);
      f.p50Us.splice(at, 0, r);
      f.p99Us.splice(at, 0, r);
      f.maxUs.splice(at, 0, r);
      return;
    }
    f.count[k]!++;
    f.minUs[k] = Math.min(f.minUs[k]!, Math.round(us));
    f.maxUs[k] = Math.max(f.maxUs[k]!, Math.round(us));
  }

  private keepNotable(t: number, v: number, c: number): void {
    const nt = (this.notable ??= { t: [], v: [], c: [] });
    if (nt.t.length >= NOTABLE_LIMIT) {
      this.notableOmitted++;
      return;
    }
    nt.t.push(t);
    nt.v.push(v);
    nt.c.push(c);
  }
}

/** The index of the p-th quantile in n sorted values: the smallest value with at least p of them at or below it. */
function rank(n: number, p: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
}

function grow<T extends Float32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** A bucket width of 1, 2 or 5 × a power of ten ms, at least 1 ms. */
export function niceBucketMs(ms: number): number {
  if (!(ms > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(ms));
  const m = ms / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** Indices 0…n-1 ordered by t (stable). */
function sortedOrder(t: Float32Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (t[i]! < t[i - 1]!) sorted = false;
  if (!sorted) order.sort((a, b) => t[a]! - t[b]! || a - b);
  return order;
}

function encodeDots(
  n: number,
  at: (k: number) => number,
  t: Float32Array,
  v: Float32Array,
  c: Uint8Array,
): TimelineDots {
  const tt = new Float32Array(n);
  const vv = new Float32Array(n);
  const cc = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = at(k);
    tt[k] = t[i]!;
    vv[k] = v[i]!;
    cc[k] = c[i]!;
  }
  return { count: n, tMs: base64(tt), latencyUs: base64(vv), category: base64(cc) };
}

/** A typed array's bytes as base64 (little-endian on every platform Node runs on). */
function base64(a: Float32Array | Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

/** Decodes one field of TimelineDots (for tests and the report's tables). */
export function decodeFloats(b64: string): Float32Array {
  const buf = Buffer.from(b64, "base64");
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

export function decodeBytes(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, "base64"));
}
