/** What `analyze` found, as plain data: the JSON output and what reporters render. */
import type { TimelineSeries } from "../metrics/timeline-series.js";
import type { Cause } from "./causes.js";

export type StallSide = "request" | "response";

export interface StallItem {
  flow: number;
  /** In a merged result: the result file the flow number (and frames) belong to. */
  result?: string;
  /** "10.0.0.5:51234 → 10.0.0.9:11211" */
  connection: string;
  command: string;
  /** Present only with --show-keys. */
  key?: string;
  side: StallSide;
  stallMs: number;
  /** Frame numbers of the segment before, the pure ACK and the segment after: open them in Wireshark. */
  frames: [number, number, number];
  /** Seconds since the first packet of the capture. */
  atSec: number;
  /** The dominant cause of the exchange it belongs to ("delayed-ack" unless something cost it more). */
  cause: Cause;
}

export interface WireSummaryUs {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export type FlowVerdict = "stalls" | "split-writes" | "clean" | "no-requests";

export interface FlowSummary {
  flow: number;
  /** In a merged result: the result file the flow number (and frames) belong to. */
  result?: string;
  client: string;
  server: string;
  requests: number;
  multiSegmentRequests: number;
  multiSegmentResponses: number;
  stalledRequests: number;
  stalledResponses: number;
  stalledMs: number;
  retransmissions: number;
  gaps: number;
  /** The capture started after this connection did. */
  midStream: boolean;
  /** memcached over TCP, or over UDP (latency only: stalls do not apply). */
  transport: "tcp" | "udp";
  wireUs: WireSummaryUs;
  verdict: FlowVerdict;
}

export interface EndpointSummary {
  server: string;
  flows: number;
  requests: number;
  stalls: number;
  stalledRatio: number;
  stalledMs: number;
  wireUs: WireSummaryUs;
  /** Where the wire time of its exchanges went, ms (summed over every answered exchange). */
  timeMs?: EndpointTimeMs;
}

/** An endpoint's wire time (first request byte → last response byte), split, summed over its answered exchanges. */
export interface EndpointTimeMs {
  /** First → last request byte (a request's own delayed-ACK stall is here). */
  requestTransmit: number;
  /** Last request byte → first response byte. */
  server: number;
  /** First → last response byte. */
  responseTransmit: number;
  /** Inside delayed-ACK stalls, request or response side. */
  stalled: number;
}

export interface TopExchange {
  flow: number;
  /** In a merged result: the result file the flow number (and frames) belong to. */
  result?: string;
  command: string;
  key?: string;
  keys: number;
  wireUs: number;
  stallMs: number;
  requestSegments: number;
  responseSegments: number;
  /** First and last frame of the request, then of the response (0 when none). */
  requestFrames: [number, number];
  responseFrames: [number, number];
  /** Its dominant cause when it was slow (wire time ≥ the slow threshold), else null. */
  cause: Cause | null;
  /** Seconds since the first packet of the capture, at the request's first frame. */
  atSec?: number;
  /** Every packet of the connection from the request's first frame to the response's last (at most 64), for the waterfall. */
  packets?: ExchangePacket[];
  /** Packets of the exchange beyond the 64 listed, or lost from the bounded packet log. */
  packetsOmitted?: number;
}

/** One packet of an exchange, as the HTML report's waterfall draws it. */
export interface ExchangePacket {
  frame: number;
  /** ms since the exchange's first packet. */
  tMs: number;
  dir: "c2s" | "s2c";
  /** TCP payload bytes. */
  bytes: number;
  /** TCP flags present: "SYN", "FIN", "RST", "PSH", "ACK". */
  flags: string[];
  /** Bytes this side had already sent (a retransmission, whole or partial). */
  retransmission?: true;
}

/** One cause of slow exchanges: each slow exchange is counted once, under the cause that cost it most. */
export interface CauseSummary {
  cause: Cause;
  /** Slow requests it dominated. */
  requests: number;
  /** connect only: connections whose SYN or SYN/ACK was resent. */
  connections?: number;
  /** Time it cost them (for connect: the set-up time of those connections). */
  totalMs: number;
  /** Median cost per request (per connection for connect). */
  typicalMs: number;
  /** The timer that cost matches. */
  timer: string | null;
  /** Which signs were found, and how often. */
  evidence: Record<string, number>;
  /** The worst cases, with frames to open in Wireshark. */
  /** `result`: in a merged result, the result file the flow and frames belong to. */
  examples: { flow: number; frames: number[]; ms: number; result?: string }[];
  advice: string;
}

/** Where one file's frames sit in a capture read from several files. */
export interface CaptureFilePart {
  file: string;
  /** Its first frame's number in the result (frames number on across the files). */
  firstFrame: number;
  /** Frames (packet blocks) in the file. */
  frames: number;
}

export interface AnalysisResult {
  file: string;
  format: "pcap" | "pcapng" | undefined;
  linkTypes: number[];
  timestampResolution: string | undefined;
  /** Seconds from the first to the last packet. */
  durationSec: number;
  /** The first and the last packet's timestamps (epoch ms, to the µs), null without packets: where merge aligns captures. */
  firstPacketMs: number | null;
  lastPacketMs: number | null;
  packets: number;
  /** Packets whose captured bytes stop short of the IP packet's length (snaplen), so their payload was not parsed. */
  truncatedPackets: number;
  decode: {
    tcp: number;
    udp: number;
    notIp: number;
    notTcp: number;
    ipFragments: number;
    truncated: number;
    malformed: number;
    unknownLinkType: number;
  };
  flows: number;
  /** memcached flows, UDP ones included. */
  memcachedFlows: number;
  udpFlows: number;
  otherFlows: number;
  /** Flows finished before their end: silent longer than the idle timeout, or beyond the open-flow limit. */
  flowsEvicted: { idle: number; limit: number };
  requests: { total: number; byCommand: Record<string, number>; unanswered: number; noreply: number };
  /** `untimed`: replies to requests given up at the outstanding-request limit. */
  responses: { total: number; unpaired: number; errors: number; untimed: number };
  multiSegmentRequests: number;
  multiSegmentResponses: number;
  retransmissions: number;
  gaps: number;
  /** Bytes that could not be parsed as memcached (skipped up to the next message start), by sender. */
  unparsedBytes: { client: number; server: number };
  stalls: {
    request: number;
    response: number;
    totalMs: number;
    /** Typical stall length: the median, ms (null when none). */
    delayedAckTimerMs: number | null;
    /** What that timer suggests about the peer. */
    timerNote: string | null;
    items: StallItem[];
    /** Stalls beyond the item limit (counted, not listed). */
    itemsOmitted: number;
  };
  wireUs: WireSummaryUs;
  /** An exchange at least this long (first request byte → last response byte) is slow and gets a cause. */
  slowThresholdMs: number;
  slowRequests: number;
  /** Where the time of the slow requests went, most first. */
  causes: CauseSummary[];
  endpoints: EndpointSummary[];
  flowsDetail: FlowSummary[];
  flowsOmitted: number;
  top: TopExchange[];
  /** How many exchanges `top` and stalls `stalls.items` list at most (--top, --max-items). */
  listLimits: { top: number; stallItems: number };
  advice: string[];
  warnings: string[];
  /** Present (true) when the analysis was stopped early: the figures cover the packets read until then. */
  interrupted?: boolean;
  /** Every exchange's start, wire time and cause, for "latency over time" (bands above 100,000 exchanges). */
  timeline?: TimelineSeries;
  /**
   * The histograms behind the percentiles, in HdrHistogram's compressed base64
   * encoding (µs, 1 µs … 1 h, 3 significant digits), so results merge exactly.
   */
  histograms: AnalysisHistograms;
  /**
   * Read from several files as one capture: each file and where its frames
   * sit (frames number on across the files, in this order).
   */
  files?: CaptureFilePart[];
  /** A merged result: the results it was merged from, in order (`result` on flows, stalls, examples and exchanges names one). */
  mergedFrom?: string[];
}

export interface AnalysisHistograms {
  /** Every timed exchange's wire time: behind `wireUs`. */
  wireUs: string;
  /** Every stall's length: behind `stalls.delayedAckTimerMs` (its median). */
  stallUs: string;
  /** Per server: behind `endpoints[].wireUs`. */
  endpoints: Record<string, string>;
  /** Per cause, each slow request's cost (per connection for connect): behind `causes[].typicalMs` (its median). */
  causes: Partial<Record<Cause, string>>;
}
