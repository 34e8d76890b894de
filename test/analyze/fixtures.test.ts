import { describe, expect, it } from "vitest";
import { ANALYZE_DEFAULTS, analyzeCapture } from "../../src/analyze/analyzer.js";
import { EXPECTED, SERVER_PORTS, capture } from "../helpers/fixtures.js";
import { requireTool } from "../helpers/tools.js";
import { tsharkCounts } from "../helpers/tshark.js";

const analyze = (file: string) => analyzeCapture({ ...ANALYZE_DEFAULTS, input: capture(file), ports: SERVER_PORTS });

describe("analyze: every fixture gives its expected counts", () => {
  for (const [file, want] of Object.entries(EXPECTED.files)) {
    it(file, async () => {
      const r = await analyze(file);
      expect({
        format: r.format,
        linkTypes: r.linkTypes,
        timestampResolution: r.timestampResolution,
        packets: r.packets,
        requests: r.requests.total,
        byCommand: r.requests.byCommand,
        multiSegmentRequests: r.multiSegmentRequests,
        multiSegmentResponses: r.multiSegmentResponses,
        requestStalls: r.stalls.request,
        responseStalls: r.stalls.response,
        memcachedFlows: r.memcachedFlows,
        otherFlows: r.otherFlows,
        warnings: r.warnings.length,
      }).toEqual(want);
    });
  }

  it("re-wrapped link layers give exactly the counts of the capture they came from", async () => {
    const source = await analyze("split-nagle.pcap");
    for (const f of [
      "null-macos.pcap",
      "loop-openbsd.pcap",
      "linux-sll.pcap",
      "vlan-8021q.pcap",
      "vlan-qinq.pcap",
      "raw-ip.pcap",
      "raw-ipv4.pcap",
      "big-endian.pcap",
      "multi-section.pcapng",
      "split-nagle.pcap.gz",
    ]) {
      const r = await analyze(f);
      // multi-section.pcapng has one extra (ARP) packet between its sections: later frames shift by one.
      const shift = (n: number) => (f === "multi-section.pcapng" && n > 68 ? n + 1 : n);
      expect(
        r.stalls.items.map((i) => [i.frames, i.stallMs]),
        f,
      ).toEqual(source.stalls.items.map((i) => [i.frames.map(shift), i.stallMs]));
      expect(r.wireUs, f).toEqual(source.wireUs);
    }
  });

  it("points at the three frames of each stall, with the stall length and Linux's timer", async () => {
    const r = await analyze("split-nagle.pcap");
    expect(r.stalls.delayedAckTimerMs).toBeGreaterThanOrEqual(40);
    expect(r.stalls.delayedAckTimerMs).toBeLessThanOrEqual(48);
    expect(r.stalls.timerNote).toMatch(/TCP_DELACK_MIN/);
    for (const i of r.stalls.items) {
      expect(i.side).toBe("request");
      expect(i.command).toBe("get");
      expect(i.key).toBeUndefined(); // keys only with --show-keys
      expect(i.frames[0]).toBeLessThan(i.frames[1]);
      expect(i.frames[1]).toBeLessThan(i.frames[2]);
      expect(i.stallMs).toBeGreaterThanOrEqual(30);
    }
    expect(r.flowsDetail.find((f) => f.verdict === "stalls")?.stalledRequests).toBe(21);
    expect(r.advice[0]).toMatch(/^21 requests stalled .*Coalesce each command into one write/);
  });

  it("tells a response-side stall from a request-side one", async () => {
    const r = await analyze("response-stall.pcap");
    expect(r.stalls.items.every((i) => i.side === "response")).toBe(true);
    expect(r.advice[0]).toMatch(/responses stalled/);
  });

  it("names split writes hidden by TCP_NODELAY", async () => {
    const r = await analyze("split-nodelay.pcap");
    expect(r.flowsDetail.map((f) => f.verdict).sort()).toEqual(["clean", "split-writes"]);
    expect(r.advice.join(" ")).toMatch(/22 requests left in several segments without stalling/);
  });

  it("pairs every text and meta command, including noreply and quiet ones", async () => {
    const r = await analyze("text-commands.pcap");
    expect(r.requests).toMatchObject({ total: 27, noreply: 3, unanswered: 0 });
    expect(r.responses).toEqual({ total: 23, unpaired: 0, errors: 1, untimed: 0 });
    expect(r.requests.byCommand).toMatchObject({
      mg: 2,
      ms: 1,
      md: 1,
      ma: 1,
      mn: 1,
      gat: 1,
      touch: 1,
      cas: 1,
      other: 1,
    });
  });

  it("frames and pairs the binary protocol by opaque, naming opcodes", async () => {
    const r = await analyze("binary.pcap");
    expect(r.requests.byCommand).toEqual({ "bin:Set": 10, "bin:GetK": 10, "bin:Quit": 1 });
    expect(r.responses).toMatchObject({ total: 21, unpaired: 0 });
    expect(r.wireUs.count).toBe(21);
  });

  it("shows keys only when asked", async () => {
    const r = await analyzeCapture({
      ...ANALYZE_DEFAULTS,
      input: capture("split-nagle.pcap"),
      ports: SERVER_PORTS,
      showKeys: true,
    });
    expect(r.stalls.items[0]!.key).toMatch(/^mcdiag:\d$/);
  });
});

describe.runIf(requireTool("tshark", "independent counts of the same captures"))("analyze agrees with tshark", () => {
  for (const file of Object.keys(EXPECTED.files)) {
    // tshark reads these too; the synthetic link types are covered by the source-equality test.
    if (
      ![
        "split-nagle.pcap",
        "coalesced.pcap",
        "split-nodelay.pcap",
        "healthcheck-get.pcap",
        "concurrent.pcap",
        "split-nagle.pcapng",
        "split-nagle-ns.pcap",
        "any-sll2.pcap",
        "large-values.pcap.gz",
        "ipv6-split.pcap",
        "response-stall.pcap",
        "mixed-http.pcap",
      ].includes(file)
    )
      continue;
    it(file, async () => {
      const r = await analyze(file);
      const t = tsharkCounts(capture(file), SERVER_PORTS);
      expect({
        requests: r.requests.total,
        multiSegmentRequests: r.multiSegmentRequests,
        requestStalls: r.stalls.request,
        responseStalls: r.stalls.response,
      }).toEqual(t);
    });
  }
});
