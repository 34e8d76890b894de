import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBE_DEFAULTS, runProbe } from "../../src/probes/closed-loop.js";
import { EmbeddedServer } from "../../src/server/server.js";

describe("Little's law on a saturated pool", () => {
  let server: EmbeddedServer;
  let port: number;
  beforeAll(async () => {
    server = new EmbeddedServer({ delayMs: 20 });
    port = (await server.listen()).port;
  });
  afterAll(() => server.close());

  it("reports busy connections ≈ pool size and mean waiting ≈ the pool's own average", async () => {
    const r = await runProbe({
      ...PROBE_DEFAULTS,
      host: "127.0.0.1",
      port,
      poolSize: 4,
      concurrency: 10,
      durationMs: 2000,
      warmupPerConnection: 1,
      keyCount: 8, // seeding goes through the 20 ms delay too
      timeoutMs: 5000,
      healthCheck: "none",
    });
    const l = r.littlesLaw;
    expect(r.errors).toEqual({});
    // Each request holds a connection for the 20 ms service delay.
    expect(r.wireUs.p50).toBeGreaterThanOrEqual(20_000);
    expect(Math.abs(l.busyConnections - 4) / 4).toBeLessThan(0.05);
    expect(l.utilization).toBeGreaterThan(0.95);
    // Six callers beyond the pool are queued most of the time.
    expect(l.sampledWaiting).toBeGreaterThan(4);
    expect(Math.abs(l.meanWaiting - l.sampledWaiting) / l.sampledWaiting).toBeLessThan(0.1);
    // The pool wait is then most of the total: the report must show it.
    expect(r.poolWaitUs.p50).toBeGreaterThan(20_000);
  });

  it("reports an idle pool as such when concurrency is below the pool size", async () => {
    const r = await runProbe({
      ...PROBE_DEFAULTS,
      host: "127.0.0.1",
      port,
      poolSize: 8,
      concurrency: 2,
      durationMs: 1000,
      warmupPerConnection: 1,
      keyCount: 8, // seeding goes through the 20 ms delay too
      healthCheck: "none",
    });
    expect(r.littlesLaw.busyConnections).toBeGreaterThan(1.8);
    expect(r.littlesLaw.busyConnections).toBeLessThanOrEqual(2.05);
    expect(r.littlesLaw.meanWaiting).toBeLessThan(0.01);
    expect(r.littlesLaw.utilization).toBeLessThan(0.27);
  });
});
