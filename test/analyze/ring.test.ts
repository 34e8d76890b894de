import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeCapture, ANALYZE_DEFAULTS } from "../../src/analyze/analyzer.js";
import type { AnalysisResult } from "../../src/analyze/result.js";
import { mcdiag } from "../helpers/cli.js";
import { FIXTURES, capture } from "../helpers/fixtures.js";

// fixtures/ring: a 10-file dumpcap ring; ring-whole.pcap: the same traffic, captured at the same time by tcpdump.
const RING = `${FIXTURES}ring`;
const ringFiles = readdirSync(RING)
  .sort()
  .map((f) => join(RING, f));
const analyze = (input: string | string[]) => analyzeCapture({ ...ANALYZE_DEFAULTS, input });

/** What a user compares between two analyses of the same traffic. */
function counts(r: AnalysisResult) {
  return {
    packets: r.packets,
    flows: r.flows,
    memcachedFlows: r.memcachedFlows,
    requests: r.requests,
    responses: r.responses,
    multiSegmentRequests: r.multiSegmentRequests,
    stalls: [r.stalls.request, r.stalls.response],
    stallFrames: r.stalls.items.map((i) => i.frames),
    slowRequests: r.slowRequests,
    causes: r.causes.map((c) => [c.cause, c.requests]),
    flowRequests: r.flowsDetail.map((f) => [f.flow, f.requests, f.stalledRequests]),
  };
}

const tmp = mkdtempSync(join(tmpdir(), "mcdiag-ring-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("analyze over a ring buffer", () => {
  it("gives a directory the counts, and the frame numbers, of the same traffic captured as one file", async () => {
    expect(ringFiles).toHaveLength(10);
    const whole = await analyze(capture("ring-whole.pcap"));
    const dir = await analyze(RING);
    expect(whole.stalls.request).toBeGreaterThan(50); // split+Nagle stalls on connections that span files
    expect(counts(dir)).toEqual(counts(whole));
    expect(dir.warnings).toEqual(whole.warnings);
  });

  it("orders the files by their first packet, whatever order they are given in", async () => {
    const r = await analyze([...ringFiles].reverse());
    expect(r.files?.map((f) => f.file)).toEqual(ringFiles);
    expect(counts(r)).toEqual(counts(await analyze(RING)));
    // Frames number on across the files: each file starts where the one before it ended.
    let next = 1;
    for (const f of r.files!) {
      expect(f.firstFrame).toBe(next);
      expect(f.frames).toBeGreaterThan(0);
      next += f.frames;
    }
    expect(next - 1).toBe(r.packets);
  });

  it("follows a connection across files: analysed one by one, the files lose requests and stalls", async () => {
    const dir = await analyze(RING);
    let requests = 0;
    let stalls = 0;
    for (const f of ringFiles) {
      const r = await analyze(f);
      requests += r.requests.total;
      stalls += r.stalls.request;
    }
    expect(stalls).toBeLessThan(dir.stalls.request);
    expect(requests).toBeLessThanOrEqual(dir.requests.total);
  });

  it("refuses a directory holding a file that is not a capture: one line naming it, exit 2", async () => {
    const d = join(tmp, "with-notes");
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    for (const f of ringFiles) copyFileSync(f, join(d, f.slice(RING.length + 1)));
    writeFileSync(join(d, "notes.txt"), "not a capture\n");
    const r = await mcdiag(["analyze", d]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`${join(d, "notes.txt")}: not a pcap or pcapng capture`);
  });

  it("keeps the results of a file cut short in the middle of the ring, with a warning naming it", async () => {
    const d = join(tmp, "cut");
    mkdirSync(d);
    for (const f of ringFiles) copyFileSync(f, join(d, f.slice(RING.length + 1)));
    const fifth = join(d, ringFiles[4]!.slice(RING.length + 1));
    const bytes = readFileSync(fifth);
    writeFileSync(fifth, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = await mcdiag(["analyze", d, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as AnalysisResult;
    const full = await analyze(RING);
    expect(j.packets).toBeLessThan(full.packets);
    expect(j.requests.total).toBeGreaterThan(full.requests.total * 0.8);
    expect(j.warnings.some((w) => w.startsWith(fifth))).toBe(true);
    expect(j.files).toHaveLength(10);
  });
});
