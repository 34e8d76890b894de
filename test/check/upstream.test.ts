import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mcdiag } from "../helpers/cli.js";
import { startMemcached, type Daemon } from "../helpers/daemons.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { runSession } from "../helpers/mc-session.js";
import { requireTool } from "../helpers/tools.js";

/**
 * check --upstream: the recording server relays every command to a real
 * memcached and returns its answers, recording how each arrived.
 */
const CLIENTS = join(FIXTURES, "../test/clients-under-test");
const have = requireTool("memcached", "check --upstream relays to a real memcached");

function stat(reply: string, name: string): number {
  return Number(new RegExp(`STAT ${name} (\\d+)`).exec(reply)?.[1] ?? NaN);
}

describe.runIf(have)("mcdiag check --upstream", () => {
  let mc: Daemon;
  beforeAll(async () => {
    mc = await startMemcached();
  });
  afterAll(() => mc?.stop());
  const stats = async () => (await runSession(mc.port, { name: "stats", steps: ["stats\r\n"] }))[0]!;

  it("relays a text client to memcached: its answers are memcached's, and it passes when written whole", async () => {
    const before = await stats();
    const r = await mcdiag([
      "check",
      "--json",
      "--upstream",
      `127.0.0.1:${mc.port}`,
      "--",
      process.execPath,
      join(CLIENTS, "npm-memcached-full.cjs"),
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ verdict: "pass", upstream: `127.0.0.1:${mc.port}`, childExitCode: 0 });
    const after = await stats();
    // The commands reached memcached itself: its own counters moved.
    expect(stat(after, "cmd_set") - stat(before, "cmd_set")).toBeGreaterThanOrEqual(6);
    expect(stat(after, "incr_hits") - stat(before, "incr_hits")).toBe(1);
    expect(stat(after, "cas_hits") - stat(before, "cas_hits")).toBe(1);
  });

  it("relays a binary client, and still fails it when it splits its writes", async () => {
    const whole = await mcdiag([
      "check",
      "--json",
      "--upstream",
      `127.0.0.1:${mc.port}`,
      "--",
      process.execPath,
      join(CLIENTS, "memjs-client.cjs"),
    ]);
    expect(whole.code).toBe(0);
    const split = await mcdiag([
      "check",
      "--json",
      "--upstream",
      `127.0.0.1:${mc.port}`,
      "--",
      process.execPath,
      join(CLIENTS, "memjs-client.cjs"),
      "--split",
    ]);
    expect(split.code).toBe(1);
    const j = JSON.parse(split.stdout);
    expect(j.childExitCode).toBe(0);
    expect(j.violations.filter((v: { rule: string }) => v.rule === "writes-per-command").length).toBeGreaterThanOrEqual(
      10,
    );
  });

  it("an unreachable upstream is one line and exit 2, before the client runs", async () => {
    const r = await mcdiag(["check", "--upstream", "127.0.0.1:1", "--", "bash", "-c", "echo ran"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("mcdiag: --upstream 127.0.0.1:1: ECONNREFUSED\n");
  });
});
