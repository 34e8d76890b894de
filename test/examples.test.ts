import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { node } from "./helpers/cli.js";

/**
 * Every example in examples/ runs as a user would run it (`node examples/X.mjs`),
 * importing "mcdiag" by name (the package refers to itself through its
 * `exports`), against the embedded server it starts, and prints what it found.
 */
const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));

describe("examples", () => {
  it("probe: split writes with Nagle on stall on the delayed ACK", async () => {
    const r = await node([example("probe.mjs")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = /40 requests, wire p50 ([\d.]+) ms, (\d+) % stalled/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(30);
    expect(Number(m![2])).toBeGreaterThanOrEqual(50);
  });

  it("probe-rate: the schedule's requests are issued and answered", async () => {
    const r = await node([example("probe-rate.mjs")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^probe --rate 1000\/s: achieved [\d.]+\/s, 1000 issued, users' p99 \d+ µs/);
  });

  it("compare: only split + Nagle stalls, and the signature is named", async () => {
    const r = await node([example("compare.mjs")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^split \+ Nagle .* stalled (\d+)$/m);
    expect(r.stdout).toMatch(/^coalesced \+ TCP_NODELAY .* stalled 0$/m);
    expect(r.stdout).toContain("Nagle/delayed-ACK signature: yes");
  });

  it("sweep: one line per rate and the answer", async () => {
    const r = await node([example("sweep.mjs")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^\d+\/s: p99 \d+ µs, SLOs (met|broken)$/gm)).toHaveLength(3);
    expect(r.stdout).toMatch(/^highest rate meeting every SLO: (250|500|1000|none)$/m);
  });

  it("analyze: the bundled capture's 21 request-side stalls, exit 1 for findings", async () => {
    const r = await node([example("analyze.mjs")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("137 packets, 27 requests: 21 request-side stalls, 0 response-side, typically 44 ms");
    expect(r.stdout).toMatch(/^ {2}request stall of [\d.]+ ms in get, frames \d+, \d+, \d+$/m);
  });

  it("check: the split client fails on writes per command, exit 1", async () => {
    const r = await node([example("check.mjs")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^fail: 8 commands, \d+ violations$/m);
    expect(r.stdout).toContain("writes-per-command: get arrived in 2 pieces (at most 1 allowed)");
  });

  it("serve: start, set and get, counters and arrival records, stop", async () => {
    const r = await node([example("serve.mjs")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("VALUE greeting 0 5 | hello | END");
    expect(r.stdout).toContain("counters: 1 set, 1 get, 1 hit");
    expect(r.stdout).toContain("get arrived in 1 piece(s), 14 bytes");
  });

  it("watch-writes: one write for a whole command, three for a split one", async () => {
    const r = await node([example("watch-writes.mjs")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("whole: 1 write per command");
    expect(r.stdout).toContain("split: 3 writes per command (4 + 7 + 2 bytes)");
  });
});
