import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBE_DEFAULTS } from "../../src/probes/closed-loop.js";
import { parseSlos } from "../../src/probes/slo.js";
import { runSweep } from "../../src/probes/sweep.js";
import { EmbeddedServer } from "../../src/server/server.js";
import { mcdiag } from "../helpers/cli.js";

describe("SLO expressions", () => {
  it("parse latencies with units, percentages and counts", () => {
    expect(
      parseSlos("p99<5ms, success>=99.9%,p99.99<=1s,mean<800us,max<2s,errors<10,stalled<1%,errors<=0.5%").map((s) => [
        s.metric,
        s.op,
        s.value,
      ]),
    ).toEqual([
      [{ kind: "percentile", p: 99 }, "<", 5000],
      [{ kind: "success" }, ">=", 0.999],
      [{ kind: "percentile", p: 99.99 }, "<=", 1_000_000],
      [{ kind: "mean" }, "<", 800],
      [{ kind: "max" }, "<", 2_000_000],
      [{ kind: "errors", ratio: false }, "<", 10],
      [{ kind: "stalled" }, "<", 0.01],
      [{ kind: "errors", ratio: true }, "<=", 0.005],
    ]);
  });

  it("treat 99.9 % as exactly 999 in 1000", () => {
    const [slo] = parseSlos("success>=99.9%");
    expect(slo!.value).toBe(999 / 1000);
  });

  it("reject typos instead of passing silently", () => {
    for (const [bad, why] of [
      ["p99<5mss", /cannot read 'p99<5mss'/],
      ["p99<5", /a latency needs a unit/],
      ["sucess>=99%", /cannot read 'sucess>=99%'/],
      ["success>=99.9", /success is a percentage/],
      ["p30<1ms", /percentiles go from p50 to p99.99/],
      ["p99<5ms,", /an empty term/],
      ["p99=5ms", /cannot read/],
      ["stalled<150%", /above 100/],
    ] as [string, RegExp][]) {
      expect(() => parseSlos(bad), bad).toThrow(why);
    }
  });
});

describe("sweep", () => {
  let server: EmbeddedServer;
  let port: number;
  beforeAll(async () => {
    // Two workers, 5 ms each: the server can answer 400 requests per second.
    server = new EmbeddedServer({ capacity: { workers: 2, serviceMs: 5 } });
    port = (await server.listen()).port;
  });
  afterAll(() => server.close());

  it("finds the knee within one step of the server's capacity, and names the SLO that broke", async () => {
    const r = await runSweep({
      ...PROBE_DEFAULTS,
      host: "127.0.0.1",
      port,
      poolSize: 20,
      keyCount: 8,
      warmupPerConnection: 1,
      timeoutMs: 5000,
      rates: [200, 300, 400, 500, 600],
      stepDurationMs: 1500,
      pauseMs: 200,
      // The median and p90 ride out a busy machine's scheduling hiccups (a few requests late by
      // 100 ms); above capacity the queue grows for the whole step and holds most requests far longer.
      slos: parseSlos("p90<150ms,success>=99%"),
    });
    expect(r.steps.map((s) => s.requestedRate)).toEqual([200, 300, 400, 500, 600]);
    expect(r.steps[0]!.sloMet).toBe(true);
    expect(r.steps[4]!.sloMet).toBe(false);
    // The server's capacity as this run saw it: what it answered per second when offered more
    // (400/s on an idle machine; fewer when its 5 ms timers fire late). The knee is within a
    // step of it, whatever the machine's speed.
    const over = r.steps[4]!;
    const capacity = over.throughputPerSec;
    expect(capacity).toBeGreaterThan(100);
    expect(capacity).toBeLessThanOrEqual(440);
    expect(r.maxRateMeetingSlo).not.toBeNull();
    expect(Math.abs(r.maxRateMeetingSlo! - capacity)).toBeLessThanOrEqual(150);
    expect(r.firstBrokenSlo).toBe("p90<150ms");
    expect(over.latencyUs.p99).toBeGreaterThan(200_000);
    expect(over.drainMs).toBeGreaterThan(50);
    expect(over.slos[0]).toMatchObject({ slo: "p90<150ms", met: false });
  });

  it("CLI: exit 1 with the table when a step breaks an SLO; exit 2 naming a malformed SLO", async () => {
    const r = await mcdiag(
      [
        "sweep",
        `127.0.0.1:${port}`,
        "--rates",
        "100,700",
        "--step-duration",
        "1s",
        "--pause",
        "0",
        "--slo",
        // 100/s is a quarter of the capacity; 700/s queues most requests for hundreds of ms.
        "p50<100ms",
        "--keys",
        "8",
        "--json",
      ],
      { timeoutMs: 30000 },
    );
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.steps).toHaveLength(2);
    expect(Object.keys(j.steps[0])).toEqual(
      expect.arrayContaining([
        "requestedRate",
        "achievedRate",
        "throughputPerSec",
        "successRatio",
        "latencyUs",
        "poolWaitUs",
        "stalledRatio",
        "errors",
        "drainMs",
        "poolModel",
        "sloMet",
      ]),
    );
    expect(j).toMatchObject({ maxRateMeetingSlo: 100, firstBrokenSlo: "p50<100ms" });
    const bad = await mcdiag(["sweep", `127.0.0.1:${port}`, "--rates", "100", "--slo", "p99<5 ms,succes>=99%"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      "mcdiag: --slo: cannot read 'succes>=99%': expected e.g. p99<5ms, mean<=2ms, max<1s, success>=99.9%, errors<10, stalled<1%\n",
    );
  });
});

describe("pool-size", () => {
  it("prints the story's arithmetic", async () => {
    const r = await mcdiag([
      "pool-size",
      "--rate",
      "5000",
      "--hold",
      "45ms",
      "--pool",
      "20",
      "--compare-hold",
      "0.3ms",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^5000\/s × 45\.0 ms = 225 busy connections on average; a pool of 20 is 11× too small: callers queue without bound \(the queue grows by 4,556 callers per second\)$/m,
    );
    expect(r.stdout).toMatch(/^a pool of 239 keeps the mean wait under 1\.00 ms \(226 just keep up\)$/m);
    expect(r.stdout).toMatch(/^with 300 µs per request: 1\.50 busy connections; 2 connections suffice$/m);
  });

  it("prints the documented JSON, with a null wait when the pool cannot keep up", async () => {
    const over = JSON.parse(
      (await mcdiag(["pool-size", "--rate", "5000", "--hold", "45ms", "--pool", "20", "--json"])).stdout,
    );
    expect(over).toMatchObject({
      rate: 5000,
      holdMs: 45,
      pool: 20,
      busyConnections: 225,
      utilization: 11.25,
      waitProbability: 1,
      meanWaitMs: null,
    });
    // The textbook M/M/3: λ = 6 per hour, 20 minutes each: P(wait) = 0.444, Wq = 0.148 h = 533,000 ms.
    const textbook = JSON.parse(
      (
        await mcdiag([
          "pool-size",
          "--rate",
          String(6 / 3600),
          "--hold",
          "1200s",
          "--pool",
          "3",
          "--target-wait",
          "600s",
          "--json",
        ])
      ).stdout,
    );
    expect(Number(textbook.waitProbability.toPrecision(3))).toBe(0.444);
    expect(Number(textbook.meanWaitMs.toPrecision(3))).toBe(533_000);
  });

  it("exits 2 on a bad value, naming the option, and refuses an absurd rate", async () => {
    const r = await mcdiag(["pool-size", "--rate", "fast", "--hold", "45ms"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("mcdiag: --rate: 'fast' is not valid (want a number from 0 to 1000000000)\n");
    const absurd = await mcdiag(["pool-size", "--rate", "1e20", "--hold", "1s"]);
    expect(absurd.code).toBe(2);
    expect(absurd.stderr).toBe("mcdiag: --rate: '1e20' is not valid (want a number from 0 to 1000000000)\n");
  });

  it("answers for the largest rate and hold at once, with the bare minimum and the growth of the queue", async () => {
    const r = await mcdiag(["pool-size", "--rate", "1e9", "--hold", "1h", "--json"], { timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ busyConnections: 3.6e12, minimumPool: 3.6e12 + 1, meanWaitMs: null });
    expect(j.queueGrowthPerSec).toBeCloseTo(1e9 - 20 / 3600, 0);
    expect(j.requiredPool).toBeGreaterThan(3.6e12 + 1e6);
  });
});
