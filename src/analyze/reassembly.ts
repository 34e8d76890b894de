import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpPacket } from "./decode.js";
import { seqAdd, seqDiff, seqLess, seqLessEq } from "./seq.js";

/** Receives one direction's bytes in order. */
export interface StreamConsumer {
  /**
   * buf[from, to) are the next bytes of direction `dir`, carried by packet
   * `frame` at `tNs`; `seqEnd` is the sequence number just past them.
   * The view is valid only during the call.
   */
  onData(dir: 0 | 1, buf: Buffer, from: number, to: number, frame: number, tNs: number, seqEnd: number): void;
  /** Bytes of direction `dir` are missing (capture loss, snaplen): parsing must resynchronise. */
  onGap(dir: 0 | 1): void;
}

interface Held {
  seq: number;
  data: Buffer; // a copy: the capture buffer is reused
  frame: number;
  tNs: number;
}

/** Out-of-order segments held per direction before we call the missing bytes lost. */
const MAX_HELD_SEGMENTS = 64;
const MAX_HELD_BYTES = 1024 * 1024;

/**
 * One direction of a TCP connection: puts segments in sequence order,
 * drops retransmitted bytes (counted once), holds early segments (bounded),
 * and declares a gap when bytes are missing for good: the peer acknowledged
 * them (so they were sent and lost from the capture), the hold is full, or
 * the capture ended.
 */
export class HalfStream {
  dir!: 0 | 1;
  synced!: boolean;
  nextSeq!: number;
  /** The capture saw this direction's SYN (so the connection started inside the capture). */
  sawSyn!: boolean;
  finished!: boolean;
  retransmissions!: number;
  gaps!: number;
  truncatedSegments!: number;
  /** The last pure ACK this direction sent (no data, no SYN/FIN/RST). */
  pureAckFrame!: number;
  pureAckTNs!: number;
  pureAckNo!: number;
  /** Highest ACK the other direction sent for our bytes. */
  peerAcked!: number;
  peerAckedValid!: boolean;
  /** Early segments waiting for a hole to fill; made only when one arrives. */
  private held!: Held[] | undefined;
  private heldBytes!: number;

  constructor(dir: 0 | 1) {
    this.reset(dir);
  }

  /** The state of a direction nothing was seen in yet (also how a recycled one starts over). */
  reset(dir: 0 | 1): void {
    this.dir = dir;
    this.synced = false;
    this.nextSeq = 0;
    this.sawSyn = false;
    this.finished = false;
    this.retransmissions = 0;
    this.gaps = 0;
    this.truncatedSegments = 0;
    this.pureAckFrame = 0;
    this.pureAckTNs = -1;
    this.pureAckNo = 0;
    this.peerAcked = 0;
    this.peerAckedValid = false;
    this.held = undefined;
    this.heldBytes = 0;
  }

  /** A segment sent in this direction. `buf` holds the packet; `p` its decoded headers. */
  onSegment(p: TcpPacket, buf: Buffer, frame: number, tNs: number, c: StreamConsumer): void {
    const flags = p.flags;
    let seq = p.seq;
    if ((flags & TCP_SYN) !== 0) {
      this.sawSyn = true;
      this.synced = true;
      seq = seqAdd(seq, 1);
      this.nextSeq = seq;
      this.held = undefined;
      this.heldBytes = 0;
    }
    const len = p.payloadLen;
    if (len === 0) {
      if ((flags & (TCP_ACK | TCP_SYN | TCP_FIN | TCP_RST)) === TCP_ACK) {
        this.pureAckFrame = frame;
        this.pureAckTNs = tNs;
        this.pureAckNo = p.ack;
      }
      if ((flags & (TCP_FIN | TCP_RST)) !== 0) this.finished = true;
      return;
    }
    if ((flags & (TCP_FIN | TCP_RST)) !== 0) this.finished = true;
    if (!this.synced) {
      // The capture started mid-connection: take this segment as the start.
      this.synced = true;
      this.nextSeq = seq;
    }
    const d = seqDiff(this.nextSeq, seq); // how far past the expected byte this segment starts
    if (p.capturedPayload < len) {
      // Snaplen cut the payload: never parse partial data as data.
      this.truncatedSegments++;
      if (d <= 0 && seqLessEq(seqAdd(seq, len), this.nextSeq)) return; // already have it all
      if (d > 0) this.gapTo(seq, c);
      this.gaps++;
      c.onGap(this.dir);
      this.nextSeq = seqAdd(seq, len);
      this.drain(c);
      return;
    }
    if (d === 0) {
      this.nextSeq = seqAdd(seq, len);
      c.onData(this.dir, buf, p.payloadAt, p.payloadAt + len, frame, tNs, this.nextSeq);
      if (this.held !== undefined) this.drain(c);
      return;
    }
    if (d < 0) {
      const end = seqAdd(seq, len);
      this.retransmissions++;
      if (seqLessEq(end, this.nextSeq)) return; // all old bytes
      // Partly new: deliver only the part past nextSeq.
      const skip = -d;
      this.nextSeq = end;
      c.onData(this.dir, buf, p.payloadAt + skip, p.payloadAt + len, frame, tNs, end);
      if (this.held !== undefined) this.drain(c);
      return;
    }
    // A segment from the future: hold a copy, unless the hole is already known lost.
    if (this.peerAckedValid && seqLess(this.nextSeq, this.peerAcked)) {
      this.gapTo(seq, c);
      this.nextSeq = seqAdd(seq, len);
      c.onData(this.dir, buf, p.payloadAt, p.payloadAt + len, frame, tNs, this.nextSeq);
      this.drain(c);
      return;
    }
    const held = this.hold(seq, buf, p.payloadAt, len, frame, tNs);
    if (held.length > MAX_HELD_SEGMENTS || this.heldBytes > MAX_HELD_BYTES) this.skipToHeld(c);
  }

  /** The other direction acknowledged `ack` (one of our sequence numbers). */
  onPeerAck(ack: number, c: StreamConsumer): void {
    if (!this.peerAckedValid || seqLess(this.peerAcked, ack)) {
      this.peerAcked = ack;
      this.peerAckedValid = true;
    }
    // The peer has bytes we never saw, and later ones are waiting: they are lost.
    if (this.held !== undefined && this.synced && seqLess(this.nextSeq, ack)) this.skipToHeld(c);
  }

  /** End of capture: whatever is held is delivered after a gap. */
  flush(c: StreamConsumer): void {
    if (this.held !== undefined) this.skipToHeld(c);
  }

  private hold(seq: number, buf: Buffer, at: number, len: number, frame: number, tNs: number): Held[] {
    const held = (this.held ??= []);
    for (const h of held) if (h.seq === seq && h.data.length >= len) return (this.retransmissions++, held);
    const item: Held = { seq, data: Buffer.from(buf.subarray(at, at + len)), frame, tNs };
    let i = held.length;
    while (i > 0 && seqLess(seq, held[i - 1]!.seq)) i--;
    held.splice(i, 0, item);
    this.heldBytes += len;
    return held;
  }

  /** Declares the bytes up to the first held segment lost, then delivers what follows. */
  private skipToHeld(c: StreamConsumer): void {
    const first = this.held?.[0];
    if (first === undefined) return;
    this.gapTo(first.seq, c);
    this.drain(c);
  }

  private gapTo(seq: number, c: StreamConsumer): void {
    if (seqDiff(this.nextSeq, seq) <= 0) return;
    this.gaps++;
    c.onGap(this.dir);
    this.nextSeq = seq;
  }

  /** Delivers held segments that are now in order. */
  private drain(c: StreamConsumer): void {
    const held = this.held;
    if (held === undefined) return;
    while (held.length > 0) {
      const h = held[0]!;
      const d = seqDiff(this.nextSeq, h.seq);
      if (d > 0) return;
      held.shift();
      if (held.length === 0) this.held = undefined;
      this.heldBytes -= h.data.length;
      const end = seqAdd(h.seq, h.data.length);
      if (seqLessEq(end, this.nextSeq)) {
        this.retransmissions++;
        continue;
      }
      this.nextSeq = end;
      c.onData(this.dir, h.data, -d, h.data.length, h.frame, h.tNs, end);
    }
  }
}
