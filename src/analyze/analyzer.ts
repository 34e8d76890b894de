import { looksLikeCommand } from "../protocol/verbs.js";
import { BINARY_REQUEST, BINARY_RESPONSE } from "../protocol/binary.js";
import { McdiagError } from "../util/errors.js";
import { Aggregator, FlowStats, OTHER_SERVERS, sortFlows, wireSummary, type ExchangeRecord } from "./aggregate.js";
import type { Histogram } from "../metrics/histogram.js";
import { encodeHistogram } from "../results/histogram-codec.js";
import { CaptureReader } from "./capture.js";
import { Decoded, TCP_ACK, TCP_RST, TCP_SYN, decodePacket, newTcpPacket, type TcpPacket } from "./decode.js";
import { Conn, FlowTable, KIND_MEMCACHED, KIND_OTHER, KIND_UNKNOWN, PROTO_TCP, PROTO_UDP } from "./flows.js";
import { newCaptureInfo, noteLinkType, type CaptureInfo, type CapturedPacket, type PacketSink } from "./packet.js";
import { OVERLAP_SLACK_NS, captureFiles, orderByFirstPacket } from "./capture-set.js";
import { statSync } from "node:fs";
import type { StreamConsumer } from "./reassembly.js";
import type { AnalysisHistograms, AnalysisResult, CaptureFilePart, CauseSummary } from "./result.js";
import type { Cause } from "./causes.js";
import { exchangeTimeline } from "./exchange-timeline.js";
import type { Timeline } from "../metrics/timeline.js";
import { END_MAJOR, KeyedTimeline, type FlowShare, type KeyClock, type OrderKey, type ShareRecord } from "./share.js";

import { PacketLog } from "./packet-log.js";
import { MAX_PENDING, McSession, SessionScratch, findResponseStart } from "./session.js";
import { SourceDamaged, openSource, type ByteSource } from "./source.js";
import { UdpSession, looksLikeUdpRequest, looksLikeUdpResponse } from "./udp.js";
import { msFromNs, round } from "../util/round.js";

export interface AnalyzeOptions {
  /**
   * A file path, "-" for stdin, or several files and directories: read as one
   * continuous capture (a ring buffer), each file through its own reader, in
   * the order of their first packets; frames number on across them.
   */
  input: string | readonly string[];
  /** Server ports; 11211 is always included. */
  ports: number[];
  stallThresholdMs: number;
  /** How soon after the peer's pure ACK the held segment must leave. */
  ackWindowMs: number;
  /** An exchange at least this long (ms) is slow and is given a cause. */
  slowMs?: number;
  showKeys: boolean;
  top: number;
  /** Stall items listed in the result; the rest are counted. */
  maxItems: number;
  /** A flow silent this long (capture time) is finished and forgotten. */
  idleTimeoutMs?: number;
  /** Flows open at once; beyond this the least recently active is finished and forgotten. */
  maxFlows?: number;
  /** Stops the analysis: the result covers the packets read so far, marked interrupted. */
  signal?: AbortSignal;
  onProgress?: (p: AnalyzeProgress) => void;
  /**
   * Sees every exchange as it completes (valid only during the call): for
   * `check --capture`, not part of the library's API.
   * @internal
   */
  onExchange?: (flow: FlowStats, x: ExchangeRecord) => void;
  /**
   * A worker's share of the flows: the analysis is handed only its packets
   * and keeps what the merge needs (see share.ts).
   * @internal
   */
  share?: FlowShare;
}

export interface AnalyzeProgress {
  bytesRead: number;
  totalBytes: number | undefined;
  packets: number;
}

export const ANALYZE_DEFAULTS = {
  ports: [11211],
  stallThresholdMs: 30,
  ackWindowMs: 1,
  slowMs: 20,
  showKeys: false,
  top: 10,
  maxItems: 1000,
  idleTimeoutMs: 5 * 60_000,
  maxFlows: 50_000,
};

const NOOP: StreamConsumer = { onData() {}, onGap() {} };
const DAY_NS = 86_400e9;
/** Payload packets a flow with no handshake and no known port gets before it is called another protocol. */
const UNKNOWN_TRIES = 4;

/** Nanoseconds per tick of a resolution as readers name it ("us", "ns", "ms", "s", "10^-4 s", "2^-20 s"). */
function resolutionOf(name: string): number {
  const first = name.split(",").map((r) => {
    if (r === "ns") return 1;
    if (r === "us") return 1e3;
    if (r === "ms") return 1e6;
    if (r === "s") return 1e9;
    const m = /^(10|2)\^-(\d+) s$/.exec(r);
    return m ? 1e9 / Number(m[1]) ** Number(m[2]) : 1e3;
  });
  return Math.max(...first);
}

/**
 * capture file → packets → TCP segments → flows (reassembled) → memcached
 * exchanges → stall findings. Streams the file: memory follows the flows
 * open at once (bounded by `maxFlows`), not the file size.
 *
 * Errors: an unreadable or unrecognisable input is McdiagError BAD_INPUT; a
 * file cut short or damaged part-way is analysed up to the damage, with a
 * warning. Anything else thrown is a bug and propagates as it is.
 */
export async function analyzeCapture(opts: AnalyzeOptions): Promise<AnalysisResult> {
  return (await run(new Analysis(opts))).result;
}

/**
 * Like analyzeCapture, but several files that turn out not to follow one
 * another in time throw NotOneSequence rather than being read as one.
 * @internal
 */
export async function analyzeSequence(opts: AnalyzeOptions): Promise<AnalysisResult> {
  return (await run(new Analysis(opts), true)).result;
}

/**
 * A file of a set begins more than OVERLAP_SLACK_NS before the one read
 * before it ends: the files are separate captures (taken at once on several
 * hosts), not one capture cut in sequence.
 */
export class NotOneSequence extends Error {}

async function run(
  analysis: Analysis,
  stopOnOverlap = false,
): Promise<{ result: AnalysisResult; facts: WarningFacts }> {
  const read = await readCapture(analysis.opts, analysis, stopOnOverlap);
  const done = analysis.finish(read.name, read.info, read.interrupted);
  if (read.parts !== undefined) done.result.files = read.parts;
  return done;
}

/** A packet sink that knows the latest packet time it was given (ns on the capture's time line). */
export interface TimedSink extends PacketSink {
  readonly lastTNs: number;
}

/** What reading a capture (one file, or a set read as one) told beside its packets. */
export interface CaptureRead {
  name: string;
  info: CaptureInfo;
  /** Several files: where each one's frames sit. */
  parts?: CaptureFilePart[];
  interrupted: boolean;
}

/**
 * Streams the input's packets into `sink`: one file, or several files (a
 * directory) as one continuous capture in the order of their first packets,
 * each through its own reader, times placed on one time line and frames
 * numbered on. Files that overlap in time are read on with a
 * warning, or, with `stopOnOverlap` and by more than a second, throw
 * NotOneSequence.
 */
export async function readCapture(opts: AnalyzeOptions, sink: TimedSink, stopOnOverlap = false): Promise<CaptureRead> {
  const inputs = typeof opts.input === "string" ? [opts.input] : opts.input;
  if (inputs.length === 0) throw new McdiagError("BAD_OPTION", "no capture file given");
  const signal = opts.signal;
  if (inputs.length === 1 && statIsFile(inputs[0]!)) {
    const source = openSource(inputs[0]!);
    const reader = new CaptureReader(sink, source.name);
    const interrupted = await readAll(source, reader, opts);
    return { name: source.name, info: reader.info, interrupted };
  }
  // Several files (or a directory): one continuous capture in time order.
  const files = await orderByFirstPacket(captureFiles(inputs), signal);
  const base = files[0]?.firstPacketEpochNs;
  const info = newCaptureInfo();
  const parts: CaptureFilePart[] = [];
  const totalBytes = files.reduce((sum, f) => sum + sizeOf(f.path), 0);
  let doneBytes = 0;
  for (const f of files) {
    if (signal?.aborted) break;
    const offsetNs = f.firstPacketEpochNs === undefined || base === undefined ? 0 : Number(f.firstPacketEpochNs - base);
    if (info.packets > 0 && f.firstPacketEpochNs !== undefined && offsetNs < sink.lastTNs) {
      if (stopOnOverlap && offsetNs + OVERLAP_SLACK_NS < sink.lastTNs) throw new NotOneSequence(f.path);
      info.warnings.push(
        `${f.path} begins before the file read before it ends: the files are read one after another as one capture, ` +
          "so they overlap in time (for captures taken at once on several hosts, analyse each and use mcdiag merge)",
      );
    }
    const source = openSource(f.path);
    const reader = new CaptureReader(shiftedSink(sink, offsetNs, info.packets), source.name);
    await readAll(source, reader, opts, { frameBase: info.packets, doneBytes, totalBytes });
    doneBytes += sizeOf(f.path);
    parts.push({ file: source.name, firstFrame: info.packets + 1, frames: reader.info.packets });
    joinInfo(info, reader.info);
  }
  const name = parts.length === 1 ? parts[0]!.file : `${parts.length} files (${inputs.join(", ")})`;
  return { name, info, parts, interrupted: signal?.aborted === true };
}

/**
 * Places one file of a set on the set's time line: its packets' times move
 * by `offsetNs` and its frames number on from `frameBase`. The reader's
 * scratch record is shifted for the call and restored after, so a reader that
 * keeps a field from one packet to the next (pcapng without a timestamp) is
 * unaffected.
 */
function shiftedSink(analysis: PacketSink, offsetNs: number, frameBase: number): PacketSink {
  return {
    onPacket(pk) {
      const tNs = pk.tNs;
      const frame = pk.frame;
      pk.tNs = tNs + offsetNs;
      pk.frame = frame + frameBase;
      analysis.onPacket(pk);
      pk.tNs = tNs;
      pk.frame = frame;
    },
  };
}

function statIsFile(path: string): boolean {
  if (path === "-") return true;
  try {
    return !statSync(path).isDirectory();
  } catch {
    return true; // missing: openSource names it
  }
}

/** A file's size in bytes (0 when it cannot be read: opening it says why). */
export function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Adds one file's capture info to the set's. */
function joinInfo(into: CaptureInfo, f: CaptureInfo): void {
  into.format ??= f.format;
  for (const l of f.linkTypes) noteLinkType(into, l);
  if (f.timestampResolution !== undefined) {
    const have = into.timestampResolution?.split(",") ?? [];
    for (const r of f.timestampResolution.split(",")) if (!have.includes(r)) have.push(r);
    into.timestampResolution = have.join(",");
  }
  into.packets += f.packets;
  into.truncatedPackets += f.truncatedPackets;
  if (into.firstPacketEpochSec === undefined) {
    into.firstPacketEpochSec = f.firstPacketEpochSec;
    into.firstPacketEpochNs = f.firstPacketEpochNs;
  }
  into.warnings.push(...f.warnings);
}

/** One file only (compare's sections read the capture of one run). */
function singleInput(input: string | readonly string[]): string {
  if (typeof input === "string") return input;
  if (input.length !== 1) throw new McdiagError("BAD_OPTION", "one capture file expected");
  return input[0]!;
}

/**
 * Like analyzeCapture, but the capture is cut in time into sections, each
 * analysed on its own: section i holds the packets up to `endsEpochMs[i]`
 * (wall clock, ms), the last one also what follows. Frame numbers and times
 * stay those of the whole file. For a run made of phases one after another
 * (compare's write patterns), each phase gets its own findings.
 */
export async function analyzeCaptureSections(opts: AnalyzeOptions, endsEpochMs: number[]): Promise<AnalysisResult[]> {
  const source = openSource(singleInput(opts.input));
  const sections = endsEpochMs.map(() => new Analysis(opts));
  const packets = sections.map(() => 0);
  let i = 0;
  const reader: CaptureReader = new CaptureReader(
    {
      onPacket(pk) {
        const atMs = (reader.info.firstPacketEpochSec ?? 0) * 1000 + pk.tNs / 1e6;
        while (i < sections.length - 1 && atMs > endsEpochMs[i]!) i++;
        packets[i]!++;
        sections[i]!.onPacket(pk);
      },
    },
    source.name,
  );
  const interrupted = await readAll(source, reader, opts);
  return sections.map(
    (a, k) =>
      a.finish(source.name, { ...reader.info, packets: packets[k]!, warnings: [...reader.info.warnings] }, interrupted)
        .result,
  );
}

/**
 * Streams the source through the reader; true when the signal stopped it.
 * `set`: where this file sits in a set of files, for progress over the set.
 */
async function readAll(
  source: ByteSource,
  reader: CaptureReader,
  opts: AnalyzeOptions,
  set?: { frameBase: number; doneBytes: number; totalBytes: number },
): Promise<boolean> {
  const signal = opts.signal;
  const stop = () => source.close();
  signal?.addEventListener("abort", stop, { once: true });
  let chunks = 0;
  let complete = false;
  try {
    const it = source.chunks[Symbol.asyncIterator]();
    for (;;) {
      if (signal?.aborted) break;
      let next: IteratorResult<Buffer>;
      try {
        next = await it.next();
      } catch (err) {
        if (signal?.aborted) break;
        if (!(err instanceof SourceDamaged)) throw err;
        // Compressed data cut short or damaged: what came before it stands, as for a plain file cut short.
        if (reader.info.format === undefined)
          throw new McdiagError("BAD_INPUT", `${err.message}, before any capture data`, { file: source.name });
        reader.info.warnings.push(`${err.message}; analysed the ${reader.info.packets} packets before it`);
        break;
      }
      if (next.done) {
        complete = true;
        break;
      }
      reader.push(next.value);
      if (opts.onProgress && ++chunks % 16 === 0) {
        opts.onProgress({
          bytesRead: (set?.doneBytes ?? 0) + source.readBytes(),
          totalBytes: set?.totalBytes ?? source.sizeBytes,
          packets: (set?.frameBase ?? 0) + reader.info.packets,
        });
      }
    }
    if (complete && !signal?.aborted) reader.end();
  } finally {
    signal?.removeEventListener("abort", stop);
    source.close();
  }
  return signal?.aborted === true;
}

/**
 * The packet sink: decodes, tracks flows, feeds sessions. With a share (a
 * worker of a parallel analysis) it is handed the packets of its own flows
 * (`onPacket`) and only the times of the others (`passPacket`).
 * @internal
 */
export class Analysis implements PacketSink {
  private readonly tcp = newTcpPacket();
  private readonly table = new FlowTable();
  private readonly agg: Aggregator;
  private readonly scratch = new SessionScratch();
  private readonly ports: Set<number>;
  private readonly rule;
  private readonly idleNs: number;
  private readonly maxFlows: number;
  private readonly decode = {
    tcp: 0,
    udp: 0,
    notIp: 0,
    notTcp: 0,
    ipFragments: 0,
    truncated: 0,
    malformed: 0,
    unknownLinkType: 0,
  };
  private unknownLinks = new Set<number>();
  private memcachedFlows = 0;
  private udpFlows = 0;
  private retransmissions = 0;
  private gaps = 0;
  private minTNs = 0;
  private maxTNs = 0;
  /** Capture time for idle eviction: it never runs back, and one wild timestamp does not move it. */
  private clockNs = 0;
  private jumpTNs = Number.NaN;
  /** Packets more than a second earlier than the latest time, or a day later (a clock step, a damaged timestamp). */
  private timeAnomalies = 0;
  /** Packets whose captured bytes stop short of the IP packet's own length (snaplen). */
  private snaplenCut = 0;
  private evictedIdle = 0;
  private evictedLimit = 0;
  private udpIncomplete = 0;
  /** Data packets from memcached servers: none at all means a one-direction capture. */
  private serverDataPackets = 0;
  private readonly packetLog = new PacketLog();
  private readonly timeline: Timeline;
  /** The order key of the moment (see share.ts). */
  private readonly clock: KeyClock = { major: 0, minor: 0 };
  private readonly share: FlowShare | undefined;
  /** With a share: each row's order key, and each flow's first frame by flow number − 1. */
  private readonly rowKeys = new WeakMap<object, OrderKey>();
  private readonly flowFirstFrames: number[] = [];

  constructor(readonly opts: AnalyzeOptions) {
    this.share = opts.share;
    this.timeline = this.share === undefined ? exchangeTimeline() : new KeyedTimeline(this.clock);
    this.ports = new Set([11211, ...opts.ports]);
    this.rule = { thresholdNs: opts.stallThresholdMs * 1e6, ackWindowNs: opts.ackWindowMs * 1e6 };
    this.idleNs = (opts.idleTimeoutMs ?? ANALYZE_DEFAULTS.idleTimeoutMs) * 1e6;
    this.maxFlows = Math.max(1, opts.maxFlows ?? ANALYZE_DEFAULTS.maxFlows);
    this.agg = new Aggregator({
      top: opts.top,
      maxItems: opts.maxItems,
      showKeys: opts.showKeys,
      onExchange: opts.onExchange,
      slowMs: opts.slowMs ?? ANALYZE_DEFAULTS.slowMs,
      packetsOf: (flow, first, last) => this.packetLog.collect(flow, first, last),
      timeline: this.timeline,
      stamp:
        this.share === undefined ? undefined : (row) => this.rowKeys.set(row, [this.clock.major, this.clock.minor]),
    });
  }

  /** Every packet moves the clock and, after it, finishes idle flows. */
  onPacket(pk: CapturedPacket): void {
    this.tick(pk.tNs);
    const frame = pk.frame;
    this.clock.major = frame * 2;
    this.clock.minor = 0;
    this.packet(pk, decodePacket(pk.linkType, pk.data, pk.offset, pk.capLen, this.tcp));
    if (this.share !== undefined) {
      for (let id = this.flowFirstFrames.length; id < this.table.flowsSeen; id++) this.flowFirstFrames.push(frame);
    }
    this.clock.major = frame * 2 + 1;
    this.expire();
  }

  /** A packet of another share's flow: only its time counts here, as every packet's does. */
  passPacket(frame: number, tNs: number): void {
    this.tick(tNs);
    this.clock.major = frame * 2 + 1;
    this.clock.minor = 0;
    this.expire();
  }

  private packet(pk: CapturedPacket, status: Decoded): void {
    const p = this.tcp;
    if (status === Decoded.Tcp || status === Decoded.Udp) {
      // Snaplen cut the payload. (orig_len above caplen alone is not that: Ethernet padding and FCS.)
      if (p.capturedPayload < p.payloadLen) this.snaplenCut++;
    } else if (status === Decoded.Truncated && pk.origLen > pk.capLen) {
      this.snaplenCut++;
    }
    if (status === Decoded.Udp) return this.datagram(pk, p);
    if (status !== Decoded.Tcp) return this.countDecode(status, pk.linkType);
    this.decode.tcp++;
    const flags = p.flags;
    const syn = (flags & TCP_SYN) !== 0;
    let conn = this.table.lookup(p, pk.data, syn || p.payloadLen > 0, PROTO_TCP);
    if (conn === undefined) return;
    let dir = this.table.dir;
    if (syn && (flags & TCP_ACK) === 0 && conn.existingHalves().some((h) => h.finished)) {
      // A new connection on the same 4-tuple (port reuse): the old one is over.
      this.close(conn);
      conn = this.table.lookup(p, pk.data, true, PROTO_TCP)!;
      dir = this.table.dir;
    }
    this.touch(conn, pk.frame);
    if (conn.kind === KIND_OTHER) return;
    if (conn.kind === KIND_UNKNOWN) {
      if (syn) conn.clientDir = (flags & TCP_ACK) === 0 ? dir : dir === 0 ? 1 : 0;
      if (p.payloadLen > 0 && p.capturedPayload > 0)
        this.classify(conn, dir, pk.data, p.payloadAt, p.payloadAt + p.capturedPayload);
      if ((conn.kind as number) === KIND_OTHER) return;
    }
    if (p.payloadLen > 0 && conn.kind === KIND_MEMCACHED && dir !== conn.clientDir) this.serverDataPackets++;
    this.packetLog.record(conn.id, pk.frame, pk.tNs, dir === conn.clientDir, flags, p.seq, p.payloadLen);
    const consumer = conn.session ?? NOOP;
    const half = conn.half(dir);
    if ((flags & TCP_ACK) !== 0) {
      const other = conn.half(dir === 0 ? 1 : 0);
      other.onPeerAck(p.ack, consumer);
      if ((flags & (TCP_SYN | TCP_RST)) === 0) other.onPeerWindow(p.ack, p.window, half, pk.tNs);
    }
    half.onSegment(p, pk.data, pk.frame, pk.tNs, consumer);
    if ((flags & TCP_RST) !== 0 || (half.finished && conn.half(dir === 0 ? 1 : 0).finished)) this.close(conn);
  }

  /**
   * Moves the eviction clock. A time more than a day ahead moves it only
   * when the next packet confirms it (a real gap in the capture), so one
   * damaged timestamp cannot make every flow look idle.
   */
  private tick(t: number): void {
    if (t < this.minTNs) this.minTNs = t;
    if (t > this.maxTNs) this.maxTNs = t;
    const clock = this.clockNs;
    if (t > clock + DAY_NS) {
      if (t >= this.jumpTNs && t - this.jumpTNs < DAY_NS) this.clockNs = t;
      else this.timeAnomalies++;
      this.jumpTNs = t;
      return;
    }
    this.jumpTNs = Number.NaN;
    if (t > clock) this.clockNs = t;
    else if (t < clock - 1e9) this.timeAnomalies++;
  }

  private touch(conn: Conn, frame: number): void {
    conn.lastTNs = this.clockNs;
    conn.lastFrame = frame;
    this.table.touch(conn);
  }

  /**
   * Finishes flows silent for longer than the idle timeout (capture time),
   * and the least recently active ones while more than `maxFlows` are open,
   * so memory follows the flows open at once.
   */
  private expire(): void {
    const now = this.clockNs;
    const t = this.table;
    for (let c = t.oldest; c !== undefined; c = t.oldest) {
      if (now - c.lastTNs > this.idleNs) this.evictedIdle++;
      else if (t.size > this.maxFlows) this.evictedLimit++;
      else return;
      this.clock.minor = c.lastFrame;
      this.close(c);
    }
  }

  /** memcached over UDP: flows are made only for datagrams that look like memcached. */
  private datagram(pk: CapturedPacket, p: TcpPacket): void {
    this.decode.udp++;
    if (p.capturedPayload < p.payloadLen) return;
    const buf = pk.data;
    const at = p.payloadAt;
    const end = at + p.payloadLen;
    let conn = this.table.lookup(p, buf, false, PROTO_UDP);
    let dir = this.table.dir;
    if (conn === undefined) {
      const toServer = this.ports.has(p.dstPort);
      const fromServer = this.ports.has(p.srcPort);
      const request = looksLikeUdpRequest(buf, at, end);
      const response = !request && looksLikeUdpResponse(buf, at, end);
      // The port says which side serves when it can; the content decides otherwise.
      const clientSends = toServer && !fromServer ? request : fromServer && !toServer ? !response && request : request;
      if (!request && !response) return;
      conn = this.table.lookup(p, buf, true, PROTO_UDP)!;
      dir = this.table.dir;
      const clientDir: 0 | 1 = clientSends ? dir : dir === 0 ? 1 : 0;
      conn.kind = KIND_MEMCACHED;
      conn.clientDir = clientDir;
      this.memcachedFlows++;
      this.udpFlows++;
      const stats = this.newFlowStats(conn, clientDir, "udp");
      conn.udp = new UdpSession(clientDir, stats, this.agg, this.scratch);
    }
    this.touch(conn, pk.frame);
    if (dir !== conn.clientDir) this.serverDataPackets++;
    conn.udp?.onDatagram(dir, buf, at, end, pk.frame, pk.tNs);
  }

  private newFlowStats(conn: Conn, clientDir: 0 | 1, transport: "tcp" | "udp"): FlowStats {
    const endpoint = this.agg.endpoint(conn.name(clientDir === 0 ? 1 : 0));
    const spare = transport === "tcp" ? conn.spareStats : undefined;
    const stats =
      spare !== undefined
        ? spare.reset(conn.id, conn, clientDir, endpoint, transport)
        : new FlowStats(conn.id, conn, clientDir, endpoint, transport);
    conn.stats = stats;
    return stats;
  }

  /** Decides from the first payload whether a connection is memcached, and which side is the client. */
  private classify(conn: Conn, dir: 0 | 1, buf: Buffer, at: number, end: number): void {
    const portA = this.ports.has(conn.portA);
    const portB = this.ports.has(conn.portB);
    let clientDir = conn.clientDir;
    if (clientDir === -1 && (portA || portB)) clientDir = portB && !portA ? 0 : portA && !portB ? 1 : dir;
    const isCommand = looksLikeCommand(buf, at, end) || buf[at] === BINARY_REQUEST;
    const isResponse = findResponseStart(buf, at, end) === at || buf[at] === BINARY_RESPONSE;
    const portMatch = clientDir !== -1 && this.ports.has(clientDir === 0 ? conn.portB : conn.portA);
    let memcached = false;
    if (clientDir === -1) {
      // No handshake seen, no known port: the content decides.
      if (isCommand) {
        clientDir = dir;
        memcached = true;
      } else if (isResponse) {
        clientDir = dir === 0 ? 1 : 0;
        memcached = true;
      }
    } else if (dir === clientDir) {
      memcached = isCommand || (portMatch && !looksLikeOtherProtocol(buf, at, end));
    } else {
      memcached = portMatch ? !looksLikeOtherProtocol(buf, at, end) : isResponse;
    }
    if (!memcached || clientDir === -1) {
      // Nothing to go by but content that tells nothing yet (a bare number, the middle of a value):
      // look at a few more packets before calling it another protocol.
      if (clientDir === -1 && ++conn.classifyTries < UNKNOWN_TRIES) return;
      conn.kind = KIND_OTHER;
      return;
    }
    conn.kind = KIND_MEMCACHED;
    conn.clientDir = clientDir;
    this.memcachedFlows++;
    const midStream = !conn.half(clientDir).sawSyn;
    const stats = this.newFlowStats(conn, clientDir, "tcp");
    stats.midStream = midStream;
    const halves = conn.halves();
    conn.session =
      conn.spareSession?.reset(clientDir, halves, stats, midStream) ??
      new McSession(clientDir, halves, stats, this.agg, this.rule, this.scratch, midStream);
  }

  private close(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    this.table.remove(conn);
    this.finishFlow(conn);
    this.connectRetries(conn);
    this.table.recycle(conn);
  }

  /** A memcached connection (or one to a memcached port) that needed a SYN or SYN/ACK retry to open. */
  private connectRetries(conn: Conn): void {
    if (conn.proto !== PROTO_TCP || conn.kind === KIND_OTHER) return;
    const halves = conn.existingHalves();
    if (!halves.some((h) => h.synCount > 1)) return;
    if (conn.kind !== KIND_MEMCACHED && !this.ports.has(conn.portA) && !this.ports.has(conn.portB)) return;
    // The client sent the SYN without ACK: the half whose first SYN came first.
    const client = halves.reduce((a, b) =>
      b.synCount > 0 && (a.synCount === 0 || b.firstSynTNs < a.firstSynTNs) ? b : a,
    );
    const server = halves.find((h) => h !== client);
    const doneTNs = client.afterSynFrame !== 0 ? client.afterSynTNs : this.maxTNs;
    this.agg.connectRetried(conn.id, doneTNs - client.firstSynTNs, [
      client.firstSynFrame,
      Math.max(client.lastSynFrame, server?.lastSynFrame ?? 0),
      client.afterSynFrame,
    ]);
  }

  private finishFlow(conn: Conn): void {
    const st = conn.stats;
    if (conn.udp !== undefined && st !== undefined) {
      conn.udp.finish();
      this.udpIncomplete += conn.udp.incomplete;
      this.agg.flowDone(st);
      return;
    }
    const s = conn.session;
    if (s === undefined || st === undefined) return;
    const halves = conn.halves();
    for (const h of halves) h.flush(s);
    s.finish();
    st.retransmissions = halves[0].retransmissions + halves[1].retransmissions;
    st.gaps = halves[0].gaps + halves[1].gaps;
    this.retransmissions += st.retransmissions;
    this.gaps += st.gaps;
    this.agg.flowDone(st);
  }

  private countDecode(status: Decoded, linkType: number): void {
    const d = this.decode;
    switch (status) {
      case Decoded.UnknownLink:
        d.unknownLinkType++;
        this.unknownLinks.add(linkType);
        break;
      case Decoded.NotIp:
        d.notIp++;
        break;
      case Decoded.NotTcp:
        d.notTcp++;
        break;
      case Decoded.IpFragment:
        d.ipFragments++;
        break;
      case Decoded.Truncated:
        d.truncated++;
        break;
      default:
        d.malformed++;
    }
  }

  /** The latest packet time so far (ns on the capture's time line). */
  get lastTNs(): number {
    return this.maxTNs;
  }

  finish(file: string, info: CaptureInfo, interrupted: boolean): { result: AnalysisResult; facts: WarningFacts } {
    this.clock.major = END_MAJOR;
    for (const conn of [...this.table.all()]) {
      this.clock.minor = conn.lastFrame;
      this.close(conn);
    }
    const a = this.agg;
    const facts: WarningFacts = {
      counts: {
        unknownLinkType: this.decode.unknownLinkType,
        ipFragments: this.decode.ipFragments,
        snaplenCut: this.snaplenCut,
        gaps: this.gaps,
        memcachedFlows: this.memcachedFlows,
        requests: a.requests,
        serverDataPackets: this.serverDataPackets,
        clamped: a.clamped,
        beyondLimit: a.beyondLimit,
        beyondLimitFlows: a.beyondLimitFlows,
        unparsedClientBytes: a.unparsedClientBytes,
        unparsedFlows: a.unparsedFlows,
        evictedLimit: this.evictedLimit,
        // Every worker sees every packet's time: one counts the odd ones.
        timeAnomalies: this.share === undefined || this.share.index === 0 ? this.timeAnomalies : 0,
        udpIncomplete: this.udpIncomplete,
      },
      unknownLinks: [...this.unknownLinks],
      serversBeforeOthers: a.endpoints.has(OTHER_SERVERS) ? a.endpoints.size - 1 : 0,
      packets: info.packets,
      ports: [...this.ports],
      maxFlows: this.maxFlows,
      timestampResolution: info.timestampResolution,
      captureWarnings: [...info.warnings],
    };
    const warnings = analysisWarnings(facts);
    const causes = a.causeSummaries();
    const timerMs = stallTimerMs(a.stallLengths);
    const result: AnalysisResult = {
      file,
      format: info.format,
      linkTypes: info.linkTypes,
      timestampResolution: info.timestampResolution,
      durationSec: Math.round((this.maxTNs - this.minTNs) / 1e6) / 1000,
      firstPacketMs: epochMs(info.firstPacketEpochSec, this.minTNs),
      lastPacketMs: epochMs(info.firstPacketEpochSec, this.maxTNs),
      packets: info.packets,
      truncatedPackets: this.snaplenCut,
      decode: this.decode,
      flows: this.table.flowsSeen,
      memcachedFlows: this.memcachedFlows,
      udpFlows: this.udpFlows,
      otherFlows: this.table.flowsSeen - this.memcachedFlows,
      flowsEvicted: { idle: this.evictedIdle, limit: this.evictedLimit },
      requests: { total: a.requests, byCommand: a.byCommand, unanswered: a.unanswered, noreply: a.noreply },
      responses: {
        total: a.responses,
        unpaired: a.unpairedResponses,
        errors: a.errorResponses,
        untimed: a.untimedResponses,
      },
      multiSegmentRequests: a.multiSegmentRequests,
      multiSegmentResponses: a.multiSegmentResponses,
      retransmissions: this.retransmissions,
      gaps: this.gaps,
      unparsedBytes: { client: a.unparsedClientBytes, server: a.unparsedServerBytes },
      stalls: {
        request: a.requestStalls,
        response: a.responseStalls,
        totalMs: msFromNs(a.stalledNs),
        delayedAckTimerMs: timerMs,
        timerNote: timerMs === null ? null : timerNote(timerMs),
        items: a.items,
        itemsOmitted: a.itemsOmitted,
      },
      wireUs: wireSummary(a.wire),
      slowThresholdMs: this.opts.slowMs ?? ANALYZE_DEFAULTS.slowMs,
      slowRequests: a.slowRequests,
      causes,
      endpoints: a.endpointSummaries(),
      flowsDetail: sortFlows(a.flows),
      flowsOmitted: a.flowsOmitted,
      top: a.top,
      listLimits: {
        top: this.opts.top ?? ANALYZE_DEFAULTS.top,
        stallItems: this.opts.maxItems ?? ANALYZE_DEFAULTS.maxItems,
      },
      advice: advice(
        a.requests - a.udpRequests,
        a.requestStalls,
        a.responseStalls,
        a.multiSegmentRequests,
        timerMs,
        causes,
      ),
      warnings,
      timeline: this.timeline.finish(),
      histograms: encodedAnalysisHistograms(a.wire, a.stallLengths, a.endpointWire(), a.causeCosts()),
    };
    if (interrupted) result.interrupted = true;
    return { result, facts };
  }

  /** What the merge needs beside a share's result: warning facts, flows' first frames, rows' and points' order keys. */
  shareRecord(result: AnalysisResult, facts: WarningFacts): ShareRecord {
    const key = (row: object) => this.rowKeys.get(row) ?? [END_MAJOR, 0];
    return {
      facts,
      flowFirstFrames: this.flowFirstFrames,
      keys: {
        items: result.stalls.items.map(key),
        top: result.top.map(key),
        flows: result.flowsDetail.map(key),
        examples: result.causes.map((c) => c.examples.map(key)),
      },
      points: (this.timeline as KeyedTimeline).points(),
      ns: {
        stalled: this.agg.stalledNs,
        causes: this.agg.causeTotalsNs(),
        endpoints: Object.fromEntries(
          [...this.agg.endpoints.values()].map((e) => [
            e.server,
            { stalled: e.stalledNs, request: e.requestNs, server: e.serverNs, response: e.responseNs },
          ]),
        ),
      },
    };
  }
}

/** What an analysis' warnings are made from: counts that add up over the workers sharing a capture, and facts of the capture. */
export interface WarningFacts {
  counts: {
    unknownLinkType: number;
    ipFragments: number;
    snaplenCut: number;
    gaps: number;
    memcachedFlows: number;
    requests: number;
    serverDataPackets: number;
    clamped: number;
    beyondLimit: number;
    beyondLimitFlows: number;
    unparsedClientBytes: number;
    unparsedFlows: number;
    evictedLimit: number;
    timeAnomalies: number;
    udpIncomplete: number;
  };
  unknownLinks: number[];
  /** Servers tracked one by one before the rest were summed (0: none summed). */
  serversBeforeOthers: number;
  packets: number;
  ports: number[];
  maxFlows: number;
  timestampResolution: string | undefined;
  /** The readers' own warnings (damage, files out of order), first. */
  captureWarnings: string[];
}

/** An analysis' warnings, from its facts. */
export function analysisWarnings(f: WarningFacts): string[] {
  const c = f.counts;
  const warnings = [...f.captureWarnings];
  const n = (k: number) => k.toLocaleString("en-US");
  if (f.unknownLinks.length > 0) {
    warnings.push(
      `${c.unknownLinkType} packets have link types mcdiag does not decode (${f.unknownLinks.join(", ")}); they were skipped`,
    );
  }
  if (c.ipFragments > 0) warnings.push(`${c.ipFragments} IP fragments were counted and skipped (not reassembled)`);
  if (c.snaplenCut > 0) {
    warnings.push(
      `${c.snaplenCut} packets were cut by the capture's snaplen; their payload was not parsed (capture with -s 0 for full packets)`,
    );
  }
  if (c.gaps > 0)
    warnings.push(
      `bytes missing from the capture in ${c.gaps} places: parsing resynchronised after each, and requests around them may be unpaired`,
    );
  if (f.packets > 0 && c.memcachedFlows === 0) {
    warnings.push(`no memcached traffic found (server ports ${f.ports.join(", ")}; add --port for another)`);
  }
  if (c.requests > 0 && c.serverDataPackets === 0) {
    warnings.push(
      "no response was seen for any request: the capture seems to hold only one direction, so stalls (which need the server's ACKs) cannot be judged",
    );
  }
  if (c.clamped > 0) {
    warnings.push(
      `${n(c.clamped)} durations were negative or longer than 1 h (a clock step or a damaged timestamp): they were counted at the nearest end of the 0 … 1 h range`,
    );
  }
  if (c.beyondLimit > 0) {
    warnings.push(
      `${n(c.beyondLimit)} requests on ${n(c.beyondLimitFlows)} connections were beyond the limit of ${n(MAX_PENDING)} awaiting an answer: ` +
        "they are counted, and their replies recognised, but neither paired nor timed",
    );
  }
  if (c.unparsedClientBytes > 0) {
    warnings.push(
      `${n(c.unparsedClientBytes)} bytes sent by clients on ${n(c.unparsedFlows)} connections could not be parsed as memcached commands ` +
        "(a line without an end, an impossible data length, or another protocol): they were skipped up to the next command",
    );
  }
  if (c.evictedLimit > 0) {
    warnings.push(
      `${n(c.evictedLimit)} flows were finished early because more than ${n(f.maxFlows)} were open at once (--max-flows): ` +
        "requests they had outstanding are counted unanswered, and traffic they carried later counts as new flows",
    );
  }
  if (c.timeAnomalies > 0) {
    warnings.push(
      `${n(c.timeAnomalies)} packets have timestamps more than 1 s earlier than the capture's latest, or a day later ` +
        "(a clock step or a damaged timestamp): durations measured across them are not to be trusted",
    );
  }
  const resolutionNs = f.timestampResolution === undefined ? 1000 : resolutionOf(f.timestampResolution);
  if (resolutionNs > 1e6) {
    warnings.push(
      `timestamps have a resolution of ${f.timestampResolution}: shorter durations cannot be measured, and stalls are judged by that coarse clock`,
    );
  }
  if (c.udpIncomplete > 0)
    warnings.push(`${n(c.udpIncomplete)} UDP responses lost datagrams in the capture; they are counted unanswered`);
  if (f.serversBeforeOthers > 0)
    warnings.push(`traffic to more than ${n(f.serversBeforeOthers)} servers: the rest is summed as "${OTHER_SERVERS}"`);
  return warnings;
}

function looksLikeOtherProtocol(buf: Buffer, at: number, end: number): boolean {
  if (end - at >= 3 && buf[at] === 0x16 && buf[at + 1] === 0x03) return true; // TLS handshake
  const head = buf.toString("latin1", at, Math.min(end, at + 8));
  return /^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) |^HTTP\/|^SSH-|^PRI \*/.test(head);
}

/** The histograms behind an analysis' percentiles, encoded for its result. */
export function encodedAnalysisHistograms(
  wire: Histogram,
  stallLengths: Histogram,
  endpoints: Map<string, Histogram>,
  causes: Map<Cause, Histogram>,
): AnalysisHistograms {
  return {
    wireUs: encodeHistogram(wire),
    stallUs: encodeHistogram(stallLengths),
    endpoints: encodedMap(endpoints),
    causes: encodedMap(causes),
  };
}

/** Each histogram of a map, encoded, under the same key. */
function encodedMap<K extends string>(hs: Map<K, Histogram>): Record<K, string> {
  return Object.fromEntries([...hs].map(([k, h]) => [k, encodeHistogram(h)])) as Record<K, string>;
}

/** A time of the capture (ns after its first packet) on the wall clock: epoch ms to the µs. */
function epochMs(firstPacketEpochSec: number | undefined, tNs: number): number | null {
  return firstPacketEpochSec === undefined ? null : round(firstPacketEpochSec * 1000 + tNs / 1e6, 3);
}

/** The typical stall: the median stall length, whole ms (null without stalls). */
export function stallTimerMs(stallLengths: Histogram): number | null {
  return stallLengths.totalCount > 0 ? Math.round(stallLengths.getValueAtPercentile(50) / 1000) : null;
}

/** Which delayed-ACK timer a typical stall length suggests. */
export function timerNote(ms: number): string {
  if (ms >= 35 && ms <= 60) return "Linux's minimum delayed-ACK time (TCP_DELACK_MIN, 40 ms)";
  if (ms >= 90 && ms <= 110) return "a 100 ms delayed-ACK timer (macOS and BSD defaults)";
  if (ms >= 180 && ms <= 220) return "Windows' 200 ms delayed-ACK timer (or an old BSD stack)";
  return "not a common delayed-ACK timer: check the peer's TCP settings";
}

/** What to change, from the stalls and the causes of slow requests (nothing to say without TCP requests). */
export function advice(
  tcpRequests: number,
  requestStalls: number,
  responseStalls: number,
  multiSegment: number,
  timerMs: number | null,
  causes: CauseSummary[],
): string[] {
  const out: string[] = [];
  // Without a single exchange over TCP there is nothing to judge, and no clean bill to give.
  if (tcpRequests === 0) return out;
  const t = timerMs === null ? "" : ` (~${timerMs} ms each)`;
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  if (requestStalls > 0) {
    out.push(
      `${n(requestStalls, "request", "requests")} stalled${t}: the client writes each command in several pieces with Nagle on, so the tail waits for the server's delayed ACK. ` +
        "Coalesce each command into one write (a buffered writer, one Buffer, or cork/uncork), or set TCP_NODELAY on the client's sockets.",
    );
  }
  if (responseStalls > 0) {
    out.push(
      `${n(responseStalls, "response", "responses")} stalled${t}: the server (or proxy) writes each response in pieces with Nagle on, and the client's delayed ACK holds the tail. ` +
        "Set TCP_NODELAY on the server side, or have it write each response whole.",
    );
  }
  if (multiSegment > requestStalls) {
    out.push(
      `${n(multiSegment - requestStalls, "request", "requests")} left in several segments without stalling: the write pattern is there but hidden (TCP_NODELAY, large values, or the first requests of a connection, which escape through Linux's quick-ack mode).`,
    );
  }
  // Every other cause of slow requests, with its own advice; a capture with slow requests never gets a clean bill.
  for (const c of causes) {
    if (c.cause === "delayed-ack") continue;
    const what =
      c.cause === "connect"
        ? `${c.connections ?? 0} connections needed a SYN retry (~${c.typicalMs} ms each)`
        : `${c.requests} slow requests lost most of their time to ${c.cause} (~${c.typicalMs} ms each)`;
    out.push(`${what}: ${c.advice}`);
  }
  if (out.length === 0)
    out.push("no Nagle/delayed-ACK stalls found: every request and response left whole or was not held back");
  return out;
}
