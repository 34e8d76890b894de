import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMemcached, watchStat, type Daemon, type StatWatch } from "../helpers/daemons.js";
import { mcdiagInterrupted } from "../helpers/interrupt.js";
import { expectRateClaimMatches } from "../helpers/rate.js";

// Ctrl-C stops every long command within a second (plus process teardown on a
// shared machine), prints what it measured marked as interrupted, and exits
// 130 with nothing left keeping the process alive.
const WITHIN_MS = 2500;

// The signal goes once the run has reached the point under test, as seen by a
// real memcached's own counters: a fixed delay would race the process's start
// on a loaded machine.
let mc: Daemon;
let gets: StatWatch;
beforeAll(async () => {
  mc = await startMemcached();
  gets = watchStat(mc, "cmd_get");
});
afterAll(async () => {
  gets.stop();
  await mc.stop();
});
const endpoint = () => `${mc.host}:${mc.port}`;
/** True once the server has answered `n` more gets than when this was called. */
function getsFromNow(n: number): () => boolean {
  const from = gets.value();
  return () => gets.value() >= from + n;
}

describe("interruption (SIGINT/SIGTERM)", () => {
  it("probe --rate: partial JSON marked interrupted, rate over the time it ran, no generator warning", async () => {
    const r = await mcdiagInterrupted(["probe", endpoint(), "--rate", "1000", "--duration", "20s", "--json"], {
      afterMs: 500,
      until: getsFromNow(1500),
    });
    expect(r.code).toBe(130);
    expect(r.msAfterSignal).toBeLessThan(WITHIN_MS);
    const j = JSON.parse(r.stdout);
    expect(j.interrupted).toBe(true);
    // The rate is over the time it ran (about 1.5 s of the 20 planned), not over the plan: a
    // generator that kept up is not reported short of it (a loaded machine's shortfall is
    // reported, and must match the figures).
    expect(j.achievedRate).toBeGreaterThan(500);
    expect(j.achievedRate).toBeLessThan(1100);
    expect(j.issued).toBeLessThan(5000);
    expectRateClaimMatches(j);
    expect(j.latencyUs.count).toBe(j.requests);
  });

  it("probe (closed loop) on SIGTERM: partial JSON marked interrupted", async () => {
    const r = await mcdiagInterrupted(["probe", endpoint(), "--duration", "20s", "--json"], {
      afterMs: 500,
      until: getsFromNow(1000),
      signal: "SIGTERM",
    });
    expect(r.code).toBe(130);
    expect(r.msAfterSignal).toBeLessThan(WITHIN_MS);
    const j = JSON.parse(r.stdout);
    expect(j.interrupted).toBe(true);
    expect(j.requests).toBeGreaterThan(0);
    expect(j.durationMs).toBeLessThan(5000);
  });

  it("compare: the patterns run so far, marked interrupted", async () => {
    // The first pattern writes split commands with Nagle on: about 20 answers a second per caller.
    const r = await mcdiagInterrupted(["compare", endpoint(), "--duration", "20s", "--json"], {
      afterMs: 500,
      until: getsFromNow(100),
    });
    expect(r.code).toBe(130);
    expect(r.msAfterSignal).toBeLessThan(WITHIN_MS);
    const j = JSON.parse(r.stdout);
    expect(j.interrupted).toBe(true);
    expect(j.runs).toHaveLength(1);
    expect(j.runs[0].interrupted).toBe(true);
  });

  it("sweep: the partial table, marked interrupted, and no claim that every step met the SLOs", async () => {
    // In the pause after the first step: its 100 gets done, then no get for half a second.
    const from = gets.value();
    const r = await mcdiagInterrupted(
      ["sweep", endpoint(), "--rates", "100,200,300", "--step-duration", "1s", "--pause", "10s", "--slo", "p99<1s"],
      { afterMs: 500, until: () => gets.value() >= from + 100 && Date.now() - gets.changedAt() > 500 },
    );
    expect(r.code).toBe(130);
    expect(r.msAfterSignal).toBeLessThan(WITHIN_MS);
    expect(r.stdout).toMatch(/INTERRUPTED/);
    expect(r.stdout).toMatch(
      /of the steps that ran in full, every step met the SLOs and the success floor, up to 100\/s/,
    );
  });

  it("key seeding of --keys × --value-size stops between two keys", async () => {
    const r = await mcdiagInterrupted(
      ["probe", "--embedded", "--keys", "1000000", "--value-size", "1000000", "--duration", "1s", "--json"],
      { afterMs: 1500 },
    );
    expect(r.code).toBe(130);
    expect(r.msAfterSignal).toBeLessThan(WITHIN_MS);
    expect(JSON.parse(r.stdout)).toMatchObject({ interrupted: true, requests: 0 });
  });
});
