import * as hdr from "hdr-histogram-js";
import { HISTOGRAM_SETTINGS, newHistogram, percentileUs, type Histogram } from "../metrics/histogram.js";
import type { Timeline } from "../metrics/timeline.js";
import { CAUSE_DELAYED_ACK, CAUSE_NONE } from "./exchange-timeline.js";
import type { StallEvent } from "./stalls.js";
import type {
  EndpointSummary,
  ExchangePacket,
  FlowSummary,
  FlowVerdict,
  StallItem,
  TopExchange,
  WireSummaryUs,
} from "./result.js";

/** One memcached connection's running totals. */
export class FlowStats {
  requests = 0;
  multiSegmentRequests = 0;
  multiSegmentResponses = 0;
  stalledRequests = 0;
  stalledResponses = 0;
  stalledNs = 0;
  retransmissions = 0;
  gaps = 0;
  midStream = false;
  /** Packed: most flows hold few distinct latencies, and there may be many flows. */
  readonly wire: Histogram = hdr.build({ ...HISTOGRAM_SETTINGS, bitBucketSize: "packed" });

  constructor(
    readonly flow: number,
    readonly client: string,
    readonly server: string,
    readonly endpoint: EndpointStats,
  ) {}
}

export class EndpointStats {
  flows = 0;
  requests = 0;
  stalls = 0;
  stalledNs = 0;
  /** Wire time summed over the answered exchanges. */
  wireNs = 0;
  readonly wire: Histogram = newHistogram();
  constructor(readonly server: string) {}
}

/** A finished exchange, handed over in a scratch record the session reuses. */
export interface ExchangeRecord {
  verb: string;
  /** Bytes of the request (line and data block). */
  reqBytes: number;
  keyCount: number;
  key: string | undefined;
  reqFirstFrame: number;
  reqFirstTNs: number;
  reqLastFrame: number;
  reqSegments: number;
  /** 0 when no response (noreply, unanswered). */
  respSegments: number;
  respFirstFrame: number;
  respLastFrame: number;
  respLastTNs: number;
  stalls: StallEvent[] | undefined;
}

export interface AggregateOptions {
  /** Sees every exchange as it completes (the CI check judges requests from it). */
  onExchange?: (flow: FlowStats, x: ExchangeRecord) => void;
  top: number;
  maxItems: number;
  maxFlowsListed: number;
  showKeys: boolean;
  /** The packets of an exchange that enters the worst list (the HTML report's waterfall). */
  packetsOf?: (flow: number, firstFrame: number, lastFrame: number) => { packets: ExchangePacket[]; omitted: number };
  /** Every answered exchange: start (ns since the capture's first packet), wire time, stalled. */
  timeline?: Timeline;
}

/**
 * Collects exchanges and stalls into the totals, histograms and bounded
 * lists of the report. Memory: one histogram per endpoint and per listed
 * flow, at most `maxItems` stall items and `top` exchanges.
 */
export class Aggregator {
  readonly byCommand: Record<string, number> = {};
  requests = 0;
  noreply = 0;
  responses = 0;
  errorResponses = 0;
  unpairedResponses = 0;
  unanswered = 0;
  multiSegmentRequests = 0;
  multiSegmentResponses = 0;
  requestStalls = 0;
  responseStalls = 0;
  stalledNs = 0;
  readonly wire: Histogram = newHistogram();
  readonly stallLengths: Histogram = newHistogram();
  readonly items: StallItem[] = [];
  itemsOmitted = 0;
  readonly top: TopExchange[] = [];
  readonly endpoints = new Map<string, EndpointStats>();
  readonly flows: FlowSummary[] = [];
  flowsOmitted = 0;

  constructor(readonly opts: AggregateOptions) {}

  endpoint(server: string): EndpointStats {
    let e = this.endpoints.get(server);
    if (e === undefined) {
      e = new EndpointStats(server);
      this.endpoints.set(server, e);
    }
    return e;
  }

  exchange(f: FlowStats, x: ExchangeRecord, answered: boolean, error: boolean): void {
    this.opts.onExchange?.(f, x);
    this.requests++;
    f.requests++;
    f.endpoint.requests++;
    this.byCommand[x.verb] = (this.byCommand[x.verb] ?? 0) + 1;
    if (x.reqSegments > 1) {
      this.multiSegmentRequests++;
      f.multiSegmentRequests++;
    }
    if (x.respSegments > 1) {
      this.multiSegmentResponses++;
      f.multiSegmentResponses++;
    }
    let stallNs = 0;
    let reqStalled = false;
    let respStalled = false;
    if (x.stalls !== undefined) {
      for (const s of x.stalls) {
        stallNs += s.stallNs;
        if (s.side === "request") reqStalled = true;
        else respStalled = true;
        this.stall(f, x.verb, x.key, s);
      }
    }
    if (reqStalled) f.stalledRequests++;
    if (respStalled) f.stalledResponses++;
    if (answered) {
      this.responses++;
      if (error) this.errorResponses++;
      const wireUs = Math.max(0, Math.round((x.respLastTNs - x.reqFirstTNs) / 1000));
      f.endpoint.wireNs += wireUs * 1000;
      this.opts.timeline?.add(x.reqFirstTNs / 1e6, wireUs, stallNs > 0 ? CAUSE_DELAYED_ACK : CAUSE_NONE);
      this.wire.recordValue(wireUs);
      f.wire.recordValue(wireUs);
      f.endpoint.wire.recordValue(wireUs);
      this.considerTop(f, x, wireUs, stallNs);
    } else if (x.respSegments === 0 && x.stalls !== undefined) {
      this.considerTop(f, x, 0, stallNs);
    }
  }

  /** Stalls of a message that never completed (the capture ended, a gap). */
  orphanStalls(f: FlowStats, stalls: StallEvent[] | undefined): void {
    if (stalls === undefined) return;
    for (const s of stalls) this.stall(f, "(incomplete)", undefined, s);
  }

  private stall(f: FlowStats, verb: string, key: string | undefined, s: StallEvent): void {
    if (s.side === "request") this.requestStalls++;
    else this.responseStalls++;
    this.stalledNs += s.stallNs;
    f.stalledNs += s.stallNs;
    f.endpoint.stalls++;
    f.endpoint.stalledNs += s.stallNs;
    this.stallLengths.recordValue(Math.round(s.stallNs / 1000));
    if (this.items.length >= this.opts.maxItems) {
      this.itemsOmitted++;
      return;
    }
    const item: StallItem = {
      flow: f.flow,
      connection: `${f.client} → ${f.server}`,
      command: verb,
      side: s.side,
      stallMs: Math.round(s.stallNs / 1000) / 1000,
      frames: [s.before, s.ack, s.after],
      atSec: Math.round(s.tNs / 1000) / 1e6,
    };
    if (this.opts.showKeys && key !== undefined) item.key = key;
    this.items.push(item);
  }

  private considerTop(f: FlowStats, x: ExchangeRecord, wireUs: number, stallNs: number): void {
    const n = this.opts.top;
    if (n <= 0) return;
    const stallMs = Math.round(stallNs / 1000) / 1000;
    const worse = (a: TopExchange) => a.stallMs < stallMs || (a.stallMs === stallMs && a.wireUs < wireUs);
    if (this.top.length >= n && !worse(this.top[this.top.length - 1]!)) return;
    const t: TopExchange = {
      flow: f.flow,
      command: x.verb,
      keys: x.keyCount,
      wireUs,
      stallMs,
      requestSegments: x.reqSegments,
      responseSegments: x.respSegments,
      requestFrames: [x.reqFirstFrame, x.reqLastFrame],
      responseFrames: [x.respFirstFrame, x.respLastFrame],
    };
    if (this.opts.showKeys && x.key !== undefined) t.key = x.key;
    t.atSec = Math.round(x.reqFirstTNs / 1000) / 1e6;
    if (this.opts.packetsOf) {
      const last = x.respLastFrame > 0 ? x.respLastFrame : x.reqLastFrame;
      const got = this.opts.packetsOf(f.flow, x.reqFirstFrame, last);
      t.packets = got.packets;
      if (got.omitted > 0) t.packetsOmitted = got.omitted;
    }
    let i = this.top.length;
    while (i > 0 && worse(this.top[i - 1]!)) i--;
    this.top.splice(i, 0, t);
    if (this.top.length > n) this.top.pop();
  }

  flowDone(f: FlowStats): void {
    f.endpoint.flows++;
    if (this.flows.length >= this.opts.maxFlowsListed) {
      this.flowsOmitted++;
      return;
    }
    this.flows.push({
      flow: f.flow,
      client: f.client,
      server: f.server,
      requests: f.requests,
      multiSegmentRequests: f.multiSegmentRequests,
      multiSegmentResponses: f.multiSegmentResponses,
      stalledRequests: f.stalledRequests,
      stalledResponses: f.stalledResponses,
      stalledMs: Math.round(f.stalledNs / 1000) / 1000,
      retransmissions: f.retransmissions,
      gaps: f.gaps,
      midStream: f.midStream,
      wireUs: wireSummary(f.wire),
      verdict: verdictOf(f),
    });
  }

  endpointSummaries(): EndpointSummary[] {
    return [...this.endpoints.values()]
      .filter((e) => e.requests > 0 || e.flows > 0)
      .map((e) => ({
        server: e.server,
        flows: e.flows,
        requests: e.requests,
        stalls: e.stalls,
        stalledRatio: e.requests > 0 ? Math.round((e.stalls / e.requests) * 10000) / 10000 : 0,
        stalledMs: Math.round(e.stalledNs / 1000) / 1000,
        wireUs: wireSummary(e.wire),
        timeMs: { wire: Math.round(e.wireNs / 1000) / 1000, stalled: Math.round(e.stalledNs / 1000) / 1000 },
      }))
      .sort((a, b) => b.stalls - a.stalls || b.requests - a.requests);
  }
}

function verdictOf(f: FlowStats): FlowVerdict {
  if (f.requests === 0) return "no-requests";
  if (f.stalledRequests + f.stalledResponses > 0) return "stalls";
  if (f.multiSegmentRequests > 0) return "split-writes";
  return "clean";
}

export function wireSummary(h: Histogram): WireSummaryUs {
  if (h.totalCount === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  return { count: h.totalCount, p50: percentileUs(h, 50), p99: percentileUs(h, 99), max: h.maxValue };
}
