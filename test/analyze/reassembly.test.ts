import { describe, expect, it } from "vitest";
import { newTcpPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../src/analyze/decode.js";
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

interface SegOpts {
  flags?: number;
  ack?: number;
  window?: number;
  ipId?: number;
  /** Payload bytes the capture kept (default: all). */
  captured?: number;
  /** Length the IP header announces (default: the text's). */
  len?: number;
  tNs?: number;
}

/** One direction fed crafted segments; records every callback with its arguments. */
function lossHarness(isn: number | undefined) {
  const out: string[] = [];
  const late: number[] = [];
  const lost: number[] = [];
  /** Per delivery: how long it waited for the peer's full window, and the frame that filled it. */
  const windowWait: [number, number][] = [];
  const probes: string[] = [];
  const h = new HalfStream(1);
  const c: StreamConsumer = {
    onData(dir, buf, from, to, frame, tNs, seqEnd) {
      out.push(`data ${dir} ${frame} ${tNs} ${seqEnd} ${buf.toString("latin1", from, to)}`);
      late.push(h.lateNs);
      lost.push(h.lostBefore);
      windowWait.push([h.windowWaitNs, h.windowWaitNs > 0 ? h.windowFullFrame : 0]);
    },
    onGap(dir) {
      out.push(`gap ${dir}`);
    },
    onResent(dir, seq, len, frame, tNs, spurious) {
      out.push(`resent ${dir} ${seq} ${len} ${frame} ${tNs} ${spurious}`);
    },
    onZeroWindow(dir, sinceTNs, untilTNs, sinceFrame, untilFrame) {
      out.push(`zw ${dir} ${sinceTNs} ${untilTNs} ${sinceFrame} ${untilFrame}`);
    },
    onAcked(dir, ack) {
      out.push(`acked ${dir} ${ack}`);
    },
    onProbe(dir, frame) {
      probes.push(`probe ${dir} ${frame}`);
    },
  };
  const p = newTcpPacket();
  let frame = 0;
  const seg = (seq: number, text: string, o: SegOpts = {}) => {
    const buf = Buffer.from(text, "latin1");
    p.seq = seq >>> 0;
    p.ack = o.ack ?? 0;
    p.flags = o.flags ?? TCP_ACK | TCP_PSH;
    p.window = o.window ?? 65535;
    p.ipId = o.ipId ?? -1;
    p.payloadAt = 0;
    p.payloadLen = o.len ?? buf.length;
    p.capturedPayload = o.captured ?? buf.length;
    frame++;
    h.onSegment(p, buf, frame, o.tNs ?? frame * 1000, c);
  };
  /** A pure ACK of the other direction's bytes. */
  const ackOnly = (ack: number, o: SegOpts = {}) => seg(0, "", { flags: TCP_ACK, ack, ...o });
  if (isn !== undefined) seg(isn, "", { flags: TCP_SYN });
  return { h, c, seg, ackOnly, out, late, lost, windowWait, probes };
}

describe("HalfStream loss evidence", () => {
  it("counts duplicate ACKs only for pure ACKs of the same byte in a row", () => {
    const t = lossHarness(undefined);
    t.ackOnly(500);
    expect(t.h.dupAcks).toBe(0);
    t.ackOnly(500);
    t.ackOnly(500);
    t.ackOnly(500);
    expect(t.h.dupAcks).toBe(3);
    t.ackOnly(600); // the ACK moved on
    expect(t.h.dupAcks).toBe(0);
    t.ackOnly(600);
    expect(t.h.dupAcks).toBe(1);
    t.seg(1, "x", { ack: 600 }); // data with the same ACK is not a duplicate ACK
    expect(t.h.dupAcks).toBe(0);
    t.ackOnly(600);
    t.seg(0, "", { flags: TCP_ACK | TCP_FIN, ack: 600 }); // nor is a FIN
    expect(t.h.dupAcks).toBe(0);
    t.ackOnly(600);
    t.ackOnly(600, { flags: TCP_PSH }); // no ACK flag: not an acknowledgement at all, the count stands
    expect(t.h.dupAcks).toBe(1);
    t.ackOnly(600, { flags: TCP_ACK | TCP_RST }); // a reset neither counts nor resets
    expect(t.h.dupAcks).toBe(1);
  });

  it("records the last pure ACK (frame, time, number) and ignores ACKs that carry a FIN", () => {
    const t = lossHarness(10);
    t.ackOnly(77);
    expect([t.h.pureAckFrame, t.h.pureAckTNs, t.h.pureAckNo]).toEqual([2, 2000, 77]);
    t.seg(11, "", { flags: TCP_ACK | TCP_FIN, ack: 88 });
    expect([t.h.pureAckFrame, t.h.pureAckTNs, t.h.pureAckNo]).toEqual([2, 2000, 77]);
    expect(t.h.finished).toBe(true);
  });

  it("marks the direction finished on a FIN or RST, with or without data", () => {
    const a = lossHarness(0);
    a.seg(1, "quit\r\n", { flags: TCP_ACK | TCP_FIN });
    expect(a.h.finished).toBe(true);
    expect(a.out).toEqual(["data 1 2 2000 7 quit\r\n"]);
    const b = lossHarness(0);
    b.seg(1, "", { flags: TCP_RST });
    expect(b.h.finished).toBe(true);
    const c = lossHarness(0);
    c.seg(1, "x");
    expect(c.h.finished).toBe(false);
  });

  it("counts packets missing before this one by the IPv4 id", () => {
    const t = lossHarness(0);
    t.seg(1, "a", { ipId: 10 });
    expect(t.lost).toEqual([0]);
    t.seg(2, "b", { ipId: 11 }); // next id: nothing missing
    t.seg(3, "c", { ipId: 14 }); // 12 and 13 missing
    t.seg(4, "d", { ipId: 23 }); // 8 missing: the most still called loss
    t.seg(5, "e", { ipId: 33 }); // 9 missing: a new counter, not loss
    t.seg(6, "f", { ipId: 33 }); // same id again
    expect(t.lost).toEqual([0, 0, 2, 8, 0, 0]);
    t.ackOnly(1, { ipId: 0xffff });
    expect(t.h.lostBefore).toBe(0); // far jump: not loss
    t.ackOnly(1, { ipId: 2 }); // wraps past 0xffff: ids 0 and 1 missing
    expect(t.h.lostBefore).toBe(2);
    t.ackOnly(1); // no id (IPv6): nothing known, and the next id compares with the last real one
    expect(t.h.lostBefore).toBe(0);
    t.ackOnly(1, { ipId: 4 });
    expect(t.h.lostBefore).toBe(1);
  });

  it("allows an id jump after a large packet (segmentation offload) but not after a full-sized one", () => {
    const t = lossHarness(0);
    t.seg(1, "x".repeat(1448), { ipId: 100 });
    t.seg(1449, "y", { ipId: 103 }); // after exactly 1448 bytes: still evidence of loss
    t.seg(1450, "z".repeat(1449), { ipId: 104 });
    t.seg(2899, "w", { ipId: 108 }); // after 1449 bytes: GSO may have used those ids
    expect(t.lost).toEqual([0, 2, 0, 0]);
  });

  it("reports a zero window from the first zero advertisement to the first non-zero one", () => {
    const t = lossHarness(0);
    t.ackOnly(5, { window: 0, tNs: 5000 });
    expect(t.h.zeroWindowOpen).toBe(true);
    expect(t.h.zeroWindowSinceTNs).toBe(5000);
    t.ackOnly(5, { window: 0, tNs: 6000 }); // still closed: the start stays
    expect(t.out).toEqual([]);
    t.ackOnly(5, { window: 512, tNs: 9000 });
    expect(t.out).toEqual(["zw 1 5000 9000 2 4"]);
    expect(t.h.zeroWindowOpen).toBe(false);
    expect(t.h.zeroWindowEndTNs).toBe(9000);
    t.ackOnly(5, { window: 512, tNs: 9500 }); // open stays open: nothing new
    expect(t.out).toEqual(["zw 1 5000 9000 2 4"]);
  });

  it("does not take a zero window from a SYN, a RST or a packet without ACK", () => {
    const t = lossHarness(undefined);
    expect(t.h.zeroWindowEndTNs).toBe(-Infinity);
    t.seg(0, "", { flags: TCP_SYN | TCP_ACK, window: 0 });
    t.seg(1, "", { flags: TCP_RST | TCP_ACK, window: 0 });
    t.seg(1, "", { flags: TCP_PSH, window: 0 });
    expect(t.h.zeroWindowOpen).toBe(false);
    t.ackOnly(1, { window: 0 });
    t.ackOnly(1, { flags: TCP_RST | TCP_ACK, window: 100 }); // a RST does not end it either
    expect(t.h.zeroWindowOpen).toBe(true);
    expect(t.out).toEqual([]);
  });

  it("records a resent SYN: how many, the first and last SYN, and the first packet after them", () => {
    const t = lossHarness(undefined);
    t.seg(99, "", { flags: TCP_SYN, tNs: 1000 });
    t.seg(99, "", { flags: TCP_SYN, tNs: 1_001_000 });
    t.seg(100, "", { flags: TCP_ACK, tNs: 1_002_000 });
    t.seg(100, "get k\r\n", { tNs: 1_003_000 });
    expect(t.h.synCount).toBe(2);
    expect([t.h.firstSynFrame, t.h.firstSynTNs, t.h.lastSynFrame]).toEqual([1, 1000, 2]);
    expect([t.h.afterSynFrame, t.h.afterSynTNs]).toEqual([3, 1_002_000]);
    expect(t.h.sawSyn).toBe(true);
    expect(t.out).toEqual(["data 1 4 1003000 107 get k\r\n"]);
  });

  it("leaves the SYN evidence empty when the capture began mid-connection", () => {
    const t = lossHarness(undefined);
    t.seg(5, "abc");
    expect([t.h.synCount, t.h.afterSynFrame, t.h.firstSynFrame]).toEqual([0, 0, 0]);
  });

  it("reports a resent segment with its range, and as spurious only when the peer had acknowledged all of it", () => {
    const t = lossHarness(0);
    t.seg(1, "abcdef"); // frame 2, bytes 1..6
    t.seg(1, "abc"); // frame 3: not acknowledged yet
    t.h.onPeerAck(4, t.c);
    t.seg(1, "abc"); // frame 4: all acknowledged: spurious
    t.seg(2, "bcdef"); // frame 5: 4..6 not acknowledged
    t.seg(5, "efgh"); // frame 6: overlaps 2 old bytes, 2 new
    expect(t.out).toEqual([
      "data 1 2 2000 7 abcdef",
      "resent 1 1 3 3 3000 false",
      "acked 1 4",
      "resent 1 1 3 4 4000 true",
      "resent 1 2 5 5 5000 false",
      "resent 1 5 2 6 6000 false",
      "data 1 6 6000 9 gh",
    ]);
    expect(t.h.retransmissions).toBe(4);
  });

  it("calls onAcked only when the acknowledgement advances", () => {
    const t = lossHarness(0);
    t.h.onPeerAck(10, t.c);
    t.h.onPeerAck(10, t.c);
    t.h.onPeerAck(5, t.c);
    t.h.onPeerAck(11, t.c);
    expect(t.out).toEqual(["acked 1 10", "acked 1 11"]);
    expect(t.h.peerAcked).toBe(11);
  });

  it("delivers held bytes when the hole fills, at the filling time, with how long they waited", () => {
    const t = lossHarness(0);
    t.seg(7, "ghi", { tNs: 3000 }); // frame 2, early
    t.seg(4, "def", { tNs: 2000 }); // frame 3, early, seen first in sequence but later in time
    t.seg(1, "abc", { tNs: 10_000 }); // frame 4 fills the hole
    expect(t.out).toEqual(["data 1 4 10000 4 abc", "data 1 3 10000 7 def", "data 1 2 10000 10 ghi"]);
    expect(t.late).toEqual([8000, 0, 0]); // the oldest held segment (frame 3, at 2000) waited 8 ms
    expect(t.h.nextSeq).toBe(10);
  });

  it("keeps a held segment's own time when it came after the one that filled the hole", () => {
    const t = lossHarness(0);
    t.seg(4, "def", { tNs: 9000 });
    t.seg(1, "abc", { tNs: 5000 });
    expect(t.out).toEqual(["data 1 3 5000 4 abc", "data 1 2 9000 7 def"]);
  });

  it("counts an early segment sent twice once as resent, and keeps a longer one sent at the same place", () => {
    const t = lossHarness(0);
    t.seg(4, "de", { tNs: 2000 });
    t.seg(4, "de", { tNs: 3000 }); // same bytes again while held
    expect(t.out).toEqual(["resent 1 4 2 3 3000 false"]);
    t.seg(4, "defg", { tNs: 4000 }); // longer: held as well
    t.seg(1, "abc", { tNs: 5000 });
    expect(t.out.slice(1)).toEqual(["data 1 5 5000 4 abc", "data 1 2 5000 6 de", "data 1 4 5000 8 fg"]);
    expect(t.h.retransmissions).toBe(1);
  });

  it("drops a held segment the delivered bytes already covered, counting it resent", () => {
    const t = lossHarness(0);
    t.seg(4, "de");
    t.seg(1, "abcdefg"); // covers the held bytes
    expect(t.out).toEqual(["data 1 3 3000 8 abcdefg"]);
    expect(t.h.retransmissions).toBe(1);
  });

  it("after a partly new retransmission, delivers the held bytes that now follow", () => {
    const t = lossHarness(0);
    t.seg(1, "abc");
    t.seg(7, "ghi", { tNs: 2500 }); // held
    t.seg(2, "bcdef", { tNs: 9000 }); // 2 old bytes, 3 new that fill the hole
    expect(t.out).toEqual([
      "data 1 2 2000 4 abc",
      "resent 1 2 2 4 9000 false",
      "data 1 4 9000 7 def",
      "data 1 3 9000 10 ghi",
    ]);
  });

  it("delivers an early segment at once, after a gap, when the peer already acknowledged past the hole", () => {
    const t = lossHarness(0);
    t.seg(1, "abc");
    t.h.onPeerAck(7, t.c); // the peer has 4..6, which the capture missed
    t.seg(7, "ghi");
    expect(t.out).toEqual(["data 1 2 2000 4 abc", "acked 1 7", "gap 1", "data 1 3 3000 10 ghi"]);
    expect(t.h.gaps).toBe(1);
    const u = lossHarness(0);
    u.seg(1, "abc");
    u.h.onPeerAck(4, u.c); // acknowledged only what was seen: the early segment waits
    u.seg(7, "ghi");
    expect(u.out).toEqual(["data 1 2 2000 4 abc", "acked 1 4"]);
    u.h.flush(u.c);
    expect(u.out.slice(2)).toEqual(["gap 1", "data 1 3 3000 10 ghi"]);
  });

  it("an acknowledgement up to what was seen does not call held bytes lost", () => {
    const t = lossHarness(0);
    t.seg(1, "abc");
    t.seg(7, "ghi");
    t.h.onPeerAck(4, t.c);
    expect(t.out).toEqual(["data 1 2 2000 4 abc", "acked 1 4"]);
    t.h.onPeerAck(5, t.c); // the peer has byte 4: the hole is lost
    expect(t.out.slice(2)).toEqual(["acked 1 5", "gap 1", "data 1 3 3000 10 ghi"]);
  });

  it("never delivers a payload the snaplen cut, and resynchronises after it", () => {
    const t = lossHarness(0);
    t.seg(1, "get a\r\n", { captured: 4 }); // frame 2: cut
    expect(t.out).toEqual(["gap 1"]);
    expect([t.h.truncatedSegments, t.h.gaps, t.h.nextSeq]).toEqual([1, 1, 8]);
    t.seg(1, "get a\r\n", { captured: 3 }); // the same bytes again, cut: nothing new
    expect(t.out).toEqual(["gap 1"]);
    expect([t.h.truncatedSegments, t.h.gaps]).toEqual([2, 1]);
    t.seg(12, "get c\r\n", { captured: 2 }); // after a hole, cut: the hole and the cut
    expect(t.out).toEqual(["gap 1", "gap 1", "gap 1"]);
    expect([t.h.truncatedSegments, t.h.gaps, t.h.nextSeq]).toEqual([3, 3, 19]);
    t.seg(19, "ok");
    expect(t.out.at(-1)).toBe("data 1 5 5000 21 ok");
  });

  it("a cut segment that overlaps old bytes still moves past them", () => {
    const t = lossHarness(0);
    t.seg(1, "abc");
    t.seg(2, "bcdef", { captured: 1 });
    expect(t.out).toEqual(["data 1 2 2000 4 abc", "gap 1"]);
    expect(t.h.nextSeq).toBe(7);
  });

  it("holds up to 64 early segments; the 65th makes the hole a gap", () => {
    const t = lossHarness(0);
    for (let i = 0; i < 64; i++) t.seg(2 + i, "x");
    expect(t.out).toEqual([]);
    t.seg(2 + 64, "x");
    expect(t.out[0]).toBe("gap 1");
    expect(t.out.length).toBe(66);
    expect(t.h.gaps).toBe(1);
  });

  it("holds up to 1 MiB of early bytes; one byte more makes the hole a gap", () => {
    const t = lossHarness(0);
    const mib = "y".repeat(1024 * 1024);
    t.seg(2, mib);
    expect(t.out).toEqual([]);
    const u = lossHarness(0);
    u.seg(2, mib + "z");
    expect(u.out.length).toBe(2);
    expect(u.out[0]).toBe("gap 1");
  });

  it("a SYN resets the sequence and forgets held segments", () => {
    const t = lossHarness(0);
    t.seg(5, "late");
    t.seg(1000, "", { flags: TCP_SYN });
    t.seg(1001, "new");
    t.h.flush(t.c);
    expect(t.out).toEqual(["data 1 4 4000 1004 new"]);
  });

  it("after a handshake, a first data segment that is not the next byte waits for the hole (loss right after the SYN)", () => {
    const t = lossHarness(100);
    t.seg(106, "late");
    expect(t.out).toEqual([]);
    t.seg(101, "early");
    expect(t.out).toEqual(["data 1 3 3000 106 early", "data 1 2 3000 110 late"]);
  });

  it("waits from the oldest held segment, not the first in sequence order", () => {
    const t = lossHarness(0);
    t.seg(7, "ghi", { tNs: 2000 });
    t.seg(4, "def", { tNs: 3000 });
    t.seg(1, "abc", { tNs: 10_000 });
    expect(t.late).toEqual([8000, 0, 0]);
  });

  it("frees what it held once delivered: reordering over a long connection never fills the hold", () => {
    const t = lossHarness(0);
    const chunk = "x".repeat(64 * 1024);
    let seq = 1;
    for (let i = 0; i < 20; i++) {
      // 20 × 64 KiB held and delivered (1.25 MiB in all), one at a time
      t.seg(seq + 1, chunk.slice(1));
      t.seg(seq, "x");
      seq += chunk.length;
    }
    t.seg(seq + 1, "y");
    expect(t.out.filter((o) => o.startsWith("gap"))).toEqual([]);
    expect(t.h.gaps).toBe(0);
  });

  it("does not call the first pure ACK a duplicate, whatever byte it acknowledges", () => {
    const t = lossHarness(undefined);
    t.ackOnly(1);
    expect(t.h.dupAcks).toBe(0);
  });

  it("needs a previous id before it counts a packet missing, and takes id 0 as no id", () => {
    const t = lossHarness(0);
    t.seg(1, "a", { ipId: 3 }); // first id of the direction: nothing before it to compare
    expect(t.lost).toEqual([0]);
    t.seg(2, "b", { ipId: 0 }); // no id: the next one compares with 3
    t.seg(3, "c", { ipId: 6 });
    expect(t.lost).toEqual([0, 0, 2]);
  });

  it("works with a consumer that takes only the bytes and the gaps", () => {
    const out: string[] = [];
    const h = new HalfStream(0);
    const c: StreamConsumer = {
      onData: (_d, buf, from, to) => out.push(buf.toString("latin1", from, to)),
      onGap: () => out.push("GAP"),
    };
    const p = newTcpPacket();
    const seg = (seq: number, text: string, window: number) => {
      const buf = Buffer.from(text, "latin1");
      Object.assign(p, {
        seq,
        flags: TCP_ACK,
        window,
        payloadAt: 0,
        payloadLen: buf.length,
        capturedPayload: buf.length,
      });
      h.onSegment(p, buf, 1, 1, c);
    };
    seg(1, "ab", 0); // zero window opens
    seg(5, "ef", 0); // held
    seg(5, "ef", 100); // resent while held; the window opens again
    seg(1, "ab", 100); // resent
    seg(3, "cd", 100);
    expect(out).toEqual(["ab", "cd", "ef"]);
    expect(h.retransmissions).toBe(2);
  });
});

describe("HalfStream window-full evidence", () => {
  /** This direction (ISN 0) sending to a peer whose SYN said `peerScale` (-1: no scaling offered). */
  function sender(ownScale: number, peerScale: number) {
    const t = lossHarness(0);
    t.h.wscale = ownScale;
    const peer = new HalfStream(0);
    peer.wscale = peerScale;
    const window = (ack: number, win: number, tNs: number) => t.h.onPeerWindow(ack, win, peer, tNs);
    return { ...t, window };
  }

  it("charges the bytes after a segment that filled the window with the wait until the window opened", () => {
    const t = sender(-1, -1);
    t.window(1, 10, 1500); // room up to byte 11
    t.seg(1, "0123456789", { tNs: 2000 }); // frame 2 fills it exactly
    t.window(1, 10, 3000); // the same edge again: not open
    t.window(11, 10, 9000); // opens past the edge at 9 µs
    t.window(13, 10, 9050); // opens further: the wait still ended at 9 µs
    t.seg(11, "abc", { tNs: 9100 }); // frame 3
    t.seg(14, "d", { tNs: 9200 }); // after it, nothing waited
    expect(t.windowWait).toEqual([
      [0, 0],
      [7000, 2],
      [0, 0],
    ]);
  });

  it("scales the window by the peer's shift only when both SYNs offered scaling, and judges nothing without SYNs", () => {
    const scaled = sender(0, 2);
    scaled.window(1, 4, 1000); // 4 << 2 = 16 bytes
    scaled.seg(1, "x".repeat(16), { tNs: 2000 });
    scaled.window(17, 4, 5000);
    scaled.seg(17, "y", { tNs: 5100 });
    expect(scaled.windowWait.map((w) => w[0])).toEqual([0, 3000]);
    const oneSided = sender(-1, 2); // our SYN offered no scaling: the peer's window is taken as is
    oneSided.window(1, 4, 1000);
    oneSided.seg(1, "x".repeat(4), { tNs: 2000 });
    oneSided.window(5, 4, 6000);
    oneSided.seg(5, "y", { tNs: 6100 });
    expect(oneSided.windowWait.map((w) => w[0])).toEqual([0, 4000]);
    const peerUnscaled = sender(0, -1); // the peer's SYN offered no scaling: its window is taken as is
    peerUnscaled.window(1, 4, 1000);
    peerUnscaled.seg(1, "x".repeat(4), { tNs: 2000 });
    peerUnscaled.window(5, 4, 6000);
    peerUnscaled.seg(5, "y", { tNs: 6100 });
    expect(peerUnscaled.windowWait.map((w) => w[0])).toEqual([0, 4000]);
    for (const [own, peer] of [
      [-2, -1],
      [-1, -2],
    ] as const) {
      const unknown = sender(own, peer); // a SYN not seen: no window is judged
      unknown.window(1, 4, 1000);
      unknown.seg(1, "x".repeat(4), { tNs: 2000 });
      unknown.window(5, 4, 6000);
      unknown.seg(5, "y", { tNs: 6100 });
      expect(unknown.windowWait.map((w) => w[0])).toEqual([0, 0]);
    }
  });

  it("leaves a zero window to the zero-window evidence, and a window that never opened charges nothing", () => {
    const zero = sender(-1, -1);
    zero.window(1, 10, 1000);
    zero.seg(1, "0123456789", { tNs: 2000 });
    zero.window(11, 0, 3000); // zero window: its own evidence
    zero.window(11, 10, 8000);
    zero.seg(11, "a", { tNs: 8100 });
    expect(zero.windowWait.map((w) => w[0])).toEqual([0, 0]);
    const short = sender(-1, -1);
    short.window(1, 20, 1000);
    short.seg(1, "0123456789", { tNs: 2000 }); // stops short of the edge: nothing filled
    short.window(11, 20, 5000);
    short.seg(11, "a", { tNs: 5100 });
    expect(short.windowWait.map((w) => w[0])).toEqual([0, 0]);
  });
});

describe("HalfStream zero-window probes and unknown scaling", () => {
  it("takes an empty ACK one byte below the next expected byte as a window probe, only once synced", () => {
    const t = lossHarness(0);
    t.seg(1, "abc"); // frame 2; next byte 4
    t.seg(3, "", { flags: TCP_ACK }); // frame 3: seq 3 = next - 1, no data: a probe
    t.seg(4, "", { flags: TCP_ACK }); // frame 4: an ordinary ACK
    t.seg(3, "", { flags: TCP_ACK | TCP_FIN }); // frame 5: a FIN is not a probe
    expect(t.probes).toEqual(["probe 1 3"]);
    const unsynced = lossHarness(undefined); // no SYN, no data yet: nothing to be one below
    unsynced.seg(0xffffffff, "", { flags: TCP_ACK });
    expect(unsynced.probes).toEqual([]);
  });

  it("judges no window on a connection whose SYNs the capture missed", () => {
    const t = lossHarness(undefined);
    const peer = new HalfStream(0);
    t.seg(1, "", { flags: TCP_ACK }); // syncs nothing: no data
    t.h.onPeerWindow(1, 4, peer, 1000);
    t.seg(1, "x".repeat(16), { tNs: 2000 }); // 16 bytes: the window times 4, were it scaled by 2
    t.h.onPeerWindow(17, 4, peer, 6000);
    t.seg(17, "y", { tNs: 6100 });
    expect(t.windowWait.every(([ns]) => ns === 0)).toBe(true);
    expect(t.windowWait.length).toBeGreaterThan(0);
  });
});
