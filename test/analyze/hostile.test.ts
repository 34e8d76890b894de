import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ANALYZE_DEFAULTS, analyzeCapture } from "../../src/analyze/analyzer.js";
import { McdiagError } from "../../src/util/errors.js";
import { BIN, mcdiag } from "../helpers/cli.js";
import { SERVER_PORTS, badFile, capture } from "../helpers/fixtures.js";
import { c2s, pcapOf, s2c, type Segment } from "./pcap-writer.js";

const dir = mkdtempSync(join(tmpdir(), "mcdiag-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ports = ["--port", SERVER_PORTS.join(",")];
const analyze = (input: string, extra: Partial<Parameters<typeof analyzeCapture>[0]> = {}) =>
  analyzeCapture({ ...ANALYZE_DEFAULTS, input, ports: SERVER_PORTS, ...extra });

describe("analyze keeps its report on hostile captures", () => {
  it("clamps a get answered 2 h later into the 1 h histograms, counts it, and still reports", async () => {
    const r = await analyze(capture("late-reply.pcap"));
    expect(r.requests.total).toBe(27);
    expect(r.wireUs.max).toBe(3_600_000_000);
    expect(r.warnings.join("\n")).toMatch(/2 durations were negative or longer than 1 h .* counted at the nearest end/);
  });

  for (const [file, warning] of [
    ["clock-step.pcap", /packets have timestamps more than 1 s earlier/],
    ["flipped-timestamp.pcap", /1 packets have timestamps more than 1 s earlier .* or a day later/],
    ["tsresol-seconds.pcapng", /timestamps have a resolution of s: shorter durations cannot be measured/],
  ] as const) {
    it(`reports ${file} with a warning instead of failing`, async () => {
      const cli = await mcdiag(["analyze", capture(file), ...ports, "--json"]);
      expect(cli.code).toBe(0);
      const j = JSON.parse(cli.stdout);
      expect(j.requests.total).toBe(27);
      expect(j.warnings.join("\n")).toMatch(warning);
    });
  }

  it("a flipped timestamp far in the future does not make every flow look idle", async () => {
    const segs = [c2s(0, 1, "get a\r\n"), s2c(100, 1, 8, "END\r\n")];
    segs.push({ ...c2s(200, 8, "get b\r\n"), tUs: 2 ** 40 }); // one record 35 years ahead
    segs.push(s2c(300, 6, 15, "END\r\n"), c2s(400, 15, "get c\r\n"), s2c(500, 11, 22, "END\r\n"));
    const file = join(dir, "future.pcap");
    writeFileSync(file, pcapOf(segs));
    const r = await analyze(file);
    expect(r.flowsEvicted).toEqual({ idle: 0, limit: 0 });
    expect(r.memcachedFlows).toBe(1);
    expect(r.requests).toMatchObject({ total: 3, unanswered: 0 });
  });

  it("never relabels a bug as bad input: an exception from inside the analysis propagates as it is", async () => {
    const boom = new TypeError("a bug in a callback");
    const run = analyze(capture("split-nagle.pcap"), {
      onExchange: () => {
        throw boom;
      },
    });
    await expect(run).rejects.toBe(boom);
    await expect(run).rejects.not.toBeInstanceOf(McdiagError);
  });

  for (const [file, packets] of [
    ["bad-crc.pcap.gz", 137],
    ["trailing-junk.pcap.gz", 137],
  ] as const) {
    it(`analyses ${file} whole: the damage is past the last packet`, async () => {
      const r = await analyze(badFile(file));
      expect(r.packets).toBe(packets);
      expect(r.stalls.request).toBe(21);
      expect(r.warnings.join("\n")).toMatch(/the gzip data is damaged \(.*\); analysed the 137 packets before it/);
    });
  }

  it("keeps the packets before damage half-way through a gzip file, with a warning", async () => {
    const cli = await mcdiag(["analyze", badFile("corrupt-middle.pcap.gz"), ...ports, "--json"]);
    expect(cli.code).toBe(0);
    const j = JSON.parse(cli.stdout);
    expect(j.packets).toBeGreaterThan(0);
    expect(j.packets).toBeLessThan(137);
    expect(j.warnings.join("\n")).toMatch(/the gzip data is damaged/);
  });

  it("does not 'analyse' a file holding only the gzip magic: exit 2, one line", async () => {
    const cli = await mcdiag(["analyze", badFile("gzip-magic-only.gz")]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(
      /^mcdiag: .*gzip-magic-only\.gz: the gzip stream ends early \(file cut short\), before any capture data\n$/,
    );
  });

  it("says so when pipelined requests go beyond the outstanding limit, and never pairs a reply with the wrong request", async () => {
    // 10,005 gets at 1 µs apart, then their 10,005 answers 1 s after each: every correct pair is 1 s long.
    const n = 10_005;
    const segs: Segment[] = [];
    for (let i = 0; i < n; i++) segs.push(c2s(i, 1 + i * 7, "get k\r\n"));
    for (let i = 0; i < n; i++) segs.push(s2c(1_000_000 + i, 1 + i * 5, 1 + n * 7, "END\r\n"));
    const file = join(dir, "pipelined.pcap");
    writeFileSync(file, pcapOf(segs));
    const r = await analyze(file);
    expect(r.requests).toMatchObject({ total: n, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: 10_000, untimed: 5, unpaired: 0 });
    expect(r.wireUs).toMatchObject({ count: 10_000, p50: 1_000_000, max: 1_000_000 });
    expect(r.warnings.join("\n")).toMatch(
      /5 requests on 1 connections were beyond the limit of 10,000 awaiting an answer/,
    );
  });

  it("counts and warns about client bytes that are not memcached commands", async () => {
    const junk = "x".repeat(5000); // a line without an end, longer than any command line
    const segs = [
      c2s(0, 1, "get a\r\n"),
      s2c(50, 1, 8, "END\r\n"),
      c2s(100, 8, junk),
      c2s(200, 8 + junk.length, "\r\nget b\r\n"),
      s2c(300, 6, 8 + junk.length + 9, "END\r\n"),
    ];
    const file = join(dir, "junk.pcap");
    writeFileSync(file, pcapOf(segs));
    const r = await analyze(file);
    expect(r.unparsedBytes.client).toBeGreaterThanOrEqual(5000);
    expect(r.warnings.join("\n")).toMatch(
      /bytes sent by clients on 1 connections could not be parsed as memcached commands/,
    );
  });

  it("finishes flows beyond --max-flows, counts them, and keeps every exchange they had", async () => {
    const segs: Segment[] = [];
    for (let i = 0; i < 50; i++) {
      const c = { ...c2s(i * 10, 1, "get k\r\n"), sport: 20000 + i };
      const s = { ...s2c(i * 10 + 5, 1, 8, "END\r\n"), dport: 20000 + i };
      segs.push(c, s);
    }
    const file = join(dir, "many.pcap");
    writeFileSync(file, pcapOf(segs));
    const r = await analyze(file, { maxFlows: 10 });
    expect(r.flowsEvicted).toEqual({ idle: 0, limit: 40 });
    expect(r).toMatchObject({ memcachedFlows: 50, requests: { total: 50, unanswered: 0 }, responses: { total: 50 } });
    expect(r.warnings.join("\n")).toMatch(/40 flows were finished early because more than 10 were open at once/);
    const idle = await analyze(file, { idleTimeoutMs: 0.001 });
    expect(idle.flowsEvicted.idle).toBeGreaterThan(0);
    expect(idle.responses.total).toBe(50);
  });
});

describe("analyze can be interrupted", () => {
  it("prints the report of what it read, marked interrupted, and exits 130", async () => {
    const bytes = readFileSync(capture("split-nagle.pcap"));
    const run = (afterMs: number) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, "analyze", "-", ...ports, "--json"], {
          stdio: ["pipe", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        // Half the capture, then nothing more: analyze waits on stdin until the signal.
        child.stdin.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
        const sig = setTimeout(() => child.kill("SIGINT"), afterMs);
        const kill = setTimeout(() => child.kill("SIGKILL"), afterMs + 15_000);
        child.on("exit", (code, signal) => {
          clearTimeout(sig);
          clearTimeout(kill);
          resolve({ code, signal, out, err });
        });
      });
    // A process the signal kills had not installed its handler yet (a slow start on a busy
    // machine): run it again with the signal later.
    let r = await run(1000);
    for (const afterMs of [5000, 15_000]) if (r.signal === "SIGINT") r = await run(afterMs);
    const { code, out, err } = r;
    expect(err).toBe("");
    expect(code).toBe(130);
    const j = JSON.parse(out);
    expect(j.interrupted).toBe(true);
    expect(j.packets).toBeGreaterThan(30);
    expect(j.requests.total).toBeGreaterThan(0);
  }, 90_000);

  it("stops a library call through its AbortSignal, marked interrupted", async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await analyze(capture("split-nagle.pcap"), { signal: ac.signal });
    expect(r.interrupted).toBe(true);
  });
});
