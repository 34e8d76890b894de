import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "./decode.js";
import type { ExchangePacket } from "./result.js";
import { seqAdd, seqLess } from "./seq.js";

/** Packets remembered, across every memcached connection (≈ 2.6 MB). */
const CAP = 1 << 16;
/** Slots of the flow → last-packet table (a power of two). */
const LAST_SIZE = 1 << 16;
/** Packets listed per exchange; beyond, the first and last halves are kept. */
export const MAX_EXCHANGE_PACKETS = 64;

/**
 * The last CAP packets of the memcached connections, so that an exchange
 * that turns out to be among the worst can list its own packets (the
 * waterfall of the HTML report) without a second pass over the capture.
 *
 * A ring of typed arrays: recording a packet writes a few numbers and
 * allocates nothing. Each entry links to the previous entry of its flow,
 * so collecting an exchange walks only that flow's packets. An entry
 * overwritten by the ring ends the walk: an exchange longer than the ring
 * lists the packets that were still there, and says that some are missing.
 * Memory is fixed (≈ 3 MB) whatever the capture.
 */
export class PacketLog {
  private readonly frame = new Float64Array(CAP);
  private readonly tNs = new Float64Array(CAP);
  private readonly flow = new Int32Array(CAP);
  /** Ring slot of the flow's previous packet, and the write count it was made at (to detect overwriting). */
  private readonly prev = new Int32Array(CAP);
  private readonly stamp = new Float64Array(CAP);
  private readonly seq = new Float64Array(CAP);
  private readonly bytes = new Int32Array(CAP);
  /** TCP flags, and 0x100 when sent by the client. */
  private readonly meta = new Uint16Array(CAP);
  private written = 0;
  /**
   * Flow id → its last slot, in a fixed table indexed by the id's low bits
   * (ids are sequential, so flows open at the same time rarely share one;
   * when two do, the older one's exchanges list fewer packets, and say so).
   */
  private readonly lastKey = new Int32Array(LAST_SIZE).fill(-1);
  private readonly lastSlot = new Int32Array(LAST_SIZE);

  record(
    flowId: number,
    frame: number,
    tNs: number,
    fromClient: boolean,
    flags: number,
    seq: number,
    bytes: number,
  ): void {
    const i = this.written % CAP;
    const h = flowId & (LAST_SIZE - 1);
    this.frame[i] = frame;
    this.tNs[i] = tNs;
    this.flow[i] = flowId;
    this.prev[i] = this.lastKey[h] === flowId ? this.lastSlot[h]! : -1;
    this.stamp[i] = this.written;
    this.seq[i] = seq;
    this.bytes[i] = bytes;
    this.meta[i] = flags | (fromClient ? 0x100 : 0);
    this.lastKey[h] = flowId;
    this.lastSlot[h] = i;
    this.written++;
  }

  /**
   * The flow's packets from `firstFrame` to `lastFrame`, oldest first, with
   * times from the first of them. `omitted` counts packets not listed: past
   * MAX_EXCHANGE_PACKETS, or overwritten before the exchange ended.
   */
  collect(flowId: number, firstFrame: number, lastFrame: number): { packets: ExchangePacket[]; omitted: number } {
    const slots: number[] = [];
    let omitted = 0;
    const h = flowId & (LAST_SIZE - 1);
    let i = this.lastKey[h] === flowId ? this.lastSlot[h]! : -1;
    let after = this.written;
    let complete = false;
    while (i >= 0) {
      const s = this.stamp[i]!;
      // The slot was reused, or the link points forward in time: the rest is gone.
      if (this.flow[i] !== flowId || s >= after || s < this.written - CAP) break;
      after = s;
      const f = this.frame[i]!;
      if (f < firstFrame) {
        complete = true;
        break;
      }
      if (f <= lastFrame) slots.push(i);
      i = this.prev[i]!;
    }
    if (!complete && slots.length > 0 && this.frame[slots[slots.length - 1]!]! > firstFrame) omitted++;
    slots.reverse();
    if (slots.length > MAX_EXCHANGE_PACKETS) {
      const half = MAX_EXCHANGE_PACKETS / 2;
      omitted += slots.length - MAX_EXCHANGE_PACKETS;
      slots.splice(half, slots.length - MAX_EXCHANGE_PACKETS);
    }
    const t0 = slots.length > 0 ? this.tNs[slots[0]!]! : 0;
    // Bytes each side has sent so far in this exchange: data at or below it is sent again.
    const sentEnd: [number | undefined, number | undefined] = [undefined, undefined];
    const packets = slots.map((k): ExchangePacket => {
      const meta = this.meta[k]!;
      const fromClient = (meta & 0x100) !== 0;
      const bytes = this.bytes[k]!;
      const p: ExchangePacket = {
        frame: this.frame[k]!,
        tMs: Math.round((this.tNs[k]! - t0) / 1000) / 1000,
        dir: fromClient ? "c2s" : "s2c",
        bytes,
        flags: flagNames(meta),
      };
      if (bytes > 0) {
        const side = fromClient ? 0 : 1;
        const seq = this.seq[k]!;
        const end = seqAdd(seq, bytes);
        const before = sentEnd[side];
        // Starting below what this side had already sent: sent again, whole or in part.
        if (before !== undefined && seqLess(seq, before)) p.retransmission = true;
        if (before === undefined || seqLess(before, end)) sentEnd[side] = end;
      }
      return p;
    });
    return { packets, omitted };
  }
}

function flagNames(meta: number): string[] {
  const out: string[] = [];
  if (meta & TCP_SYN) out.push("SYN");
  if (meta & TCP_FIN) out.push("FIN");
  if (meta & TCP_RST) out.push("RST");
  if (meta & TCP_PSH) out.push("PSH");
  if (meta & TCP_ACK) out.push("ACK");
  return out;
}
