import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ANALYZE_DEFAULTS, analyzeCapture } from "../../src/analyze/analyzer.js";
import { analysisInputOf, mergeAnalyses } from "../../src/analyze/merge.js";
import type { AnalysisResult } from "../../src/analyze/result.js";
import { analysisJson } from "../../src/report/analyze-report.js";
import { mcdiag } from "../helpers/cli.js";
import { expectMergeRefused } from "../helpers/merge.js";
import { SERVER_PORTS, capture } from "../helpers/fixtures.js";
import { requireTool } from "../helpers/tools.js";

const HAVE_TSHARK = requireTool("tshark", "the test splits a real capture by TCP connection with tshark");

/**
 * The exact-merge property for analyses: a capture split by connection into
 * k files, each analysed on its own and the results merged, gives the
 * figures of one analysis of the whole capture. Connections are not split,
 * so each exchange is reassembled the same way in its part.
 */
describe.runIf(HAVE_TSHARK)("merge of analyze results is exact", () => {
  const dir = mkdtempSync(join(tmpdir(), "mcdiag-merge-analyze-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const analyze = (file: string) => analyzeCapture({ ...ANALYZE_DEFAULTS, input: file, ports: SERVER_PORTS });
  /** A result as `analyze --json` prints it, read back. */
  const asRead = (r: AnalysisResult) => JSON.parse(JSON.stringify(analysisJson(r))) as Record<string, unknown>;

  /** Part `i` of `k`: the TCP connections whose stream index is i mod k (packets of no connection go with part 0). */
  function split(source: string, k: number): string[] {
    return Array.from({ length: k }, (_, i) => {
      const out = join(dir, `${source}.${i}of${k}.pcap`);
      const filter = i === 0 ? `!tcp || tcp.stream % ${k} == 0` : `tcp && tcp.stream % ${k} == ${i}`;
      execFileSync("tshark", ["-r", capture(source), "-Y", filter, "-F", "pcap", "-w", out], { stdio: "ignore" });
      return out;
    });
  }

  /** What does not depend on how flows are numbered within each file. */
  function figures(r: AnalysisResult) {
    return {
      packets: r.packets,
      flows: [r.flows, r.memcachedFlows, r.udpFlows, r.otherFlows],
      requests: r.requests,
      responses: r.responses,
      multiSegment: [r.multiSegmentRequests, r.multiSegmentResponses],
      retransmissions: r.retransmissions,
      gaps: r.gaps,
      unparsedBytes: r.unparsedBytes,
      stalls: { ...r.stalls, items: r.stalls.items.map((s) => [s.stallMs, s.side, s.cause, s.command]).sort() },
      wireUs: r.wireUs,
      slowRequests: r.slowRequests,
      causes: r.causes.map((c) => ({ ...c, examples: c.examples.map((x) => x.ms) })),
      endpoints: r.endpoints,
      flowsDetail: r.flowsDetail
        .map(({ flow: _f, result: _r, ...f }) => JSON.stringify(f))
        .sort()
        .join("\n"),
      top: r.top.map((t) => [t.stallMs, t.wireUs, t.cause]),
      advice: r.advice,
      firstPacketMs: r.firstPacketMs,
      lastPacketMs: r.lastPacketMs,
    };
  }

  for (const [source, k] of [
    ["mixed.pcap", 2],
    ["mixed.pcap", 3],
    ["loss.pcap", 2],
    ["response-stall.pcap", 2],
    ["concurrent.pcap", 4],
  ] as const) {
    it(`${source} split into ${k} by connection: the merge gives the whole capture's figures`, async () => {
      const whole = await analyze(capture(source));
      const parts = split(source, k);
      const results = await Promise.all(parts.map(analyze));
      // Each part really holds part of the traffic.
      for (const p of results) expect(p.requests.total).toBeLessThan(whole.requests.total);
      const merged = mergeAnalyses(results.map((r, i) => analysisInputOf(asRead(r), parts[i]!)));
      expect(figures(merged)).toEqual(figures(whole));
      expect(merged.durationSec).toBeCloseTo(whole.durationSec, 3);
      expect(merged.mergedFrom).toEqual(parts);
      // The merge's own histograms are those of the whole: a merge of merges stays exact.
      const again = mergeAnalyses([analysisInputOf(asRead(merged), "merged.json")]);
      expect(figures(again)).toEqual(figures(whole));
      expect(again.histograms).toEqual(whole.histograms);
    });
  }

  it("mcdiag merge: analyze results from the CLI, and what it refuses (in one line naming the file, exit 2)", async () => {
    const parts = split("mixed.pcap", 2);
    const jsons = await Promise.all(
      parts.map(async (p, i) => {
        const r = await mcdiag(["analyze", p, "--port", "11211", "--json"]);
        expect(r.code, r.stderr).toBe(0);
        const f = join(dir, `part${i}.json`);
        writeFileSync(f, r.stdout);
        return { file: f, doc: JSON.parse(r.stdout) as Record<string, unknown> };
      }),
    );
    expect(jsons[0]!.doc.kind).toBe("mcdiag.analyze");
    const m = await mcdiag(["merge", ...jsons.map((j) => j.file), "--json"]);
    expect(m.code, m.stderr).toBe(0);
    const merged = JSON.parse(m.stdout) as AnalysisResult & { kind: string };
    expect(merged.kind).toBe("mcdiag.analyze");
    const whole = await analyze(capture("mixed.pcap"));
    expect(merged.requests).toEqual(whole.requests);
    expect(merged.wireUs).toEqual(whole.wireUs);
    expect(merged.stalls.delayedAckTimerMs).toBe(whole.stalls.delayedAckTimerMs);
    const text = await mcdiag(["merge", ...jsons.map((j) => j.file)]);
    expect(text.stdout).toMatch(/^mcdiag analyze 2 results merged: pcap/);
    expect(text.stdout).toMatch(/merged from 2 results: .*part0\.json, .*part1\.json/);

    const write = (name: string, doc: unknown) => {
      const f = join(dir, name);
      writeFileSync(f, JSON.stringify(doc));
      return f;
    };
    const [a, b] = jsons as [(typeof jsons)[0], (typeof jsons)[0]];
    const probe = write("probe.json", { kind: "mcdiag.probe", version: 1 });
    await expectMergeRefused(
      [a.file, probe],
      /probe.json is a probe result, .*part0.json an analyze result: merge one kind/,
    );
    const badHist = write("badhist.json", {
      ...b.doc,
      histograms: { ...(b.doc.histograms as object), wireUs: "HISTFAAAAB" },
    });
    await expectMergeRefused([a.file, badHist], /badhist.json: histograms.wireUs: the histogram does not decode/);
    const otherSlow = write("slow.json", { ...b.doc, slowThresholdMs: 5 });
    await expectMergeRefused([a.file, otherSlow], /slow.json: slow threshold 5 ms differs from .*part0.json's 20 ms/);
    const noHist = write("nohist.json", { ...b.doc, histograms: undefined });
    await expectMergeRefused([a.file, noHist], /nohist.json: histograms is missing/);
    const slo = await mcdiag(["merge", a.file, b.file, "--slo", "p99<1ms"]);
    expect(slo.code).toBe(2);
    expect(slo.stderr).toMatch(/--slo and --min-success judge probe and sweep results, not analyses/);
  });
});
