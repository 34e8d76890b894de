import { describe, expect, it } from "vitest";
import { erlangC, meanWaitMs, poolModel } from "../../src/metrics/erlang.js";

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
