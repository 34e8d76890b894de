import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Connection } from "../../src/clients/connection.js";
import type { ErrorKind } from "../../src/clients/errors.js";
import type { Checkout } from "../../src/clients/pool.js";
import { newHistogram, recordClampedUs, type Histogram } from "../../src/metrics/histogram.js";
import { mergeProbeResults, probeInputOf, type ProbeInput } from "../../src/probes/fleet.js";
import { judgeRun } from "../../src/probes/health.js";
import { rateResultOf, type RateParts, type RateProbeResult } from "../../src/probes/open-loop.js";
import { probeResultOf, Recorder } from "../../src/probes/recorder.js";
import { withLatencyHistogram, type ProbeResult, type RunInfo } from "../../src/probes/result.js";
import { parseSlos } from "../../src/probes/slo.js";
import type { ParsedResponse } from "../../src/protocol/response-parser.js";
import { renderRateProbe } from "../../src/report/probe-report.js";
import { decodeHistogram } from "../../src/results/histogram-codec.js";
import { withEnvelope } from "../../src/results/record.js";

/**
 * One recorded sample set: every request with its timestamps and outcome, as
 * a probe's callers hand them to the Recorder (ms, performance.now() scale).
 */
interface Sample {
  askedMs: number;
  gotMs: number;
  hcSentMs: number;
  hcDoneMs: number;
  writtenMs: number;
  doneMs: number;
  /** For the constant-rate figures: when the request was due. */
  intendedMs: number;
  outcome: "hit" | "miss" | ErrorKind;
}

function sampleSet(n: number, seed: number): Sample[] {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const intendedMs = i * 0.5;
    const askedMs = intendedMs + rnd() * rnd() * 3;
    const gotMs = askedMs + (rnd() < 0.2 ? rnd() * 8 : rnd() * 0.01);
    const hcSentMs = gotMs + 0.005;
    const hcDoneMs = hcSentMs + 0.05 + rnd() * 0.3;
    const writtenMs = hcDoneMs + 0.002;
    const r = rnd();
    // Mostly sub-millisecond answers, a 40 ms delayed-ACK mode, and a few failures of each kind.
    const wireMs = r < 0.9 ? 0.05 + rnd() * 0.8 : r < 0.97 ? 40 + rnd() * 4 : 100 + rnd() * 900;
    const outcome: Sample["outcome"] =
      r < 0.85
        ? "hit"
        : r < 0.9
          ? "miss"
          : r < 0.97
            ? "hit"
            : r < 0.98
              ? "timeout"
              : r < 0.99
                ? "reset"
                : "acquire_timeout";
    out.push({ askedMs, gotMs, hcSentMs, hcDoneMs, writtenMs, doneMs: writtenMs + wireMs, intendedMs, outcome });
  }
  return out;
}

const VALUES: ParsedResponse = {
  kind: "values",
  values: 1,
  valueBytes: 100,
  message: "",
  items: [],
  stats: {},
  startOffset: 0,
};
const MISS: ParsedResponse = { ...VALUES, values: 0 };

/** Feeds samples to a Recorder through the calls a probe makes, and records the constant-rate histograms beside. */
function record(samples: readonly Sample[]) {
  const rec = new Recorder(30, Number.MAX_SAFE_INTEGER);
  const rate = {
    latencyUs: newHistogram(),
    latencyOkUs: newHistogram(),
    schedulerLagUs: newHistogram(),
    responseDelayUs: newHistogram(),
    freeConnectionWaitUs: newHistogram(),
    generatorUs: newHistogram(),
    latencyMs: 0,
    generatorMs: 0,
  };
  for (const s of samples) {
    const w = { ...s } as unknown as Checkout;
    const conn = { writtenMs: s.writtenMs } as unknown as Connection;
    let endMs = s.doneMs;
    if (s.outcome === "hit" || s.outcome === "miss")
      rec.response(w, conn, s.outcome === "hit" ? VALUES : MISS, s.doneMs);
    else if (s.outcome === "acquire_timeout") {
      endMs = s.askedMs + 100;
      rec.checkoutFailed(w, s.outcome, "no free connection", endMs);
    } else rec.requestFailed(w, s.outcome, s.outcome, s.doneMs);
    const lagMs = s.askedMs - s.intendedMs;
    const selfMs = lagMs + 0.01;
    recordClampedUs(rate.latencyUs, (endMs - s.intendedMs) * 1000);
    if (s.outcome === "hit" || s.outcome === "miss") recordClampedUs(rate.latencyOkUs, (endMs - s.intendedMs) * 1000);
    recordClampedUs(rate.schedulerLagUs, lagMs * 1000);
    recordClampedUs(rate.responseDelayUs, 10);
    recordClampedUs(rate.freeConnectionWaitUs, 0);
    recordClampedUs(rate.generatorUs, selfMs * 1000);
    rate.latencyMs += endMs - s.intendedMs;
    rate.generatorMs += selfMs;
  }
  return { rec, rate };
}

const WINDOW_MS = 5000;
const START_MS = 1_767_225_600_000;
const POOL = 20;

function runInfo(index: number, count: number, startMs = START_MS): RunInfo {
  return {
    host: `host-${index}`,
    worker: { index, count },
    startedAtMs: startMs,
    endedAtMs: startMs + WINDOW_MS,
    keys: { prefix: "mcdiag:", first: index * 10, count: 10 },
    timeoutMs: 100,
  };
}

/**
 * A worker's result as `probe --json` would print it: `busyShare` of the
 * pool's busy area (the shares of the workers add up to the whole), then
 * through JSON and back, as merge reads it from a file.
 */
function result(
  samples: readonly Sample[],
  info: RunInfo,
  o: { busyShare: number; pools: number; rateShare?: number; windowMs?: number; cpuWaitPercent?: number },
): { result: ProbeResult; json: Record<string, unknown> } {
  const { rec, rate } = record(samples);
  const windowMs = o.windowMs ?? WINDOW_MS;
  const parts = rec.parts(windowMs, { busy: 7.5 * o.busyShare, waiting: 1.25 * o.busyShare, windowMs }, rec.totalOk);
  parts.totals.pools = o.pools;
  const slos = parseSlos("p99<50ms,success>=99%");
  const cfg = {
    endpoint: "10.0.0.5:11211",
    write: "split" as const,
    noDelay: false,
    healthCheck: "version" as const,
    poolSize: POOL * o.pools,
    concurrency: 0,
    stallThresholdMs: 30,
  };
  let r: ProbeResult;
  if (o.rateShare === undefined) {
    r = withLatencyHistogram(
      probeResultOf(parts, { ...cfg, concurrency: 16 * o.pools }, { kind: "closed", callers: 16 * o.pools }, [], info),
      rec.total,
    );
  } else {
    const rp: RateParts = {
      histograms: {
        latencyUs: rate.latencyUs,
        schedulerLagUs: rate.schedulerLagUs,
        responseDelayUs: rate.responseDelayUs,
        freeConnectionWaitUs: rate.freeConnectionWaitUs,
        generatorUs: rate.generatorUs,
      },
      requestedRate: 2000 * o.rateShare,
      issued: samples.length,
      scheduled: samples.length,
      scheduleMs: windowMs,
      latencyMs: rate.latencyMs,
      generatorMs: rate.generatorMs,
      drainMs: 1.5,
      generatorCpuPercent: 20,
      generatorCpuWaitPercent: o.cpuWaitPercent,
      eventLoopDelayP99Us: 300,
    };
    parts.histograms.successLatencyUs = rate.latencyOkUs;
    const base = probeResultOf(
      parts,
      cfg,
      { kind: "open", offeredPerSec: samples.length / (windowMs / 1000) },
      [],
      info,
    );
    r = rateResultOf(base, rp, false);
  }
  judgeRun(r, { slos, minSuccessRatio: 0.99 });
  return { result: r, json: JSON.parse(JSON.stringify(withEnvelope("probe", r))) as Record<string, unknown> };
}

/** Splits the samples across k workers by the given assignment, and merges the workers' JSON. */
function splitAndMerge(samples: readonly Sample[], k: number, assign: (i: number) => number, rate: boolean) {
  const inputs: ProbeInput[] = [];
  for (let w = 0; w < k; w++) {
    const mine = samples.filter((_, i) => assign(i) === w);
    const { json } = result(mine, runInfo(w, k), { busyShare: 1 / k, pools: 1, rateShare: rate ? 1 / k : undefined });
    inputs.push(probeInputOf(json, `w${w}.json`, `w${w}.json`));
  }
  return mergeProbeResults(inputs);
}

const SUMMARIES = ["wireUs", "poolWaitUs", "healthCheckUs", "totalUs", "successLatencyUs"] as const;
const RATE_SUMMARIES = [
  "latencyUs",
  "schedulerLagUs",
  "responseDelayUs",
  "freeConnectionWaitUs",
  "generatorUs",
] as const;

function histogramOf(r: ProbeResult, name: string): Histogram {
  return decodeHistogram(r.histograms[name], name, (r as unknown as Record<string, never>)[name]);
}

function expectSameFigures(merged: ProbeResult, single: ProbeResult, rate: boolean): void {
  const names = rate ? [...SUMMARIES, ...RATE_SUMMARIES] : SUMMARIES;
  const m = merged as unknown as Record<string, unknown>;
  const s = single as unknown as Record<string, unknown>;
  for (const name of names) {
    expect(m[name], name).toEqual(s[name]);
    // Every percentile, not only the summary's: the merged histogram is the single one, bucket for bucket.
    const hm = histogramOf(merged, name);
    const hs = histogramOf(single, name);
    for (let p = 0; p <= 100; p += 0.5)
      expect(hm.getValueAtPercentile(p), `${name} p${p}`).toBe(hs.getValueAtPercentile(p));
    expect(hm.getValueAtPercentile(99.99)).toBe(hs.getValueAtPercentile(99.99));
  }
  for (const f of ["requests", "hits", "misses", "errors", "successRatio", "stalled", "stalledRatio", "strayReplies"]) {
    expect(m[f], f).toEqual(s[f]);
  }
  expect(merged.throughputPerSec).toBe(single.throughputPerSec);
  expect(merged.typicalStallMs).toBe(single.typicalStallMs);
  expect(merged.littlesLaw).toEqual(single.littlesLaw);
  expect(merged.slos).toEqual(single.slos);
  expect(merged.healthy).toBe(single.healthy);
  if (rate) {
    const mr = merged as RateProbeResult;
    const sr = single as RateProbeResult;
    for (const f of ["requestedRate", "achievedRate", "issued", "scheduled", "generatorShare"] as const) {
      expect(mr[f], f).toBe(sr[f]);
    }
  }
}

describe("merge is exact", () => {
  const samples = sampleSet(20_000, 42);

  for (const rate of [false, true]) {
    for (const k of [2, 3, 7]) {
      it(`${rate ? "constant rate" : "closed loop"}: one sample set split across ${k} workers merges into the single-histogram figures`, () => {
        const single = result(samples, runInfo(0, 1), {
          busyShare: 1,
          pools: k,
          rateShare: rate ? 1 : undefined,
        }).result;
        const merged = splitAndMerge(samples, k, (i) => i % k, rate);
        expectSameFigures(merged, single, rate);
        expect(merged.workers).toHaveLength(k);
        expect(merged.workers!.reduce((a, w) => a + w.requests, 0)).toBe(single.requests);
        // The sample set has failures of three kinds and 40 ms stalls: they are in every figure.
        expect(Object.keys(merged.errors).sort()).toEqual(["acquire_timeout", "reset", "timeout"]);
        expect(merged.stalled).toBeGreaterThan(1000);
      });
    }
  }

  it("holds for any assignment of the samples to workers (property)", () => {
    const small = sampleSet(2000, 7);
    const single = (k: number, rate: boolean) =>
      result(small, runInfo(0, 1), { busyShare: 1, pools: k, rateShare: rate ? 1 : undefined }).result;
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.array(fc.nat(), { minLength: small.length, maxLength: small.length }),
        fc.boolean(),
        (k, picks, rate) => {
          const merged = splitAndMerge(small, k, (i) => picks[i]! % k, rate);
          expectSameFigures(merged, single(k, rate), rate);
        },
      ),
      { numRuns: 15 },
    );
  });

  it("a merge of one result is that result", () => {
    const { result: one, json } = result(samples, runInfo(0, 1), { busyShare: 1, pools: 1, rateShare: 1 });
    const merged = mergeProbeResults([probeInputOf(json, "one.json", "one.json")]);
    expectSameFigures(merged, one, true);
    expect(merged.durationMs).toBe(one.durationMs);
  });

  it("the generators' CPU wait merges as the worst worker's, and a worker that could not tell does not count", () => {
    const third = samples.length / 3;
    const waits = [0.4, 2.5, undefined];
    const inputs = waits.map((cpuWaitPercent, w) => {
      const mine = samples.slice(w * third, (w + 1) * third);
      const { json } = result(mine, runInfo(w, 3), { busyShare: 1 / 3, pools: 1, rateShare: 1 / 3, cpuWaitPercent });
      return probeInputOf(json, `w${w}.json`, `w${w}.json`);
    });
    const merged = mergeProbeResults(inputs) as RateProbeResult;
    expect(merged.generatorCpuWaitPercent).toBe(2.5);
    expect(renderRateProbe(merged)).toMatch(/waited for a CPU 2\.5 % of the run/);
    const none = mergeProbeResults([inputs[2]!]) as RateProbeResult;
    expect(none).not.toHaveProperty("generatorCpuWaitPercent");
  });

  it("workers that did not overlap in time: the rate is the total over the union of their windows", () => {
    const half = samples.length / 2;
    const inputs = [0, 1].map((w) => {
      const mine = samples.slice(w * half, (w + 1) * half);
      // Worker 1 started 10 s after worker 0 ended: a 10 s gap that is in neither window.
      const info = runInfo(w, 2, START_MS + w * (WINDOW_MS + 10_000));
      const { json } = result(mine, info, { busyShare: 0.5, pools: 1, rateShare: 1 });
      return probeInputOf(json, `w${w}.json`, `w${w}.json`);
    });
    const merged = mergeProbeResults(inputs) as RateProbeResult;
    const answered = merged.hits + merged.misses;
    expect(merged.durationMs).toBe(2 * WINDOW_MS);
    expect(merged.throughputPerSec).toBe(Math.round((answered / ((2 * WINDOW_MS) / 1000)) * 10) / 10);
    // Each kept its 2,000/s during its own 5 s: together, 2,000/s over the 10 s of their union, not the 4,000/s
    // the fleet asked for (the sum of the rates); and the report says why, without blaming a generator.
    expect(merged.requestedRate).toBe(4000);
    expect(merged.achievedRate).toBe(2000);
    expect(merged.workers!.map((w) => w.achievedRate)).toEqual([2000, 2000]);
    expect(merged.generatorWarning).toMatch(/the workers' windows did not coincide: each kept its own rate/);
    expect(merged.warnings.join("\n")).toMatch(/worker 1\/2 \(w1.json\) started 15000 ms after the others/);
  });
});
