/** What `analyze` found, as plain data: the JSON output and what reporters render. */
import type { TimelineSeries } from "../metrics/timeline-series.js";

export type StallSide = "request" | "response";

export interface StallItem {
  flow: number;
  /** "10.0.0.5:51234 → 10.0.0.9:11211" */
  connection: string;
  command: string;
  /** Present only with --show-keys. */
  key?: string;
  side: StallSide;
  stallMs: number;
  /** [segment before, the pure ACK, segment after]: open them in Wireshark. */
  frames: [number, number, number];
  /** Seconds since the first packet of the capture. */
  atSec: number;
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

/** An endpoint's wire time, split. */
export interface EndpointTimeMs {
  /** First request byte → last response byte, every answered exchange. */
  wire: number;
  /** Of it, inside delayed-ACK stalls. */
  stalled: number;
}

export interface TopExchange {
  flow: number;
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

export interface AnalysisResult {
  file: string;
  format: "pcap" | "pcapng" | undefined;
  linkTypes: number[];
  timestampResolution: string | undefined;
  /** Seconds from the first to the last packet. */
  durationSec: number;
  packets: number;
  truncatedPackets: number;
  decode: {
    tcp: number;
    notIp: number;
    notTcp: number;
    ipFragments: number;
    truncated: number;
    malformed: number;
    unknownLinkType: number;
  };
  flows: number;
  memcachedFlows: number;
  otherFlows: number;
  requests: { total: number; byCommand: Record<string, number>; unanswered: number; noreply: number };
  responses: { total: number; unpaired: number; errors: number };
  multiSegmentRequests: number;
  multiSegmentResponses: number;
  retransmissions: number;
  gaps: number;
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
  endpoints: EndpointSummary[];
  flowsDetail: FlowSummary[];
  flowsOmitted: number;
  top: TopExchange[];
  advice: string[];
  warnings: string[];
  /** Every exchange's start, wire time and cause, for "latency over time" (bands above 100,000 exchanges). */
  timeline?: TimelineSeries;
}
