import {
  BINARY_REQUEST,
  BINARY_RESPONSE,
  binaryFrameLength,
  binaryIsQuiet,
  binaryOpcodeName,
} from "../protocol/binary.js";
import {
  FRAME_INCOMPLETE,
  FRAME_MALFORMED,
  FRAME_TOO_LONG,
  frameCommand,
  newFrame,
} from "../protocol/request-framing.js";
import { ResponseParser, type ParsedResponse } from "../protocol/response-parser.js";
import {
  REPLY_MAYBE,
  REPLY_NONE,
  REPLY_ONE,
  classifyRequest,
  looksLikeCommand,
  newRequestInfo,
} from "../protocol/verbs.js";
import { CarryBuffer } from "../util/carry-buffer.js";
import { LF } from "../util/bytes.js";
import type { Aggregator, ExchangeRecord, FlowStats } from "./aggregate.js";
import type { HalfStream, StreamConsumer } from "./reassembly.js";
import type { StallSide } from "./result.js";
import { delayedAckStall, MessageTrack, type StallEvent, type StallRule } from "./stalls.js";

/** A request waiting for its response. */
interface Pending {
  verb: string;
  bytes: number;
  keyCount: number;
  key: string | undefined;
  reply: number;
  opaque: number;
  firstFrame: number;
  firstTNs: number;
  lastFrame: number;
  segments: number;
  stalls: StallEvent[] | undefined;
}

/** Requests awaiting answers per connection; beyond this (a capture missing the server side) the oldest are given up. */
const MAX_PENDING = 10_000;
/** Bytes of one message held while it is incomplete; memcached's own item limit is 1 MiB by default. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const MODE_UNKNOWN = 0;
const MODE_TEXT = 1;
const MODE_BINARY = 2;

/**
 * What one side of a connection sends: requests (the client's half) or
 * responses (the server's). Both halves follow the same life: find a message
 * start (after a capture began mid-connection or bytes went missing), track
 * the segments of the message in progress, check each continuing segment
 * for the delayed-ACK stall against the peer's pure ACKs, and carry
 * incomplete bytes to the next segment.
 */
class SessionHalf {
  readonly track = new MessageTrack();
  readonly input = new CarryBuffer(256);
  /** A message is in progress: its first segment has been seen, its last has not. */
  active = false;
  /** Parsing lost its place: skip bytes until something that starts a message. */
  resync: boolean;
  // The segment being parsed, where a message that starts inside it begins.
  private segFrame = 0;
  private segTNs = 0;
  private segSeqEnd = 0;

  constructor(
    readonly side: StallSide,
    /** First byte of a binary-protocol message in this direction. */
    readonly binaryMagic: number,
    private readonly findTextStart: (buf: Buffer, from: number, to: number) => number,
    /** The other direction, whose pure ACKs release a held segment. */
    private readonly peer: HalfStream,
    midStream: boolean,
  ) {
    // A capture that starts mid-connection may start mid-message: find a boundary first.
    this.resync = midStream;
  }

  /**
   * A segment of this direction arrives: checks a message in progress for a
   * stall, or begins a message (after finding its start when resynchronising).
   * Returns where parsing starts in buf, or -1 when the segment holds no start.
   */
  enter(
    buf: Buffer,
    from: number,
    to: number,
    frame: number,
    tNs: number,
    seqEnd: number,
    binary: boolean,
    rule: StallRule,
  ): number {
    this.segFrame = frame;
    this.segTNs = tNs;
    this.segSeqEnd = seqEnd;
    const r = this.track;
    if (this.active) {
      const s = delayedAckStall(r, this.side, frame, tNs, this.peer, rule);
      if (s !== undefined) (r.stalls ??= []).push(s);
      r.more(frame, tNs, seqEnd);
      return from;
    }
    if (this.resync) {
      from = binary ? (buf[from] === this.binaryMagic ? from : -1) : this.findTextStart(buf, from, to);
      if (from < 0) return -1;
      this.resync = false;
    }
    r.begin(frame, tNs, seqEnd);
    this.active = true;
    return from;
  }

  /** The next message starts inside the segment being parsed. */
  restart(): void {
    this.track.begin(this.segFrame, this.segTNs, this.segSeqEnd);
  }

  /** Bytes that cannot be parsed: drop what is carried and look for the next message start. */
  resynchronise(): void {
    this.input.clear();
    this.active = false;
    this.resync = true;
  }

  /** Bytes are missing: the message in progress is lost, with its stalls counted as orphans. */
  lose(agg: Aggregator, flow: FlowStats): void {
    if (this.active) agg.orphanStalls(flow, this.track.stalls);
    this.resynchronise();
  }

  /** After framing what it could from `input`: bound what is carried, and note whether a message is in progress. */
  settle(): void {
    const c = this.input;
    if (c.available > MAX_MESSAGE_BYTES) {
      // A length field no real peer sends: stop carrying it and look for the next message.
      c.clear();
      this.resync = true;
    }
    c.settle();
    if (c.available === 0) this.active = false;
  }

  /** End of the connection or of the capture: a message in progress never completed. */
  finish(agg: Aggregator, flow: FlowStats): void {
    if (this.active) agg.orphanStalls(flow, this.track.stalls);
    this.active = false;
  }
}

/**
 * The memcached conversation on one TCP connection. Reassembled bytes of the
 * client side are framed into requests, the server side into responses;
 * responses pair with requests in order (binary: by opaque). Every segment
 * that continues a message is checked for the delayed-ACK stall.
 */
export class McSession implements StreamConsumer {
  private mode = MODE_UNKNOWN;
  /** By direction: sides[clientDir] is the client's half (requests). */
  private readonly sides: [SessionHalf, SessionHalf];
  private readonly req: SessionHalf;
  private readonly resp: SessionHalf;
  private parser: ResponseParser | undefined;
  private readonly frame = newFrame();
  private readonly info = newRequestInfo();
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  private readonly x: ExchangeRecord = {
    verb: "",
    reqBytes: 0,
    keyCount: 0,
    key: undefined,
    reqFirstFrame: 0,
    reqFirstTNs: 0,
    reqLastFrame: 0,
    reqSegments: 0,
    respSegments: 0,
    respFirstFrame: 0,
    respLastFrame: 0,
    respLastTNs: 0,
    stalls: undefined,
  };

  constructor(
    clientDir: 0 | 1,
    halves: [HalfStream, HalfStream],
    private readonly flow: FlowStats,
    private readonly agg: Aggregator,
    private readonly rule: StallRule,
    midStream: boolean,
  ) {
    const serverDir = clientDir === 0 ? 1 : 0;
    this.req = new SessionHalf("request", BINARY_REQUEST, findCommandStart, halves[serverDir], midStream);
    this.resp = new SessionHalf("response", BINARY_RESPONSE, findResponseStart, halves[clientDir], midStream);
    this.sides = clientDir === 0 ? [this.req, this.resp] : [this.resp, this.req];
  }

  onData(dir: 0 | 1, buf: Buffer, from: number, to: number, frame: number, tNs: number, seqEnd: number): void {
    const h = this.sides[dir];
    from = h.enter(buf, from, to, frame, tNs, seqEnd, this.mode === MODE_BINARY, this.rule);
    if (from < 0) return;
    if (this.mode === MODE_UNKNOWN) this.mode = buf[from] === h.binaryMagic ? MODE_BINARY : MODE_TEXT;
    if (h === this.req) {
      h.input.appendRange(buf, from, to);
      if (this.mode === MODE_BINARY) this.binaryRequests();
      else this.textRequests();
      h.settle();
    } else if (this.mode === MODE_BINARY) {
      h.input.appendRange(buf, from, to);
      this.binaryResponses();
      h.settle();
    } else {
      this.textResponses(buf, from, to);
    }
  }

  onGap(dir: 0 | 1): void {
    // Bytes are missing: messages in progress are lost, and so is the pairing of
    // requests with responses (a lost request's response would pair with the next).
    const h = this.sides[dir];
    h.lose(this.agg, this.flow);
    if (h === this.resp) this.parser?.reset();
    this.dropPending();
  }

  /** End of the connection or of the capture. */
  finish(): void {
    this.req.finish(this.agg, this.flow);
    this.resp.finish(this.agg, this.flow);
    this.dropPending();
  }

  // ---- client → server ----

  private textRequests(): void {
    const h = this.req;
    const c = h.input;
    const f = this.frame;
    while (c.start < c.end) {
      const at = c.start;
      const next = frameCommand(c.buf, at, c.end, f);
      if (next === FRAME_INCOMPLETE) return;
      if (next === FRAME_TOO_LONG) {
        // Not memcached text any more (or bytes we cannot follow): look for the next command line.
        h.resynchronise();
        return;
      }
      const end = next === FRAME_MALFORMED ? f.next : next;
      classifyRequest(c.buf, at, f, this.info);
      const key =
        this.agg.opts.showKeys && this.info.keyAt >= 0
          ? c.buf.toString("latin1", this.info.keyAt, this.info.keyEnd)
          : undefined;
      this.request(this.info.verb, end - at, this.info.keyCount, key, this.info.reply, 0);
      c.consume(end - at);
      if (c.start < c.end) h.restart(); // the next request starts in this segment
    }
  }

  private binaryRequests(): void {
    const h = this.req;
    const c = h.input;
    while (c.start < c.end) {
      const at = c.start;
      const buf = c.buf;
      if (buf[at] !== BINARY_REQUEST) {
        h.resynchronise();
        return;
      }
      const len = binaryFrameLength(buf, at, c.end);
      if (len < 0) return;
      const op = buf[at + 1]!;
      const keyLen = buf.readUInt16BE(at + 2);
      const extLen = buf[at + 4]!;
      const key =
        this.agg.opts.showKeys && keyLen > 0
          ? buf.toString("latin1", at + 24 + extLen, at + 24 + extLen + keyLen)
          : undefined;
      // Quit answers, QuitQ does not; quiet opcodes answer only on failure (or a GetQ hit).
      const reply = op === 0x17 ? REPLY_NONE : binaryIsQuiet(op) ? REPLY_MAYBE : REPLY_ONE;
      this.request(binaryOpcodeName(op), len, keyLen > 0 ? 1 : 0, key, reply, buf.readUInt32BE(at + 12));
      c.consume(len);
      if (c.start < c.end) h.restart();
    }
  }

  private request(
    verb: string,
    bytes: number,
    keyCount: number,
    key: string | undefined,
    reply: number,
    opaque: number,
  ): void {
    const r = this.req.track;
    if (reply === REPLY_NONE) {
      this.agg.noreply++;
      this.fillExchange(verb, bytes, keyCount, key, r.startFrame, r.startTNs, r.lastFrame, r.segments, r.stalls);
      this.agg.exchange(this.flow, this.x, false, false);
      r.stalls = undefined;
      return;
    }
    this.pending.push({
      verb,
      bytes,
      keyCount,
      key,
      reply,
      opaque,
      firstFrame: r.startFrame,
      firstTNs: r.startTNs,
      lastFrame: r.lastFrame,
      segments: r.segments,
      stalls: r.stalls,
    });
    r.stalls = undefined;
    if (this.pending.length - this.pendingHead > MAX_PENDING) this.unanswered(this.shiftPending()!, false);
  }

  // ---- server → client ----

  private textResponses(buf: Buffer, from: number, to: number): void {
    const h = this.resp;
    const p = (this.parser ??= new ResponseParser((res) => this.textResponse(res), {
      initialBufferBytes: 256,
      maxValueBytes: MAX_MESSAGE_BYTES,
    }));
    p.pushRange(buf, from, to);
    if (p.failed) {
      // Bytes that are not memcached responses: resynchronise at the next response line.
      p.reset();
      h.resynchronise();
      this.dropPending();
      return;
    }
    if (!p.midResponse) h.active = false;
  }

  private textResponse(res: ParsedResponse): void {
    if (res.kind === "protocol_error") return;
    let p = this.shiftPending();
    // Quiet meta commands answer only on failure; `mn` marks where their answers would have been.
    if (res.kind === "meta" && res.message === "MN") {
      while (p !== undefined && p.reply === REPLY_MAYBE && p.verb !== "mn") {
        this.unanswered(p, true);
        p = this.shiftPending();
      }
    }
    const error = res.kind === "error" || res.kind === "client_error" || res.kind === "server_error";
    this.responseDone(p, error);
  }

  private binaryResponses(): void {
    const h = this.resp;
    const c = h.input;
    while (c.start < c.end) {
      const at = c.start;
      const buf = c.buf;
      if (buf[at] !== BINARY_RESPONSE) {
        h.resynchronise();
        this.dropPending();
        return;
      }
      const len = binaryFrameLength(buf, at, c.end);
      if (len < 0) return;
      const op = buf[at + 1]!;
      const keyLen = buf.readUInt16BE(at + 2);
      const status = buf.readUInt16BE(at + 6);
      const opaque = buf.readUInt32BE(at + 12);
      c.consume(len);
      // Stat answers with one message per statistic, then one with an empty key.
      if (op === 0x10 && keyLen > 0) continue;
      this.responseDone(this.takeByOpaque(opaque), status !== 0);
    }
  }

  private responseDone(p: Pending | undefined, error: boolean): void {
    const r = this.resp.track;
    if (p === undefined) {
      this.agg.unpairedResponses++;
    } else {
      this.fillExchange(
        p.verb,
        p.bytes,
        p.keyCount,
        p.key,
        p.firstFrame,
        p.firstTNs,
        p.lastFrame,
        p.segments,
        mergeStalls(p.stalls, r.stalls),
      );
      const x = this.x;
      x.respSegments = r.segments;
      x.respFirstFrame = r.startFrame;
      x.respLastFrame = r.lastFrame;
      x.respLastTNs = r.lastTNs;
      this.agg.exchange(this.flow, x, true, error);
    }
    if (p === undefined) this.agg.orphanStalls(this.flow, r.stalls);
    // The next response, if any bytes remain, starts in this segment.
    this.resp.restart();
  }

  private fillExchange(
    verb: string,
    bytes: number,
    keyCount: number,
    key: string | undefined,
    firstFrame: number,
    firstTNs: number,
    lastFrame: number,
    segments: number,
    stalls: StallEvent[] | undefined,
  ): void {
    const x = this.x;
    x.verb = verb;
    x.reqBytes = bytes;
    x.keyCount = keyCount;
    x.key = key;
    x.reqFirstFrame = firstFrame;
    x.reqFirstTNs = firstTNs;
    x.reqLastFrame = lastFrame;
    x.reqSegments = segments;
    x.respSegments = 0;
    x.respFirstFrame = 0;
    x.respLastFrame = 0;
    x.respLastTNs = 0;
    x.stalls = stalls;
  }

  private unanswered(p: Pending, quietOk: boolean): void {
    if (!quietOk) this.agg.unanswered++;
    this.fillExchange(p.verb, p.bytes, p.keyCount, p.key, p.firstFrame, p.firstTNs, p.lastFrame, p.segments, p.stalls);
    this.agg.exchange(this.flow, this.x, false, false);
  }

  private shiftPending(): Pending | undefined {
    if (this.pendingHead >= this.pending.length) return undefined;
    const p = this.pending[this.pendingHead++]!;
    if (this.pendingHead > 64 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    return p;
  }

  private takeByOpaque(opaque: number): Pending | undefined {
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      if (this.pending[i]!.opaque !== opaque) continue;
      // Earlier requests got no answer: quiet ones succeeded silently.
      for (let j = this.pendingHead; j < i; j++)
        this.unanswered(this.pending[j]!, this.pending[j]!.reply === REPLY_MAYBE);
      const p = this.pending[i]!;
      this.pending.splice(this.pendingHead, i - this.pendingHead + 1);
      return p;
    }
    return undefined;
  }

  private dropPending(): void {
    for (let i = this.pendingHead; i < this.pending.length; i++)
      this.unanswered(this.pending[i]!, this.pending[i]!.reply === REPLY_MAYBE);
    this.pending.length = 0;
    this.pendingHead = 0;
  }
}

function mergeStalls(a: StallEvent[] | undefined, b: StallEvent[] | undefined): StallEvent[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a.concat(b);
}

/** The first command line at or after `from` (a known verb at a line start), or -1. */
export function findCommandStart(buf: Buffer, from: number, to: number): number {
  let at = from;
  while (at < to) {
    if (looksLikeCommand(buf, at, to)) return at;
    const lf = buf.indexOf(LF, at);
    if (lf < 0 || lf >= to) return -1;
    at = lf + 1;
  }
  return -1;
}

const RESPONSE_STARTS = [
  "VALUE ",
  "END\r",
  "STORED\r",
  "NOT_STORED\r",
  "EXISTS\r",
  "NOT_FOUND\r",
  "DELETED\r",
  "TOUCHED\r",
  "VERSION ",
  "ERROR",
  "CLIENT_ERROR ",
  "SERVER_ERROR",
  "STAT ",
  "OK\r",
  "HD",
  "VA ",
  "EN\r",
  "NF",
  "NS",
  "EX",
  "MN\r",
  "ME ",
].map((s) => Buffer.from(s, "latin1"));

function looksLikeResponse(buf: Buffer, at: number, to: number): boolean {
  outer: for (const w of RESPONSE_STARTS) {
    if (to - at < w.length) continue;
    for (let i = 0; i < w.length; i++) if (buf[at + i] !== w[i]) continue outer;
    return true;
  }
  return false;
}

/** The first response line at or after `from`, or -1. */
export function findResponseStart(buf: Buffer, from: number, to: number): number {
  let at = from;
  while (at < to) {
    if (looksLikeResponse(buf, at, to)) return at;
    const lf = buf.indexOf(LF, at);
    if (lf < 0 || lf >= to) return -1;
    at = lf + 1;
  }
  return -1;
}
