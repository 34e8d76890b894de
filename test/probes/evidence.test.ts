import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBE_DEFAULTS, runProbe } from "../../src/probes/closed-loop.js";
import { isLocalHost, readTcpExt } from "../../src/probes/evidence.js";
import { mcdiag } from "../helpers/cli.js";
import { startMemcached, type Daemon } from "../helpers/daemons.js";
import { requireTool } from "../helpers/tools.js";

describe.runIf(requireTool("memcached", "server and kernel counters of a real memcached"))(
  "evidence from the server and the kernel",
  () => {
    let mc: Daemon;
    beforeAll(async () => {
      mc = await startMemcached();
    });
    afterAll(() => mc?.stop());

    const probe = (write: "split" | "coalesced") =>
      runProbe({
        ...PROBE_DEFAULTS,
        host: mc.host,
        port: mc.port,
        write,
        noDelay: false,
        concurrency: 2,
        poolSize: 2,
        requests: write === "split" ? 40 : 400,
      });

    it("a split-write probe shows a DelayedACKs delta of at least 80 % of its stalled requests", async () => {
      const r = await probe("split");
      expect(r.stalled).toBeGreaterThanOrEqual(32);
      expect(r.evidence!.kernel!.DelayedACKs).toBeGreaterThanOrEqual(0.8 * r.stalled);
      expect(r.evidence!.stats).toMatchObject({ cmd_get: 40, get_hits: 40 });
    });

    it("a coalesced probe shows about no delayed ACKs", async () => {
      const r = await probe("coalesced");
      expect(r.stalledRatio).toBeLessThan(0.05); // a loaded machine may delay a request or two
      expect(r.evidence!.kernel!.DelayedACKs).toBeLessThanOrEqual(5); // other traffic on this host may add a few
      expect(r.evidence!.stats!.cmd_get).toBe(400);
      expect(Object.keys(r.evidence!.stats!)).toEqual(
        expect.arrayContaining([
          "curr_connections",
          "total_connections",
          "listen_disabled_num",
          "conn_yields",
          "rejected_connections",
          "cmd_get",
          "get_hits",
        ]),
      );
    });

    it("the human report shows both beside the stall count", async () => {
      const r = await mcdiag([
        "probe",
        `${mc.host}:${mc.port}`,
        "--write",
        "split",
        "--requests",
        "20",
        "--concurrency",
        "1",
      ]);
      expect(r.stdout).toMatch(
        /^server stats \(after − before\): curr_connections \+\d+, total_connections \+\d+, .*cmd_get \+20/m,
      );
      expect(r.stdout).toMatch(
        /^kernel \(this host\): DelayedACKs \+\d+, DelayedACKLocked \+\d+, DelayedACKLost \+\d+, RetransSegs \+\d+, TCPLossProbes \+\d+, TCPTimeouts \+\d+, TCPSynRetrans \+\d+ beside \d+ stalled requests$/m,
      );
    });
  },
);

describe("evidence helpers", () => {
  it("reads the kernel's TcpExt delayed-ACK counters", () => {
    const k = readTcpExt();
    expect(k).toBeDefined();
    expect(Object.keys(k!).sort()).toEqual([
      "DelayedACKLocked",
      "DelayedACKLost",
      "DelayedACKs",
      "RetransSegs",
      "TCPLossProbes",
      "TCPSynRetrans",
      "TCPTimeouts",
    ]);
  });

  it("knows which endpoints are on this host", () => {
    expect(isLocalHost("127.0.0.1")).toBe(true);
    expect(isLocalHost("::1")).toBe(true);
    expect(isLocalHost("192.0.2.1")).toBe(false); // TEST-NET-1: documentation only
  });

  it("reads stats from the built-in server too", async () => {
    const r = await mcdiag(["probe", "--embedded", "--requests", "20", "--json"]);
    expect(JSON.parse(r.stdout).evidence.stats.cmd_get).toBe(20); // the built-in server answers stats
  });
});

describe("probe --rate and --hgrm (CLI)", () => {
  it("runs open loop, prints the documented fields and writes the HdrHistogram percentile format", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcdiag-hgrm-"));
    const file = join(dir, "latency.hgrm");
    const r = await mcdiag(["probe", "--embedded", "--rate", "500", "--duration", "1s", "--hgrm", file, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ mode: "rate", requestedRate: 500, successRatio: 1 });
    for (const k of [
      "achievedRate",
      "latencyUs",
      "serviceUs",
      "schedulerLagUs",
      "eventLoopDelayP99Us",
      "drainMs",
      "poolModel",
    ])
      expect(j).toHaveProperty(k);
    expect(j.latencyUs.count).toBe(500);
    const h = readFileSync(file, "utf8");
    expect(h).toMatch(/^\s+Value\s+Percentile\s+TotalCount 1\/\(1-Percentile\)/);
    expect(h).toMatch(/#\[Max\s+=\s+[\d.]+, Total count\s+=\s+500\]/);
  });
});
