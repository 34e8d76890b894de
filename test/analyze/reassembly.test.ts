import { describe, expect, it } from "vitest";
import { newTcpPacket, TCP_ACK, TCP_PSH, TCP_SYN } from "../../src/analyze/decode.js";
import { HalfStream, type StreamConsumer } from "../../src/analyze/reassembly.js";

/** Feeds segments (seq, text) to one direction and collects what comes out. */
function harness(isn: number | undefined) {
  const out: string[] = [];
  const c: StreamConsumer = {
    onData(_d, buf, from, to, frame) {
      out.push(`${frame}:${buf.toString("latin1", from, to)}`);
    },
    onGap() {
      out.push("GAP");
    },
  };
  const h = new HalfStream(0);
  const p = newTcpPacket();
  let frame = 0;
  const seg = (seq: number, text: string, flags = TCP_ACK | TCP_PSH) => {
    const buf = Buffer.from(text, "latin1");
    p.seq = seq >>> 0;
    p.flags = flags;
    p.payloadAt = 0;
    p.payloadLen = buf.length;
    p.capturedPayload = buf.length;
    h.onSegment(p, buf, ++frame, frame * 1000, c);
  };
  if (isn !== undefined) seg(isn, "", TCP_SYN);
  return { h, seg, out, c };
}

describe("HalfStream", () => {
  it("delivers in order across the 2^32 wrap", () => {
    const t = harness(0xfffffffd); // data starts at 0xfffffffe
    t.seg(0xfffffffe, "get ");
    t.seg(0x00000002, "key\r\n");
    expect(t.out).toEqual(["2:get ", "3:key\r\n"]);
  });

  it("holds an early segment until the hole is filled, across the wrap", () => {
    const t = harness(0xfffffff0);
    t.seg(0xfffffff1 + 4, "b\r\n");
    expect(t.out).toEqual([]);
    t.seg(0xfffffff1, "get ");
    expect(t.out).toEqual(["3:get ", "2:b\r\n"]);
  });

  it("counts a retransmission once and delivers only new bytes of an overlap", () => {
    const t = harness(100);
    t.seg(101, "get ");
    t.seg(101, "get "); // full retransmission
    t.seg(103, "t key\r\n"); // overlaps 2 old bytes
    expect(t.out).toEqual(["2:get ", "4:key\r\n"]); // "t " of frame 4 was already delivered
    expect(t.h.retransmissions).toBe(2);
  });

  it("declares a gap once the peer acknowledged bytes the capture never saw", () => {
    const t = harness(1000);
    t.seg(1001, "get a\r\n");
    t.seg(1001 + 7 + 5, "get c\r\n"); // 5 bytes missing
    expect(t.out).toEqual(["2:get a\r\n"]);
    t.h.onPeerAck(1001 + 7 + 5, t.c); // the server had them: lost from the capture
    expect(t.out).toEqual(["2:get a\r\n", "GAP", "3:get c\r\n"]);
    expect(t.h.gaps).toBe(1);
  });

  it("takes the first segment as the start when the capture began mid-connection", () => {
    const t = harness(undefined);
    t.seg(555, "version\r\n");
    t.seg(564, "get k\r\n");
    expect(t.out).toEqual(["1:version\r\n", "2:get k\r\n"]);
    expect(t.h.sawSyn).toBe(false);
  });

  it("bounds what it holds: too many early segments make the hole a gap", () => {
    const t = harness(0);
    for (let i = 0; i < 70; i++) t.seg(1 + 10 + i, "x");
    expect(t.out[0]).toBe("GAP");
    expect(t.out.length).toBeGreaterThan(60);
  });
});
