import { looksLikeCommand } from "../protocol/verbs.js";
import { BINARY_REQUEST, BINARY_RESPONSE } from "../protocol/binary.js";
import { McdiagError } from "../util/errors.js";
import { Aggregator, FlowStats, wireSummary, type ExchangeRecord } from "./aggregate.js";
import { CaptureReader } from "./capture.js";
import { Decoded, TCP_ACK, TCP_RST, TCP_SYN, decodePacket, newTcpPacket } from "./decode.js";
import { Conn, FlowTable, KIND_MEMCACHED, KIND_OTHER, KIND_UNKNOWN } from "./flows.js";
import type { CapturedPacket, PacketSink } from "./packet.js";
import type { StreamConsumer } from "./reassembly.js";
import type { AnalysisResult } from "./result.js";
import { exchangeTimeline } from "./exchange-timeline.js";
import { PacketLog } from "./packet-log.js";
import { McSession, findResponseStart } from "./session.js";
import { GzipTruncated, openSource } from "./source.js";

export interface AnalyzeOptions {
  /** A file path, or "-" for stdin. */
  input: string;
  /** Server ports; 11211 is always included. */
  ports: number[];
  stallThresholdMs: number;
  /** How soon after the peer's pure ACK the held segment must leave. */
  ackWindowMs: number;
  showKeys: boolean;
  top: number;
  /** Stall items listed in the result; the rest are counted. */
  maxItems: number;
  onProgress?: (p: AnalyzeProgress) => void;
  /** Sees every exchange as it completes (valid only during the call). */
  onExchange?: (flow: FlowStats, x: ExchangeRecord) => void;
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
  showKeys: false,
  top: 10,
  maxItems: 1000,
};

const NOOP: StreamConsumer = { onData() {}, onGap() {} };

/**
 * capture file → packets → TCP segments → flows (reassembled) → memcached
 * exchanges → stall findings. Streams the file: memory follows the open
 * connections, not the file size.
 */
export async function analyzeCapture(opts: AnalyzeOptions): Promise<AnalysisResult> {
  const source = openSource(opts.input);
  const analysis = new Analysis(opts);
  const reader = new CaptureReader(analysis, source.name);
  let chunks = 0;
  try {
    for await (const chunk of source.chunks) {
      reader.push(chunk);
      if (opts.onProgress && ++chunks % 16 === 0) {
        opts.onProgress({ bytesRead: source.readBytes(), totalBytes: source.sizeBytes, packets: reader.info.packets });
      }
    }
    reader.end();
  } catch (err) {
    if (err instanceof GzipTruncated) {
      reader.info.warnings.push(`${err.message}; analysed the ${reader.info.packets} packets before it`);
    } else if (err instanceof McdiagError) {
      throw err;
    } else {
      const e = err as NodeJS.ErrnoException;
      throw new McdiagError("BAD_INPUT", `${source.name}: cannot read: ${e.code ?? e.message}`, { file: source.name });
    }
  }
  return analysis.finish(source.name, reader);
}

/** The packet sink: decodes, tracks flows, feeds sessions. */
class Analysis implements PacketSink {
  private readonly tcp = newTcpPacket();
  private readonly table = new FlowTable();
  private readonly agg: Aggregator;
  private readonly ports: Set<number>;
  private readonly rule;
  private readonly decode = {
    tcp: 0,
    notIp: 0,
    notTcp: 0,
    ipFragments: 0,
    truncated: 0,
    malformed: 0,
    unknownLinkType: 0,
  };
  private unknownLinks = new Set<number>();
  private memcachedFlows = 0;
  private otherFlows = 0;
  private retransmissions = 0;
  private gaps = 0;
  private lastTNs = 0;
  /** Data packets from memcached servers: none at all means a one-direction capture. */
  private serverDataPackets = 0;
  private readonly packetLog = new PacketLog();
  private readonly timeline = exchangeTimeline();

  constructor(readonly opts: AnalyzeOptions) {
    this.ports = new Set([11211, ...opts.ports]);
    this.rule = { thresholdNs: opts.stallThresholdMs * 1e6, ackWindowNs: opts.ackWindowMs * 1e6 };
    this.agg = new Aggregator({
      top: opts.top,
      maxItems: opts.maxItems,
      maxFlowsListed: 10_000,
      showKeys: opts.showKeys,
      onExchange: opts.onExchange,
      packetsOf: (flow, first, last) => this.packetLog.collect(flow, first, last),
      timeline: this.timeline,
    });
  }

  onPacket(pk: CapturedPacket): void {
    this.lastTNs = pk.tNs;
    const p = this.tcp;
    const status = decodePacket(pk.linkType, pk.data, pk.offset, pk.capLen, p);
    if (status !== Decoded.Tcp) return this.countDecode(status, pk.linkType);
    this.decode.tcp++;
    const flags = p.flags;
    const syn = (flags & TCP_SYN) !== 0;
    let conn = this.table.lookup(p, pk.data, syn || p.payloadLen > 0);
    if (conn === undefined) return;
    let dir = this.table.dir;
    if (syn && (flags & TCP_ACK) === 0 && (conn.halves[0].finished || conn.halves[1].finished)) {
      // A new connection on the same 4-tuple (port reuse): the old one is over.
      this.close(conn);
      conn = this.table.lookup(p, pk.data, true)!;
      dir = this.table.dir;
    }
    conn.lastTNs = pk.tNs;
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
    if ((flags & TCP_ACK) !== 0) conn.halves[dir === 0 ? 1 : 0].onPeerAck(p.ack, consumer);
    conn.halves[dir].onSegment(p, pk.data, pk.frame, pk.tNs, consumer);
    if ((flags & TCP_RST) !== 0 || (conn.halves[0].finished && conn.halves[1].finished)) this.close(conn);
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
      conn.kind = KIND_OTHER;
      this.otherFlows++;
      return;
    }
    conn.kind = KIND_MEMCACHED;
    conn.clientDir = clientDir;
    this.memcachedFlows++;
    const client = clientDir === 0 ? conn.nameA : conn.nameB;
    const server = clientDir === 0 ? conn.nameB : conn.nameA;
    const midStream = !conn.halves[clientDir].sawSyn;
    const stats = new FlowStats(conn.id, client, server, this.agg.endpoint(server));
    stats.midStream = midStream;
    conn.stats = stats;
    conn.session = new McSession(clientDir, conn.halves, stats, this.agg, this.rule, midStream);
  }

  private close(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    this.table.remove(conn);
    if (conn.kind === KIND_UNKNOWN) this.otherFlows++;
    const s = conn.session;
    if (s === undefined || conn.stats === undefined) return;
    for (const h of conn.halves) h.flush(s);
    s.finish();
    const st = conn.stats;
    st.retransmissions = conn.halves[0].retransmissions + conn.halves[1].retransmissions;
    st.gaps = conn.halves[0].gaps + conn.halves[1].gaps;
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

  finish(file: string, reader: CaptureReader): AnalysisResult {
    for (const conn of [...this.table.all()]) this.close(conn);
    const info = reader.info;
    const a = this.agg;
    const warnings = [...info.warnings];
    if (this.unknownLinks.size > 0) {
      warnings.push(
        `${this.decode.unknownLinkType} packets have link types mcdiag does not decode (${[...this.unknownLinks].join(", ")}); they were skipped`,
      );
    }
    if (this.decode.ipFragments > 0)
      warnings.push(`${this.decode.ipFragments} IP fragments were counted and skipped (not reassembled)`);
    if (info.truncatedPackets > 0) {
      warnings.push(
        `${info.truncatedPackets} packets were cut by the capture's snaplen; their payload was not parsed (capture with -s 0 for full packets)`,
      );
    }
    if (this.gaps > 0)
      warnings.push(
        `bytes missing from the capture in ${this.gaps} places: parsing resynchronised after each, and requests around them may be unpaired`,
      );
    if (info.packets > 0 && this.memcachedFlows === 0) {
      warnings.push(`no memcached traffic found (server ports ${[...this.ports].join(", ")}; add --port for another)`);
    }
    if (a.requests > 0 && this.serverDataPackets === 0) {
      warnings.push(
        "no response was seen for any request: the capture seems to hold only one direction, so stalls (which need the server's ACKs) cannot be judged",
      );
    }
    const stallMedianUs = a.stallLengths.totalCount > 0 ? a.stallLengths.getValueAtPercentile(50) : 0;
    const timerMs = a.stallLengths.totalCount > 0 ? Math.round(stallMedianUs / 1000) : null;
    return {
      file,
      format: info.format,
      linkTypes: info.linkTypes,
      timestampResolution: info.timestampResolution,
      durationSec: Math.round(this.lastTNs / 1e6) / 1000,
      packets: info.packets,
      truncatedPackets: info.truncatedPackets,
      decode: this.decode,
      flows: this.table.flowsSeen,
      memcachedFlows: this.memcachedFlows,
      otherFlows: this.table.flowsSeen - this.memcachedFlows,
      requests: { total: a.requests, byCommand: a.byCommand, unanswered: a.unanswered, noreply: a.noreply },
      responses: { total: a.responses, unpaired: a.unpairedResponses, errors: a.errorResponses },
      multiSegmentRequests: a.multiSegmentRequests,
      multiSegmentResponses: a.multiSegmentResponses,
      retransmissions: this.retransmissions,
      gaps: this.gaps,
      stalls: {
        request: a.requestStalls,
        response: a.responseStalls,
        totalMs: Math.round(a.stalledNs / 1000) / 1000,
        delayedAckTimerMs: timerMs,
        timerNote: timerMs === null ? null : timerNote(timerMs),
        items: a.items,
        itemsOmitted: a.itemsOmitted,
      },
      wireUs: wireSummary(a.wire),
      endpoints: a.endpointSummaries(),
      flowsDetail: a.flows.sort(
        (x, y) => y.stalledRequests + y.stalledResponses - (x.stalledRequests + x.stalledResponses) || x.flow - y.flow,
      ),
      flowsOmitted: a.flowsOmitted,
      top: a.top,
      advice: advice(a.requestStalls, a.responseStalls, a.multiSegmentRequests, timerMs),
      warnings,
      timeline: this.timeline.finish(),
    };
  }
}

function looksLikeOtherProtocol(buf: Buffer, at: number, end: number): boolean {
  if (end - at >= 3 && buf[at] === 0x16 && buf[at + 1] === 0x03) return true; // TLS handshake
  const head = buf.toString("latin1", at, Math.min(end, at + 8));
  return /^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) |^HTTP\/|^SSH-|^PRI \*/.test(head);
}

function timerNote(ms: number): string {
  if (ms >= 35 && ms <= 60) return "Linux's minimum delayed-ACK time (TCP_DELACK_MIN, 40 ms)";
  if (ms >= 90 && ms <= 110) return "a 100 ms delayed-ACK timer (macOS and BSD defaults)";
  if (ms >= 180 && ms <= 220) return "Windows' 200 ms delayed-ACK timer (or an old BSD stack)";
  return "not a common delayed-ACK timer: check the peer's TCP settings";
}

function advice(requestStalls: number, responseStalls: number, multiSegment: number, timerMs: number | null): string[] {
  const out: string[] = [];
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
  if (out.length === 0)
    out.push("no Nagle/delayed-ACK stalls found: every request and response left whole or was not held back");
  return out;
}
