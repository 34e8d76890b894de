import { Timeline } from "../metrics/timeline.js";
import type { WarningFacts } from "./analyzer.js";
import { EXCHANGE_CATEGORIES } from "./exchange-timeline.js";

/**
 * One capture analysed by several workers, each owning the flows whose hash
 * falls to it: what a worker hands back beside its result so that the merge
 * gives exactly the one-thread analysis (the same flow numbers, the same rows
 * in the same order, the same warnings and timeline).
 *
 * Order keys: every row (stall item, top exchange, flow, cause example) and
 * every timeline point is made while some packet is handled, and gets that
 * moment's key [major, minor]:
 *
 *   major = 2·frame       while the packet's owner handles it
 *           2·frame + 1   while flows idle past the timeout are finished after it
 *           MAX           while the flows still open are finished at the end
 *   minor = the frame that last touched the flow being finished (0 otherwise)
 *
 * The one-thread analysis makes its rows in exactly this order (it finishes
 * idle flows least recently active first), so sorting the workers' rows by
 * key (stable within a worker) restores it.
 */
export type OrderKey = [major: number, minor: number];

export function compareKeys(a: OrderKey, b: OrderKey): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** The order key of the moment, shared by the analysis (which moves it) and what stamps rows with it. */
export interface KeyClock {
  major: number;
  minor: number;
}

/** The major key of the flows finished at the end of the capture. */
export const END_MAJOR = Number.MAX_SAFE_INTEGER;

/** A thread's share of a capture split by flow: it analyses the flows whose hash mod `of` is `index`. */
export interface FlowShare {
  index: number;
  of: number;
}

/** Timeline points with their order keys, as parallel arrays. */
export interface KeyedPoints {
  n: number;
  major: Float64Array;
  minor: Float64Array;
  tMs: Float64Array;
  us: Float64Array;
  category: Uint8Array;
}

/**
 * Stands in for the analysis' timeline in a worker: keeps each point with its
 * key instead of folding it, for the merge to add them to one timeline in the
 * one-thread order.
 */
export class KeyedTimeline extends Timeline {
  private pts: KeyedPoints = newPoints(4096);

  constructor(private readonly clock: KeyClock) {
    super(EXCHANGE_CATEGORIES, undefined, 0);
  }

  override add(tMs: number, latencyUs: number, category: number): void {
    let p = this.pts;
    if (p.n === p.major.length) p = this.pts = grown(p);
    const i = p.n++;
    p.major[i] = this.clock.major;
    p.minor[i] = this.clock.minor;
    p.tMs[i] = tMs;
    p.us[i] = latencyUs;
    p.category[i] = category;
  }

  points(): KeyedPoints {
    return this.pts;
  }
}

function newPoints(size: number): KeyedPoints {
  return {
    n: 0,
    major: new Float64Array(size),
    minor: new Float64Array(size),
    tMs: new Float64Array(size),
    us: new Float64Array(size),
    category: new Uint8Array(size),
  };
}

function grown(p: KeyedPoints): KeyedPoints {
  const q = newPoints(p.major.length * 2);
  q.n = p.n;
  q.major.set(p.major);
  q.minor.set(p.minor);
  q.tMs.set(p.tMs);
  q.us.set(p.us);
  q.category.set(p.category);
  return q;
}

/** The buffers of the points, to transfer them to the main thread rather than copy them. */
export function pointBuffers(p: KeyedPoints): ArrayBuffer[] {
  return [p.major.buffer, p.minor.buffer, p.tMs.buffer, p.us.buffer, p.category.buffer] as ArrayBuffer[];
}

/** Adds the workers' points to `into` in key order (each worker's are already in it; ties cannot cross workers). */
export function addPointsInOrder(into: Timeline, parts: readonly KeyedPoints[]): void {
  const at = parts.map(() => 0);
  for (;;) {
    let best = -1;
    for (let w = 0; w < parts.length; w++) {
      const p = parts[w]!;
      const i = at[w]!;
      if (i >= p.n) continue;
      if (best < 0) {
        best = w;
        continue;
      }
      const q = parts[best]!;
      const j = at[best]!;
      if (p.major[i]! < q.major[j]! || (p.major[i] === q.major[j] && p.minor[i]! < q.minor[j]!)) best = w;
    }
    if (best < 0) return;
    const p = parts[best]!;
    const i = at[best]!++;
    into.add(p.tMs[i]!, p.us[i]!, p.category[i]!);
  }
}

/** What a worker hands back beside its share's result. */
export interface ShareRecord {
  facts: WarningFacts;
  /** Each flow's first frame, by the worker's flow number − 1 (increasing). */
  flowFirstFrames: number[];
  /** The order keys of the result's rows, index for index. */
  keys: { items: OrderKey[]; top: OrderKey[]; flows: OrderKey[]; examples: OrderKey[][] };
  points: KeyedPoints;
  /** Durations behind the result's ms figures, unrounded (ns), so that the merge rounds once, as one analysis does. */
  ns: ShareNs;
}

export interface ShareNs {
  stalled: number;
  causes: Partial<Record<string, number>>;
  endpoints: Record<string, { stalled: number; request: number; server: number; response: number }>;
}
