import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fmtPattern, fmtPct, fmtRate, fmtUs } from "../../src/report/format.js";
import { decodeFloats } from "../../src/metrics/timeline.js";
import { decodeHistogram } from "../../src/results/histogram-codec.js";
import { curveFromHistogram } from "../../src/report/html/curves.js";
import { startMemcached } from "../helpers/daemons.js";
import type { AnalysisResult } from "../../src/analyze/result.js";
import type { RateProbeResult } from "../../src/probes/open-loop.js";
import type { ProbeResult } from "../../src/probes/result.js";
import type { CompareDoc } from "../../src/report/html/compare-page.js";
import type { LinesChart, PercentileChart, WaterfallChart } from "../../src/report/html/model.js";
import type { SweepDoc } from "../../src/report/html/sweep-page.js";
import {
  chartModels,
  checkAccessibility,
  checkCharts,
  launchBrowser,
  openReport,
  pageTables,
  requireChromium,
  type OpenedReport,
  type PageTable,
} from "../helpers/browser.js";
import { mcdiag } from "../helpers/cli.js";
import { capture } from "../helpers/fixtures.js";

const canRun = requireChromium();
const dir = mkdtempSync(join(tmpdir(), "mcdiag-html-"));
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;

beforeAll(async () => {
  if (canRun) browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a command with --json --html, opens the page, and checks what every page must hold. */
async function runAndOpen<T>(
  name: string,
  args: string[],
  okCodes = [0],
): Promise<{ json: T; html: string; r: OpenedReport }> {
  const html = join(dir, `${name}.html`);
  const run = await mcdiag([...args, "--json", "--html", html], { timeoutMs: 120_000 });
  expect(okCodes, run.stderr).toContain(run.code);
  const json = JSON.parse(run.stdout) as T;
  writeFileSync(join(dir, `${name}.json`), run.stdout);
  const r = await openReport(browser!.context, html, name);
  expect(r.errors).toEqual([]);
  expect(r.requests).toEqual([]);
  await expectAccessible(r);
  // The same page, drawn later from the saved JSON.
  const again = join(dir, `${name}-again.html`);
  const rep = await mcdiag(["report", join(dir, `${name}.json`), "--html", again]);
  expect(rep.code, rep.stderr).toBe(0);
  expect(readFileSync(again, "utf8")).toBe(readFileSync(html, "utf8"));
  return { json, html, r };
}

/** Real headings, a name and a table for every chart, every chart and table reachable by Tab, and a page that prints whole. */
async function expectAccessible(r: OpenedReport): Promise<void> {
  const a = await checkAccessibility(r.page);
  expect(a.headings.filter((h) => h.level === 1)).toHaveLength(1);
  expect(a.headings[0]!.level).toBe(1);
  a.headings.forEach((h, i) => {
    if (i > 0)
      expect(h.level, `${h.text} after ${a.headings[i - 1]!.text}`).toBeLessThanOrEqual(a.headings[i - 1]!.level + 1);
  });
  expect(a.headings.filter((h) => h.level === 2).map((h) => h.text)).toEqual(
    expect.arrayContaining(["Verdict", "Run parameters", "The report as the terminal prints it"]),
  );
  expect(a.charts.length).toBeGreaterThan(0);
  for (const c of a.charts) {
    expect(c.role, c.id).toBe("img");
    expect(c.label.length, c.id).toBeGreaterThan(20);
    expect(c.heading, c.id).not.toBe("");
    expect(a.headings.map((h) => h.text)).toContain(c.heading);
    expect(c.tables, c.id).toBe(1);
  }
  expect(a.tabStops[0]).toBe("a:Skip to the report");
  for (const c of a.charts) {
    expect(a.tabStops).toContain(`chart:${c.id}`);
    expect(a.tabStops).toContain(`summary:${c.id}`);
  }
  expect(a.print).toEqual({ closedDetails: 0, hiddenTables: 0, widestChartPx: expect.any(Number), skipShown: false });
  expect(a.print.widestChartPx).toBeLessThanOrEqual(700);
}

function tableByCaption(tables: PageTable[], start: string): PageTable {
  const t = tables.find((x) => x.caption.startsWith(start));
  if (!t) throw new Error(`no table captioned "${start}…" among: ${tables.map((x) => x.caption).join(" | ")}`);
  return t;
}

/** A cell holds the JSON's number, written as the terminal writes it. */
function expectUs(cell: { text: string; value: string | null }, us: number): void {
  expect(Number(cell.value)).toBe(us);
  expect(cell.text).toBe(fmtUs(us));
}

describe.skipIf(!canRun)("HTML reports in headless Chromium, from file://", () => {
  it("demo: the split + Nagle plateau at ~40 ms against the sub-millisecond lines, one legend entry per write pattern", async () => {
    const { json, r } = await runAndOpen<CompareDoc>("demo", ["demo", "--duration", "1s"]);
    const patterns: string[] = json.runs.map((x) => fmtPattern(x.write, x.noDelay));
    expect(patterns).toEqual([
      "split + Nagle on",
      "split + TCP_NODELAY",
      "coalesced + Nagle on",
      "coalesced + TCP_NODELAY",
    ]);
    const charts = await checkCharts(r.page);
    expect(charts.map((c) => c.id)).toEqual(["percentiles", "timeline"]);
    for (const c of charts) {
      expect(c.dataPixels, c.id).toBeGreaterThan(50);
      expect(c.legend).toEqual(expect.arrayContaining(patterns));
    }
    // The plateau: from the median up, split + Nagle stays at the delayed-ACK timer; the fixes stay low.
    const models = await chartModels(r.page);
    const lines = (models.find((m) => m.id === "percentiles") as PercentileChart).lines;
    const split = lines.find((l) => l.label === "split + Nagle on")!;
    // p50 (x = 2) to p90 (x = 10): the delayed-ACK timer, ~40 ms plus the wire. Its tail is left
    // alone: on a loaded machine it takes on scheduling delays and the odd retransmission.
    const plateau = split.yUs.filter((_y, i) => split.x[i]! >= 2 && split.x[i]! <= 10);
    expect(plateau.length).toBeGreaterThanOrEqual(10);
    expect(Math.min(...plateau)).toBeGreaterThanOrEqual(35_000);
    const splitP50 = split.yUs[split.x.indexOf(2)]!;
    expect(splitP50).toBeLessThanOrEqual(80_000);
    for (const l of lines.filter((x) => x.label !== "split + Nagle on")) {
      const p50 = l.yUs[l.x.indexOf(2)]!;
      expect(p50, l.label).toBeLessThan(5_000);
      expect(splitP50 / p50, l.label).toBeGreaterThan(10);
    }
    // Each line is the run's whole distribution, walked from the histogram the JSON carries.
    expect(lines.map((l) => l.label)).toEqual(patterns);
    json.runs.forEach((run, i) => {
      const h = decodeHistogram(run.histograms.wireUs, `runs[${i}]`, run.wireUs);
      expect({ x: lines[i]!.x, yUs: lines[i]!.yUs }).toEqual(curveFromHistogram(h));
      expect(h.totalCount).toBe(run.wireUs.count);
    });
    // The comparison table holds the JSON's numbers.
    const table = tableByCaption(await pageTables(r.page), "Each write pattern");
    expect(table.rows.map((row) => row[0]!.text)).toEqual(patterns);
    table.rows.forEach((row, i) => {
      const run = json.runs[i]!;
      expectUs(row[1]!, run.wireUs.p50);
      expectUs(row[2]!, run.wireUs.p90);
      expectUs(row[3]!, run.wireUs.p99);
      expectUs(row[4]!, run.wireUs.max);
      expect(Number(row[5]!.value)).toBe(run.stalledRatio);
      expect(row[5]!.text).toBe(fmtPct(run.stalledRatio));
      expect(Number(row[6]!.value)).toBe(run.throughputPerSec);
      expect(row[6]!.text).toBe(fmtRate(run.throughputPerSec));
    });
    const verdict = await r.page.locator("#verdict li").first().textContent();
    expect(verdict).toBe(json.verdict);
  });

  for (const file of ["split-nagle.pcapng", "split-nagle.pcap"]) {
    it(`analyze ${file}: the waterfall of the worst stall shows its three frames and the silence; tables equal the JSON`, async () => {
      // The .pcap as the README runs it (memcached found on its own); the .pcapng with --port.
      const { json, r } = await runAndOpen<AnalysisResult>(`analyze-${file}`, [
        "analyze",
        capture(file),
        ...(file.endsWith(".pcapng") ? ["--port", "33631"] : []),
      ]);
      const charts = await checkCharts(r.page);
      expect(charts.map((c) => c.id)).toEqual([
        "time-bars",
        "server-percentiles",
        "analyze-timeline",
        "waterfall-1",
        "waterfall-2",
        "waterfall-3",
      ]);
      for (const c of charts) expect(c.dataPixels, c.id).toBeGreaterThan(20);
      const timeline = charts.find((c) => c.id === "analyze-timeline")!;
      expect(timeline.legend).toEqual(expect.arrayContaining(["none", "delayed-ack", "retransmission", "zero-window"]));
      expect(charts.find((c) => c.id === "time-bars")!.legend).toEqual(
        expect.arrayContaining([
          "request transmit (first → last request byte)",
          "server (last request byte → first response byte)",
          "response transmit (first → last response byte)",
        ]),
      );

      // The worst exchange's stall: before, the server's pure ACK, after — all three rows of waterfall 1.
      const worst = json.top[0]!;
      const stall = json.stalls.items.find(
        (s) => s.flow === worst.flow && s.frames[0] >= worst.requestFrames[0] && s.frames[2] <= worst.requestFrames[1],
      );
      if (stall === undefined) throw new Error(`no stall item inside the worst exchange ${JSON.stringify(worst)}`);
      const tables = await pageTables(r.page);
      const wf = tableByCaption(tables, "The packets of exchange 1");
      const frames = wf.rows.map((row) => Number(row[0]!.value));
      expect(frames).toEqual(worst.packets!.map((p) => p.frame));
      for (const f of stall.frames) expect(frames).toContain(f);
      const ackRow = wf.rows[frames.indexOf(stall.frames[1])]!;
      expect(ackRow[2]!.text).toBe("server → client");
      expect(ackRow[3]!.text).toBe("ack");
      // The silence before the ACK is the stall, within the ACK window.
      expect(Number(ackRow[6]!.value)).toBeGreaterThan(30);
      expect(Number(ackRow[6]!.value)).toBeLessThanOrEqual(stall.stallMs);
      const model = (await chartModels(r.page)).find((m) => m.id === "waterfall-1") as WaterfallChart;
      expect(model.gaps[0]!.ms).toBeGreaterThan(30);

      const servers = tableByCaption(tables, "Servers as the terminal shows them");
      servers.rows.forEach((row, i) => {
        const e = json.endpoints[i]!;
        expect(row[0]!.text).toBe(e.server);
        expect(Number(row[3]!.value)).toBe(e.stalls);
        expect(Number(row[5]!.value)).toBe(e.stalledMs);
        expectUs(row[6]!, e.wireUs.p50);
        expectUs(row[7]!, e.wireUs.p99);
      });
      // Where the time went: the bars' table and the causes table hold the JSON's numbers.
      const bars = tableByCaption(tables, "Wire time per server");
      bars.rows.forEach((row, i) => {
        const t = json.endpoints[i]!.timeMs!;
        expect(row.slice(2).map((c) => Number(c.value))).toEqual([
          t.requestTransmit,
          t.server,
          t.responseTransmit,
          t.stalled,
        ]);
      });
      // The split request's stall is in its transmit time, not the server's.
      expect(json.endpoints[0]!.timeMs!.requestTransmit).toBeGreaterThan(json.endpoints[0]!.timeMs!.server * 10);
      const causes = tableByCaption(tables, "Where the time of the slow requests");
      expect(causes.rows.map((row) => row[0]!.text)).toEqual(json.causes.map((c) => c.cause));
      causes.rows.forEach((row, i) => {
        expect(Number(row[1]!.value)).toBe(json.causes[i]!.requests);
        expect(Number(row[2]!.value)).toBe(json.causes[i]!.totalMs);
      });
      const stalls = tableByCaption(tables, "Longest stalls");
      const longest = [...json.stalls.items].sort((a, b) => b.stallMs - a.stallMs)[0]!;
      expect(stalls.head).toEqual(["flow", "command", "side", "stall", "frames: before, ACK, after", "at"]);
      expect(Number(stalls.rows[0]![3]!.value)).toBe(longest.stallMs);
      expect(stalls.rows[0]![4]!.text).toBe(longest.frames.join(", "));
    });
  }

  it("probe (closed loop, split writes, health check): timeline by stalled/answered/failed, phases, busy connections against the pool and L", async () => {
    const { json, r } = await runAndOpen<ProbeResult>(
      "probe",
      ["probe", "--embedded", "--write", "split", "--health-check", "version", "--duration", "1s"],
      [0, 1],
    );
    const charts = await checkCharts(r.page);
    expect(charts.map((c) => c.id)).toEqual(["probe-timeline", "phases", "busy"]);
    for (const c of charts) expect(c.dataPixels, c.id).toBeGreaterThan(20);
    expect(charts[0]!.legend).toEqual(["answered", "stalled", "failed"]);
    expect(charts[1]!.legend).toEqual(
      expect.arrayContaining(["pool wait", "health check", "wire", "total (every request)"]),
    );
    expect(charts[2]!.legend).toEqual(expect.arrayContaining(["busy connections", `pool size (${json.poolSize})`]));
    const busy = (await chartModels(r.page)).find((m) => m.id === "busy") as LinesChart;
    expect(busy.refs!.map((x) => x.y)).toEqual([json.poolSize, json.littlesLaw.busyConnections]);
    const phases = tableByCaption(await pageTables(r.page), "Phases as the terminal shows them");
    const want = [
      ["pool wait", json.poolWaitUs],
      ["health check", json.healthCheckUs],
      ["wire", json.wireUs],
      ["total (every request)", json.totalUs],
    ] as const;
    expect(phases.rows.map((row) => row[0]!.text)).toEqual(want.map((w) => w[0]));
    phases.rows.forEach((row, i) => {
      const s = want[i]![1];
      expectUs(row[1]!, s.p50);
      expectUs(row[3]!, s.p99);
      expectUs(row[5]!, s.max);
      expect(Number(row[7]!.value)).toBe(s.count);
    });
    // The timeline's table counts every request, by kind.
    const t = tableByCaption(await pageTables(r.page), "Latency over time");
    const counted = t.rows.reduce((n, row) => n + Number(row[1]!.value), 0);
    expect(counted).toBe(json.requests);
    expect(t.rows.reduce((n, row) => n + Number(row[7]!.value), 0)).toBe(json.stalled);
  });

  it("probe --rate: the users' latency from the intended start leads the phases", async () => {
    const { json, r } = await runAndOpen<RateProbeResult>(
      "probe-rate",
      ["probe", "--embedded", "--rate", "400", "--duration", "1s"],
      [0, 1],
    );
    const charts = await checkCharts(r.page);
    for (const c of charts) expect(c.dataPixels, c.id).toBeGreaterThan(20);
    const phases = tableByCaption(await pageTables(r.page), "Phases as the terminal shows them");
    expect(phases.rows[0]![0]!.text).toBe("from intended start (users)");
    expectUs(phases.rows[0]![1]!, json.latencyUs.p50);
    expectUs(phases.rows[0]![3]!, json.latencyUs.p99);
  });

  it("probe above 100,000 requests: per-bucket bands, exact, and the chart still drawn", async () => {
    const { json, r } = await runAndOpen<ProbeResult>(
      "probe-bands",
      ["probe", "--embedded", "--requests", "110000", "--concurrency", "16", "--nodelay"],
      [0, 1],
    );
    const tl = json.timeline!;
    expect(tl.mode).toBe("bands");
    expect(tl.requests).toBe(json.requests);
    const charts = await checkCharts(r.page);
    expect(charts[0]!.dataPixels).toBeGreaterThan(20);
    expect(charts[0]!.legend).toContain("per bucket: min–max (shaded), p50 (line), p99 (dashed)");
    const t = tableByCaption(await pageTables(r.page), "Latency over time");
    const b = tl.bands!;
    expect(t.rows.length).toBe(b.startMs.length);
    expect(t.rows.map((row) => Number(row[1]!.value))).toEqual(b.count);
    expect(t.rows.map((row) => Number(row[3]!.value))).toEqual(b.p50Us);
    expect(t.rows.map((row) => Number(row[4]!.value))).toEqual(b.p99Us);
    expect(b.count.reduce((n, k) => n + k, 0)).toBe(json.requests);
    // The dots kept beside the bands are the stalled and failed requests.
    expect(decodeFloats(tl.dots.tMs).length).toBe(tl.dots.count);
    expect(tl.dots.count).toBe(tl.byCategory[1]! + tl.byCategory[2]!);
  });

  it("sweep: latency per step against the SLO line, the knee marked, requested against achieved", async () => {
    const { json, r } = await runAndOpen<SweepDoc>(
      "sweep",
      [
        "sweep",
        "--embedded",
        "--rates",
        "200,400",
        "--step-duration",
        "600ms",
        "--pause",
        "100ms",
        "--slo",
        "p99<2s,success>=99%",
      ],
      [0, 1],
    );
    const charts = await checkCharts(r.page);
    expect(charts.map((c) => c.id)).toEqual(["sweep-latency", "sweep-rates"]);
    for (const c of charts) expect(c.dataPixels, c.id).toBeGreaterThan(20);
    expect(charts[0]!.legend).toEqual(expect.arrayContaining(["p50", "p95", "p99", "SLO p99<2s"]));
    expect(charts[1]!.legend).toEqual(expect.arrayContaining(["requested", "achieved", "throughput (answered)"]));
    const latency = (await chartModels(r.page)).find((m) => m.id === "sweep-latency") as LinesChart;
    expect(latency.refs).toEqual([expect.objectContaining({ label: "SLO p99<2s", y: 2_000_000 })]);
    if (json.maxRateMeetingSlo !== null)
      expect(latency.marks![0]).toEqual(expect.objectContaining({ x: json.maxRateMeetingSlo }));
    const steps = tableByCaption(await pageTables(r.page), "Each step as the terminal shows it");
    steps.rows.forEach((row, i) => {
      const s = json.steps[i]!;
      expect(Number(row[0]!.value)).toBe(s.requestedRate);
      expect(Number(row[1]!.value)).toBe(s.achievedRate);
      expectUs(row[4]!, s.latencyUs.p50);
      expectUs(row[7]!, s.latencyUs.p99);
    });
  });
  it("merge --html: two shards' results drawn as one run, phases from the merged histograms, one row per worker", async () => {
    const mc = await startMemcached();
    try {
      const ep = `${mc.host}:${mc.port}`;
      const files: string[] = [];
      for (const shard of ["0/2", "1/2"]) {
        const w = await mcdiag(["probe", ep, "--requests", "400", "--concurrency", "4", "--shard", shard, "--json"], {
          timeoutMs: 60_000,
        });
        expect([0, 1], w.stderr).toContain(w.code);
        files.push(join(dir, `shard-${shard.replace("/", "of")}.json`));
        writeFileSync(files[files.length - 1]!, w.stdout);
      }
      const html = join(dir, "merged.html");
      const m = await mcdiag(["merge", ...files, "--json", "--html", html]);
      expect([0, 1], m.stderr).toContain(m.code);
      const json = JSON.parse(m.stdout) as ProbeResult & { kind: string };
      expect(json.kind).toBe("mcdiag.probe");
      expect(json.workers).toHaveLength(2);
      const r = await openReport(browser!.context, html, "merged");
      expect(r.errors).toEqual([]);
      expect(r.requests).toEqual([]);
      await expectAccessible(r);
      const charts = await checkCharts(r.page);
      expect(charts.map((c) => c.id)).toEqual(["phases"]);
      expect(charts[0]!.dataPixels).toBeGreaterThan(20);
      const phases = (await chartModels(r.page)).find((c) => c.id === "phases") as PercentileChart;
      const wire = phases.lines.find((l) => l.label === "wire")!;
      const merged = decodeHistogram(json.histograms.wireUs, "wireUs", json.wireUs);
      // --requests is the fleet's: each shard made its share, and the merge holds them all.
      expect(json.requests).toBe(400);
      expect(json.workers!.reduce((n, w) => n + w.requests, 0)).toBe(400);
      expect(merged.totalCount).toBe(json.wireUs.count);
      expect(merged.totalCount).toBe(json.hits + json.misses);
      expect({ x: wire.x, yUs: wire.yUs }).toEqual(curveFromHistogram(merged));
      const tables = await pageTables(r.page);
      const workers = tableByCaption(tables, "Each worker of the merged run");
      expect(workers.head.slice(0, 3)).toEqual(["worker", "host", "result"]);
      workers.rows.forEach((row, i) => {
        const w = json.workers![i]!;
        expect(row[0]!.text).toBe(`${w.worker.index}/${w.worker.count}`);
        expect(row[2]!.text).toBe(files[i]);
        const at = (col: string) => row[workers.head.indexOf(col)]!;
        expect(Number(at("requests").value)).toBe(w.requests);
        expect(Number(at("errors").value)).toBe(w.errors);
        expectUs(at("p99"), w.latencyP99Us);
      });
      const params = await r.page.locator("#params").textContent();
      expect(params).toContain("merged from2 workers on 1 host");
      // Drawn again later from the merged JSON: the same page.
      writeFileSync(join(dir, "merged.json"), m.stdout);
      const again = join(dir, "merged-again.html");
      const rep = await mcdiag(["report", join(dir, "merged.json"), "--html", again]);
      expect(rep.code, rep.stderr).toBe(0);
      expect(readFileSync(again, "utf8")).toBe(readFileSync(html, "utf8"));
    } finally {
      await mc.stop();
    }
  });
});
