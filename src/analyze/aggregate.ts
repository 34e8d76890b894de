import * as hdr from "hdr-histogram-js";
import {
  HISTOGRAM_SETTINGS,
  newHistogram,
  percentileUs,
  recordClampedUs,
  type Histogram,
} from "../metrics/histogram.js";
import type { Timeline } from "../metrics/timeline.js";
import { RTX_KINDS, ZW_FULL, ZW_ZERO, clearAttribution, type Attribution } from "./attribution.js";
import { CAUSE_RULES, UNEXPLAINED_ADVICE, dominantCause, slowTimeNs, type Cause, type CauseRule } from "./causes.js";
import { categoryOf } from "./exchange-timeline.js";
import type { StallEvent } from "./stalls.js";
import type {
  CauseSummary,
  EndpointSummary,
  ExchangePacket,
  FlowSummary,
  FlowVerdict,
  StallItem,
  TopExchange,
  WireSummaryUs,
} from "./result.js";
import { msFromNs, round } from "../util/round.js";

/** Wire times kept per flow for its percentiles; beyond this many, a uniform sample of them. */
export const FLOW_SAMPLES = 128;

/**
 * One memcached connection's running totals. Exact counts, min and max as it
 * streams; its percentiles come from a bounded uniform sample (reservoir) of
 * its wire times, exact up to FLOW_SAMPLES requests. Cost per flow stays
 * small whatever the number of flows; the totals and per-server figures come
 * from exact histograms. Fields are made by reset() (`declare`d, as in
 * HalfStream: a number field never starts undefined).
 */
export class FlowStats {
  declare flow: number;
  /** Names the two ends when a report needs them (made then, not kept per flow before). */
  declare private names: FlowNames;
  declare clientEnd: 0 | 1;
  declare endpoint: EndpointStats;
  declare transport: "tcp" | "udp";
  declare requests: number;
  declare multiSegmentRequests: number;
  declare multiSegmentResponses: number;
  declare stalledRequests: number;
  declare stalledResponses: number;
  declare stalledNs: number;
  declare retransmissions: number;
  declare gaps: number;
  declare midStream: boolean;
  declare wireCount: number;
  declare wireMaxUs: number;
  /** Up to FLOW_SAMPLES wire times (µs), made at the first answer. */
  samples: number[] | undefined;
  /** The sampling generator's state: one per flow, so a flow's sample does not depend on other flows. */
  declare rng: number;
  declare private clientName: string | undefined;
  declare private serverName: string | undefined;

  constructor(flow: number, names: FlowNames, clientEnd: 0 | 1, endpoint: EndpointStats, transport: "tcp" | "udp") {
    this.reset(flow, names, clientEnd, endpoint, transport);
  }

  /** Zero counts for a new flow (a recycled record keeps only its sample array's storage). */
  reset(flow: number, names: FlowNames, clientEnd: 0 | 1, endpoint: EndpointStats, transport: "tcp" | "udp"): this {
    this.flow = flow;
    this.names = names;
    this.clientEnd = clientEnd;
    this.endpoint = endpoint;
    this.transport = transport;
    this.requests = 0;
    this.multiSegmentRequests = 0;
    this.multiSegmentResponses = 0;
    this.stalledRequests = 0;
    this.stalledResponses = 0;
    this.stalledNs = 0;
    this.retransmissions = 0;
    this.gaps = 0;
    this.midStream = false;
    this.wireCount = 0;
    this.wireMaxUs = 0;
    if (this.samples !== undefined) this.samples.length = 0;
    this.rng = 0x9e3779b9;
    this.clientName = undefined;
    this.serverName = undefined;
    return this;
  }

  /** "10.0.0.5:51234" */
  get client(): string {
    return (this.clientName ??= this.names.name(this.clientEnd));
  }

  get server(): string {
    return (this.serverName ??= this.names.name(this.clientEnd === 0 ? 1 : 0));
  }
}

/** Whatever can name the two ends of a flow (the flow table's record). */
export interface FlowNames {
  name(end: 0 | 1): string;
}

/** Servers that get a flat (fast) histogram; later ones get a packed one, which grows with distinct values. */
const FLAT_ENDPOINTS = 16;
/** Servers tracked one by one; traffic to any further server is summed under one row. */
export const MAX_ENDPOINTS = 10_000;
/** Flows listed one by one in the result; the rest are counted (flowsOmitted). */
export const MAX_FLOWS_LISTED = 10_000;
export const OTHER_SERVERS = "(other servers)";

export class EndpointStats {
  flows = 0;
  requests = 0;
  stalls = 0;
  stalledNs = 0;
  /** Of the answered exchanges' wire time: request transmit, server, response transmit (summed). */
  requestNs = 0;
  serverNs = 0;
  responseNs = 0;
  constructor(
    readonly server: string,
    readonly wire: Histogram,
  ) {}
}

/** A finished exchange, handed over in a scratch record the session reuses. */
export interface ExchangeRecord extends Attribution {
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
  /** The last time a request byte was sent (a retransmission moves it), and the first response byte. */
  reqLastTNs: number;
  respFirstTNs: number;
  /** Of the server phase (request's last byte → response's first), what loss or a full window explains. */
  serverLossNs: number;
  /** The first exchange of a connection whose SYN or SYN/ACK was resent: set-up time, first SYN, last SYN, handshake end. */
  connectNs: number;
  connectFrame: number;
  connectRetryFrame: number;
  connectDoneFrame: number;
}

export function newExchangeRecord(): ExchangeRecord {
  return {
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
    reqLastTNs: 0,
    respFirstTNs: 0,
    serverLossNs: 0,
    connectNs: 0,
    connectFrame: 0,
    connectRetryFrame: 0,
    connectDoneFrame: 0,
    rtxNs: 0,
    rtxKinds: 0,
    rtxFrame: 0,
    rtxLastFrame: 0,
    zwNs: 0,
    zwReader: 0,
    zwFrame: 0,
    zwLastFrame: 0,
    zwKinds: 0,
    zwProbes: 0,
  };
}

/** Fills the scratch record `x` with a request's facts and no response yet. */
export function requestRecord(
  x: ExchangeRecord,
  verb: string,
  bytes: number,
  keyCount: number,
  key: string | undefined,
  firstFrame: number,
  firstTNs: number,
  lastFrame: number,
  segments: number,
): ExchangeRecord {
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
  x.stalls = undefined;
  x.reqLastTNs = firstTNs;
  x.respFirstTNs = 0;
  x.serverLossNs = 0;
  x.connectNs = 0;
  x.connectFrame = 0;
  x.connectRetryFrame = 0;
  x.connectDoneFrame = 0;
  clearAttribution(x);
  return x;
}

/** Examples kept per cause: the worst ones. */
export const CAUSE_EXAMPLES = 3;

/** What one cause cost across the slow exchanges it dominated. */
class CauseStats {
  requests = 0;
  connections = 0;
  totalNs = 0;
  readonly costs: Histogram = hdr.build({ ...HISTOGRAM_SETTINGS, bitBucketSize: "packed" });
  readonly evidence: Record<string, number> = {};
  readonly examples: { flow: number; frames: number[]; ms: number }[] = [];
  constructor(
    readonly rule: CauseRule | undefined,
    private readonly stamp: ((row: object) => void) | undefined,
  ) {}

  example(flow: number, frames: () => number[], ns: number): void {
    const ms = msFromNs(ns);
    const ex = this.examples;
    if (ex.length >= CAUSE_EXAMPLES && ex[ex.length - 1]!.ms >= ms) return;
    let i = ex.length;
    while (i > 0 && ex[i - 1]!.ms < ms) i--;
    const row = { flow, frames: frames(), ms };
    this.stamp?.(row);
    ex.splice(i, 0, row);
    if (ex.length > CAUSE_EXAMPLES) ex.pop();
  }
}

export interface AggregateOptions {
  /** Sees every exchange as it completes (the CI check judges requests from it). */
  onExchange?: (flow: FlowStats, x: ExchangeRecord) => void;
  top: number;
  maxItems: number;
  showKeys: boolean;
  /** An exchange this long (ms, first request byte → last response byte) is slow and gets a cause. */
  slowMs: number;
  /** The packets of an exchange that enters the worst list (the HTML report's waterfall). */
  packetsOf?: (flow: number, firstFrame: number, lastFrame: number) => { packets: ExchangePacket[]; omitted: number };
  /** Every answered exchange: start (ms since the capture's first packet), wire time, cause. */
  timeline?: Timeline;
  /** Sees each listed row as it is made (stall item, top exchange, flow, cause example): a parallel analysis orders its workers' rows by when they were made. */
  stamp?: (row: object) => void;
}

/**
 * Collects exchanges and stalls into the totals, histograms and bounded
 * lists of the report. Memory: one histogram per endpoint and per listed
 * flow, at most `maxItems` stall items and `top` exchanges.
 */
export class Aggregator {
  readonly byCommand: Record<string, number> = {};
  requests = 0;
  /** Of which over UDP (where stalls do not apply). */
  udpRequests = 0;
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
  /** Durations outside the histograms' range (a clock step, a damaged timestamp), recorded clamped. */
  clamped = 0;
  /** Requests given up at the outstanding-request limit, and on how many connections. */
  beyondLimit = 0;
  beyondLimitFlows = 0;
  private lastBeyondFlow = -1;
  /** Replies to those requests: seen, but neither paired nor timed. */
  untimedResponses = 0;
  /** Bytes that could not be parsed as memcached, by direction, and the connections that had any. */
  unparsedClientBytes = 0;
  unparsedServerBytes = 0;
  unparsedFlows = 0;
  slowRequests = 0;
  private readonly slowNs: number;
  private readonly causes = new Map<Cause, CauseStats>();
  private readonly dominant = { costNs: 0 };

  constructor(readonly opts: AggregateOptions) {
    this.slowNs = opts.slowMs * 1e6;
  }

  endpoint(server: string): EndpointStats {
    let e = this.endpoints.get(server);
    if (e === undefined) {
      if (this.endpoints.size >= MAX_ENDPOINTS) return this.endpoint(OTHER_SERVERS);
      const wire =
        this.endpoints.size < FLAT_ENDPOINTS
          ? newHistogram()
          : hdr.build({ ...HISTOGRAM_SETTINGS, bitBucketSize: "packed" });
      e = new EndpointStats(server, wire);
      this.endpoints.set(server, e);
    }
    return e;
  }

  /** Records a duration (µs) into a histogram, counting it when it had to be clamped into range. */
  private record(h: Histogram, us: number): void {
    if (recordClampedUs(h, us)) this.clamped++;
  }

  exchange(f: FlowStats, x: ExchangeRecord, answered: boolean, error: boolean): void {
    this.opts.onExchange?.(f, x);
    this.requests++;
    if (f.transport === "udp") this.udpRequests++;
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
    const cause = answered ? this.attribute(f, x) : null;
    let stallNs = 0;
    let reqStalled = false;
    let respStalled = false;
    if (x.stalls !== undefined) {
      for (const s of x.stalls) {
        stallNs += s.stallNs;
        if (s.side === "request") reqStalled = true;
        else respStalled = true;
        this.stall(f, x.verb, x.key, s, cause ?? "delayed-ack");
      }
    }
    if (reqStalled) f.stalledRequests++;
    if (respStalled) f.stalledResponses++;
    if (answered) {
      this.responses++;
      if (error) this.errorResponses++;
      const rawUs = (x.respLastTNs - x.reqFirstTNs) / 1000;
      this.record(this.wire, rawUs);
      this.record(f.endpoint.wire, rawUs);
      const wireUs = clampUs(rawUs);
      this.sample(f, wireUs);
      this.phases(f.endpoint, x);
      this.opts.timeline?.add(x.reqFirstTNs / 1e6, wireUs, categoryOf(cause));
      this.considerTop(f, x, wireUs, stallNs, cause);
    } else if (x.respSegments === 0 && x.stalls !== undefined) {
      this.considerTop(f, x, 0, stallNs, null);
    }
  }

  /** A slow exchange is counted once, under the cause that cost it the most time. */
  private attribute(f: FlowStats, x: ExchangeRecord): Cause | null {
    const totalNs = slowTimeNs(x);
    if (totalNs < this.slowNs) return null;
    this.slowRequests++;
    const rule = dominantCause(x, this.slowNs, this.dominant);
    const cause = rule?.cause ?? "unexplained";
    const st = this.causeStats(cause, rule);
    st.requests++;
    const ns = rule === undefined ? totalNs : this.dominant.costNs;
    if (cause !== "connect") {
      // Set-up time is counted per connection (connectRetried), once.
      st.totalNs += ns;
      recordClampedUs(st.costs, ns / 1000); // a clamped duration was counted once already, as a wire time
      st.example(f.flow, () => (rule === undefined ? [x.reqFirstFrame, x.respLastFrame] : rule.frames(x)), ns);
    }
    this.evidenceOf(cause, x, st.evidence);
    return cause;
  }

  private evidenceOf(cause: Cause, x: ExchangeRecord, into: Record<string, number>): void {
    const add = (k: string) => (into[k] = (into[k] ?? 0) + 1);
    if (cause === "retransmission") {
      for (const [bit, name] of RTX_KINDS) if ((x.rtxKinds & bit) !== 0) add(name);
    } else if (cause === "zero-window") {
      add(x.zwReader === 1 ? "the client was the slow reader" : "the server was the slow reader");
      if ((x.zwKinds & ZW_ZERO) !== 0) add("a zero window was advertised");
      if ((x.zwKinds & ZW_FULL) !== 0) add("the sender filled the advertised window");
      if (x.zwProbes > 0) into["persist probes sent"] = (into["persist probes sent"] ?? 0) + x.zwProbes;
    } else if (cause === "delayed-ack") {
      for (const s of x.stalls ?? []) add(s.side === "request" ? "request-side stall" : "response-side stall");
    } else if (cause === "server") add("server time at or above the slow threshold");
    else if (cause === "connect") add("SYN or SYN/ACK resent");
    else add("no loss, window, stall or server time explains it");
  }

  private causeStats(cause: Cause, rule: CauseRule | undefined): CauseStats {
    let st = this.causes.get(cause);
    if (st === undefined) {
      st = new CauseStats(rule ?? causeRuleOf(cause), this.opts.stamp);
      this.causes.set(cause, st);
    }
    return st;
  }

  /** A connection whose SYN or SYN/ACK was resent: its set-up time, once, under connect. */
  connectRetried(flow: number, setupNs: number, frames: number[]): void {
    const st = this.causeStats("connect", undefined);
    st.connections++;
    st.totalNs += setupNs;
    recordClampedUs(st.costs, setupNs / 1000);
    st.example(flow, () => frames, setupNs);
  }

  /** Each cause: slow requests, time, typical cost and its timer, evidence, worst examples; most time first. */
  causeSummaries(): CauseSummary[] {
    const out: CauseSummary[] = [];
    for (const [cause, st] of this.causes) {
      const c = causeSummaryOf(cause, st.rule, st.costs, {
        requests: st.requests,
        totalMs: msFromNs(st.totalNs),
        evidence: st.evidence,
        examples: st.examples,
      });
      if (cause === "connect") c.connections = st.connections;
      out.push(c);
    }
    return sortCauses(out);
  }

  /** Each cause's total cost, ns (unrounded, for a merge that must round only once). */
  causeTotalsNs(): Partial<Record<Cause, number>> {
    return Object.fromEntries([...this.causes].map(([cause, st]) => [cause, st.totalNs]));
  }

  /** Each cause's cost histogram (µs per slow request; per connection for connect): what its typicalMs is read from. */
  causeCosts(): Map<Cause, Histogram> {
    return new Map([...this.causes].map(([cause, st]) => [cause, st.costs]));
  }

  beyondPendingLimit(f: FlowStats): void {
    this.beyondLimit++;
    if (this.lastBeyondFlow !== f.flow) {
      this.lastBeyondFlow = f.flow;
      this.beyondLimitFlows++;
    }
  }

  /** A finished connection's unparseable bytes. */
  unparsed(_f: FlowStats, clientBytes: number, serverBytes: number): void {
    if (clientBytes + serverBytes === 0) return;
    this.unparsedClientBytes += clientBytes;
    this.unparsedServerBytes += serverBytes;
    this.unparsedFlows++;
  }

  /** Adds an answered exchange's three parts to its server's sums (for "where the time went"). */
  private phases(e: EndpointStats, x: ExchangeRecord): void {
    const reqLast = Math.max(x.reqFirstTNs, x.reqLastTNs);
    const respFirst = Math.min(Math.max(reqLast, x.respFirstTNs), x.respLastTNs);
    e.requestNs += reqLast - x.reqFirstTNs;
    e.serverNs += respFirst - reqLast;
    e.responseNs += x.respLastTNs - respFirst;
  }

  /** Stalls of a message that never completed (the capture ended, a gap). */
  orphanStalls(f: FlowStats, stalls: StallEvent[] | undefined): void {
    if (stalls === undefined) return;
    for (const s of stalls) this.stall(f, "(incomplete)", undefined, s, "delayed-ack");
  }

  private stall(f: FlowStats, verb: string, key: string | undefined, s: StallEvent, cause: Cause): void {
    if (s.side === "request") this.requestStalls++;
    else this.responseStalls++;
    this.stalledNs += s.stallNs;
    f.stalledNs += s.stallNs;
    f.endpoint.stalls++;
    f.endpoint.stalledNs += s.stallNs;
    this.record(this.stallLengths, s.stallNs / 1000);
    if (this.items.length >= this.opts.maxItems) {
      this.itemsOmitted++;
      return;
    }
    const item: StallItem = {
      flow: f.flow,
      connection: `${f.client} → ${f.server}`,
      command: verb,
      side: s.side,
      stallMs: msFromNs(s.stallNs),
      frames: [s.before, s.ack, s.after],
      atSec: Math.round(s.tNs / 1000) / 1e6,
      cause,
    };
    if (this.opts.showKeys && key !== undefined) item.key = key;
    this.opts.stamp?.(item);
    this.items.push(item);
  }

  private considerTop(f: FlowStats, x: ExchangeRecord, wireUs: number, stallNs: number, cause: Cause | null): void {
    const n = this.opts.top;
    if (n <= 0) return;
    const stallMs = msFromNs(stallNs);
    if (this.top.length >= n && !worseThan(this.top[this.top.length - 1]!, stallMs, wireUs)) return;
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
      cause,
    };
    if (this.opts.showKeys && x.key !== undefined) t.key = x.key;
    t.atSec = Math.round(x.reqFirstTNs / 1000) / 1e6;
    if (this.opts.packetsOf) {
      const last = x.respLastFrame > 0 ? x.respLastFrame : x.reqLastFrame;
      const got = this.opts.packetsOf(f.flow, x.reqFirstFrame, last);
      t.packets = got.packets;
      if (got.omitted > 0) t.packetsOmitted = got.omitted;
    }
    this.opts.stamp?.(t);
    let i = this.top.length;
    while (i > 0 && worseThan(this.top[i - 1]!, stallMs, wireUs)) i--;
    this.top.splice(i, 0, t);
    if (this.top.length > n) this.top.pop();
  }

  /** Keeps a flow's wire time: all of the first FLOW_SAMPLES, then each replaces a random kept one with falling odds. */
  private sample(f: FlowStats, us: number): void {
    const n = ++f.wireCount;
    if (us > f.wireMaxUs) f.wireMaxUs = us;
    const s = f.samples;
    if (s === undefined) {
      f.samples = [us];
      return;
    }
    if (n === 1) s.length = 0;
    if (n <= FLOW_SAMPLES) {
      s.push(us);
      return;
    }
    // xorshift32: cheap, and the same sequence every run.
    let r = f.rng;
    r ^= r << 13;
    r ^= r >>> 17;
    r ^= r << 5;
    f.rng = r;
    const j = (r >>> 0) % n;
    if (j < FLOW_SAMPLES) s[j] = us;
  }

  flowDone(f: FlowStats): void {
    f.endpoint.flows++;
    if (this.flows.length >= MAX_FLOWS_LISTED) {
      this.flowsOmitted++;
      return;
    }
    const row: FlowSummary = {
      flow: f.flow,
      client: f.client,
      server: f.server,
      requests: f.requests,
      multiSegmentRequests: f.multiSegmentRequests,
      multiSegmentResponses: f.multiSegmentResponses,
      stalledRequests: f.stalledRequests,
      stalledResponses: f.stalledResponses,
      stalledMs: msFromNs(f.stalledNs),
      retransmissions: f.retransmissions,
      gaps: f.gaps,
      midStream: f.midStream,
      transport: f.transport,
      wireUs: flowWireSummary(f),
      verdict: verdictOf(f),
    };
    this.opts.stamp?.(row);
    this.flows.push(row);
  }

  endpointSummaries(): EndpointSummary[] {
    return sortEndpoints(
      [...this.endpoints.values()]
        .filter((e) => e.requests > 0 || e.flows > 0)
        .map((e) => ({
          server: e.server,
          flows: e.flows,
          requests: e.requests,
          stalls: e.stalls,
          stalledRatio: e.requests > 0 ? round(e.stalls / e.requests, 4) : 0,
          stalledMs: msFromNs(e.stalledNs),
          wireUs: wireSummary(e.wire),
          timeMs: {
            requestTransmit: msFromNs(e.requestNs),
            server: msFromNs(e.serverNs),
            responseTransmit: msFromNs(e.responseNs),
            stalled: msFromNs(e.stalledNs),
          },
        })),
    );
  }

  /** Each listed server's wire histogram (µs), behind its summary. */
  endpointWire(): Map<string, Histogram> {
    return new Map(
      [...this.endpoints.values()].filter((e) => e.requests > 0 || e.flows > 0).map((e) => [e.server, e.wire]),
    );
  }
}

/**
 * A cause's summary from its counts and its cost histogram: the typical cost
 * is the histogram's median (0.1 ms), and the rule names the timer it matches.
 * `rule` is undefined for "unexplained".
 */
export function causeSummaryOf(
  cause: Cause,
  rule: CauseRule | undefined,
  costs: Histogram,
  counts: Pick<CauseSummary, "requests" | "totalMs" | "evidence" | "examples">,
): CauseSummary {
  const typicalMs = costs.totalCount > 0 ? Math.round(percentileUs(costs, 50) / 100) / 10 : 0;
  return {
    cause,
    requests: counts.requests,
    totalMs: counts.totalMs,
    typicalMs,
    timer: rule?.timer(typicalMs) ?? null,
    evidence: counts.evidence,
    examples: counts.examples,
    advice: rule?.advice ?? UNEXPLAINED_ADVICE,
  };
}

/** The rule behind a cause (undefined for "unexplained"). */
export function causeRuleOf(cause: Cause): CauseRule | undefined {
  return CAUSE_RULES.find((r) => r.cause === cause);
}

/** Causes in report order: most time first, then most requests. */
export function sortCauses(causes: CauseSummary[]): CauseSummary[] {
  return causes.sort((a, b) => b.totalMs - a.totalMs || b.requests - a.requests || byName(a.cause, b.cause));
}

/** Endpoints in report order: most stalls first, then most requests. */
export function sortEndpoints(endpoints: EndpointSummary[]): EndpointSummary[] {
  return endpoints.sort((a, b) => b.stalls - a.stalls || b.requests - a.requests || byName(a.server, b.server));
}

/** Ties broken by name, so the order does not depend on which was seen first. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Flows in report order: most stalls first, then by flow number. */
export function sortFlows(flows: FlowSummary[]): FlowSummary[] {
  return flows.sort(
    (x, y) => y.stalledRequests + y.stalledResponses - (x.stalledRequests + x.stalledResponses) || x.flow - y.flow,
  );
}

/** The top exchanges' order: the longest stall first, then the longest wire time. */
export function worseExchange(a: TopExchange, b: TopExchange): number {
  return b.stallMs - a.stallMs || b.wireUs - a.wireUs;
}

/** `a` ranks below an exchange that stalled `stallMs` and took `wireUs` (stalls first, then wire time). */
function worseThan(a: TopExchange, stallMs: number, wireUs: number): boolean {
  return a.stallMs < stallMs || (a.stallMs === stallMs && a.wireUs < wireUs);
}

function verdictOf(f: FlowStats): FlowVerdict {
  if (f.requests === 0) return "no-requests";
  if (f.stalledRequests + f.stalledResponses > 0) return "stalls";
  if (f.multiSegmentRequests > 0) return "split-writes";
  return "clean";
}

/** A duration in whole µs within the histograms' range. */
function clampUs(us: number): number {
  const v = Math.round(us);
  return v >= 0 ? Math.min(v, HISTOGRAM_SETTINGS.highestTrackableValue) : 0;
}

/** Nearest-rank percentiles of a flow's kept wire times (exact up to FLOW_SAMPLES requests). */
function flowWireSummary(f: FlowStats): WireSummaryUs {
  const s = f.samples;
  if (s === undefined || s.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  s.sort((a, b) => a - b);
  const at = (p: number) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  return { count: f.wireCount, p50: at(50), p99: Math.min(at(99), f.wireMaxUs), max: f.wireMaxUs };
}

export function wireSummary(h: Histogram): WireSummaryUs {
  if (h.totalCount === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  return { count: h.totalCount, p50: percentileUs(h, 50), p99: percentileUs(h, 99), max: h.maxValue };
}
