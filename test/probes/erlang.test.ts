import { describe, expect, it } from "vitest";
import {
  erlangB,
  erlangBAsymptotic,
  erlangC,
  finiteSourceModel,
  meanWaitMs,
  poolModel,
  requiredPool,
} from "../../src/metrics/erlang.js";

const sig3 = (x: number) => Number(x.toPrecision(3));

describe("Erlang C (M/M/c) pool model", () => {
  it("matches the textbook M/M/3 example: λ = 6/h, μ = 3/h (Gross & Harris)", () => {
    // a = 2 Erlangs on 3 servers: P0 = 1/9, P(wait) = 4/9, Lq = 8/9, Wq = Lq/λ = 0.148 h.
    expect(sig3(erlangC(3, 2))).toBe(0.444);
    const holdMs = 3_600_000 / 3; // 1/μ = 20 min
    expect(sig3(meanWaitMs(3, 6 / 3600, holdMs)! / 3_600_000)).toBe(0.148);
  });

  it("matches M/M/2 with a = 1: P(wait) = 1/3, Wq = T/3", () => {
    expect(sig3(erlangC(2, 1))).toBe(0.333);
    expect(sig3(meanWaitMs(2, 10, 100)!)).toBe(33.3);
  });

  it("matches the published Erlang C table value for 10 Erlangs on 12 agents", () => {
    // Standard call-centre tables: P(wait) ≈ 0.449 for a = 10, c = 12.
    expect(sig3(erlangC(12, 10))).toBe(0.449);
  });

  it("reduces to M/M/1: P(wait) = ρ, Wq = ρ·T/(1−ρ)", () => {
    expect(erlangC(1, 0.5)).toBeCloseTo(0.5, 12);
    expect(meanWaitMs(1, 5, 100)).toBeCloseTo(100, 9);
  });

  it("does the story's arithmetic: 5000/s × 45 ms = 225 busy connections, a pool of 20 cannot keep up", () => {
    const m = poolModel(5000, 45, 20, 1);
    expect(m.busyConnections).toBe(225);
    expect(m.utilization).toBe(11.25);
    expect(m.waitProbability).toBe(1);
    expect(m.meanWaitMs).toBeNull();
    expect(m.requiredPool).toBeGreaterThan(225);
    const healthy = poolModel(5000, 0.3, 20, 1);
    expect(healthy.busyConnections).toBe(1.5);
    expect(healthy.requiredPool).toBeLessThanOrEqual(3);
  });
});

describe("Erlang C at any size", () => {
  /** Erlang B by the plain recurrence from k = 0: the reference, O(c). */
  const plainB = (c: number, a: number) => {
    let b = 1;
    for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
    return b;
  };

  it("the shortened recurrence matches the plain one", () => {
    for (const [c, a] of [
      [12, 10],
      [250, 225],
      [10_100, 10_000],
      [1_002_000, 1_000_000],
    ] as const) {
      expect(erlangB(c, a) / plainB(c, a)).toBeCloseTo(1, 12);
    }
  });

  it("the asymptotic expansion matches the exact value where both apply", () => {
    for (const a of [1e3, 1e5, 1e7]) {
      for (const beta of [-0.5, 0.1, 1, 3]) {
        const c = Math.floor(a + beta * Math.sqrt(a));
        expect(Math.abs(erlangBAsymptotic(c, a) / erlangB(c, a) - 1), `a=${a} β=${beta}`).toBeLessThan(1e-6);
      }
    }
  });

  it("finds the required pool by bisection: the smallest pool meeting the target", () => {
    for (const [rate, holdMs, target] of [
      [5000, 45, 1],
      [400, 44, 1],
      [20, 45, 0.01],
      [1e6, 1, 0.001],
    ] as const) {
      const n = requiredPool(rate, holdMs, target);
      expect(meanWaitMs(n, rate, holdMs)!).toBeLessThanOrEqual(target);
      const below = meanWaitMs(n - 1, rate, holdMs);
      expect(below === null || below > target).toBe(true);
    }
  });

  it("models a rate of 1e9/s held for an hour, and says how fast an unstable queue grows", () => {
    const m = poolModel(1e9, 3_600_000, 20, 1);
    expect(m.busyConnections).toBe(3.6e12);
    expect(m.meanWaitMs).toBeNull();
    expect(m.minimumPool).toBe(3.6e12 + 1);
    // Square-root staffing: the answer is a + β√a for a modest β.
    const beta = (m.requiredPool - 3.6e12) / Math.sqrt(3.6e12);
    expect(beta).toBeGreaterThan(0.5);
    expect(beta).toBeLessThan(2);
    expect(poolModel(400, 45, 1, 1).queueGrowthPerSec).toBeCloseTo(400 - 1000 / 45, 1);
  });
});

describe("finite-source (machine repairman) model", () => {
  it("matches the hand-worked M/M/1//2: p = (0.2, 0.4, 0.4)", () => {
    // Two callers, one connection, hold 1 ms, 1 ms away between checkouts.
    const m = finiteSourceModel(2, 1, 1, 1);
    expect(m.busyConnections).toBeCloseTo(0.8, 6);
    expect(m.meanWaiting).toBeCloseTo(0.4, 6);
    expect(m.throughputPerSec).toBeCloseTo(800, 6);
    expect(m.meanWaitMs).toBeCloseTo(0.5, 6);
  });

  it("with no time away from the pool, min(N, c) are busy and the rest wait", () => {
    expect(finiteSourceModel(10, 4, 20, 0)).toMatchObject({ busyConnections: 4, meanWaiting: 6, meanWaitMs: 30 });
    expect(finiteSourceModel(2, 8, 20, 0)).toMatchObject({ busyConnections: 2, meanWaiting: 0, meanWaitMs: 0 });
  });
});
