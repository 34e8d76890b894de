import { HISTOGRAM_SETTINGS, type Histogram } from "../metrics/histogram.js";
import { decodeHistogram } from "../results/histogram-codec.js";
import { arrayAt, badField, intAt, numberAt, objectAt, type Json } from "../results/fields.js";
import { mergeHistograms, sumCounts } from "../results/merge.js";
import { McdiagError } from "../util/errors.js";
import { round } from "../util/round.js";
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
import { advice, encodedAnalysisHistograms, stallTimerMs, timerNote } from "./analyzer.js";
import type { Cause } from "./causes.js";
import type { AnalysisResult, CauseSummary, EndpointSummary, EndpointTimeMs, WireSummaryUs } from "./result.js";

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
 * Merges analyses of separate captures. They must have judged slow
 * requests by the same threshold (the causes would not add up otherwise).
 */
export function mergeAnalyses(inputs: readonly AnalysisInput[]): AnalysisResult {
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
  const tag = <T extends object>(x: T, i: AnalysisInput): T & { result: string } => ({ ...x, result: i.where });

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
      stalledMs: round(
        parts.reduce((a, p) => a + p.e.stalledMs, 0),
        3,
      ),
      wireUs: wireSummary(h),
    });
    // Where each server's wire time went: sums, when every part has them.
    const times = parts.map((p) => p.e.timeMs);
    if (times.every((t) => t !== undefined)) {
      const sumOf = (k: keyof EndpointTimeMs) =>
        round(
          times.reduce((a, t) => a + t[k], 0),
          3,
        );
      endpoints[endpoints.length - 1]!.timeMs = {
        requestTransmit: sumOf("requestTransmit"),
        server: sumOf("server"),
        responseTransmit: sumOf("responseTransmit"),
        stalled: sumOf("stalled"),
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
      totalMs: round(
        parts.reduce((a, p) => a + p.c.totalMs, 0),
        3,
      ),
      evidence: sumCounts(parts.map((p) => p.c.evidence)) as Record<string, number>,
      examples: parts
        .flatMap((p) => p.c.examples.map((x) => tag(x, p.i)))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, CAUSE_EXAMPLES),
    });
    if (cause === "connect") s.connections = parts.reduce((a, p) => a + (p.c.connections ?? 0), 0);
    causes.push(s);
  }
  sortCauses(causes);

  const flows = sortFlows(inputs.flatMap((i) => i.result.flowsDetail.map((f) => tag(f, i))));
  const flowsOmitted = sum((r) => r.flowsOmitted) + Math.max(0, flows.length - MAX_FLOWS_LISTED);
  const listLimits = {
    top: Math.max(...rs.map((r) => r.listLimits.top)),
    stallItems: Math.max(...rs.map((r) => r.listLimits.stallItems)),
  };
  const top = inputs
    .flatMap((i) => i.result.top.map((t) => tag(t, i)))
    .sort(worseExchange)
    .slice(0, listLimits.top);
  const allItems = inputs.flatMap((i) => i.result.stalls.items.map((s) => tag(s, i)));
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
  const warnings = inputs.flatMap((i) => i.result.warnings.map((w) => `${i.where}: ${w}`));
  const result: AnalysisResult = {
    file: `${inputs.length} results merged`,
    format: same((r) => r.format),
    linkTypes: [...new Set(rs.flatMap((r) => r.linkTypes))].sort((a, b) => a - b),
    timestampResolution: same((r) => r.timestampResolution),
    durationSec: firstPacketMs !== null && lastPacketMs !== null ? Math.round(lastPacketMs - firstPacketMs) / 1000 : 0,
    firstPacketMs,
    lastPacketMs,
    packets: sum((r) => r.packets),
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
      totalMs: round(
        sum((r) => r.stalls.totalMs),
        3,
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
    mergedFrom: inputs.map((i) => i.where),
  };
  if (rs.some((r) => r.interrupted === true)) result.interrupted = true;
  return result;
}
