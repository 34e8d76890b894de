import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mcdiag } from "../helpers/cli.js";
import { FIXTURES } from "../helpers/fixtures.js";

/**
 * `check` over real npm clients doing more than get and set: each passes
 * when it writes whole commands (its own assertions on every answer must
 * hold against the embedded server), and fails when it splits its writes.
 */
const CLIENTS = join(FIXTURES, "../test/clients-under-test");
const NPM = join(CLIENTS, "npm-memcached-full.cjs");
const MEMJS = join(CLIENTS, "memjs-client.cjs");

interface V {
  rule: string;
  command: string;
  pieces?: { sizeBytes: number }[];
}

describe("mcdiag check over npm clients", () => {
  it("memcached (text): incr/decr, append/prepend, gets/cas, touch, delete pass when written whole", async () => {
    const r = await mcdiag(["check", "--json", "--", process.execPath, NPM]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ verdict: "pass", childExitCode: 0, violations: [] });
    expect(j.commands).toBeGreaterThanOrEqual(15);
  });

  it("memcached (text): fails when each command leaves in two writes", async () => {
    const r = await mcdiag(["check", "--json", "--", process.execPath, NPM, "--split"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.childExitCode).toBe(0); // the client still works; only its write pattern fails
    const split = (j.violations as V[]).filter((v) => v.rule === "writes-per-command");
    const commands = new Set(split.map((v) => v.command));
    // Nagle holds the tail of every command after the first until the server's delayed ACK.
    for (const c of ["incr", "decr", "append", "prepend", "cas", "touch", "delete"]) expect(commands).toContain(c);
  });

  it("memjs (binary): passes when each request is written whole", async () => {
    const r = await mcdiag(["check", "--json", "--", process.execPath, MEMJS]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ verdict: "pass", childExitCode: 0, violations: [] });
    expect(j.commands).toBeGreaterThanOrEqual(12);
  });

  it("memjs (binary): a request split into its 24-byte header and its body is a violation", async () => {
    const r = await mcdiag(["check", "--json", "--", process.execPath, MEMJS, "--split"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.childExitCode).toBe(0);
    const split = (j.violations as V[]).filter((v) => v.rule === "writes-per-command");
    expect(split.length).toBeGreaterThanOrEqual(10);
    const commands = new Set(split.map((v) => v.command));
    // The first request of the connection (a flush) may escape the stall (Linux quick-ack); the rest cannot.
    for (const c of [
      "bin:Set",
      "bin:Get",
      "bin:Replace",
      "bin:Increment",
      "bin:Decrement",
      "bin:Append",
      "bin:Touch",
      "bin:Delete",
    ])
      expect(commands).toContain(c);
    for (const v of split) expect(v.pieces?.[0]?.sizeBytes).toBe(24);
    expect(j.violations.some((v: V) => v.rule === "stall")).toBe(true);
  });
});
