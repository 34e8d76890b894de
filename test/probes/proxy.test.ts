import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBE_DEFAULTS, runProbe } from "../../src/probes/closed-loop.js";
import { mcdiag } from "../helpers/cli.js";
import { startMemcached, startNutcracker, type Daemon } from "../helpers/daemons.js";
import { requireTool } from "../helpers/tools.js";

/** A proxy endpoint (mcrouter's role) through nutcracker/twemproxy in front of memcached. */
describe.runIf(
  requireTool("memcached", "backend for the proxy test") &&
    requireTool("nutcracker", "twemproxy stands in for mcrouter"),
)("through nutcracker (twemproxy)", () => {
  let backend: Daemon;
  let proxy: Daemon;
  beforeAll(async () => {
    backend = await startMemcached();
    proxy = await startNutcracker(backend);
  });
  afterAll(async () => {
    await proxy?.stop();
    await backend?.stop();
  });

  it("probes with a version health check on every checkout, as the story's client did", async () => {
    const r = await runProbe({
      ...PROBE_DEFAULTS,
      host: proxy.host,
      port: proxy.port,
      healthCheck: "version",
      requests: 300,
      concurrency: 3,
    });
    expect(r.errors).toEqual({});
    expect(r.hits).toBe(300);
    expect(r.healthCheckUs.count).toBe(300);
    expect(r.stalledRatio).toBeLessThan(0.05); // a loaded machine may delay a request or two
    expect(r.wireUs.p50).toBeLessThan(30_000);
    // twemproxy does not answer `stats`: noted, not an error.
    expect(r.evidence!.stats).toBeNull();
    expect(r.evidence!.statsNote).toMatch(/did not answer 'stats'/);
  });

  it("shows the split-write stall through the proxy too", async () => {
    const r = await runProbe({
      ...PROBE_DEFAULTS,
      host: proxy.host,
      port: proxy.port,
      write: "split",
      noDelay: false,
      healthCheck: "version",
      requests: 30,
      concurrency: 2,
    });
    expect(r.stalledRatio).toBeGreaterThanOrEqual(0.8);
  });

  it("gives a clear error, not a hang, when the proxy closes the connection on a command it does not support", async () => {
    const r = await mcdiag(["probe", `${proxy.host}:${proxy.port}`, "--health-check", "mn", "--duration", "60s"], {
      timeoutMs: 70_000,
    });
    expect(r.code).toBe(3);
    expect(r.ms).toBeLessThan(30_000); // stops early (said below), far from the 60 s asked for
    expect(r.stderr).toBe(
      `mcdiag: every request to ${proxy.host}:${proxy.port} failed: the server closed the connection on health check 'mn' (does it support that command?)\n`,
    );
    expect(r.stdout).toMatch(/run stopped early: every connection is failing \(closed\)/);
  });
});
