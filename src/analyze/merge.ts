import { HISTOGRAM_SETTINGS, type Histogram } from "../metrics/histogram.js";
import { decodeHistogram } from "../results/histogram-codec.js";
import { arrayAt, badField, intAt, numberAt, objectAt, type Json } from "../results/fields.js";
import { mergeHistograms, sumCounts } from "../results/merge.js";
import { McdiagError } from "../util/errors.js";
import { msFromNs, round } from "../util/round.js";
import {
  CAUSE_EXAMPLES,
  MAX_FLOWS_LISTED,
  causeRuleOf,
  causeSummaryOf,
  sortCauses,
  sortEndpoints,
  sortFlows,
  wireSummary,
  worseExchange,
} from "./aggregate.js";
import {
  advice,
  analysisWarnings,
  encodedAnalysisHistograms,
  stallTimerMs,
  timerNote,
  type WarningFacts,
} from "./analyzer.js";
import type { Cause } from "./causes.js";
import { exchangeTimeline } from "./exchange-timeline.js";
import type {
  AnalysisResult,
  CaptureFilePart,
  CauseSummary,
  EndpointSummary,
  EndpointTimeMs,
  WireSummaryUs,
} from "./result.js";
import { addPointsInOrder, compareKeys, type OrderKey, type ShareNs, type ShareRecord } from "./share.js";

/**
 * `analyze --json` results of captures taken apart (hosts, interfaces,
 * time slices) merged into one: counts summed, histograms added bucket by
 * bucket and every percentile read from the merge, so a figure of the merge
 * is the figure one analysis of all the traffic would give, as long as no
 * connection was split between two captures (a connection's exchanges are
 * reassembled within one capture).
 */

/** One result read back, with its histograms decoded. */
export interface AnalysisInput {
  result: AnalysisResult;
  /** The result's file, for errors and for `result` on merged rows. */
  where: string;
  wire: Histogram;
  stalls: Histogram;
  endpoints: Map<string, Histogram>;
  causes: Map<Cause, Histogram>;
}

/**
 * Reads an analyze result back: the fields the merge uses are checked, and
 * each histogram must decode and agree with the summary beside it. A bad
 * one is a BAD_INPUT error naming `where`.
 */
export function analysisInputOf(doc: Json, where: string): AnalysisInput {
  for (const k of ["packets", "flows", "memcachedFlows", "udpFlows", "otherFlows", "slowRequests"])
    intAt(doc, k, where);
  numberAt(doc, "slowThresholdMs", where);
  const requests = objectAt(doc, "requests", where);
  intAt(requests, "total", where, "requests.total");
  objectAt(doc, "stalls", where);
  const limits = objectAt(doc, "listLimits", where);
  for (const k of ["top", "stallItems"]) intAt(limits, k, where, `listLimits.${k}`);
  for (const k of ["causes", "endpoints", "flowsDetail", "top", "warnings", "advice"]) arrayAt(doc, k, where);
  const r = doc as unknown as AnalysisResult;
  const h = objectAt(doc, "histograms", where);
  const one = (encoded: unknown, path: string, summary?: WireSummaryUs) =>
    decodeHistogram(encoded, `${where}: histograms.${path}`, summary && { count: summary.count, max: summary.max });
  const wire = one(h.wireUs, "wireUs", r.wireUs);
  const stalls = one(h.stallUs, "stallUs");
  if (stalls.totalCount !== r.stalls.request + r.stalls.response) {
    throw badField(where, "histograms.stallUs", `holds ${stalls.totalCount} stalls, not request + response stalls`);
  }
  const encodedEndpoints = objectAt(h, "endpoints", where, "histograms.endpoints");
  const endpoints = new Map<string, Histogram>();
  for (const e of r.endpoints) {
    endpoints.set(e.server, one(encodedEndpoints[e.server], `endpoints["${e.server}"]`, e.wireUs));
  }
  const encodedCauses = objectAt(h, "causes", where, "histograms.causes");
  const causes = new Map<Cause, Histogram>();
  for (const c of r.causes) {
    // The worst example is the largest cost, to the µs: the exact max beside the buckets.
    const maxUs = c.examples.length > 0 ? Math.round(c.examples[0]!.ms * 1000) : undefined;
    const costs = decodeHistogram(
      encodedCauses[c.cause],
      `${where}: histograms.causes.${c.cause}`,
      maxUs === undefined ? undefined : { max: Math.min(maxUs, HISTOGRAM_SETTINGS.highestTrackableValue) },
    );
    causes.set(c.cause, costs);
  }
  return { result: r, where, wire, stalls, endpoints, causes };
}

/**
 * The inputs are shares of one capture, split between workers by flow (see
 * share.ts): the merge is then the one analysis of the whole capture, with
 * its flow numbers, rows in its order, its warnings and timeline.
 */
export interface SharedCapture {
  /** Each input's share record, index for index. */
  records: readonly ShareRecord[];
  file: string;
  files?: CaptureFilePart[];
}

/**
 * Merges analyses of separate captures, or the shares of one capture
 * (`shared`). They must have judged slow requests by the same threshold
 * (the causes would not add up otherwise).
 */
export function mergeAnalyses(inputs: readonly AnalysisInput[], shared?: SharedCapture): AnalysisResult {
  if (inputs.length === 0) throw new McdiagError("BAD_INPUT", "no analyze results to merge");
  const first = inputs[0]!;
  for (const i of inputs.slice(1)) {
    if (i.result.slowThresholdMs !== first.result.slowThresholdMs) {
      throw new McdiagError(
        "BAD_INPUT",
        `${i.where}: slow threshold ${i.result.slowThresholdMs} ms differs from ${first.where}'s ${first.result.slowThresholdMs} ms: analyse both with the same --slow`,
        { file: i.where },
      );
    }
  }
  const rs = inputs.map((i) => i.result);
  const sum = (f: (r: AnalysisResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  // Rows of separate captures name theirs; shares of one capture are one analysis.
  const tag = <T extends object>(x: T, i: AnalysisInput): T => (shared ? x : { ...x, result: i.where });
  const keyOf = shared === undefined ? undefined : orderShares(rs, shared.records);
  // Rows in the order they were made (one capture), or in input order (separate ones).
  const made = (a: object, b: object) => (keyOf === undefined ? 0 : compareKeys(keyOf(a), keyOf(b)));
  // A total in ms: shares of one capture add their unrounded ns and round once, as one analysis does.
  const msTotal = (parts: number[], ns: (n: ShareNs) => number | undefined) =>
    shared
      ? msFromNs(shared.records.reduce((a, r) => a + (ns(r.ns) ?? 0), 0))
      : round(
          parts.reduce((a, b) => a + b, 0),
          3,
        );

  const wire = mergeHistograms(inputs.map((i) => i.wire));
  const stallLengths = mergeHistograms(inputs.map((i) => i.stalls));
  const timerMs = stallTimerMs(stallLengths);

  const endpoints: EndpointSummary[] = [];
  const endpointWire = new Map<string, Histogram>();
  for (const server of new Set(rs.flatMap((r) => r.endpoints.map((e) => e.server)))) {
    const parts = inputs.flatMap((i) => {
      const e = i.result.endpoints.find((x) => x.server === server);
      return e === undefined ? [] : [{ e, h: i.endpoints.get(server)! }];
    });
    const h = mergeHistograms(parts.map((p) => p.h));
    endpointWire.set(server, h);
    const requests = parts.reduce((a, p) => a + p.e.requests, 0);
    const stalls = parts.reduce((a, p) => a + p.e.stalls, 0);
    endpoints.push({
      server,
      flows: parts.reduce((a, p) => a + p.e.flows, 0),
      requests,
      stalls,
      stalledRatio: requests > 0 ? round(stalls / requests, 4) : 0,
      stalledMs: msTotal(
        parts.map((p) => p.e.stalledMs),
        (n) => n.endpoints[server]?.stalled,
      ),
      wireUs: wireSummary(h),
    });
    // Where each server's wire time went: sums, when every part has them.
    const times = parts.map((p) => p.e.timeMs);
    if (times.every((t) => t !== undefined)) {
      const sumOf = (k: keyof EndpointTimeMs, ns: keyof ShareNs["endpoints"][string]) =>
        msTotal(
          times.map((t) => t[k]),
          (n) => n.endpoints[server]?.[ns],
        );
      endpoints[endpoints.length - 1]!.timeMs = {
        requestTransmit: sumOf("requestTransmit", "request"),
        server: sumOf("server", "server"),
        responseTransmit: sumOf("responseTransmit", "response"),
        stalled: sumOf("stalled", "stalled"),
      };
    }
  }

  const causes: CauseSummary[] = [];
  const causeCosts = new Map<Cause, Histogram>();
  for (const cause of new Set(rs.flatMap((r) => r.causes.map((c) => c.cause)))) {
    const parts = inputs.flatMap((i) => {
      const c = i.result.causes.find((x) => x.cause === cause);
      return c === undefined ? [] : [{ c, i }];
    });
    const costs = mergeHistograms(parts.map((p) => p.i.causes.get(cause)!));
    causeCosts.set(cause, costs);
    const s = causeSummaryOf(cause, causeRuleOf(cause), costs, {
      requests: parts.reduce((a, p) => a + p.c.requests, 0),
      totalMs: msTotal(
        parts.map((p) => p.c.totalMs),
        (n) => n.causes[cause],
      ),
      evidence: sumCounts(parts.map((p) => p.c.evidence)) as Record<string, number>,
      examples: parts
        .flatMap((p) => p.c.examples.map((x) => tag(x, p.i)))
        .sort((a, b) => b.ms - a.ms || made(a, b))
        .slice(0, CAUSE_EXAMPLES),
    });
    if (cause === "connect") s.connections = parts.reduce((a, p) => a + (p.c.connections ?? 0), 0);
    causes.push(s);
  }
  sortCauses(causes);

  const allFlows = inputs.flatMap((i) => i.result.flowsDetail.map((f) => tag(f, i)));
  const flowsOmitted = sum((r) => r.flowsOmitted) + Math.max(0, allFlows.length - MAX_FLOWS_LISTED);
  // One capture lists the flows finished first; separate ones, the worst.
  const flows =
    keyOf === undefined
      ? sortFlows(allFlows).slice(0, MAX_FLOWS_LISTED)
      : sortFlows(allFlows.sort(made).slice(0, MAX_FLOWS_LISTED));
  const listLimits = {
    top: Math.max(...rs.map((r) => r.listLimits.top)),
    stallItems: Math.max(...rs.map((r) => r.listLimits.stallItems)),
  };
  const top = inputs
    .flatMap((i) => i.result.top.map((t) => tag(t, i)))
    .sort((a, b) => worseExchange(a, b) || made(a, b))
    .slice(0, listLimits.top);
  const allItems = inputs.flatMap((i) => i.result.stalls.items.map((s) => tag(s, i))).sort(made);
  const items = allItems.slice(0, listLimits.stallItems);
  const firsts = rs.map((r) => r.firstPacketMs).filter((t): t is number => t !== null);
  const lasts = rs.map((r) => r.lastPacketMs).filter((t): t is number => t !== null);
  const firstPacketMs = firsts.length > 0 ? Math.min(...firsts) : null;
  const lastPacketMs = lasts.length > 0 ? Math.max(...lasts) : null;
  const same = <T>(f: (r: AnalysisResult) => T): T | undefined =>
    rs.every((r) => f(r) === f(first.result)) ? f(first.result) : undefined;
  const requestStalls = sum((r) => r.stalls.request);
  const responseStalls = sum((r) => r.stalls.response);
  const multiSegmentRequests = sum((r) => r.multiSegmentRequests);
  const warnings = shared
    ? analysisWarnings(mergedFacts(shared.records.map((r) => r.facts)))
    : inputs.flatMap((i) => i.result.warnings.map((w) => `${i.where}: ${w}`));
  const result: AnalysisResult = {
    file: shared?.file ?? `${inputs.length} results merged`,
    format: same((r) => r.format),
    // Every share read every packet: the capture's own figures are each share's.
    linkTypes: shared ? first.result.linkTypes : [...new Set(rs.flatMap((r) => r.linkTypes))].sort((a, b) => a - b),
    timestampResolution: same((r) => r.timestampResolution),
    durationSec: shared
      ? first.result.durationSec
      : firstPacketMs !== null && lastPacketMs !== null
        ? Math.round(lastPacketMs - firstPacketMs) / 1000
        : 0,
    firstPacketMs,
    lastPacketMs,
    packets: shared ? first.result.packets : sum((r) => r.packets),
    truncatedPackets: sum((r) => r.truncatedPackets),
    decode: sumCounts(rs.map((r) => r.decode)) as AnalysisResult["decode"],
    flows: sum((r) => r.flows),
    memcachedFlows: sum((r) => r.memcachedFlows),
    udpFlows: sum((r) => r.udpFlows),
    otherFlows: sum((r) => r.otherFlows),
    flowsEvicted: sumCounts(rs.map((r) => r.flowsEvicted)) as AnalysisResult["flowsEvicted"],
    requests: {
      total: sum((r) => r.requests.total),
      byCommand: sumCounts(rs.map((r) => r.requests.byCommand)) as Record<string, number>,
      unanswered: sum((r) => r.requests.unanswered),
      noreply: sum((r) => r.requests.noreply),
    },
    responses: sumCounts(rs.map((r) => r.responses)) as AnalysisResult["responses"],
    multiSegmentRequests,
    multiSegmentResponses: sum((r) => r.multiSegmentResponses),
    retransmissions: sum((r) => r.retransmissions),
    gaps: sum((r) => r.gaps),
    unparsedBytes: sumCounts(rs.map((r) => r.unparsedBytes)) as AnalysisResult["unparsedBytes"],
    stalls: {
      request: requestStalls,
      response: responseStalls,
      totalMs: msTotal(
        rs.map((r) => r.stalls.totalMs),
        (n) => n.stalled,
      ),
      delayedAckTimerMs: timerMs,
      timerNote: timerMs === null ? null : timerNote(timerMs),
      items,
      itemsOmitted: sum((r) => r.stalls.itemsOmitted) + allItems.length - items.length,
    },
    wireUs: wireSummary(wire),
    slowThresholdMs: first.result.slowThresholdMs,
    slowRequests: sum((r) => r.slowRequests),
    causes,
    endpoints: sortEndpoints(endpoints),
    flowsDetail: flows.slice(0, MAX_FLOWS_LISTED),
    flowsOmitted,
    top,
    listLimits,
    // One analysis advises only when it saw a request over TCP, and then always says something:
    // an input with advice is one that saw such a request.
    advice: advice(
      rs.some((r) => r.advice.length > 0) ? 1 : 0,
      requestStalls,
      responseStalls,
      multiSegmentRequests,
      timerMs,
      causes,
    ),
    warnings,
    histograms: encodedAnalysisHistograms(wire, stallLengths, endpointWire, causeCosts),
  };
  if (shared) {
    const timeline = exchangeTimeline();
    addPointsInOrder(
      timeline,
      shared.records.map((r) => r.points),
    );
    result.timeline = timeline.finish();
    if (shared.files !== undefined) result.files = shared.files;
  } else result.mergedFrom = inputs.map((i) => i.where);
  if (rs.some((r) => r.interrupted === true)) result.interrupted = true;
  return result;
}

/**
 * Gives the shares' flows the numbers the one analysis gives them (in the
 * order of their first frames) and returns each row's order key.
 */
function orderShares(rs: readonly AnalysisResult[], records: readonly ShareRecord[]): (row: object) => OrderKey {
  // Every flow of every share, by first frame (each share's list is already in that order).
  const all: { frame: number; share: number; local: number }[] = [];
  records.forEach((r, share) => r.flowFirstFrames.forEach((frame, i) => all.push({ frame, share, local: i + 1 })));
  all.sort((a, b) => a.frame - b.frame || a.share - b.share || a.local - b.local);
  const numbers = records.map((r) => new Array<number>(r.flowFirstFrames.length + 1));
  all.forEach((f, i) => (numbers[f.share]![f.local] = i + 1));
  const keys = new Map<object, OrderKey>();
  rs.forEach((r, share) => {
    const k = records[share]!.keys;
    const renumber = (row: { flow: number }, key: OrderKey | undefined) => {
      row.flow = numbers[share]![row.flow] ?? row.flow;
      keys.set(row, key!);
    };
    r.stalls.items.forEach((row, i) => renumber(row, k.items[i]));
    r.top.forEach((row, i) => renumber(row, k.top[i]));
    r.flowsDetail.forEach((row, i) => renumber(row, k.flows[i]));
    r.causes.forEach((c, j) => c.examples.forEach((row, i) => renumber(row, k.examples[j]![i])));
  });
  return (row) => keys.get(row)!;
}

/** The warning facts of one capture from its shares': counts summed, the capture's own facts from the first. */
function mergedFacts(facts: readonly WarningFacts[]): WarningFacts {
  const first = facts[0]!;
  return {
    ...first,
    counts: sumCounts(facts.map((f) => f.counts)) as WarningFacts["counts"],
    unknownLinks: [...new Set(facts.flatMap((f) => f.unknownLinks))],
    serversBeforeOthers: Math.max(...facts.map((f) => f.serversBeforeOthers)),
  };
}
