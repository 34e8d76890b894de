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
import { newExchangeRecord, requestRecord, type Aggregator, type ExchangeRecord, type FlowStats } from "./aggregate.js";
import {
  LOSS_DELAY_MIN_NS,
  RTX_FAST,
  RTX_HOLE,
  RTX_ID_GAP,
  RTX_LOST_ACK,
  RTX_PROBE,
  RTX_SPURIOUS,
  RTX_TIMEOUT,
  ZW_FULL,
  ZW_ZERO,
  AttributionRecord,
  addRetransmission,
  addZeroWindow,
  copyAttribution,
  mergeAttribution,
  type Attribution,
} from "./attribution.js";
import { seqAdd, seqLess, seqLessEq } from "./seq.js";
import type { HalfStream, StreamConsumer } from "./reassembly.js";
import type { StallSide } from "./result.js";
import { delayedAckStall, MessageTrack, type StallEvent, type StallRule } from "./stalls.js";

/**
 * A request waiting for its response, with what its transmission cost.
 * Records are reused (SessionScratch's pool): one is taken when a request
 * is complete and given back once its exchange has been handed on.
 */
class Pending extends AttributionRecord {
  verb = "";
  bytes = 0;
  keyCount = 0;
  key: string | undefined = undefined;
  reply = 0;
  opaque = 0;
  firstFrame = 0;
  firstTNs = 0;
  lastFrame = 0;
  /** The last time any of its bytes was sent. */
  lastTNs = 0;
  segments = 0;
  stalls: StallEvent[] | undefined = undefined;
  /** Its bytes' sequence range (the segments that carried it), to match bytes sent again. */
  startSeq = 0;
  lastSeqEnd = 0;
}

/** Free Pending records kept for reuse (a connection with more outstanding makes new ones). */
const MAX_POOLED_PENDING = 4096;
/** Lists of outstanding requests longer than this are not kept for reuse. */
const MAX_POOLED_LIST = 64;

/** Requests awaiting answers per connection; beyond this (a capture missing the server side) the oldest are given up. */
export const MAX_PENDING = 10_000;
/** Bytes of one message held while it is incomplete; memcached's own item limit is 1 MiB by default. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Carry buffers larger than this are not kept for reuse once free. */
const MAX_POOLED_BUFFER_BYTES = 64 * 1024;
const MAX_POOLED = 256;

const MODE_UNKNOWN = 0;
const MODE_TEXT = 1;
const MODE_BINARY = 2;

/**
 * What all sessions of one analysis share: scratch records, and the carry
 * buffers and response parsers that only a connection in the middle of a
 * message needs. A connection between messages holds neither, so an idle
 * connection costs little however many there are.
 */
export class SessionScratch {
  readonly frame = newFrame();
  readonly info = newRequestInfo();
  readonly x: ExchangeRecord = newExchangeRecord();
  /** The session whose server bytes a pooled parser is parsing (parsers call back into it). */
  current: McSession | undefined;
  // The segment being parsed (one at a time), where a message that starts inside it begins.
  segFrame = 0;
  segTNs = 0;
  segSeqEnd = 0;
  private readonly buffers: CarryBuffer[] = [];
  private readonly parsers: ResponseParser[] = [];
  private readonly pending: Pending[] = [];
  private readonly pendingLists: Pending[][] = [];

  takePending(): Pending {
    return this.pending.pop() ?? new Pending();
  }

  /** A request whose exchange has been handed on: its record is free again (it keeps no key or stalls). */
  givePending(p: Pending): void {
    p.key = undefined;
    p.stalls = undefined;
    if (this.pending.length < MAX_POOLED_PENDING) this.pending.push(p);
  }

  /** An empty list for a connection's outstanding requests (one per connection while it has any). */
  takePendingList(): Pending[] {
    return this.pendingLists.pop() ?? [];
  }

  /**
   * A connection's list, its requests handed on. Emptied by pop(), which
   * keeps the list's storage (setting the length to 0 would drop it, and
   * the next request would allocate it again); long lists are not kept.
   */
  givePendingList(list: Pending[]): void {
    if (list.length > MAX_POOLED_LIST || this.pendingLists.length >= MAX_POOLED) return;
    while (list.length > 0) list.pop();
    this.pendingLists.push(list);
  }

  takeBuffer(): CarryBuffer {
    return this.buffers.pop() ?? new CarryBuffer(256);
  }

  giveBuffer(c: CarryBuffer): void {
    c.clear();
    if (this.buffers.length < MAX_POOLED && c.capacityBytes <= MAX_POOLED_BUFFER_BYTES) this.buffers.push(c);
  }

  takeParser(): ResponseParser {
    return (
      this.parsers.pop() ??
      new ResponseParser((res) => this.current!.onTextResponse(res), {
        initialBufferBytes: 256,
        maxValueBytes: MAX_MESSAGE_BYTES,
      })
    );
  }

  giveParser(p: ResponseParser): void {
    p.reset();
    if (this.parsers.length < MAX_POOLED) this.parsers.push(p);
  }
}

/**
 * What one side of a connection sends: requests (the client's half) or
 * responses (the server's). Both halves follow the same life: find a message
 * start (after a capture began mid-connection or bytes went missing), track
 * the segments of the message in progress (the MessageTrack it is), check
 * each continuing segment for the delayed-ACK stall against the peer's pure
 * ACKs, and carry incomplete bytes to the next segment. Fields are made by
 * reset() (`declare`d, as in HalfStream: a number field never starts undefined).
 */
class SessionHalf extends MessageTrack {
  /** Bytes of an incomplete message; taken from the scratch pool only while there are some. */
  input: CarryBuffer | undefined;
  /** A message is in progress: its first segment has been seen, its last has not. */
  declare active: boolean;
  /** Parsing lost its place: skip bytes until something that starts a message. */
  declare resync: boolean;
  /** The place was lost to bytes that cannot be parsed (not to a gap): what is skipped is counted. */
  declare private skipping: boolean;
  /** Bytes of this direction that could not be parsed as memcached. */
  declare unparsedBytes: number;
  /** The other direction, whose pure ACKs release a held segment. */
  declare peer: HalfStream;
  /** This direction's reassembly, which says whether the segment being delivered came late. */
  declare own: HalfStream;

  constructor(
    readonly side: StallSide,
    own: HalfStream,
    peer: HalfStream,
    private readonly scratch: SessionScratch,
    midStream: boolean,
  ) {
    super();
    this.reset(own, peer, midStream);
  }

  /** A new connection's half (a recycled one starts over; it holds no buffer between connections). */
  reset(own: HalfStream, peer: HalfStream, midStream: boolean): void {
    this.own = own;
    this.clear();
    this.input = undefined;
    this.active = false;
    // A capture that starts mid-connection may start mid-message: find a boundary first.
    this.resync = midStream;
    this.skipping = false;
    this.unparsedBytes = 0;
    this.peer = peer;
  }

  /** First byte of a binary-protocol message in this direction. */
  get binaryMagic(): number {
    return this.side === "request" ? BINARY_REQUEST : BINARY_RESPONSE;
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
    const sc = this.scratch;
    sc.segFrame = frame;
    sc.segTNs = tNs;
    sc.segSeqEnd = seqEnd;
    if (this.active) {
      this.continuing(frame, tNs, rule);
      this.more(frame, tNs, seqEnd);
      return from;
    }
    if (this.resync) {
      const at = binary
        ? buf[from] === this.binaryMagic
          ? from
          : -1
        : this.side === "request"
          ? findCommandStart(buf, from, to)
          : findResponseStart(buf, from, to, true);
      if (this.skipping) this.unparsedBytes += (at < 0 ? to : at) - from;
      if (at < 0) return -1;
      from = at;
      this.resync = false;
      this.skipping = false;
    }
    this.begin(frame, tNs, seqEnd, seqAdd(seqEnd, from - to));
    // The first segment came late: it filled a hole (the time is loss, not the peer's).
    if (this.own.lateNs > 0) {
      addRetransmission(this, RTX_HOLE, this.own.lateNs, frame);
      this.leadLossNs = this.own.lateNs;
    }
    this.active = true;
    return from;
  }

  /**
   * A later segment of the message in progress: what held it back? Bytes
   * resent into a hole, bytes lost before the capture (the sender's IPv4 id
   * skipped) after an RTO-sized silence, the peer's delayed ACK (the stall
   * rule), or, with no ACK releasing it, a loss probe carrying a Nagle-held
   * tail after an RTO-sized silence (the peer's ACK was lost).
   */
  private continuing(frame: number, tNs: number, rule: StallRule): void {
    const gap = tNs - this.lastTNs;
    const own = this.own;
    // The receiver's window was shut and has just opened: the window update released this segment,
    // not a delayed ACK (the time is charged to zero-window by onZeroWindow).
    const peer = this.peer;
    if (peer.zeroWindowOpen || peer.zeroWindowEndTNs >= this.lastTNs) return;
    // This direction had filled the peer's window and waited for it to open: the peer was reading slowly.
    if (own.windowWaitNs > 0)
      return addZeroWindow(
        this,
        ZW_FULL,
        this.side === "request" ? 2 : 1,
        own.windowWaitNs,
        own.windowFullFrame,
        frame,
      );
    if (own.lateNs > 0) return addRetransmission(this, RTX_HOLE, own.lateNs, frame);
    if (own.lostBefore > 0 && gap >= LOSS_DELAY_MIN_NS) return addRetransmission(this, RTX_ID_GAP, gap, frame);
    const s = delayedAckStall(this, this.side, frame, tNs, this.peer, rule);
    if (s !== undefined) (this.stalls ??= []).push(s);
    else if (gap >= LOSS_DELAY_MIN_NS && gap >= rule.thresholdNs) addRetransmission(this, RTX_LOST_ACK, gap, frame);
  }

  /** The carry buffer for this segment's bytes (taken from the pool when nothing is carried). */
  buffer(): CarryBuffer {
    return (this.input ??= this.scratch.takeBuffer());
  }

  /** The next message starts inside the segment being parsed. */
  restart(): void {
    const sc = this.scratch;
    this.begin(sc.segFrame, sc.segTNs, sc.segSeqEnd);
  }

  /** Drops what is carried and looks for the next message start; `unparseable` counts what is skipped. */
  resynchronise(unparseable: boolean): void {
    if (this.input !== undefined) {
      if (unparseable) this.unparsedBytes += this.input.available;
      this.scratch.giveBuffer(this.input);
      this.input = undefined;
    }
    this.active = false;
    this.resync = true;
    this.skipping = unparseable;
  }

  /** Bytes are missing: the message in progress is lost, with its stalls counted as orphans. */
  lose(agg: Aggregator, flow: FlowStats): void {
    if (this.active) agg.orphanStalls(flow, this.stalls);
    this.resynchronise(false);
  }

  /** After framing what it could from the buffer: bound what is carried, and note whether a message is in progress. */
  settle(): void {
    const c = this.input;
    if (c === undefined) return;
    if (c.available > MAX_MESSAGE_BYTES) {
      // A length field no real peer sends: stop carrying it and look for the next message.
      this.unparsedBytes += c.available;
      c.clear();
      this.resync = true;
      this.skipping = true;
    }
    c.settle();
    if (c.available === 0) {
      this.active = false;
      this.scratch.giveBuffer(c);
      this.input = undefined;
    }
  }

  /** End of the connection or of the capture: a message in progress never completed. */
  finish(agg: Aggregator, flow: FlowStats): void {
    if (this.active) agg.orphanStalls(flow, this.stalls);
    this.active = false;
    if (this.input !== undefined) {
      this.scratch.giveBuffer(this.input);
      this.input = undefined;
    }
  }
}

/** The exchange record of an outstanding request, as far as its request side goes. */
function pendingRecord(into: ExchangeRecord, p: Pending): ExchangeRecord {
  return requestRecord(into, p.verb, p.bytes, p.keyCount, p.key, p.firstFrame, p.firstTNs, p.lastFrame, p.segments);
}

/** binaryFrame(): the bytes are not a binary message of that kind (the half resynchronised). */
const NOT_BINARY = -2;

/**
 * Length of the binary message (magic `magic`) at the start of the half's
 * input; -1 while it is incomplete, NOT_BINARY after resynchronising on bytes
 * that do not start one.
 */
function binaryFrame(h: SessionHalf, magic: number): number {
  const c = h.input!;
  if (c.buf[c.start] !== magic) {
    h.resynchronise(true);
    return NOT_BINARY;
  }
  return binaryFrameLength(c.buf, c.start, c.end);
}

/**
 * The memcached conversation on one TCP connection. Reassembled bytes of the
 * client side are framed into requests, the server side into responses;
 * responses pair with requests in order (binary: by opaque). Every segment
 * that continues a message is checked for the delayed-ACK stall. Fields
 * are made by reset() (`declare`d, as in HalfStream).
 */
export class McSession implements StreamConsumer {
  declare private mode: number;
  declare private clientDir: 0 | 1;
  declare private flow: FlowStats;
  private readonly req: SessionHalf;
  private readonly resp: SessionHalf;
  /** A text response parser, held only while a response is incomplete. */
  private parser: ResponseParser | undefined;
  private pending: Pending[] | undefined;
  declare private pendingHead: number;
  /** Requests given up at the pending limit whose (in-order) replies are still to come. */
  declare private beyondLimit: number;
  /**
   * The last answered exchange, held until the client acknowledges its
   * response: if the response is resent (lost after the capture point), the
   * exchange really ended then, and the retransmission is its cause.
   */
  private doneRec: ExchangeRecord | undefined;
  declare private done: boolean;
  declare private doneError: boolean;
  declare private doneRespStartSeq: number;
  declare private doneRespEndSeq: number;
  /** Set-up time was charged to the first exchange already. */
  declare private connectCharged: boolean;

  constructor(
    clientDir: 0 | 1,
    halves: [HalfStream, HalfStream],
    flow: FlowStats,
    private readonly agg: Aggregator,
    private readonly rule: StallRule,
    private readonly scratch: SessionScratch,
    midStream: boolean,
  ) {
    const serverDir = clientDir === 0 ? 1 : 0;
    this.req = new SessionHalf("request", halves[clientDir], halves[serverDir], scratch, midStream);
    this.resp = new SessionHalf("response", halves[serverDir], halves[clientDir], scratch, midStream);
    this.reset(clientDir, halves, flow, midStream);
  }

  /** The conversation of a new connection (a recycled session starts over; finish() released what it held). */
  reset(clientDir: 0 | 1, halves: [HalfStream, HalfStream], flow: FlowStats, midStream: boolean): this {
    this.mode = MODE_UNKNOWN;
    this.clientDir = clientDir;
    this.flow = flow;
    const serverDir = clientDir === 0 ? 1 : 0;
    this.req.reset(halves[clientDir], halves[serverDir], midStream);
    this.resp.reset(halves[serverDir], halves[clientDir], midStream);
    this.parser = undefined;
    this.pending = undefined;
    this.pendingHead = 0;
    this.beyondLimit = 0;
    this.done = false;
    this.doneError = false;
    this.doneRespStartSeq = 0;
    this.doneRespEndSeq = 0;
    this.connectCharged = false;
    return this;
  }

  onData(dir: 0 | 1, buf: Buffer, from: number, to: number, frame: number, tNs: number, seqEnd: number): void {
    const h = dir === this.clientDir ? this.req : this.resp;
    const wasActive = h.active;
    from = h.enter(buf, from, to, frame, tNs, seqEnd, this.mode === MODE_BINARY, this.rule);
    if (from < 0) return;
    // A response that starts after an RTO-sized silence, with packets of the server missing before it: its
    // first transmission was lost before the capture point, and the wait was loss, not the server.
    if (!wasActive && h === this.resp && h.own.lostBefore > 0) {
      const p = this.pendingHead < (this.pending?.length ?? 0) ? this.pending![this.pendingHead]! : undefined;
      const wait = p === undefined ? 0 : tNs - p.lastTNs;
      if (wait >= LOSS_DELAY_MIN_NS) {
        addRetransmission(h, RTX_ID_GAP, wait, frame);
        h.leadLossNs += wait;
      }
    }
    if (this.mode === MODE_UNKNOWN) this.mode = buf[from] === h.binaryMagic ? MODE_BINARY : MODE_TEXT;
    if (h === this.req) {
      h.buffer().appendRange(buf, from, to);
      if (this.mode === MODE_BINARY) this.binaryRequests();
      else this.textRequests();
      h.settle();
    } else if (this.mode === MODE_BINARY) {
      h.buffer().appendRange(buf, from, to);
      this.binaryResponses();
      h.settle();
    } else {
      this.textResponses(buf, from, to);
    }
  }

  onGap(dir: 0 | 1): void {
    // Bytes are missing: messages in progress are lost, and so is the pairing of
    // requests with responses (a lost request's response would pair with the next).
    this.flushDone();
    const h = dir === this.clientDir ? this.req : this.resp;
    h.lose(this.agg, this.flow);
    if (h === this.resp) this.releaseParser();
    this.dropPending();
  }

  /** Bytes of `dir` already seen were sent again: charge the time to the message they belong to. */
  onResent(dir: 0 | 1, seq: number, len: number, frame: number, tNs: number, spurious: boolean): void {
    const client = dir === this.clientDir;
    const h = client ? this.req : this.resp;
    // The receiver's state tells the kind: it had the bytes, its window was shut, or it sent duplicate ACKs.
    const receiver = h.peer;
    const kind = spurious
      ? RTX_SPURIOUS
      : receiver.zeroWindowOpen
        ? RTX_PROBE
        : receiver.dupAcks >= 2
          ? RTX_FAST
          : RTX_TIMEOUT;
    const end = seqAdd(seq, len);
    const overlaps = (start: number, stop: number) => seqLess(seq, stop) && seqLess(start, end);
    let target: (Attribution & { lastTNs: number }) | undefined;
    if (h.active && overlaps(h.startSeq, seqAdd(h.lastSeqEnd, 1))) target = h;
    else if (client) target = this.pendingCovering(overlaps);
    else if (this.done && overlaps(this.doneRespStartSeq, this.doneRespEndSeq)) {
      // The response was resent after it was complete here: it was lost after the capture point.
      const x = this.doneRec!;
      if (kind !== RTX_SPURIOUS && kind !== RTX_PROBE) {
        addRetransmission(x, kind, tNs - x.respLastTNs, frame);
        x.respLastTNs = tNs;
        x.respLastFrame = frame;
      } else {
        if (kind === RTX_PROBE) x.zwProbes++;
        addRetransmission(x, kind, 0, frame);
      }
      return;
    }
    if (target === undefined) return;
    // Resent bytes the receiver had, or probes of a shut window, cost nothing of their own.
    if (kind === RTX_PROBE) target.zwProbes++;
    if (kind === RTX_SPURIOUS || kind === RTX_PROBE) return addRetransmission(target, kind, 0, frame);
    addRetransmission(target, kind, tNs - target.lastTNs, frame);
    target.lastTNs = tNs;
  }

  /** `dir` advertised a zero window: the other direction's message waited on it. */
  onZeroWindow(dir: 0 | 1, sinceTNs: number, untilTNs: number, sinceFrame: number, untilFrame: number): void {
    const readerIsClient = dir === this.clientDir;
    const blocked = readerIsClient ? this.resp : this.req;
    let target: (Attribution & { startTNs?: number; firstTNs?: number }) | undefined;
    if (blocked.active) target = blocked;
    else if (readerIsClient && this.done && this.doneRec!.respLastTNs >= sinceTNs) target = this.doneRec;
    else if (this.pending !== undefined && this.pendingHead < this.pending.length)
      target = this.pending[this.pendingHead];
    if (target === undefined) return;
    const from = Math.max(sinceTNs, target.startTNs ?? target.firstTNs ?? sinceTNs);
    addZeroWindow(target, ZW_ZERO, readerIsClient ? 1 : 2, untilTNs - from, sinceFrame, untilFrame);
  }

  /** `dir` probed the peer's shut window: counted on the message that waits on it. */
  onProbe(dir: 0 | 1, frame: number): void {
    const h = dir === this.clientDir ? this.req : this.resp;
    if (!h.peer.zeroWindowOpen) return; // a keep-alive, not a probe
    const target = h.active ? h : dir === this.clientDir ? undefined : this.done ? this.doneRec : undefined;
    if (target === undefined) return;
    target.zwProbes++;
    addRetransmission(target, RTX_PROBE, 0, frame);
  }

  /** The client acknowledged the server's bytes up to `ack`: a held exchange whose response it covers is final. */
  onAcked(dir: 0 | 1, ack: number): void {
    if (this.done && dir !== this.clientDir && seqLessEq(this.doneRespEndSeq, ack)) this.flushDone();
  }

  private pendingCovering(overlaps: (start: number, stop: number) => boolean): Pending | undefined {
    const pending = this.pending;
    if (pending === undefined) return undefined;
    for (let i = pending.length - 1; i >= this.pendingHead; i--) {
      const p = pending[i]!;
      if (overlaps(p.startSeq, p.lastSeqEnd)) return p;
    }
    return undefined;
  }

  private flushDone(): void {
    if (!this.done) return;
    this.done = false;
    this.agg.exchange(this.flow, this.doneRec!, true, this.doneError);
  }

  /** End of the connection or of the capture. */
  finish(): void {
    this.flushDone();
    this.req.finish(this.agg, this.flow);
    this.resp.finish(this.agg, this.flow);
    this.releaseParser();
    this.dropPending();
    this.agg.unparsed(this.flow, this.req.unparsedBytes, this.resp.unparsedBytes);
  }

  // ---- client → server ----

  private textRequests(): void {
    const h = this.req;
    const c = h.input!;
    const f = this.scratch.frame;
    const info = this.scratch.info;
    while (c.start < c.end) {
      const at = c.start;
      const next = frameCommand(c.buf, at, c.end, f);
      if (next === FRAME_INCOMPLETE) return;
      if (next === FRAME_TOO_LONG) {
        // Not memcached text any more (or bytes we cannot follow): look for the next command line.
        h.resynchronise(true);
        return;
      }
      const end = next === FRAME_MALFORMED ? f.next : next;
      classifyRequest(c.buf, at, f, info);
      const key =
        this.agg.opts.showKeys && info.keyAt >= 0 ? c.buf.toString("latin1", info.keyAt, info.keyEnd) : undefined;
      this.request(info.verb, end - at, info.keyCount, key, info.reply, 0);
      c.consume(end - at);
      if (c.start < c.end) h.restart(); // the next request starts in this segment
    }
  }

  private binaryRequests(): void {
    const h = this.req;
    const c = h.input!;
    while (c.start < c.end) {
      const at = c.start;
      const buf = c.buf;
      const len = binaryFrame(h, BINARY_REQUEST);
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
    const r = this.req;
    if (reply === REPLY_NONE) {
      this.agg.noreply++;
      const x = requestRecord(
        this.scratch.x,
        verb,
        bytes,
        keyCount,
        key,
        r.startFrame,
        r.startTNs,
        r.lastFrame,
        r.segments,
      );
      x.stalls = r.stalls;
      this.agg.exchange(this.flow, x, false, false);
      r.stalls = undefined;
      return;
    }
    const pending = (this.pending ??= this.scratch.takePendingList());
    const p = this.scratch.takePending();
    p.verb = verb;
    p.bytes = bytes;
    p.keyCount = keyCount;
    p.key = key;
    p.reply = reply;
    p.opaque = opaque;
    p.firstFrame = r.startFrame;
    p.firstTNs = r.startTNs;
    p.lastFrame = r.lastFrame;
    p.lastTNs = r.lastTNs;
    p.segments = r.segments;
    p.stalls = r.stalls;
    p.startSeq = r.startSeq;
    p.lastSeqEnd = r.lastSeqEnd;
    copyAttribution(p, r);
    pending.push(p);
    r.stalls = undefined;
    if (pending.length - this.pendingHead > MAX_PENDING) {
      // Too many outstanding: give the oldest up. Text replies come in order, so its reply
      // (the next to arrive) is recognised and skipped instead of being paired with a later request.
      const p = this.shiftPending()!;
      if (this.mode === MODE_TEXT) this.beyondLimit++;
      this.agg.beyondPendingLimit(this.flow);
      this.recordUnanswered(p);
    }
  }

  // ---- server → client ----

  private textResponses(buf: Buffer, from: number, to: number): void {
    const h = this.resp;
    const p = (this.parser ??= this.scratch.takeParser());
    this.scratch.current = this;
    p.pushRange(buf, from, to);
    if (p.failed) {
      // Bytes that are not memcached responses: resynchronise at the next response line.
      h.unparsedBytes += p.failedBytes;
      this.releaseParser();
      h.resynchronise(true);
      this.dropPending();
      return;
    }
    if (!p.midResponse) {
      h.active = false;
      this.releaseParser();
    }
  }

  /** A complete text response (called by the parser this session holds). */
  onTextResponse(res: ParsedResponse): void {
    if (res.kind === "protocol_error") return;
    if (this.beyondLimit > 0) {
      // The reply to a request given up at the pending limit: counted, never paired with a later request.
      this.beyondLimit--;
      this.agg.untimedResponses++;
      this.resp.restart();
      return;
    }
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
    const c = h.input!;
    while (c.start < c.end) {
      const at = c.start;
      const buf = c.buf;
      const len = binaryFrame(h, BINARY_RESPONSE);
      if (len === NOT_BINARY) this.dropPending();
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
    const r = this.resp;
    this.flushDone();
    if (p === undefined) {
      this.agg.unpairedResponses++;
      this.agg.orphanStalls(this.flow, r.stalls);
    } else {
      const x = pendingRecord((this.doneRec ??= newExchangeRecord()), p);
      x.stalls = mergeStalls(p.stalls, r.stalls);
      x.reqLastTNs = p.lastTNs;
      x.respSegments = r.segments;
      x.respFirstFrame = r.startFrame;
      x.respFirstTNs = r.startTNs;
      x.respLastFrame = r.lastFrame;
      x.respLastTNs = r.lastTNs;
      copyAttribution(x, p);
      mergeAttribution(x, r);
      x.serverLossNs = r.leadLossNs;
      if (!this.connectCharged) this.chargeConnect(x);
      this.done = true;
      this.doneError = error;
      this.doneRespStartSeq = r.startSeq;
      this.doneRespEndSeq = r.lastSeqEnd;
      this.scratch.givePending(p);
    }
    // The next response, if any bytes remain, starts in this segment.
    this.resp.restart();
  }

  /**
   * The first exchange of a connection whose SYN or SYN/ACK was resent
   * carries the set-up time (the client waited for it before sending).
   */
  private chargeConnect(x: ExchangeRecord): void {
    this.connectCharged = true;
    const client = this.req.own;
    const server = this.resp.own;
    if (client.synCount <= 1 && server.synCount <= 1) return;
    if (client.synCount === 0 || client.afterSynFrame === 0) return;
    x.connectNs = client.afterSynTNs - client.firstSynTNs;
    x.connectFrame = client.firstSynFrame;
    x.connectRetryFrame = Math.max(client.lastSynFrame, server.lastSynFrame);
    x.connectDoneFrame = client.afterSynFrame;
  }

  private unanswered(p: Pending, quietOk: boolean): void {
    if (!quietOk) this.agg.unanswered++;
    this.recordUnanswered(p);
  }

  /** The exchange of a request that got no reply (the caller counts why). */
  private recordUnanswered(p: Pending): void {
    const x = pendingRecord(this.scratch.x, p);
    x.stalls = p.stalls;
    this.agg.exchange(this.flow, x, false, false);
    this.scratch.givePending(p);
  }

  private shiftPending(): Pending | undefined {
    const pending = this.pending;
    if (pending === undefined || this.pendingHead >= pending.length) return undefined;
    const p = pending[this.pendingHead++]!;
    if (this.pendingHead === pending.length) {
      // Nothing outstanding: an idle connection keeps no array.
      this.releasePending();
    } else if (this.pendingHead > 64 && this.pendingHead * 2 > pending.length) {
      pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    return p;
  }

  private takeByOpaque(opaque: number): Pending | undefined {
    const pending = this.pending;
    if (pending === undefined) return undefined;
    for (let i = this.pendingHead; i < pending.length; i++) {
      if (pending[i]!.opaque !== opaque) continue;
      // Earlier requests got no answer: quiet ones succeeded silently.
      for (let j = this.pendingHead; j < i; j++) this.unanswered(pending[j]!, pending[j]!.reply === REPLY_MAYBE);
      const p = pending[i]!;
      pending.splice(this.pendingHead, i - this.pendingHead + 1);
      if (pending.length === this.pendingHead) this.releasePending();
      return p;
    }
    return undefined;
  }

  private dropPending(): void {
    this.beyondLimit = 0;
    const pending = this.pending;
    if (pending === undefined) return;
    const head = this.pendingHead;
    this.pending = undefined;
    this.pendingHead = 0;
    for (let i = head; i < pending.length; i++) this.unanswered(pending[i]!, pending[i]!.reply === REPLY_MAYBE);
    this.scratch.givePendingList(pending);
  }

  /** Nothing is outstanding any more: the array goes back to the pool. */
  private releasePending(): void {
    const pending = this.pending;
    this.pending = undefined;
    this.pendingHead = 0;
    if (pending !== undefined) this.scratch.givePendingList(pending);
  }

  private releaseParser(): void {
    if (this.parser === undefined) return;
    this.scratch.giveParser(this.parser);
    this.parser = undefined;
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

/** incr/decr answer with the new value alone on its line: up to 20 digits (a 64-bit counter). */
function isNumberLine(buf: Buffer, at: number, to: number): boolean {
  let i = at;
  while (i < to && i - at <= 20 && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  return i > at && i + 1 < to && buf[i] === 0x0d && buf[i + 1] === LF;
}

function looksLikeResponse(buf: Buffer, at: number, to: number, numbers: boolean): boolean {
  outer: for (const w of RESPONSE_STARTS) {
    if (to - at < w.length) continue;
    for (let i = 0; i < w.length; i++) if (buf[at + i] !== w[i]) continue outer;
    return true;
  }
  return numbers && isNumberLine(buf, at, to);
}

/**
 * The first response line at or after `from`, or -1. With `numbers`, a line
 * of digits (an incr/decr answer) counts too: right for a connection already
 * known to be memcached, too loose to tell memcached from other protocols.
 */
export function findResponseStart(buf: Buffer, from: number, to: number, numbers = false): number {
  let at = from;
  while (at < to) {
    if (looksLikeResponse(buf, at, to, numbers)) return at;
    const lf = buf.indexOf(LF, at);
    if (lf < 0 || lf >= to) return -1;
    at = lf + 1;
  }
  return -1;
}
