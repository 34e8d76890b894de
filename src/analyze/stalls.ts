import { AttributionRecord, clearAttribution } from "./attribution.js";
import type { HalfStream } from "./reassembly.js";
import { seqLessEq } from "./seq.js";
import type { StallSide } from "./result.js";

/**
 * Segment bookkeeping for the message (request or response) in progress on
 * one side of a connection: where it started, how many segments carried
 * it so far, the stalls seen between them, and the time lost to
 * retransmission or a full window (its Attribution).
 */
export class MessageTrack extends AttributionRecord {
  startFrame = 0;
  startTNs = 0;
  segments = 0;
  lastFrame = 0;
  /** The last time any of its bytes was sent: a retransmission moves it. */
  lastTNs = 0;
  /** Sequence number where its first segment began, and just past the last segment's bytes. */
  startSeq = 0;
  lastSeqEnd = 0;
  stalls: StallEvent[] | undefined;
  /** Of the time before its first segment, what loss explains (a response's first segment resent: not server time). */
  leadLossNs = 0;

  /** No message yet (a recycled track starts over). */
  clear(): void {
    this.begin(0, 0, 0);
    this.segments = 0;
  }

  begin(frame: number, tNs: number, seqEnd: number, startSeq = seqEnd): void {
    this.startFrame = frame;
    this.startTNs = tNs;
    this.segments = 1;
    this.lastFrame = frame;
    this.lastTNs = tNs;
    this.startSeq = startSeq;
    this.lastSeqEnd = seqEnd;
    this.stalls = undefined;
    this.leadLossNs = 0;
    clearAttribution(this);
  }

  more(frame: number, tNs: number, seqEnd: number): void {
    this.segments++;
    this.lastFrame = frame;
    this.lastTNs = tNs;
    this.lastSeqEnd = seqEnd;
  }
}

export interface StallEvent {
  side: StallSide;
  stallNs: number;
  before: number;
  ack: number;
  after: number;
  tNs: number;
}

export interface StallRule {
  /** A later segment this long after the previous one may be a stall… */
  thresholdNs: number;
  /** …if it follows a pure ACK from the peer by at most this much. */
  ackWindowNs: number;
}

/**
 * The Nagle/delayed-ACK signature between the previous segment of a message
 * and the one now arriving at `tNs`: a gap of at least the threshold, ended
 * within the ACK window by a pure ACK from the peer that acknowledges the
 * previous segment. The sender was holding the rest of its message until
 * that ACK; the peer held the ACK because it had nothing to send (it could
 * not answer half a message).
 */
export function delayedAckStall(
  track: MessageTrack,
  side: StallSide,
  frame: number,
  tNs: number,
  peer: HalfStream,
  rule: StallRule,
): StallEvent | undefined {
  const gap = tNs - track.lastTNs;
  if (gap < rule.thresholdNs) return undefined;
  const ackT = peer.pureAckTNs;
  if (ackT < track.lastTNs || tNs - ackT > rule.ackWindowNs || ackT > tNs) return undefined;
  if (!seqLessEq(track.lastSeqEnd, peer.pureAckNo)) return undefined;
  return { side, stallNs: gap, before: track.lastFrame, ack: peer.pureAckFrame, after: frame, tNs };
}
