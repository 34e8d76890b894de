import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN, mcdiag } from "../helpers/cli.js";
import { EXPECTED, SERVER_PORTS, badFile, capture } from "../helpers/fixtures.js";

const ports = ["--port", SERVER_PORTS.join(",")];

describe("mcdiag analyze (CLI)", () => {
  it("prints the documented JSON", async () => {
    const r = await mcdiag(["analyze", capture("split-nagle.pcapng"), ...ports, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      format: "pcapng",
      linkTypes: [1],
      timestampResolution: "ns",
      truncatedPackets: 0,
      memcachedFlows: 2,
      requests: { total: 19, byCommand: { get: 14, set: 5 } },
      multiSegmentRequests: 14,
      multiSegmentResponses: 0,
      stalls: { request: 13, response: 0 },
    });
    for (const k of ["file", "packets", "flows", "wireUs", "endpoints", "warnings"]) expect(j).toHaveProperty(k);
    expect(j.stalls.items[0]).toEqual({
      flow: expect.any(Number),
      connection: expect.stringMatching(/^127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+$/),
      command: "get",
      side: "request",
      stallMs: expect.any(Number),
      frames: [expect.any(Number), expect.any(Number), expect.any(Number)],
      atSec: expect.any(Number),
      cause: "delayed-ack",
    });
    expect(j.stalls.totalMs).toBeGreaterThan(13 * 30);
    expect(j.endpoints[0]).toMatchObject({ server: `127.0.0.1:${EXPECTED.ports.memcached}`, requests: 19, stalls: 13 });
    expect(Object.keys(j.wireUs)).toEqual(expect.arrayContaining(["p50", "p99", "max"]));
  });

  it("prints a human report with frames to open in Wireshark and the advice", async () => {
    const r = await mcdiag(["analyze", capture("split-nagle.pcap"), ...ports]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stalls: 21 request-side, 0 response-side/);
    expect(r.stdout).toMatch(/frames: before, ACK, after/);
    expect(r.stdout).toMatch(/advice: 21 requests stalled/);
    expect(r.stdout).not.toMatch(/mcdiag:\d/); // no keys without --show-keys
  });

  it("exits 1 with --fail-on-stall when stalls are found, 0 when none", async () => {
    expect((await mcdiag(["analyze", capture("split-nagle.pcap"), ...ports, "--fail-on-stall"])).code).toBe(1);
    expect((await mcdiag(["analyze", capture("coalesced.pcap"), ...ports, "--fail-on-stall"])).code).toBe(0);
  });

  it("reads a capture from stdin", async () => {
    const r = await mcdiag(["analyze", "-", ...ports, "--json"], {
      input: readFileSync(capture("split-nagle.pcap.gz")),
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: "stdin", requests: { total: 27 }, stalls: { request: 21 } });
  });

  const unreadable: [string, RegExp][] = [
    ["random.bin", /random\.bin: not a pcap or pcapng capture \(starts with [0-9a-f ]+\)$/],
    ["empty.pcap", /empty\.pcap: empty file, not a capture$/],
    ["short-header.pcap", /short-header\.pcap: file ends inside the pcap header \(10 bytes\)$/],
    ["unsupported-version.pcap", /unsupported-version\.pcap: pcap version 3\.4 is not supported \(2\.4 is\)$/],
    ["bad-byte-order.pcapng", /bad-byte-order\.pcapng: section header at byte 0 has no valid byte-order magic$/],
  ];
  for (const [file, message] of unreadable) {
    it(`exits 2 with one line for ${file}`, async () => {
      const r = await mcdiag(["analyze", badFile(file)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    });
  }

  it("exits 2 for a missing file, an empty directory and a directory inside a capture directory", async () => {
    const missing = await mcdiag(["analyze", "/no/such/capture.pcap"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("mcdiag: /no/such/capture.pcap: no such file\n");
    const top = mkdtempSync(join(tmpdir(), "mcdiag-dir-"));
    try {
      const empty = await mcdiag(["analyze", top]);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toBe(`mcdiag: ${top}: the directory holds no capture files\n`);
      mkdirSync(join(top, "older"));
      const nested = await mcdiag(["analyze", top]);
      expect(nested.code).toBe(2);
      expect(nested.stderr).toBe(`mcdiag: ${join(top, "older")}: a directory inside ${top}, not a capture file\n`);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });

  const damaged: [string, number, RegExp][] = [
    [
      "huge-record.pcap",
      3,
      /record at byte 286 claims 4294967280 bytes \(limit 262144\): the file is damaged there; analysed the 3 packets before it/,
    ],
    ["bad-block-length.pcapng", 2, /block at byte 268 has a bad length \(13\)/],
    [
      "cut-off.pcap",
      82,
      /file ends inside a packet record at byte \d+ \(cut short\); analysed the 82 packets before it/,
    ],
    ["cut-off.pcapng", 78, /file ends inside a block at byte \d+ \(cut short\)/],
    ["cut-off.pcap.gz", 74, /the gzip stream ends early \(file cut short\)/],
  ];
  for (const [file, packets, warning] of damaged) {
    it(`analyses ${file} up to the damage with a warning, exit 0, under a 64 MB heap`, async () => {
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [
          "--max-old-space-size=64",
          BIN,
          "analyze",
          badFile(file),
          ...ports,
          "--json",
        ]);
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.on("exit", (code) => resolve({ code, out }));
      });
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.packets).toBe(packets);
      expect(j.warnings.join("\n")).toMatch(warning);
    });
  }

  it("reports a snaplen-truncated capture honestly: counted, not parsed as data", async () => {
    const r = await mcdiag(["analyze", capture("snaplen-80.pcap"), ...ports, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.truncatedPackets).toBe(12);
    expect(j.warnings[0]).toMatch(/12 packets were cut by the capture's snaplen; their payload was not parsed/);
    expect(j.requests.byCommand.set).toBeUndefined(); // the sets' data was cut: never guessed
  });

  it("finds memcached on a port it was not told about, by the client's first bytes", async () => {
    const r = await mcdiag(["analyze", capture("split-nagle.pcap"), "--json"]);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ memcachedFlows: 2, requests: { total: 27 }, stalls: { request: 21 } });
  });

  it("names the ports when a capture has no memcached traffic", async () => {
    const r = await mcdiag(["analyze", capture("http-only.pcap"), "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ memcachedFlows: 0, otherFlows: 1, requests: { total: 0 } });
    expect(j.warnings).toContain("no memcached traffic found (server ports 11211; add --port for another)");
  });

  it("says so when a capture holds only one direction, instead of reporting no stalls as good news", async () => {
    const r = await mcdiag(["analyze", capture("one-direction.pcap"), ...ports, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      requests: { total: 27, unanswered: 27 },
      responses: { total: 0 },
      stalls: { request: 0 },
    });
    expect(j.warnings).toContain(
      "no response was seen for any request: the capture seems to hold only one direction, so stalls (which need the server's ACKs) cannot be judged",
    );
  });

  it("rejects a bad --port with exit 2", async () => {
    const r = await mcdiag(["analyze", capture("split-nagle.pcap"), "--port", "http"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("mcdiag: --port: 'http' is not valid (want a whole number from 1 to 65535)\n");
  });
});
