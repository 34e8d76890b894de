import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeHistogram } from "../../src/results/histogram-codec.js";
import { mcdiag } from "../helpers/cli.js";
import { expectMergeRefused } from "../helpers/merge.js";
import { startMemcached, type Daemon } from "../helpers/daemons.js";
import { mcdiagInterrupted } from "../helpers/interrupt.js";
import { requireTool } from "../helpers/tools.js";

const HAVE_MEMCACHED = requireTool("memcached", "sharded probes run against a real memcached");

describe.runIf(HAVE_MEMCACHED)("runs split across workers (--workers, --shard, --start-at) and merge", () => {
  let mc: Daemon;
  let ep: string;
  let dir: string;
  beforeAll(async () => {
    mc = await startMemcached();
    ep = `${mc.host}:${mc.port}`;
    dir = mkdtempSync(join(tmpdir(), "mcdiag-fleet-"));
  });
  afterAll(async () => {
    await mc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // The CLI's JSON, read as untyped data: each assertion names the field it checks.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Doc = any;
  const json = (stdout: string): Doc => JSON.parse(stdout);
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("probe --workers 2 --json: one result whose counts are the sum of its two shards, with a row per worker", async () => {
    const r = await mcdiag(["probe", ep, "--workers", "2", "--requests", "3001", "--concurrency", "5", "--json"]);
    expect(r.code).toBe(0);
    const j = json(r.stdout);
    expect(j.kind).toBe("mcdiag.probe");
    expect(j.workers).toHaveLength(2);
    const [w0, w1] = j.workers;
    expect([w0.worker, w1.worker]).toEqual([
      { index: 0, count: 2 },
      { index: 1, count: 2 },
    ]);
    // --requests and --concurrency split, the remainder to worker 0.
    expect([w0.requests, w1.requests]).toEqual([1501, 1500]);
    expect([w0.concurrency, w1.concurrency]).toEqual([3, 2]);
    expect(j.requests).toBe(w0.requests + w1.requests);
    expect(j.hits + j.misses + Object.values(j.errors as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(3001);
    expect(j.concurrency).toBe(5);
    expect(j.run.merged).toBe(2);
    // The merged histogram holds every request of both threads.
    expect(decodeHistogram(j.histograms.totalUs, "totalUs", j.totalUs).totalCount).toBe(3001);
    // The threads started together on a barrier, and the server saw exactly the measured gets.
    expect(j.run.startAtMs).toBeGreaterThan(0);
    expect(j.evidence.stats.cmd_get).toBe(3001);
  });

  it("probe --rate --workers 2: the rate split, requests interleaved, the merge's rate over the common window", async () => {
    const r = await mcdiag(["probe", ep, "--rate", "1000", "--duration", "1s", "--workers", "2", "--json"]);
    expect(r.code).toBeLessThan(2);
    const j = json(r.stdout);
    expect(j.workers.map((w: Doc) => w.requestedRate)).toEqual([500, 500]);
    expect(j.requestedRate).toBeGreaterThan(990);
    expect(j.issued).toBe(1000);
    expect(j.requests).toBe(j.workers[0].requests + j.workers[1].requests);
    expect(j.latencyUs.count).toBe(1000);
    expect(j.durationMs).toBeLessThan(1500);
  });

  it("three --shard processes with one --start-at merge into the fleet's result; their keys are disjoint slices", async () => {
    const startAt = Date.now() + 2500;
    const runs = await Promise.all(
      [0, 1, 2].map((i) =>
        mcdiag([
          "probe",
          ep,
          "--rate",
          "600",
          "--duration",
          "1s",
          "--shard",
          `${i}/3`,
          "--start-at",
          String(startAt),
          "--json",
        ]),
      ),
    );
    const shards = runs.map((r) => {
      expect(r.code, r.stderr).toBeLessThan(2);
      return json(r.stdout);
    });
    expect(shards.map((s) => s.run.keys)).toEqual([
      { prefix: "mcdiag:", first: 0, count: 34 },
      { prefix: "mcdiag:", first: 34, count: 33 },
      { prefix: "mcdiag:", first: 67, count: 33 },
    ]);
    expect(shards.map((s) => s.requestedRate)).toEqual([200, 200, 200]);
    for (const s of shards) {
      expect(s.run.startAtMs).toBe(startAt);
      // Each starts on the common schedule: shard i is i/600 s after the start, give or take a busy machine.
      expect(s.run.startedAtMs - startAt).toBeGreaterThanOrEqual(0);
    }
    const paths = shards.map((s, i) => file(`shard${i}.json`, JSON.stringify(s)));
    const m = await mcdiag(["merge", ...paths, "--json"]);
    expect(m.code, m.stderr).toBeLessThan(2);
    const merged = json(m.stdout);
    expect(merged.kind).toBe("mcdiag.probe");
    expect(merged.requests).toBe(shards.reduce((a, s) => a + s.requests, 0));
    expect(merged.issued).toBe(600);
    expect(merged.workers.map((w: Doc) => w.file)).toEqual(paths);
    expect(merged.run.keys).toEqual({ prefix: "mcdiag:", first: 0, count: 100 });
    // The text report is the single run's, with the worker rows.
    const t = await mcdiag(["merge", dir + "/shard0.json", dir + "/shard1.json", dir + "/shard2.json"]);
    expect(t.stdout).toMatch(/constant rate 600\/s .* merged from 3 workers/);
    expect(t.stdout).toMatch(/│ 2\/3 +│/);
  });

  it("a worker already past --start-at says so, starts at once, and records how late", async () => {
    const r = await mcdiag(["probe", ep, "--duration", "300ms", "--start-at", String(Date.now() - 3000), "--json"]);
    expect(r.code).toBe(0);
    const j = json(r.stdout);
    expect(j.run.startLateMs).toBeGreaterThanOrEqual(3000);
    expect(j.warnings.join("\n")).toMatch(/started \d+ ms after the synchronised start/);
  });

  it("Ctrl-C during the --start-at wait, and during a --workers run, prints the partial result and exits 130", async () => {
    const wait = await mcdiagInterrupted(
      ["probe", ep, "--duration", "1s", "--start-at", String(Date.now() + 60_000), "--json"],
      { afterMs: 1500 },
    );
    expect(wait.code).toBe(130);
    expect(wait.msAfterSignal).toBeLessThan(2500);
    expect(json(wait.stdout).interrupted).toBe(true);
    // Signalled once the threads have measured a second (the interval log's first line), whatever the machine's load.
    const log = join(dir, "interrupted.hlog");
    const threads = await mcdiagInterrupted(
      ["probe", ep, "--rate", "500", "--duration", "20s", "--workers", "2", "--hdr-log", log, "--json"],
      { afterMs: 500, until: () => existsSync(log) && /^Tag=/m.test(readFileSync(log, "utf8")) },
    );
    expect(threads.code).toBe(130);
    expect(threads.msAfterSignal).toBeLessThan(2500);
    const j = json(threads.stdout);
    expect(j.interrupted).toBe(true);
    expect(j.workers).toHaveLength(2);
    expect(j.requests).toBe(j.workers[0].requests + j.workers[1].requests);
    expect(j.requests).toBeGreaterThan(0);
    expect(j.requests).toBeLessThan(5000);
  });

  it("--json-file writes the JSON result beside the text report; an unwritable path is refused before the run", async () => {
    const out = join(dir, "side.json");
    const r = await mcdiag(["probe", ep, "--requests", "150", "--json-file", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^\{/);
    const j = json(readFileSync(out, "utf8"));
    expect(j.kind).toBe("mcdiag.probe");
    expect(j.requests).toBe(150);
    const m = await mcdiag(["merge", out, "--json"]);
    expect(m.code, m.stderr).toBe(0);
    expect(json(m.stdout).requests).toBe(150);
    const bad = await mcdiag(["probe", ep, "--requests", "150", "--json-file", join(dir, "no", "such", "dir.json")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--json-file/);
    expect(bad.stdout).toBe("");
    const sweep = join(dir, "side-sweep.json");
    const s = await mcdiag(["sweep", ep, "--rates", "200", "--step-duration", "300ms", "--json-file", sweep]);
    expect(s.code, s.stderr).toBeLessThan(2);
    expect(json(readFileSync(sweep, "utf8")).kind).toBe("mcdiag.sweep");
  });

  it("--shards N takes the index from JOB_COMPLETION_INDEX", async () => {
    const r = await mcdiag(["probe", ep, "--requests", "100", "--shards", "4", "--json"], {
      env: { JOB_COMPLETION_INDEX: "3" },
    });
    expect(r.code).toBe(0);
    expect(json(r.stdout).run.worker).toEqual({ index: 3, count: 4 });
    expect(json(r.stdout).run.keys).toEqual({ prefix: "mcdiag:", first: 75, count: 25 });
  });

  it("sweeps split across workers merge step by step", async () => {
    const startAt = Date.now() + 2500;
    const args = (i: number) => [
      "sweep",
      ep,
      "--rates",
      "400,800",
      "--step-duration",
      "500ms",
      "--pause",
      "700ms",
      "--shard",
      `${i}/2`,
      "--start-at",
      String(startAt),
      "--json",
    ];
    const runs = await Promise.all([0, 1].map((i) => mcdiag(args(i))));
    const paths = runs.map((r, i) => {
      expect(r.code, r.stderr).toBeLessThan(2);
      return file(`sweep${i}.json`, r.stdout);
    });
    const shard0 = json(runs[0]!.stdout);
    expect(shard0.steps.map((s: Doc) => s.requestedRate)).toEqual([200, 400]);
    expect(shard0.runs[1].run.startAtMs).toBe(startAt + 1200);
    const m = await mcdiag(["merge", ...paths, "--json"]);
    expect(m.code, m.stderr).toBeLessThan(2);
    const merged = json(m.stdout);
    expect(merged.kind).toBe("mcdiag.sweep");
    expect(merged.steps.map((s: Doc) => s.requestedRate)).toEqual([400, 800]);
    expect(merged.steps.map((s: Doc) => s.requests)).toEqual([
      json(runs[0]!.stdout).steps[0].requests + json(runs[1]!.stdout).steps[0].requests,
      json(runs[0]!.stdout).steps[1].requests + json(runs[1]!.stdout).steps[1].requests,
    ]);
    expect(merged.runs[0].workers).toHaveLength(2);
  });

  describe("merge refuses bad input in one line naming the file, exit 2", () => {
    let good: string;
    let goodText: string;
    beforeAll(async () => {
      const r = await mcdiag(["probe", ep, "--requests", "200", "--json"]);
      goodText = r.stdout;
      good = file("good.json", goodText);
    });

    it("a file cut short", async () => {
      const cut = file("cut.json", goodText.slice(0, goodText.length / 2));
      await expectMergeRefused([good, cut], new RegExp(`^mcdiag: ${cut}: not valid JSON \\(cut short\\?\\)`));
    });

    it("a histogram that does not decode", async () => {
      const doc = json(goodText);
      doc.histograms.wireUs = doc.histograms.wireUs.slice(0, 40);
      const bad = file("badhist.json", JSON.stringify(doc));
      await expectMergeRefused([good, bad], new RegExp(`${bad}.wireUs: the histogram does not decode`));
    });

    it("counts that disagree with each other", async () => {
      const doc = json(goodText);
      doc.requests += 1;
      await expectMergeRefused(
        [good, file("counts.json", JSON.stringify(doc))],
        /counts.json: requests .* the counts disagree/,
      );
    });

    it("results from another endpoint, or other settings", async () => {
      const other = await startMemcached();
      try {
        const r = await mcdiag(["probe", `${other.host}:${other.port}`, "--requests", "100", "--json"]);
        const otherPath = file("other.json", r.stdout);
        await expectMergeRefused(
          [good, otherPath],
          /other.json: endpoint .* differs from .*good.json's .*: results of different runs do not merge/,
        );
      } finally {
        await other.stop();
      }
      const doc = json(goodText);
      doc.write = "split";
      doc.run.startedAtMs += 1;
      await expectMergeRefused(
        [good, file("split.json", JSON.stringify(doc))],
        /split.json: write pattern "split" differs/,
      );
    });

    it("a mix of kinds, a kind that does not merge, the same result twice, an empty directory, not a result", async () => {
      const sweep = file("s.json", JSON.stringify({ kind: "mcdiag.sweep", version: 1, rates: [], runs: [] }));
      await expectMergeRefused(
        [good, sweep],
        /s.json is a sweep result, .*good.json a probe result: merge one kind at a time/,
      );
      const compare = file("c.json", JSON.stringify({ kind: "mcdiag.compare", version: 1 }));
      await expectMergeRefused([compare], /c.json: compare results cannot be merged/);
      await expectMergeRefused([good, good], /both hold the same run/);
      const empty = join(dir, "empty");
      mkdirSync(empty);
      await expectMergeRefused([empty], /empty: the directory holds no result files/);
      await expectMergeRefused([file("x.json", '{"a": 1}')], /x.json: not an mcdiag result/);
      await expectMergeRefused([join(dir, "missing.json")], /missing.json: no such file or directory/);
    });

    it("--slo judges the merged result: a broken one exits 1", async () => {
      const r = await mcdiag(["merge", good, "--slo", "p50<1us"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/SLO broken: p50<1us/);
      expect(readFileSync(good, "utf8")).toBe(goodText);
    });
  });
});
