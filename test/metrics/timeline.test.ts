import { describe, expect, it } from "vitest";
import { BusySampler } from "../../src/metrics/busy-over-time.js";
import {
  DOTS_LIMIT,
  PROBE_CATEGORIES,
  Timeline,
  decodeBytes,
  decodeFloats,
  type TimelineSeries,
} from "../../src/metrics/timeline.js";

/** A deterministic stream of (start ms, latency µs, category): latencies cycle so each bucket's values are known. */
function feed(t: Timeline, n: number, perMs: number): { tMs: number[]; us: number[] } {
  const tMs: number[] = [];
  const us: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = i / perMs;
    const lat = 100 + ((i * 7919) % 1000); // 100…1099 µs, well spread
    const cat = i % 97 === 0 ? 1 : 0;
    t.add(start, lat, cat);
    tMs.push(start);
    us.push(lat);
  }
  return { tMs, us };
}

/** Exact statistics of the values whose start falls in [from, to). */
function exact(tMs: number[], us: number[], from: number, to: number) {
  const v = us.filter((_x, i) => tMs[i]! >= from && tMs[i]! < to).sort((a, b) => a - b);
  const at = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))]!;
  return { count: v.length, min: v[0]!, p50: at(0.5), p99: at(0.99), max: v[v.length - 1]! };
}

function expectExactBands(s: TimelineSeries, tMs: number[], us: number[]): void {
  const b = s.bands!;
  expect(b.count.reduce((a, k) => a + k, 0)).toBe(tMs.length);
  for (let i = 0; i < b.startMs.length; i++) {
    const e = exact(tMs, us, b.startMs[i]!, b.startMs[i]! + b.bucketMs);
    expect([b.count[i], b.minUs[i], b.p50Us[i], b.p99Us[i], b.maxUs[i]]).toEqual([e.count, e.min, e.p50, e.p99, e.max]);
  }
}

describe("timeline of requests", () => {
  it("keeps every request as a dot up to the limit, in time order, with its category", () => {
    const t = new Timeline(PROBE_CATEGORIES, 1000, 100);
    // Finished out of order: a late request is recorded after later starters.
    t.add(5, 300, 0);
    t.add(1, 44_000, 1);
    t.add(3, 500, 2);
    const s = t.finish();
    expect(s.mode).toBe("dots");
    expect(s.requests).toBe(3);
    expect(s.byCategory).toEqual([1, 1, 1]);
    expect([...decodeFloats(s.dots.tMs)]).toEqual([1, 3, 5]);
    expect([...decodeFloats(s.dots.latencyUs)]).toEqual([44_000, 500, 300]);
    expect([...decodeBytes(s.dots.category)]).toEqual([1, 2, 0]);
  });

  it("above the dot limit, draws bands whose min, p50, p99 and max are exact per bucket, and keeps the remarkable requests as dots", () => {
    const t = new Timeline(PROBE_CATEGORIES, undefined, 100);
    const { tMs, us } = feed(t, DOTS_LIMIT + 5000, 50);
    const s = t.finish();
    expect(s.mode).toBe("bands");
    expect(s.bands!.startMs.length).toBeGreaterThan(100);
    expect(s.bands!.startMs.length).toBeLessThanOrEqual(1000);
    expectExactBands(s, tMs, us);
    const remarkable = tMs.filter((_x, i) => i % 97 === 0).length;
    expect(s.dots.count).toBe(remarkable);
    expect(s.byCategory[1]).toBe(remarkable);
    expect(s.lateRequests).toBeUndefined();
  });

  it("past its raw capacity, folds old buckets as it goes and the bands stay exact (bounded memory)", () => {
    const t = new Timeline(PROBE_CATEGORIES, 60_000, 50, 8192);
    const { tMs, us } = feed(t, 200_000, 4);
    const s = t.finish();
    expect(s.mode).toBe("bands");
    expect(s.bands!.bucketMs).toBe(200); // 60 s planned / 400 buckets, a round width
    expectExactBands(s, tMs, us);
  });

  it("a request that finishes after its bucket was folded still counts, in count, min and max", () => {
    const t = new Timeline(PROBE_CATEGORIES, 10_000, 10, 8192);
    for (let i = 0; i < 9000; i++) t.add(i, 100, 0);
    t.add(3, 999_999, 2); // its bucket was folded at the 8,192nd sample
    const s = t.finish();
    expect(s.lateRequests).toBe(1);
    const b = s.bands!;
    const k = b.startMs.findIndex((x) => x <= 3 && 3 < x + b.bucketMs);
    expect(b.maxUs[k]).toBe(999_999);
    expect(b.count.reduce((a, n) => a + n, 0)).toBe(9001);
  });
});

describe("busy connections over time", () => {
  it("each point is the exact time average over its interval, from the pool's running areas", () => {
    // A pool busy at 2 for the first 100 ms, then at 6.
    let now = 0;
    const source = {
      averages: () => {
        const area = now <= 100 ? 2 * now : 200 + 6 * (now - 100);
        return { busy: now > 0 ? area / now : 0, waiting: 0, windowMs: now };
      },
    };
    const s = new BusySampler(source, undefined);
    for (const at of [50, 100, 150, 200]) {
      now = at;
      s.sample();
    }
    const out = s.stop();
    expect(out.tMs).toEqual([50, 100, 150, 200]);
    expect(out.busy).toEqual([2, 2, 6, 6]);
  });
});
