import { describe, expect, it } from "vitest";
import { mcdiag } from "../helpers/cli.js";

// An overloaded pool: 400/s of ~44 ms split-write stalls through one connection.
const OVERLOAD = [
  "probe",
  "--embedded",
  "--write",
  "split",
  "--rate",
  "400",
  "--pool",
  "1",
  "--duration",
  "1s",
  "--timeout",
  "100ms",
];

describe("honest numbers under overload", () => {
  it("counts every issued request, and Little's law for the waiters matches the pool's own average", async () => {
    const r = await mcdiag([...OVERLOAD, "--json"], { timeoutMs: 20_000 });
    expect(r.code).toBe(1); // far below the success floor
    const j = JSON.parse(r.stdout);
    expect(j.latencyUs.count).toBe(400);
    expect(j.requests).toBe(400);
    expect(j.successLatencyUs.count).toBe(j.hits + j.misses);
    expect(j.errors.acquire_timeout).toBeGreaterThan(300);
    expect(j.healthy).toBe(false);
    expect(j.problems[0]).toMatch(/^success [\d.]+ % is below the floor of 99 %/);
    const l = j.littlesLaw;
    expect(Math.abs(l.meanWaiting - l.sampledWaiting) / l.sampledWaiting).toBeLessThan(0.1);
    expect(j.poolModel).toMatchObject({ model: "M/M/c", stable: false, predictedMeanWaitMs: null });
    expect(j.poolModel.queueGrowthPerSec).toBeGreaterThan(300);
    expect(j.poolModel.minimumPool).toBeGreaterThanOrEqual(17);
    expect(j.poolModel.requiredPool).toBeGreaterThanOrEqual(19);
  });

  it("says the queue is unstable and how many connections the load needs, failures first; a met p99 SLO does not make it healthy", async () => {
    const r = await mcdiag([...OVERLOAD, "--slo", "p99<200ms"], { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[1]).toMatch(/^NOT HEALTHY: success [\d.]+ % is below the floor of 99 %/);
    expect(lines[2]).toMatch(/^failures: \d+ of 400 requests \([\d.]+ %\): acquire_timeout \d+/);
    // The arithmetic, not this machine's timing: the measured rate (up to the 400/s asked) × held
    // time = load, more than the pool of 1, and the pools it names hold that load. Each request holds
    // the connection for a delayed ACK (≥ 40 ms in the kernel), longer on a busy machine.
    const unstable =
      /the queue is UNSTABLE: (\d+)\/s × ([\d.]+) ms held = ([\d.]+) connections' worth of load on a pool of 1/.exec(
        r.stdout,
      );
    expect(unstable, r.stdout).not.toBeNull();
    const [ratePerSec, heldMs, load] = unstable!.slice(1).map(Number) as [number, number, number];
    expect(ratePerSec).toBeGreaterThan(300);
    expect(ratePerSec).toBeLessThanOrEqual(400);
    expect(heldMs).toBeGreaterThanOrEqual(30);
    expect(load).toBeCloseTo((ratePerSec * heldMs) / 1000, 0);
    const needs =
      /the offered load needs at least (\d+) connections to keep the mean wait under 1\.00 ms \((\d+) just keep up\)/.exec(
        r.stdout,
      );
    // Just keeping up takes the least whole pool above the load; the load is printed rounded, so
    // one printed as 18.0 may be 17.96 (18 keep up) or 18.04 (19 do).
    const keepUp = Number(needs![2]);
    expect(keepUp).toBeGreaterThan(load - 0.05);
    expect(keepUp).toBeLessThanOrEqual(Math.floor(load + 0.05) + 1);
    expect(Number(needs![1])).toBeGreaterThan(keepUp);
    expect(r.stdout).toMatch(/\(failed requests count at their time to failure/);
  });

  it("a broken SLO alone exits 1", async () => {
    const r = await mcdiag(["probe", "--embedded", "--requests", "200", "--slo", "p50<1us", "--json"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ healthy: false, sloMet: false, problems: ["SLO broken: p50<1us"] });
    expect(j.slos[0]).toMatchObject({ slo: "p50<1us", met: false });
    const ok = await mcdiag(["probe", "--embedded", "--requests", "200", "--slo", "p50<1s,success>=99%"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /SLO \(every request, from the users' start\): p50<1s met \(.*\), success>=99% met \(100 %\)/,
    );
  });
});

describe("the CLI refuses what a mode ignores and what it cannot do", () => {
  const cases: [string[], string][] = [
    [
      ["probe", "--embedded", "--rate", "100", "--concurrency", "8"],
      "mcdiag: --concurrency does not apply to a constant-rate probe (--rate sets the load, not callers or a count)\n",
    ],
    [
      ["probe", "--embedded", "--rate", "100", "--requests", "50"],
      "mcdiag: --requests does not apply to a constant-rate probe (--rate sets the load, not callers or a count)\n",
    ],
    [
      ["sweep", "--embedded", "--rates", "100", "--duration", "2s"],
      "mcdiag: --duration does not apply to sweep (each step runs at a constant rate for --step-duration)\n",
    ],
    [
      ["sweep", "--embedded", "--rates", "100", "--concurrency", "2"],
      "mcdiag: --concurrency does not apply to sweep (each step runs at a constant rate for --step-duration)\n",
    ],
    [
      ["probe", "--embedded", "--rate", "1e9"],
      "mcdiag: --rate: '1e9' is not valid (want a number from 0.001 to 1000000)\n",
    ],
    [
      ["sweep", "--embedded", "--rates", "100,2e6"],
      "mcdiag: --rates: '2e6' is not valid (want a number from 0.001 to 1000000)\n",
    ],
    [["probe", "--embedded", "--duration", "600h"], "mcdiag: --duration: '600h' is longer than the limit of 24h\n"],
    [
      ["probe", "--embedded", "--min-success", "101%"],
      "mcdiag: --min-success: '101%' is not valid (want a percentage from 0 to 100, e.g. 99.9%)\n",
    ],
    [
      ["probe", "--embedded", "--hgrm", "/nonexistent-dir/x.hgrm"],
      "mcdiag: --hgrm: cannot write /nonexistent-dir/x.hgrm: the folder /nonexistent-dir does not exist\n",
    ],
  ];
  it.each(cases)("%j → exit 2, one line", async (args, stderr) => {
    const r = await mcdiag(args);
    expect(r.stderr).toBe(stderr);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
  });

  it("sweep --from 0.5 --to 0.9 steps through fractional rates instead of rounding them to 0", async () => {
    const r = await mcdiag(
      [
        "sweep",
        "--embedded",
        "--from",
        "0.5",
        "--to",
        "0.9",
        "--steps",
        "2",
        "--step-duration",
        "2s",
        "--pause",
        "0",
        "--json",
      ],
      { timeoutMs: 30_000 },
    );
    expect(JSON.parse(r.stdout).steps.map((s: { requestedRate: number }) => s.requestedRate)).toEqual([0.5, 0.9]);
  });
});
