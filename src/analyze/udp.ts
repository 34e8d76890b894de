import { FRAME_INCOMPLETE, FRAME_TOO_LONG, frameCommand } from "../protocol/request-framing.js";
import { REPLY_NONE, classifyRequest, looksLikeCommand } from "../protocol/verbs.js";
import { requestRecord, type Aggregator, type ExchangeRecord, type FlowStats } from "./aggregate.js";
import type { SessionScratch } from "./session.js";
import { findResponseStart } from "./session.js";

/**
 * memcached over UDP. Every datagram starts with an 8-byte frame header:
 *
 *   request id (2) | sequence number (2) | datagrams in this message (2) | reserved, 0 (2)
 *
 * A request is one datagram (sequence 0 of 1); its response may span several,
 * all carrying the request's id. Requests and responses pair by id, as
 * Wireshark and Packetbeat do. Latency is measured (request → last datagram
 * of the answer); stalls are a TCP matter and are not judged here.
 */
export const UDP_HEADER_BYTES = 8;

/** Requests awaiting answers per UDP flow; beyond this the oldest are given up as unanswered. */
const MAX_UDP_PENDING = 1024;

interface UdpPending {
  verb: string;
  bytes: number;
  keyCount: number;
  key: string | undefined;
  frame: number;
  tNs: number;
  respFirstFrame: number;
  respFirstTNs: number;
  /** Datagrams of the answer seen so far, and how many it has. */
  got: number;
  total: number;
  error: boolean;
}

/** Does buf[at, end) look like a memcached UDP request (header of a one-datagram message, then a command)? */
export function looksLikeUdpRequest(buf: Buffer, at: number, end: number): boolean {
  if (end - at <= UDP_HEADER_BYTES) return false;
  return (
    buf.readUInt16BE(at + 2) === 0 &&
    buf.readUInt16BE(at + 4) === 1 &&
    buf.readUInt16BE(at + 6) === 0 &&
    looksLikeCommand(buf, at + UDP_HEADER_BYTES, end)
  );
}

/** …or the first datagram of a response? */
export function looksLikeUdpResponse(buf: Buffer, at: number, end: number): boolean {
  if (end - at <= UDP_HEADER_BYTES) return false;
  const total = buf.readUInt16BE(at + 4);
  return (
    buf.readUInt16BE(at + 2) === 0 &&
    total >= 1 &&
    buf.readUInt16BE(at + 6) === 0 &&
    findResponseStart(buf, at + UDP_HEADER_BYTES, end, true) === at + UDP_HEADER_BYTES
  );
}

export class UdpSession {
  private pending: Map<number, UdpPending> | undefined;
  /** Answers that lost datagrams (some of their datagrams never appeared). */
  incomplete = 0;
  unparsedBytes = 0;

  constructor(
    readonly clientDir: 0 | 1,
    private readonly flow: FlowStats,
    private readonly agg: Aggregator,
    private readonly scratch: SessionScratch,
  ) {}

  /** A datagram's payload buf[at, end) (frame header included) sent in direction `dir`. */
  onDatagram(dir: 0 | 1, buf: Buffer, at: number, end: number, frame: number, tNs: number): void {
    if (end - at < UDP_HEADER_BYTES) {
      this.unparsedBytes += end - at;
      return;
    }
    const id = buf.readUInt16BE(at);
    if (dir === this.clientDir) this.request(id, buf, at, end, frame, tNs);
    else this.response(id, buf, at, end, frame, tNs);
  }

  private request(id: number, buf: Buffer, at: number, end: number, frame: number, tNs: number): void {
    const body = at + UDP_HEADER_BYTES;
    const f = this.scratch.frame;
    const next = frameCommand(buf, body, end, f);
    // A request must fit one datagram: an incomplete or endless line is not one.
    if (next === FRAME_INCOMPLETE || next === FRAME_TOO_LONG || buf.readUInt16BE(at + 4) !== 1) {
      this.unparsedBytes += end - at;
      return;
    }
    const info = this.scratch.info;
    classifyRequest(buf, body, f, info);
    const key = this.agg.opts.showKeys && info.keyAt >= 0 ? buf.toString("latin1", info.keyAt, info.keyEnd) : undefined;
    if (info.reply === REPLY_NONE) {
      this.agg.noreply++;
      this.agg.exchange(this.flow, this.record(info.verb, next - body, info.keyCount, key, frame, tNs), false, false);
      return;
    }
    const pending = (this.pending ??= new Map<number, UdpPending>());
    const old = pending.get(id);
    if (old !== undefined) {
      // The id came round again (or the client retried) before an answer: the earlier one went unanswered.
      pending.delete(id);
      this.unanswered(old);
    }
    pending.set(id, {
      verb: info.verb,
      bytes: next - body,
      keyCount: info.keyCount,
      key,
      frame,
      tNs,
      respFirstFrame: 0,
      respFirstTNs: 0,
      got: 0,
      total: 0,
      error: false,
    });
    if (pending.size > MAX_UDP_PENDING) {
      const oldestId = pending.keys().next().value!;
      const p = pending.get(oldestId)!;
      pending.delete(oldestId);
      this.unanswered(p);
    }
  }

  private response(id: number, buf: Buffer, at: number, end: number, frame: number, tNs: number): void {
    const seq = buf.readUInt16BE(at + 2);
    const total = buf.readUInt16BE(at + 4);
    const p = this.pending?.get(id);
    if (p === undefined) {
      if (seq === 0) this.agg.unpairedResponses++;
      return;
    }
    if (p.got === 0) {
      p.respFirstFrame = frame;
      p.respFirstTNs = tNs;
    }
    if (seq === 0) {
      const b = at + UDP_HEADER_BYTES;
      p.error =
        startsWith(buf, b, end, "ERROR") ||
        startsWith(buf, b, end, "CLIENT_ERROR") ||
        startsWith(buf, b, end, "SERVER_ERROR");
    }
    p.got++;
    p.total = total;
    if (p.got < total) return;
    this.pending!.delete(id);
    const x = this.record(p.verb, p.bytes, p.keyCount, p.key, p.frame, p.tNs);
    x.respSegments = 1;
    x.respFirstFrame = p.respFirstFrame;
    // The server's time (request → first datagram of the answer) is what the server cause judges.
    x.respFirstTNs = p.respFirstTNs;
    x.respLastFrame = frame;
    x.respLastTNs = tNs;
    this.agg.exchange(this.flow, x, true, p.error);
  }

  /** End of the flow or of the capture. */
  finish(): void {
    const pending = this.pending;
    if (pending !== undefined) for (const p of pending.values()) this.unanswered(p);
    this.pending = undefined;
    this.agg.unparsed(this.flow, this.unparsedBytes, 0);
  }

  private unanswered(p: UdpPending): void {
    // Some datagrams of the answer arrived: it was answered, and the capture (or the network) lost the rest.
    if (p.got > 0) this.incomplete++;
    else this.agg.unanswered++;
    this.agg.exchange(this.flow, this.record(p.verb, p.bytes, p.keyCount, p.key, p.frame, p.tNs), false, false);
  }

  private record(
    verb: string,
    bytes: number,
    keyCount: number,
    key: string | undefined,
    frame: number,
    tNs: number,
  ): ExchangeRecord {
    return requestRecord(this.scratch.x, verb, bytes, keyCount, key, frame, tNs, frame, 1);
  }
}

function startsWith(buf: Buffer, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[at + i] !== word.charCodeAt(i)) return false;
  return true;
}
