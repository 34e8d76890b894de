import { describe, expect, it } from "vitest";
import type { HalfStream } from "../../src/analyze/reassembly.js";
import { MessageTrack, delayedAckStall, type StallRule } from "../../src/analyze/stalls.js";

const MS = 1e6;
const RULE: StallRule = { thresholdNs: 30 * MS, ackWindowNs: 5 * MS };

/** A request whose first segment (frame 10) ended at sequence 1000, sent at 100 ms. */
function firstSegment(): MessageTrack {
  const t = new MessageTrack();
  t.begin(10, 100 * MS, 1000, 990);
  return t;
}

/** The peer's last pure ACK: frame 11 at `tMs`, acknowledging up to `ackNo`. */
function peerAck(tMs: number, ackNo = 1000): HalfStream {
  return { pureAckFrame: 11, pureAckTNs: tMs * MS, pureAckNo: ackNo } as HalfStream;
}

/** The rest of the request arrives as frame 12 at `tMs`: a stall or not. */
const rest = (track: MessageTrack, tMs: number, peer: HalfStream, rule = RULE) =>
  delayedAckStall(track, "request", 12, tMs * MS, peer, rule);

describe("the Nagle/delayed-ACK stall rule", () => {
  it("names the segments around the gap, the ACK that released the rest, and the time lost", () => {
    expect(rest(firstSegment(), 141, peerAck(140))).toEqual({
      side: "request",
      stallNs: 41 * MS,
      before: 10,
      ack: 11,
      after: 12,
      tNs: 141 * MS,
    });
  });

  it("takes a gap of exactly the threshold, and not one just under it", () => {
    expect(rest(firstSegment(), 130, peerAck(129))?.stallNs).toBe(30 * MS);
    expect(rest(firstSegment(), 129.999, peerAck(129))).toBeUndefined();
  });

  it("takes an ACK exactly the window before the segment, and not one earlier", () => {
    expect(rest(firstSegment(), 141, peerAck(136))).toBeDefined();
    expect(rest(firstSegment(), 141, peerAck(135.999))).toBeUndefined();
  });

  it("wants the ACK between the two segments: not before the first, not after the second", () => {
    // An ACK from before the first segment was sent cannot have released its rest…
    const early = rest(firstSegment(), 141, peerAck(99), { thresholdNs: 30 * MS, ackWindowNs: 100 * MS });
    expect(early).toBeUndefined();
    // …an ACK at the very time of the first segment can…
    expect(rest(firstSegment(), 141, peerAck(100), { thresholdNs: 30 * MS, ackWindowNs: 100 * MS })).toBeDefined();
    // …and an ACK stamped after the segment it would have released did not.
    expect(rest(firstSegment(), 141, peerAck(142))).toBeUndefined();
  });

  it("wants the ACK to cover the first segment's bytes, across the 2^32 wrap too", () => {
    expect(rest(firstSegment(), 141, peerAck(140, 999))).toBeUndefined();
    expect(rest(firstSegment(), 141, peerAck(140, 1500))).toBeDefined();
    const wrapped = new MessageTrack();
    wrapped.begin(10, 100 * MS, 0xffff_fff0);
    expect(delayedAckStall(wrapped, "response", 12, 141 * MS, peerAck(140, 0x10), RULE)).toBeDefined();
    expect(delayedAckStall(wrapped, "response", 12, 141 * MS, peerAck(140, 0xffff_ffe0), RULE)).toBeUndefined();
  });

  it("measures from the message's last segment, which more() moves", () => {
    const t = firstSegment();
    t.more(13, 120 * MS, 1100);
    expect(rest(t, 141, peerAck(140, 1100))).toBeUndefined(); // 21 ms since the last segment
    expect(rest(t, 151, peerAck(150, 1100))).toMatchObject({ stallNs: 31 * MS, before: 13 });
    expect(rest(t, 151, peerAck(150, 1000))).toBeUndefined(); // the ACK does not cover the second segment
  });

  it("clear() forgets the message: no segments, nothing from the last one kept", () => {
    const t = firstSegment();
    t.more(13, 120 * MS, 1100);
    t.stalls = [];
    t.rtxNs = 5;
    t.leadLossNs = 7;
    t.clear();
    expect(t).toMatchObject({ segments: 0, startFrame: 0, startTNs: 0, lastFrame: 0, lastTNs: 0, lastSeqEnd: 0 });
    expect(t).toMatchObject({ startSeq: 0, stalls: undefined, rtxNs: 0, leadLossNs: 0 });
  });
});
