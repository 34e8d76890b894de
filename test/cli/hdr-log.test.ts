import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as hdr from "hdr-histogram-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mcdiag } from "../helpers/cli.js";
import { startMemcached, type Daemon } from "../helpers/daemons.js";
import { requireTool } from "../helpers/tools.js";

const HAVE_MEMCACHED = requireTool("memcached", "the interval log is written by a probe against a real memcached");

/** Every interval of every tag, read back with hdr-histogram-js's own HistogramLogReader. */
function readLog(text: string): Map<string, hdr.Histogram[]> {
  const reader = new hdr.HistogramLogReader(text);
  const byTag = new Map<string, hdr.Histogram[]>();
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    const list = byTag.get(h.tag) ?? [];
    list.push(h);
    byTag.set(h.tag, list);
  }
  return byTag;
}

describe.runIf(HAVE_MEMCACHED)(
  "--hdr-log: an HdrHistogram interval log, one interval a second, one tag per histogram",
  () => {
    let mc: Daemon;
    let dir: string;
    beforeAll(async () => {
      mc = await startMemcached();
      dir = mkdtempSync(join(tmpdir(), "mcdiag-hlog-"));
    });
    afterAll(async () => {
      await mc.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("probe --rate: each histogram's intervals add up to the run's counts, a second each", async () => {
      const log = join(dir, "rate.hlog");
      const r = await mcdiag([
        "probe",
        `${mc.host}:${mc.port}`,
        "--rate",
        "500",
        "--duration",
        "3s",
        "--hdr-log",
        log,
        "--json",
      ]);
      expect(r.code, r.stderr).toBeLessThan(2);
      const j = JSON.parse(r.stdout);
      const text = readFileSync(log, "utf8");
      expect(text).toContain("#[Histogram log format version 1.3]");
      expect(hdr.listTags(text).sort()).toEqual(Object.keys(j.histograms).sort());
      const byTag = readLog(text);
      for (const [tag, intervals] of byTag) {
        const total = intervals.reduce((a, h) => a + h.totalCount, 0);
        expect(total, tag).toBe(j[tag].count);
        expect(Math.max(...intervals.map((h) => h.maxValue))).toBeGreaterThanOrEqual(j[tag].max);
      }
      const latency = byTag.get("latencyUs")!;
      // Three seconds of schedule (the last request due at 2.998 s) and the drain after it: 3 or 4
      // intervals. Each whole second ends on the run's next whole second, or as late as the timer
      // fired (a busy machine delays timers); the last ends with the run; each starts where the one
      // before ended.
      expect(latency.length).toBeGreaterThanOrEqual(3);
      expect(latency.length).toBeLessThanOrEqual(4);
      const t0 = latency[0]!.startTimeStampMsec;
      const last = latency.length - 1;
      latency.forEach((h, k) => {
        if (k < last) expect(h.endTimeStampMsec - t0).toBeGreaterThanOrEqual((k + 1) * 1000 - 1);
        expect(h.endTimeStampMsec - t0).toBeLessThan((k + 1) * 1000 + 500);
        if (k > 0) expect(Math.abs(h.startTimeStampMsec - latency[k - 1]!.endTimeStampMsec)).toBeLessThan(2);
      });
      expect(latency[last]!.endTimeStampMsec - t0).toBeGreaterThanOrEqual(2998 - 1);
      // Timestamps are absolute: the log's first interval starts when the run's window did.
      expect(Math.abs(latency[0]!.startTimeStampMsec - j.run.startedAtMs)).toBeLessThan(2);
    });

    it("probe --workers 2: the threads' seconds merged into one log, adding up to the merged result", async () => {
      const log = join(dir, "workers.hlog");
      const r = await mcdiag([
        "probe",
        `${mc.host}:${mc.port}`,
        "--duration",
        "2s",
        "--workers",
        "2",
        "--hdr-log",
        log,
        "--json",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      const byTag = readLog(readFileSync(log, "utf8"));
      expect([...byTag.keys()].sort()).toEqual([
        "healthCheckUs",
        "poolWaitUs",
        "successLatencyUs",
        "totalUs",
        "wireUs",
      ]);
      const total = byTag.get("totalUs")!;
      expect(total.reduce((a, h) => a + h.totalCount, 0)).toBe(j.requests);
      expect(total.length).toBeLessThanOrEqual(3);
    });

    it("an interval log that cannot be written is refused before the run, exit 2", async () => {
      const r = await mcdiag([
        "probe",
        `${mc.host}:${mc.port}`,
        "--duration",
        "1s",
        "--hdr-log",
        join(dir, "no/such/dir/x.hlog"),
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--hdr-log: cannot write .*x.hlog: the folder .* does not exist/);
      expect(r.ms).toBeLessThan(5000);
    });
  },
);
