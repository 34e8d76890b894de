import { describe, expect, it } from "vitest";
import { ANALYZE_DEFAULTS, analyzeCapture } from "../../src/analyze/analyzer.js";
import { mcdiag } from "../helpers/cli.js";
import { EXPECTED, SERVER_PORTS, capture } from "../helpers/fixtures.js";

const analyze = (file: string, ports = SERVER_PORTS) =>
  analyzeCapture({ ...ANALYZE_DEFAULTS, input: capture(file), ports });

describe("captures other tools make", () => {
  it("recognises incr/decr answers (bare numbers) as responses in a capture that starts mid-connection", async () => {
    const r = await analyze("numeric-midstream.pcap");
    expect(r.flowsDetail[0]!.midStream).toBe(true);
    expect(r.requests).toMatchObject({ total: 154, byCommand: { incr: 102, decr: 52 }, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: 154, unpaired: 0 });
    expect(r.wireUs.count).toBe(154);
  });

  it("takes a bare number as the first packet of a capture for the reply it is (its request was before the capture)", async () => {
    const r = await analyze("numeric-reply-first.pcap");
    expect(r.requests).toMatchObject({ total: 153, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: 153, unpaired: 1 });
  });

  it("parses Ethernet frames with padding and an FCS whole: no snaplen warning, the same findings", async () => {
    const [fcs, plain] = await Promise.all([analyze("ethernet-fcs.pcap"), analyze("split-nagle.pcap")]);
    expect(fcs.truncatedPackets).toBe(0);
    expect(fcs.warnings).toEqual([]);
    expect(fcs.stalls.items.map((i) => i.frames)).toEqual(plain.stalls.items.map((i) => i.frames));
    expect(fcs.wireUs).toEqual(plain.wireUs);
  });

  it("pairs memcached over UDP by request id, with latency to the last datagram of the answer", async () => {
    const r = await analyze("udp.pcap", [EXPECTED.ports.udp]);
    expect(r).toMatchObject({ memcachedFlows: 1, udpFlows: 1, otherFlows: 0 });
    expect(r.requests).toMatchObject({ total: 22, byCommand: { get: 15, set: 2, incr: 5 }, unanswered: 0 });
    expect(r.responses).toMatchObject({ total: 22, unpaired: 0, errors: 0 });
    expect(r.flowsDetail[0]).toMatchObject({ transport: "udp", requests: 22, verdict: "clean" });
    // Stalls are a TCP matter: no stall verdict, no clean bill about Nagle either.
    expect(r.stalls.request + r.stalls.response).toBe(0);
    expect(r.advice).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it("finds memcached over UDP on a port it was not told about, by the frame header and command", async () => {
    const r = await analyze("udp.pcap", []);
    expect(r).toMatchObject({ udpFlows: 1, requests: { total: 22 }, responses: { total: 22 } });
  });

  it("gives no stall advice when there is no exchange to judge", async () => {
    const r = await analyze("http-only.pcap");
    expect(r.requests.total).toBe(0);
    expect(r.advice).toEqual([]);
    const cli = await mcdiag(["analyze", capture("http-only.pcap")]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).not.toMatch(/no Nagle\/delayed-ACK stalls found/);
    expect(cli.stdout).toMatch(/warning: no memcached traffic found/);
  });
});
