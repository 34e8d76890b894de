import { spawn } from "node:child_process";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedServer } from "../../src/server/server.js";
import { mcdiag } from "../helpers/cli.js";
import { freePort } from "../helpers/ports.js";

describe("mcdiag probe / compare / demo (CLI)", () => {
  let server: EmbeddedServer;
  let endpoint: string;
  beforeAll(async () => {
    server = new EmbeddedServer();
    const ep = await server.listen();
    endpoint = `${ep.host}:${ep.port}`;
  });
  afterAll(() => server.close());

  it("prints the documented JSON for probe", async () => {
    const r = await mcdiag([
      "probe",
      endpoint,
      "--requests",
      "300",
      "--health-check",
      "version",
      "--write",
      "corked",
      "--nodelay",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      endpoint,
      write: "corked",
      noDelay: true,
      requests: 300,
      errors: {},
      stalled: 0,
      stalledRatio: 0,
    });
    for (const k of ["wireUs", "poolWaitUs", "healthCheckUs", "totalUs"]) {
      expect(Object.keys(j[k])).toEqual(expect.arrayContaining(["p50", "p90", "p99", "p999", "max", "mean"]));
    }
    expect(j.healthCheckUs.count).toBe(300);
    expect(j.throughputPerSec).toBeGreaterThan(0);
    // A closed loop of 4 callers is a finite-source queue, not M/M/c.
    expect(j.poolModel).toMatchObject({
      model: "finite-source",
      callers: 4,
      stable: true,
      predictedMeanWaitMs: expect.any(Number),
      measuredMeanWaitMs: expect.any(Number),
    });
    expect(Object.keys(j.littlesLaw).sort()).toEqual(
      [
        "arrivalPerSec",
        "busyConnections",
        "meanHoldUs",
        "meanPoolWaitUs",
        "meanWaiting",
        "poolSize",
        "sampledBusy",
        "sampledWaiting",
        "utilization",
        "waitArrivalPerSec",
      ].sort(),
    );
    expect(j).toMatchObject({ successRatio: 1, healthy: true, problems: [], strayReplies: 0, minSuccessRatio: 0.99 });
    expect(j.successLatencyUs.count).toBe(300);
    expect(r.stderr).toBe("");
  });

  it("compare prints one row per pattern and a verdict naming the stall and the fix", async () => {
    const r = await mcdiag(["compare", endpoint, "--duration", "700ms", "--concurrency", "2"]);
    expect(r.code).toBe(0);
    for (const p of ["split + Nagle on", "split + TCP_NODELAY", "coalesced + Nagle on", "coalesced + TCP_NODELAY"]) {
      expect(r.stdout).toContain(p);
    }
    expect(r.stdout).toMatch(
      /verdict: split writes with Nagle on stall \d+(\.\d)? % of requests for ~4\d\.\d ms; coalesce each command into one write or set TCP_NODELAY/,
    );
  });

  it("compare --json carries every run and the verdict; --all adds corked", async () => {
    const r = await mcdiag(["compare", endpoint, "--duration", "500ms", "--all", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.endpoint).toBe(endpoint);
    expect(j.runs.map((x: { write: string; noDelay: boolean }) => `${x.write}/${x.noDelay}`)).toEqual([
      "split/false",
      "split/true",
      "coalesced/false",
      "coalesced/true",
      "corked/false",
      "corked/true",
    ]);
    expect(j.verdict).toMatch(/^split writes with Nagle on stall/);
  });

  it("demo runs against the built-in server with no setup", async () => {
    const r = await mcdiag(["demo", "--duration", "500ms", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    type Run = { write: string; noDelay: boolean; stalledRatio: number; wireUs: { p50: number } };
    const runs = j.runs as Run[];
    expect(runs.map((x) => `${x.write}/${x.noDelay}`)).toEqual([
      "split/false",
      "split/true",
      "coalesced/false",
      "coalesced/true",
    ]);
    // The stall belongs to split writes with Nagle on: most of their requests wait out the delayed
    // ACK (≥ 40 ms in the kernel, longer on a busy machine), and the typical one does.
    expect(runs[0]!.stalledRatio).toBeGreaterThanOrEqual(0.8);
    expect(runs[0]!.wireUs.p50).toBeGreaterThanOrEqual(30_000);
    expect(j.findings.stalling.map((c: Run) => `${c.write}/${c.noDelay}`)).toContain("split/false");
    // Every other pattern's typical request takes a fraction of that wait. A busy machine may hold
    // a few of their requests past the 30 ms threshold (1–4 % at a load average of 13), never most.
    for (const run of runs.slice(1)) {
      expect(run.wireUs.p50, `${run.write}/${run.noDelay}`).toBeLessThan(20_000);
      expect(run.stalledRatio, `${run.write}/${run.noDelay}`).toBeLessThan(0.2);
    }
  });

  it("exits 2 within the connect timeout when the endpoint is unreachable", async () => {
    const port = await freePort();
    const r = await mcdiag(["probe", `127.0.0.1:${port}`, "--connect-timeout", "1s"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`mcdiag: cannot connect to 127.0.0.1:${port}: connect refused (ECONNREFUSED)\n`);
    expect(r.stdout).toBe("");
  });

  it("exits 2 within the connect timeout when SYNs go unanswered (a listener that never accepts)", async () => {
    // Python's listen(0) without accept(): once its accept queue is full the
    // kernel drops further SYNs, so connecting hangs until our timeout.
    const py = spawn("python3", [
      "-c",
      "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)",
    ]);
    try {
      const port = Number(
        await new Promise<string>((resolve) => py.stdout.once("data", (d) => resolve(String(d).trim()))),
      );
      const hogs: net.Socket[] = [];
      for (let i = 0; i < 4; i++) hogs.push(net.connect(port, "127.0.0.1").on("error", () => {}));
      // listen(0) holds one established connection: once a hog is in, every later SYN is dropped.
      await Promise.any(hogs.map((h) => new Promise((r) => h.once("connect", r))));
      const r = await mcdiag(["probe", `127.0.0.1:${port}`, "--connect-timeout", "500ms"], { timeoutMs: 10000 });
      for (const h of hogs) h.destroy();
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `mcdiag: cannot connect to 127.0.0.1:${port}: connect timeout (no connection within 500 ms)\n`,
      );
      expect(r.ms).toBeLessThan(5000);
    } finally {
      py.kill("SIGKILL");
    }
  });

  it("exits 2 naming the option for an invalid key prefix, before connecting", async () => {
    const r = await mcdiag(["probe", "127.0.0.1:1", "--key-prefix", "my key:"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("mcdiag: --key-prefix: key 'my key:0' contains a space at position 2\n");
  });

  it("exits 2 for a malformed endpoint or option, and without one says how to give it", async () => {
    expect((await mcdiag(["probe", "localhost:notaport"])).stderr).toMatch(/bad endpoint 'localhost:notaport'/);
    const none = await mcdiag(["probe"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give host:port .* or --embedded/);
    const bad = await mcdiag(["probe", "--embedded", "--write", "sideways"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("mcdiag: --write: 'sideways' is not valid (want one of coalesced, split, corked)\n");
  });

  it("counts timeouts against a server that never answers, and ends on time with exit 3", async () => {
    const silent = new EmbeddedServer({ silent: true });
    const ep = await silent.listen();
    const r = await mcdiag(
      [
        "probe",
        `${ep.host}:${ep.port}`,
        "--no-seed",
        "--warmup",
        "0",
        "--duration",
        "1s",
        "--timeout",
        "200ms",
        "--json",
      ],
      { timeoutMs: 15000 },
    );
    await silent.close();
    expect(r.code).toBe(3);
    const j = JSON.parse(r.stdout);
    expect(j.errors.timeout).toBeGreaterThanOrEqual(4);
    expect(j.hits + j.misses).toBe(0);
    expect(j.durationMs).toBeLessThan(2000);
    expect(r.stderr).toMatch(/every request to .* failed: no response to get within the timeout/);
  });

  it("probes an IPv6 endpoint given as [::1]:port", async () => {
    const v6 = new EmbeddedServer({ host: "::1" });
    const ep = await v6.listen();
    const r = await mcdiag(["probe", `[::1]:${ep.port}`, "--requests", "50", "--json"]);
    await v6.close();
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ endpoint: `[::1]:${ep.port}`, requests: 50, hits: 50 });
  });

  it("shows --help with an example for every command", async () => {
    for (const c of ["probe", "compare", "sweep", "pool-size", "analyze", "check", "demo", "serve"]) {
      const r = await mcdiag([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/Examples?:\n\s+mcdiag /);
      expect(r.stdout, c).toContain("--json");
    }
  });
});
