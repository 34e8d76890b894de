import { describe, expect, it } from "vitest";
import { ANALYZE_DEFAULTS, analyzeCapture } from "../../src/analyze/analyzer.js";
import type { AnalysisResult } from "../../src/analyze/result.js";
import { SERVER_PORTS, capture } from "../helpers/fixtures.js";
import { requireTool } from "../helpers/tools.js";
import { tsharkLossTruth, tsharkWindowTruth } from "../helpers/tshark-truth.js";

const analyze = (file: string) => analyzeCapture({ ...ANALYZE_DEFAULTS, input: capture(file), ports: SERVER_PORTS });
const cause = (r: AnalysisResult, c: string) => r.causes.find((x) => x.cause === c);

describe("every slow request gets a cause (captures made under real faults)", () => {
  it("loss (3 % random drop each way), seen from the client and from the server: retransmission, with its timer", async () => {
    for (const f of ["loss.pcap", "loss-server.pcap"]) {
      const r = await analyze(f);
      const rtx = cause(r, "retransmission")!;
      expect(rtx.requests, f).toBeGreaterThanOrEqual(r.slowRequests - 2);
      expect(rtx.typicalMs, f).toBeGreaterThanOrEqual(180);
      expect(rtx.timer, f).toMatch(/TCP_RTO_MIN/);
      expect(rtx.examples[0]!.frames.length, f).toBeGreaterThan(0);
      expect(cause(r, "zero-window"), f).toBeUndefined();
      expect(cause(r, "connect"), f).toBeUndefined();
      expect(r.advice.join("\n"), f).toMatch(/lost most of their time to retransmission .*nstat TcpRetransSegs/);
      expect(r.advice.join("\n"), f).not.toMatch(/no Nagle\/delayed-ACK stalls found/);
    }
  });

  it("a dropped SYN: the connection and its first request, under connect, at TCP_TIMEOUT_INIT", async () => {
    const r = await analyze("syn-drop.pcap");
    const c = cause(r, "connect")!;
    expect(c.connections).toBe(1);
    expect(c.requests).toBe(1);
    expect(c.typicalMs).toBeGreaterThanOrEqual(900);
    expect(c.timer).toMatch(/TCP_TIMEOUT_INIT/);
    expect(c.examples[0]!.frames).toHaveLength(3);
  });

  it("a client that stops reading: zero-window, the client named as the slow reader", async () => {
    const r = await analyze("zero-window.pcap");
    const z = cause(r, "zero-window")!;
    expect(z.requests).toBe(3);
    expect(z.evidence).toEqual({
      "the client was the slow reader": 3,
      "a zero window was advertised": 3,
      "the sender filled the advertised window": 3,
      "persist probes sent": 1,
    });
    expect(r.top.filter((t) => t.cause === "zero-window")).toHaveLength(3);
    expect(cause(r, "delayed-ack")).toBeUndefined();
  });

  it("a client that reads slowly but steadily: the server filling its window is zero-window too, not a delayed ACK", async () => {
    const r = await analyze("window-full.pcap");
    const z = cause(r, "zero-window")!;
    expect(z.requests).toBe(3);
    expect(z.evidence["the client was the slow reader"]).toBe(3);
    expect(z.evidence["the sender filled the advertised window"]).toBe(3);
    expect(z.totalMs).toBeGreaterThan(2000);
    expect(r.stalls.response).toBe(0);
    expect(cause(r, "delayed-ack")).toBeUndefined();
  });

  it("a server that takes 60 ms per command: every request under server", async () => {
    const r = await analyze("slow-server.pcap");
    expect(r.causes.map((c) => [c.cause, c.requests])).toEqual([["server", 41]]);
    expect(cause(r, "server")!.typicalMs).toBeGreaterThanOrEqual(60);
  });

  it("everything at once with split writes on 4 connections: each cause found, stall counts unchanged", async () => {
    for (const f of ["mixed.pcap", "mixed-server.pcap"]) {
      const r = await analyze(f);
      for (const c of ["delayed-ack", "retransmission", "server", "connect"])
        expect(cause(r, c), `${f} ${c}`).toBeDefined();
      expect(
        r.causes.reduce((n, c) => n + c.requests, 0),
        f,
      ).toBe(r.slowRequests);
      expect(cause(r, "connect")!.connections, f).toBe(2);
      expect(
        r.stalls.items.every((i) => i.cause !== undefined),
        f,
      ).toBe(true);
    }
  });

  it("the controls (coalesced, TCP_NODELAY, the npm clients memcached and memjs) get no retransmission, zero-window or connect cause", async () => {
    for (const f of [
      "npm-memcached.pcap",
      "npm-memjs.pcap",
      "coalesced.pcap",
      "split-nodelay.pcap",
      "text-commands.pcap",
      "binary.pcap",
      "large-values.pcap.gz",
      "split-nagle.pcap",
      "concurrent.pcap",
    ]) {
      const r = await analyze(f);
      expect(
        r.causes.map((c) => c.cause).filter((c) => ["retransmission", "zero-window", "connect"].includes(c)),
        f,
      ).toEqual([]);
    }
  });

  it("counts each slow exchange once: the causes add up to the slow requests", async () => {
    const r = await analyze("split-nagle.pcap");
    expect(r.slowThresholdMs).toBe(20);
    expect(r.slowRequests).toBe(21);
    expect(r.causes).toEqual([expect.objectContaining({ cause: "delayed-ack", requests: 21 })]);
    const fast = await analyzeCapture({
      ...ANALYZE_DEFAULTS,
      input: capture("split-nagle.pcap"),
      ports: SERVER_PORTS,
      slowMs: 50,
    });
    expect(fast.slowRequests).toBe(0);
    expect(fast.top.every((t) => t.cause === null)).toBe(true);
  });
});

describe.runIf(requireTool("tshark", "the independent truth for window attribution"))(
  "zero-window attribution agrees with tshark's zero-window and window-full flags",
  () => {
    for (const file of ["zero-window.pcap", "window-full.pcap"]) {
      it(file, async () => {
        const r = await analyze(file);
        const truth = tsharkWindowTruth(capture(file), 11211);
        expect(truth.clientSlowReader).toBeGreaterThan(0);
        const z = cause(r, "zero-window")!;
        expect(z.requests).toBe(truth.clientSlowReader);
        expect(z.evidence["the client was the slow reader"]).toBe(truth.clientSlowReader);
      });
    }
  },
);

describe.runIf(requireTool("tshark", "the independent truth for loss attribution"))(
  "loss attribution agrees with tshark's TCP analysis and the log of packets really dropped",
  () => {
    for (const [file, drops] of [
      ["loss.pcap", "loss-drops.pcap"],
      ["loss-server.pcap", "loss-drops.pcap"],
      ["mixed.pcap", "mixed-drops.pcap"],
      ["mixed-server.pcap", "mixed-drops.pcap"],
    ] as const) {
      it(file, async () => {
        const r = await analyze(file);
        const truth = tsharkLossTruth(capture(file), capture(drops), 11211);
        expect(truth.drops).toBeGreaterThan(0);
        expect(Math.abs(r.slowRequests - truth.slow), "slow requests").toBeLessThanOrEqual(3);
        expect(
          Math.abs((cause(r, "retransmission")?.requests ?? 0) - truth.touchedByLoss),
          "retransmission",
        ).toBeLessThanOrEqual(3);
      });
    }
  },
);
