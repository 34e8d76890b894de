import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBE_DEFAULTS } from "../../src/probes/closed-loop.js";
import { runRateProbe } from "../../src/probes/open-loop.js";
import { expectRateClaimMatches } from "../helpers/rate.js";
import { EmbeddedServer } from "../../src/server/server.js";

describe("constant-rate probe (open loop)", () => {
  let server: EmbeddedServer;
  let port: number;
  beforeAll(async () => {
    server = new EmbeddedServer({ delayMs: 10 }); // fixed service time per request
    port = (await server.listen()).port;
  });
  afterAll(() => server.close());

  const probe = (ratePerSec: number, durationMs: number) =>
    runRateProbe({
      ...PROBE_DEFAULTS,
      host: "127.0.0.1",
      port,
      poolSize: 4, // capacity 4 / 10 ms = 400/s
      ratePerSec,
      durationMs,
      keyCount: 8,
      warmupPerConnection: 1,
      timeoutMs: 5000,
    });

  it("with a pool too small for the rate, latency from the intended start grows while service time stays at the delay", async () => {
    const r = await probe(500, 2000);
    expect(r.mode).toBe("rate");
    expect(r.requestedRate).toBe(500);
    expect(r.achievedRate).toBeGreaterThan(490);
    expect(r.successRatio).toBe(1);
    // Service: the fixed 10 ms (plus loopback and timer slack; libuv's
    // millisecond clock may fire a 10 ms timer up to 1 ms early).
    expect(r.serviceUs.p50).toBeGreaterThanOrEqual(9_000);
    expect(r.serviceUs.p50).toBeLessThan(16_000);
    // Users waited for the queue: 100 extra requests/s pile up for 2 s.
    expect(r.latencyUs.p50).toBeGreaterThan(10 * r.serviceUs.p50);
    expect(r.latencyUs.max).toBeGreaterThan(r.latencyUs.p50);
    // Little's law: λ × mean pool wait equals the pool's own time-averaged queue.
    const l = r.littlesLaw;
    expect(Math.abs(l.meanWaiting - l.sampledWaiting) / l.sampledWaiting).toBeLessThan(0.1);
    expect(l.utilization).toBeGreaterThan(0.95);
    // The backlog takes time to drain after the schedule ends.
    expect(r.drainMs).toBeGreaterThan(100);
  });

  it("below capacity, latency from the intended start stays near the service time, and the generator reports its lag", async () => {
    const r = await probe(200, 1500);
    expect(r.successRatio).toBe(1);
    // No queue: the users' latency stays within a few service times (over capacity, above, it is
    // more than ten). The margin is for a loaded machine's scheduling lag, which is measured below.
    expect(r.latencyUs.p50).toBeLessThan(3 * r.serviceUs.p50);
    expect(r.schedulerLagUs.count).toBe(r.issued);
    // Whether the generator kept its rate depends on the machine; what it says must match its figures.
    expectRateClaimMatches(r);
    // Its own part of the latency is accounted for, per request.
    expect(r.generatorUs.count).toBe(300);
    expect(r.generatorUs.mean).toBeLessThanOrEqual(r.latencyUs.mean);
    expect(r.poolModel.predictedMeanWaitMs).not.toBeNull();
  });

  it("counts a wait for the pool beyond --timeout as a timeout", async () => {
    const r = await runRateProbe({
      ...PROBE_DEFAULTS,
      host: "127.0.0.1",
      port,
      poolSize: 1, // 100/s capacity at 10 ms
      ratePerSec: 400,
      durationMs: 1000,
      keyCount: 4,
      warmupPerConnection: 0,
      timeoutMs: 200,
    });
    expect(r.errors.acquire_timeout).toBeGreaterThan(50);
    expect(r.errorSamples.acquire_timeout).toBe("no free connection within 200 ms");
    expect(r.successRatio).toBeLessThan(0.6);
  });

  it("warms its own code up first at the requested rate: the server sees those gets, the figures do not", async () => {
    const before = server.counters.cmdGet;
    // 1.5 s: the warm-up is a fifth of it, 300 ms, 60 gets at 200/s; then 300 measured gets.
    const r = await probe(200, 1500);
    const served = server.counters.cmdGet - before;
    expect(r.issued).toBe(300);
    expect(r.requests).toBe(300);
    expect(r.latencyUs.count).toBe(300);
    // Beside the measured gets: one per connection (--warmup 1), and the generator's 60.
    expect(served - 300 - r.poolSize).toBe(60);
  });
});
