import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  flatWorker,
  parseShard,
  rateShareOf,
  shardFromEnv,
  shardOptions,
  type ShardableOptions,
  shareOf,
  sliceStart,
} from "../../src/probes/shard.js";
import { LATE_START_WARN_MS, parseStartAt, waitForStart } from "../../src/probes/start-at.js";

describe("sharding", () => {
  it("gives each worker its share, the remainder to the lowest indices", () => {
    expect([0, 1, 2].map((index) => shareOf(10, { index, count: 3 }))).toEqual([4, 3, 3]);
    expect([0, 1, 2].map((index) => rateShareOf(1000, { index, count: 3 }))).toEqual([334, 333, 333]);
    expect([0, 1].map((index) => rateShareOf(2.5, { index, count: 2 }))).toEqual([1.25, 1.25]);
    expect([0, 1, 2, 3].map((index) => sliceStart(10, { index, count: 4 }))).toEqual([0, 3, 6, 8]);
  });

  it("splits any total exactly, into disjoint slices that cover it (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e7 }), fc.integer({ min: 1, max: 500 }), (total, count) => {
        let covered = 0;
        for (let index = 0; index < count; index++) {
          const s = { index, count };
          expect(sliceStart(total, s)).toBe(covered);
          const share = shareOf(total, s);
          expect(share === Math.floor(total / count) || share === Math.ceil(total / count)).toBe(true);
          covered += share;
        }
        expect(covered).toBe(total);
      }),
    );
  });

  it("nests: shard 1 of 4 split over 2 threads is workers 2 and 3 of 8, with slices inside shard 1's", () => {
    expect(
      flatWorker([
        { index: 1, count: 4 },
        { index: 1, count: 2 },
      ]),
    ).toEqual({ index: 3, count: 8 });
    const base = { concurrency: 10, keyCount: 100, keyFirst: 0 };
    const shard = shardOptions(base, [{ index: 1, count: 4 }]);
    expect(shard).toMatchObject({ concurrency: 3, keyFirst: 25, keyCount: 25, worker: { index: 1, count: 4 } });
    const t0 = shardOptions(base, [
      { index: 1, count: 4 },
      { index: 0, count: 2 },
    ]);
    const t1 = shardOptions(base, [
      { index: 1, count: 4 },
      { index: 1, count: 2 },
    ]);
    expect(t0).toMatchObject({ concurrency: 2, keyFirst: 25, keyCount: 13, worker: { index: 2, count: 8 } });
    expect(t1).toMatchObject({ concurrency: 1, keyFirst: 38, keyCount: 12, worker: { index: 3, count: 8 } });
  });

  it("staggers constant-rate shards by 1/R so their requests interleave", () => {
    const o: ShardableOptions = { ratePerSec: 4000, keyCount: 100 };
    expect([0, 1, 2, 3].map((index) => shardOptions(o, [{ index, count: 4 }]).scheduleOffsetMs)).toEqual([
      0, 0.25, 0.5, 0.75,
    ]);
  });

  it("refuses a split that leaves a worker nothing, naming the option", () => {
    expect(() => shardOptions({ concurrency: 2, keyCount: 100 }, [{ index: 2, count: 3 }])).toThrow(
      "--concurrency 2 cannot be split across 3 workers: worker 2 would get none",
    );
    expect(() => shardOptions({ ratePerSec: 1, keyCount: 2 }, [{ index: 2, count: 3 }])).toThrow(/--keys 2/);
    expect(() => shardOptions({ ratePerSec: 0.002, keyCount: 100 }, [{ index: 2, count: 3 }])).toThrow(/--rate 0.002/);
  });

  it("reads I/N, and the index from Kubernetes or Nomad", () => {
    expect(parseShard("3/8")).toEqual({ index: 3, count: 8 });
    for (const bad of ["8/8", "-1/4", "1/0", "a/b", "1", "1/10001"]) expect(() => parseShard(bad)).toThrow(/--shard/);
    expect(shardFromEnv(4, { JOB_COMPLETION_INDEX: "2" })).toEqual({ index: 2, count: 4 });
    expect(shardFromEnv(4, { NOMAD_ALLOC_INDEX: "3" })).toEqual({ index: 3, count: 4 });
    expect(() => shardFromEnv(4, {})).toThrow(/neither JOB_COMPLETION_INDEX .* nor NOMAD_ALLOC_INDEX/);
    expect(() => shardFromEnv(4, { JOB_COMPLETION_INDEX: "4" })).toThrow(/JOB_COMPLETION_INDEX=4/);
  });
});

describe("--start-at", () => {
  const now = Date.parse("2026-06-01T12:00:00Z");

  it("reads epoch milliseconds and ISO 8601 with a zone", () => {
    expect(parseStartAt(String(now + 5000), "--start-at", now)).toBe(now + 5000);
    expect(parseStartAt("2026-06-01T12:00:30Z", "--start-at", now)).toBe(now + 30_000);
    expect(parseStartAt("2026-06-01T14:00:30+02:00", "--start-at", now)).toBe(now + 30_000);
  });

  it("refuses a time without a zone, more than 24 h ahead, or long past (seconds for milliseconds)", () => {
    expect(() => parseStartAt("2026-06-01T12:00:30", "--start-at", now)).toThrow(/with a zone/);
    expect(() => parseStartAt(String(now + 25 * 3600e3), "--start-at", now)).toThrow(/more than 24 h ahead/);
    expect(() => parseStartAt(String(Math.floor(now / 1000)), "--start-at", now)).toThrow(/epoch seconds\?/);
  });

  it("waits until the time, then starts on it", async () => {
    const at = Date.now() + 300;
    const warnings: string[] = [];
    const s = await waitForStart(at, undefined, warnings);
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    expect(s.startAtMs).toBe(at);
    expect(warnings).toEqual(s.startLateMs >= LATE_START_WARN_MS ? [expect.stringMatching(/started/)] : []);
  });

  it("a run already late says so and starts at once", async () => {
    const warnings: string[] = [];
    const t = Date.now();
    const s = await waitForStart(t - 1500, undefined, warnings);
    expect(Date.now() - t).toBeLessThan(200);
    expect(s.startLateMs).toBeGreaterThanOrEqual(1500);
    expect(warnings[0]).toMatch(/^started 15\d\d ms after the synchronised start/);
  });

  it("Ctrl-C ends the wait", async () => {
    const ac = new AbortController();
    const t = Date.now();
    setTimeout(() => ac.abort(), 100);
    await waitForStart(Date.now() + 60_000, ac.signal, []);
    expect(Date.now() - t).toBeLessThan(1000);
  });
});
