import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, windowScaleOption, type TcpPacket } from "./decode.js";
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
  /**
   * Bytes [seq, seq + len) of direction `dir`, already seen, were sent again
   * (a retransmission at the capture point). `spurious`: the receiver had
   * already acknowledged them.
   */
  onResent?(dir: 0 | 1, seq: number, len: number, frame: number, tNs: number, spurious: boolean): void;
  /** Direction `dir` advertised a zero receive window from `sinceTNs` until `untilTNs` (frames of both ends). */
  onZeroWindow?(dir: 0 | 1, sinceTNs: number, untilTNs: number, sinceFrame: number, untilFrame: number): void;
  /**
   * Direction `dir` sent a persist probe (a segment one byte behind what it
   * had sent, no data: how Linux probes a shut window without new bytes).
   */
  onProbe?(dir: 0 | 1, frame: number): void;
  /** The other side acknowledged direction `dir`'s bytes up to `ack` (called when it advances). */
  onAcked?(dir: 0 | 1, ack: number): void;
}

/** IPv4 ids skipped by more than this are a new counter, not packets lost before the capture. */
const MAX_ID_GAP = 8;
/** After a packet this large the sender may have been segmenting (GSO): its id may advance by several. */
const ID_GAP_MAX_PREVIOUS_BYTES = 1448;

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
 *
 * Its fields are `declare`d and made by reset(), each with its first value: a
 * field made undefined first stays untyped to V8, which then boxes every
 * non-integer number stored in it anew (times and sequence numbers, per packet).
 */
export class HalfStream {
  declare dir: 0 | 1;
  declare synced: boolean;
  declare nextSeq: number;
  /** The capture saw this direction's SYN (so the connection started inside the capture). */
  declare sawSyn: boolean;
  declare finished: boolean;
  declare retransmissions: number;
  declare gaps: number;
  declare truncatedSegments: number;
  /** The last pure ACK this direction sent (no data, no SYN/FIN/RST). */
  declare pureAckFrame: number;
  declare pureAckTNs: number;
  declare pureAckNo: number;
  /** Highest ACK the other direction sent for our bytes. */
  declare peerAcked: number;
  declare peerAckedValid: boolean;
  /** Early segments waiting for a hole to fill; made only when one arrives. */
  declare private held: Held[] | undefined;
  declare private heldBytes: number;
  // Evidence for cause attribution.
  /** SYNs (or SYN/ACKs) this direction sent: more than 1 means the handshake was retried. */
  declare synCount: number;
  declare firstSynTNs: number;
  declare firstSynFrame: number;
  declare lastSynFrame: number;
  /** The first packet after this direction's SYN that is not a SYN (for the client, the handshake's end). */
  declare afterSynTNs: number;
  declare afterSynFrame: number;
  /** IPv4 id and length of this direction's previous packet (-1: none or no id). */
  declare private lastIpId: number;
  declare private lastLen: number;
  /** Packets this direction sent that the capture missed just before the current one (by the IPv4 id); valid during onData. */
  declare lostBefore: number;
  /** How long the bytes delivered now waited for a hole before them to fill; valid during onData. */
  declare lateNs: number;
  /** This direction advertises a zero window, since `zeroWindowSinceTNs`. */
  declare zeroWindowOpen: boolean;
  declare zeroWindowSinceTNs: number;
  declare private zeroWindowFrame: number;
  /** When this direction's last zero window ended (it advertised room again); -Infinity: never (times may be negative). */
  declare zeroWindowEndTNs: number;
  /** Pure ACKs in a row acknowledging the same byte (fast retransmit follows 2 or 3). */
  declare dupAcks: number;
  declare private lastAckNo: number;
  /** The window-scale shift this direction's SYN offered: -2 no SYN seen, -1 none offered. */
  declare wscale: number;
  /**
   * The right edge of the receive window the peer last advertised to this
   * direction (its ACK plus its scaled window), when the scaling is known
   * (both SYNs seen).
   */
  declare private peerEdge: number;
  declare private peerEdgeValid: boolean;
  /** A segment of this direction filled the peer's window at `fullTNs` (frame `fullFrame`), up to `fullEdge`. */
  declare private full: boolean;
  declare private fullEdge: number;
  declare private fullTNs: number;
  declare private fullFrame: number;
  /** When the peer's window opened past `fullEdge` again (-1: not yet). */
  declare private fullOpenTNs: number;
  /** How long the bytes delivered now waited for the peer's full window to open, and the frame that filled it; valid during onData. */
  declare windowWaitNs: number;
  declare windowFullFrame: number;

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
    this.synCount = 0;
    this.firstSynTNs = 0;
    this.firstSynFrame = 0;
    this.lastSynFrame = 0;
    this.afterSynTNs = 0;
    this.afterSynFrame = 0;
    this.lastIpId = -1;
    this.lastLen = 0;
    this.lostBefore = 0;
    this.lateNs = 0;
    this.zeroWindowOpen = false;
    this.zeroWindowSinceTNs = 0;
    this.zeroWindowFrame = 0;
    this.zeroWindowEndTNs = -Infinity;
    this.dupAcks = 0;
    this.lastAckNo = -1;
    this.wscale = -2;
    this.peerEdge = 0;
    this.peerEdgeValid = false;
    this.full = false;
    this.fullEdge = 0;
    this.fullTNs = 0;
    this.fullFrame = 0;
    this.fullOpenTNs = -1;
    this.windowWaitNs = 0;
    this.windowFullFrame = 0;
  }

  /** A segment sent in this direction. `buf` holds the packet; `p` its decoded headers. */
  onSegment(p: TcpPacket, buf: Buffer, frame: number, tNs: number, c: StreamConsumer): void {
    const flags = p.flags;
    let seq = p.seq;
    const len = p.payloadLen;
    this.evidence(p, buf, frame, tNs, len, c);
    if ((flags & TCP_SYN) !== 0) {
      this.sawSyn = true;
      this.synced = true;
      seq = seqAdd(seq, 1);
      this.nextSeq = seq;
      this.held = undefined;
      this.heldBytes = 0;
    }
    if (len === 0) {
      if ((flags & (TCP_ACK | TCP_SYN | TCP_FIN | TCP_RST)) === TCP_ACK) {
        this.pureAckFrame = frame;
        this.pureAckTNs = tNs;
        this.pureAckNo = p.ack;
        if (this.synced && seq === seqAdd(this.nextSeq, -1)) c.onProbe?.(this.dir, frame);
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
      this.drain(c, -1);
      return;
    }
    if (d === 0) {
      this.nextSeq = seqAdd(seq, len);
      // This segment fills a hole: the bytes held after it waited until now.
      const held = this.held;
      if (held !== undefined) this.lateNs = tNs - oldest(held);
      if (this.full) this.windowOpened(seq);
      c.onData(this.dir, buf, p.payloadAt, p.payloadAt + len, frame, tNs, this.nextSeq);
      this.lateNs = 0;
      this.windowWaitNs = 0;
      if (this.peerEdgeValid && this.nextSeq === this.peerEdge) {
        // Exactly up to the peer's window: nothing more may go until it opens.
        this.full = true;
        this.fullEdge = this.nextSeq;
        this.fullTNs = tNs;
        this.fullFrame = frame;
        this.fullOpenTNs = -1;
      }
      if (held !== undefined) this.drain(c, tNs);
      return;
    }
    if (d < 0) {
      const end = seqAdd(seq, len);
      this.retransmissions++;
      const resentLen = seqLessEq(end, this.nextSeq) ? len : -d;
      c.onResent?.(
        this.dir,
        seq,
        resentLen,
        frame,
        tNs,
        this.peerAckedValid && seqLessEq(seqAdd(seq, resentLen), this.peerAcked),
      );
      if (seqLessEq(end, this.nextSeq)) return; // all old bytes
      // Partly new: deliver only the part past nextSeq.
      const skip = -d;
      this.nextSeq = end;
      c.onData(this.dir, buf, p.payloadAt + skip, p.payloadAt + len, frame, tNs, end);
      if (this.held !== undefined) this.drain(c, tNs);
      return;
    }
    // A segment from the future: hold a copy, unless the hole is already known lost.
    if (this.peerAckedValid && seqLess(this.nextSeq, this.peerAcked)) {
      this.gapTo(seq, c);
      this.nextSeq = seqAdd(seq, len);
      c.onData(this.dir, buf, p.payloadAt, p.payloadAt + len, frame, tNs, this.nextSeq);
      this.drain(c, tNs);
      return;
    }
    const held = this.hold(seq, buf, p.payloadAt, len, frame, tNs, c);
    if (held.length > MAX_HELD_SEGMENTS || this.heldBytes > MAX_HELD_BYTES) this.skipToHeld(c);
  }

  /**
   * What a packet of this direction says beyond its bytes: a SYN retried,
   * packets missing before it by the IPv4 id (Linux numbers a socket's
   * packets one by one), a zero window opened or closed, a duplicate ACK.
   */
  private evidence(p: TcpPacket, buf: Buffer, frame: number, tNs: number, len: number, c: StreamConsumer): void {
    const flags = p.flags;
    if ((flags & TCP_SYN) !== 0) {
      this.wscale = windowScaleOption(buf, p.optAt, p.optEnd);
      if (this.synCount++ === 0) {
        this.firstSynTNs = tNs;
        this.firstSynFrame = frame;
      }
      this.lastSynFrame = frame;
    } else if (this.synCount > 0 && this.afterSynFrame === 0) {
      this.afterSynTNs = tNs;
      this.afterSynFrame = frame;
    }
    this.lostBefore = 0;
    const id = p.ipId;
    if (id > 0) {
      const last = this.lastIpId;
      if (last > 0 && this.lastLen <= ID_GAP_MAX_PREVIOUS_BYTES) {
        const missing = (id - last - 1) & 0xffff;
        if (missing > 0 && missing <= MAX_ID_GAP) this.lostBefore = missing;
      }
      this.lastIpId = id;
      this.lastLen = len;
    }
    if ((flags & (TCP_SYN | TCP_RST)) === 0 && (flags & TCP_ACK) !== 0) {
      if (p.window === 0) {
        if (!this.zeroWindowOpen) {
          this.zeroWindowOpen = true;
          this.zeroWindowSinceTNs = tNs;
          this.zeroWindowFrame = frame;
        }
      } else if (this.zeroWindowOpen) {
        c.onZeroWindow?.(this.dir, this.zeroWindowSinceTNs, tNs, this.zeroWindowFrame, frame);
        this.zeroWindowOpen = false;
        this.zeroWindowEndTNs = tNs;
      }
      if (len === 0 && (flags & (TCP_FIN | TCP_SYN | TCP_RST)) === 0 && p.ack === this.lastAckNo) this.dupAcks++;
      else this.dupAcks = 0;
      this.lastAckNo = p.ack;
    }
  }

  /**
   * The bytes now delivered start at `seq`, after this direction filled the
   * peer's window: when they start at its edge and the window opened first,
   * they waited from the filling segment until it opened.
   */
  private windowOpened(seq: number): void {
    this.full = false;
    if (seq !== this.fullEdge || this.fullOpenTNs < 0) return;
    this.windowWaitNs = this.fullOpenTNs - this.fullTNs;
    this.windowFullFrame = this.fullFrame;
  }

  /**
   * The peer advertised `window` (as sent) with its ACK at `tNs`; `peer` is
   * its half, whose SYN says how that window is scaled.
   */
  onPeerWindow(ack: number, window: number, peer: HalfStream, tNs: number): void {
    // Scaling applies when both SYNs offered it; unknown (no SYNs seen): no window is judged.
    if (this.wscale === -2 || peer.wscale === -2) return;
    const shift = this.wscale >= 0 && peer.wscale >= 0 ? peer.wscale : 0;
    // A zero window is the zero-window evidence's: the wait is charged there.
    if (window === 0) this.full = false;
    const edge = seqAdd(ack, window * (1 << shift)); // shift ≤ 14: an exact int32 product
    if (this.full && this.fullOpenTNs < 0 && seqLess(this.fullEdge, edge)) this.fullOpenTNs = tNs;
    this.peerEdge = edge;
    this.peerEdgeValid = true;
  }

  /** The other direction acknowledged `ack` (one of our sequence numbers). */
  onPeerAck(ack: number, c: StreamConsumer): void {
    if (!this.peerAckedValid || seqLess(this.peerAcked, ack)) {
      this.peerAcked = ack;
      this.peerAckedValid = true;
      c.onAcked?.(this.dir, ack);
    }
    // The peer has bytes we never saw, and later ones are waiting: they are lost.
    if (this.held !== undefined && this.synced && seqLess(this.nextSeq, ack)) this.skipToHeld(c);
  }

  /** End of capture: whatever is held is delivered after a gap. */
  flush(c: StreamConsumer): void {
    if (this.held !== undefined) this.skipToHeld(c);
  }

  private hold(
    seq: number,
    buf: Buffer,
    at: number,
    len: number,
    frame: number,
    tNs: number,
    c: StreamConsumer,
  ): Held[] {
    const held = (this.held ??= []);
    for (const h of held) {
      if (h.seq !== seq || h.data.length < len) continue;
      this.retransmissions++;
      c.onResent?.(this.dir, seq, len, frame, tNs, false);
      return held;
    }
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
    this.drain(c, -1);
  }

  private gapTo(seq: number, c: StreamConsumer): void {
    if (seqDiff(this.nextSeq, seq) <= 0) return;
    this.gaps++;
    c.onGap(this.dir);
    this.nextSeq = seq;
  }

  /** Delivers held segments that are now in order, as available at `nowTNs` (-1: at the time each was seen). */
  private drain(c: StreamConsumer, nowTNs: number): void {
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
      // Held bytes reach the reader only when the hole before them fills.
      c.onData(this.dir, h.data, -d, h.data.length, h.frame, nowTNs < 0 ? h.tNs : Math.max(h.tNs, nowTNs), end);
    }
  }
}

function oldest(held: Held[]): number {
  let t = held[0]!.tNs;
  for (const h of held) if (h.tNs < t) t = h.tNs;
  return t;
}
