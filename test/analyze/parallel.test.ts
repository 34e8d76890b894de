import { spawn, execFileSync } from "node:child_process";
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { AnalysisResult } from "../../src/analyze/result.js";
import { BIN, mcdiag } from "../helpers/cli.js";
import { FIXTURES, SERVER_PORTS, capture } from "../helpers/fixtures.js";
import { requireTool } from "../helpers/tools.js";

const RING = `${FIXTURES}ring`;
const HAVE_TSHARK = requireTool("tshark", "the test splits a real capture by TCP connection with tshark");
const PORTS = ["--port", SERVER_PORTS.join(",")];
const tmp = mkdtempSync(join(tmpdir(), "mcdiag-parallel-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** analyze --json of `input` on `threads` threads. */
async function analyzeOn(threads: number, input: string[]): Promise<AnalysisResult> {
  const r = await mcdiag(["analyze", ...input, ...PORTS, "--threads", String(threads), "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as AnalysisResult;
}

/** The same analysis on 1, 2 and 3 threads: every field of the JSON equal (the analysis holds no timing of its own). */
async function sameOnAnyThreads(input: string[]): Promise<AnalysisResult> {
  const one = await analyzeOn(1, input);
  for (const threads of [2, 3]) expect(await analyzeOn(threads, input), `${threads} threads`).toEqual(one);
  return one;
}

describe("analyze --threads: worker threads merged exactly", () => {
  it("gives a ring (one capture, split by flow) the one-thread result: stalls with frames, flows, top, causes, timeline", async () => {
    const one = await sameOnAnyThreads([RING]);
    // What makes the comparison mean something: stalls on flows spread over the workers, rows in order.
    expect(one.stalls.request).toBeGreaterThan(50);
    expect(one.flowsDetail.length).toBeGreaterThan(5);
    expect(one.top.length).toBeGreaterThan(0);
    expect(one.files).toHaveLength(10);
    expect(one.timeline?.requests).toBe(one.requests.total - one.requests.unanswered - one.requests.noreply);
  });

  it("splits one file by flow with the same result, for every fixture kind (UDP, IPv6, loss, SYN retries, damage)", async () => {
    for (const f of [
      "ring-whole.pcap",
      "mixed.pcap",
      "udp.pcap",
      "ipv6-split.pcap",
      "syn-drop.pcap",
      "window-full.pcap",
      "clock-step.pcap",
      "snaplen-80.pcap",
      "multi-section.pcapng",
      "large-values.pcap.gz",
    ]) {
      const one = await analyzeOn(1, [capture(f)]);
      expect(await analyzeOn(3, [capture(f)]), f).toEqual(one);
    }
  });

  it("analyses separate captures (the fixture corpus) one by one and merges them exactly, on any number of threads", async () => {
    const dir = join(tmp, "corpus");
    mkdirSync(dir);
    const files = ["split-nagle.pcap", "mixed.pcap", "udp.pcap", "window-full.pcap", "split-nagle.pcapng"];
    for (const f of files) copyFileSync(capture(f), join(dir, f));
    const merged = await sameOnAnyThreads([dir]);
    expect(merged.warnings[0]).toMatch(
      /^the 5 files are separate captures .*each was analysed alone and the results merged/,
    );
    expect(merged.mergedFrom).toHaveLength(5);
    // Exactly the sum of the captures analysed alone.
    let requests = 0;
    let stalls = 0;
    let slow = 0;
    for (const f of files) {
      const alone = await analyzeOn(1, [join(dir, f)]);
      requests += alone.requests.total;
      stalls += alone.stalls.request;
      slow += alone.slowRequests;
    }
    expect([merged.requests.total, merged.stalls.request, merged.slowRequests]).toEqual([requests, stalls, slow]);
  });

  it.runIf(HAVE_TSHARK)(
    "finds captures that overlap in time (one connection each way, as from two hosts) and merges them into the figures of the whole",
    async () => {
      const dir = join(tmp, "hosts");
      mkdirSync(dir);
      for (const i of [0, 1]) {
        const out = join(dir, `host${i + 1}.pcap`);
        const filter = i === 0 ? "!tcp || tcp.stream % 2 == 0" : "tcp && tcp.stream % 2 == 1";
        execFileSync("tshark", ["-r", capture("ring-whole.pcap"), "-Y", filter, "-F", "pcap", "-w", out], {
          stdio: "ignore",
        });
      }
      const merged = await sameOnAnyThreads([dir]);
      const whole = await analyzeOn(1, [capture("ring-whole.pcap")]);
      expect(merged.warnings[0]).toMatch(/^the 2 files are separate captures/);
      expect([merged.packets, merged.requests, merged.stalls.request, merged.slowRequests]).toEqual([
        whole.packets,
        whole.requests,
        whole.stalls.request,
        whole.slowRequests,
      ]);
    },
  );

  it("stops the workers on Ctrl-C and prints the partial merged report, marked interrupted, exit 130", async () => {
    const fifo = join(tmp, "live.pcap");
    execFileSync("mkfifo", [fifo]);
    const bytes = readFileSync(capture("ring-whole.pcap"));
    const child = spawn(process.execPath, [BIN, "analyze", fifo, "--threads", "2", "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    // Half the capture, the FIFO kept open: the analysis waits for more until the signal.
    const writer = createWriteStream(fifo);
    writer.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    const code = await new Promise<number | null>((resolve) => {
      const sig = setTimeout(() => child.kill("SIGINT"), 2000);
      // A read pending on a FIFO holds the process until the writer closes (libuv), as for one thread.
      const close = setTimeout(() => writer.destroy(), 3000);
      const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.on("exit", (c) => {
        for (const t of [sig, close, kill]) clearTimeout(t);
        resolve(c);
      });
    });
    writer.destroy();
    expect(err).toBe("");
    expect(code).toBe(130);
    const j = JSON.parse(out) as AnalysisResult;
    expect(j.interrupted).toBe(true);
    expect(j.packets).toBeGreaterThan(100);
    expect(j.requests.total).toBeGreaterThan(0);
  }, 60_000);

  it("refuses a bad --threads with one line, exit 2", async () => {
    const r = await mcdiag(["analyze", RING, "--threads", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--threads");
  });
});
