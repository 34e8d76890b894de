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
  synced = false;
  nextSeq = 0;
  /** The capture saw this direction's SYN (so the connection started inside the capture). */
  sawSyn = false;
  finished = false;
  retransmissions = 0;
  gaps = 0;
  truncatedSegments = 0;
  /** The last pure ACK this direction sent (no data, no SYN/FIN/RST). */
  pureAckFrame = 0;
  pureAckTNs = -1;
  pureAckNo = 0;
  /** Highest ACK the other direction sent for our bytes. */
  peerAcked = 0;
  peerAckedValid = false;
  private held: Held[] = [];
  private heldBytes = 0;

  constructor(readonly dir: 0 | 1) {}

  /** A segment sent in this direction. `buf` holds the packet; `p` its decoded headers. */
  onSegment(p: TcpPacket, buf: Buffer, frame: number, tNs: number, c: StreamConsumer): void {
    const flags = p.flags;
    let seq = p.seq;
    if ((flags & TCP_SYN) !== 0) {
      this.sawSyn = true;
      this.synced = true;
      seq = seqAdd(seq, 1);
      this.nextSeq = seq;
      this.held = [];
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
      if (this.held.length > 0) this.drain(c);
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
      if (this.held.length > 0) this.drain(c);
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
    this.hold(seq, buf, p.payloadAt, len, frame, tNs);
    if (this.held.length > MAX_HELD_SEGMENTS || this.heldBytes > MAX_HELD_BYTES) this.skipToHeld(c);
  }

  /** The other direction acknowledged `ack` (one of our sequence numbers). */
  onPeerAck(ack: number, c: StreamConsumer): void {
    if (!this.peerAckedValid || seqLess(this.peerAcked, ack)) {
      this.peerAcked = ack;
      this.peerAckedValid = true;
    }
    // The peer has bytes we never saw, and later ones are waiting: they are lost.
    if (this.held.length > 0 && this.synced && seqLess(this.nextSeq, ack)) this.skipToHeld(c);
  }

  /** End of capture: whatever is held is delivered after a gap. */
  flush(c: StreamConsumer): void {
    if (this.held.length > 0) this.skipToHeld(c);
  }

  private hold(seq: number, buf: Buffer, at: number, len: number, frame: number, tNs: number): void {
    for (const h of this.held) if (h.seq === seq && h.data.length >= len) return void this.retransmissions++;
    const item: Held = { seq, data: Buffer.from(buf.subarray(at, at + len)), frame, tNs };
    let i = this.held.length;
    while (i > 0 && seqLess(seq, this.held[i - 1]!.seq)) i--;
    this.held.splice(i, 0, item);
    this.heldBytes += len;
  }

  /** Declares the bytes up to the first held segment lost, then delivers what follows. */
  private skipToHeld(c: StreamConsumer): void {
    const first = this.held[0];
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
    while (this.held.length > 0) {
      const h = this.held[0]!;
      const d = seqDiff(this.nextSeq, h.seq);
      if (d > 0) return;
      this.held.shift();
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
