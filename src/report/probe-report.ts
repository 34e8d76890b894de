import { newTable } from "./table.js";
import type { ErrorCounts } from "../clients/errors.js";
import type { LatencySummaryUs } from "../metrics/histogram.js";
import type { Evidence } from "../probes/evidence.js";
import type { RateProbeResult } from "../probes/open-loop.js";
import type { ProbeResult } from "../probes/result.js";
import { fmtCount, fmtMs, fmtNum, fmtPattern, fmtPct, fmtRate, fmtUs } from "./format.js";

/** Human report of one probe run. */
export function renderProbe(r: ProbeResult): string {
  const out: string[] = [];
  out.push(
    `mcdiag probe ${r.endpoint}: ${fmtPattern(r.write, r.noDelay)}, health check ${r.healthCheck}, ` +
      `pool ${r.poolSize}, concurrency ${r.concurrency}, ${fmtMs(r.durationMs)}`,
  );
  const t = newTable(["phase", "p50", "p90", "p99", "p99.9", "max", "mean", "count"]);
  const row = (name: string, s: LatencySummaryUs) => t.push(latencyRow(name, s));
  row("pool wait", r.poolWaitUs);
  if (r.healthCheckUs.count > 0) row("health check", r.healthCheckUs);
  row("wire", r.wireUs);
  row("total", r.totalUs);
  out.push(t.toString());
  out.push(
    `requests ${fmtCount(r.requests)}: ${fmtCount(r.hits)} hits, ${fmtCount(r.misses)} misses, ` +
      `${fmtCount(errorTotal(r.errors))} errors${errorList(r.errors)}; throughput ${fmtRate(r.throughputPerSec)}`,
  );
  out.push(
    `stalled (wire ≥ ${r.stallThresholdMs} ms): ${fmtCount(r.stalled)} of ${fmtCount(r.hits + r.misses)} (${fmtPct(r.stalledRatio)})` +
      (r.stalled > 0 ? `, typically ${fmtMs(r.typicalStallMs)}` : ""),
  );
  out.push(littlesLawLines(r));
  out.push(poolModelLine(r));
  if (r.evidence) out.push(evidenceLines(r.evidence, r.stalled));
  for (const [kind, msg] of Object.entries(r.errorSamples)) out.push(`  first ${kind}: ${msg}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  if (r.aborted) out.push(`run stopped early: ${r.aborted}`);
  if (r.stalledRatio >= 0.05) out.push(adviceForStalls(r));
  return out.join("\n") + "\n";
}

/** The constant-rate report: the closed-loop one plus schedule, queueing and drain. */
export function renderRateProbe(r: RateProbeResult): string {
  const out: string[] = [];
  out.push(
    `mcdiag probe ${r.endpoint}: constant rate ${fmtRate(r.requestedRate)} (achieved ${fmtRate(r.achievedRate)}), ` +
      `${fmtPattern(r.write, r.noDelay)}, health check ${r.healthCheck}, pool ${r.poolSize}`,
  );
  const t = newTable(["latency", "p50", "p90", "p99", "p99.9", "max", "mean", "count"]);
  const row = (name: string, s: LatencySummaryUs) => t.push(latencyRow(name, s));
  row("from intended start (users)", r.latencyUs);
  row("pool wait", r.poolWaitUs);
  if (r.healthCheckUs.count > 0) row("health check", r.healthCheckUs);
  row("service (wire)", r.serviceUs);
  row("scheduler lag", r.schedulerLagUs);
  out.push(t.toString());
  out.push(
    `requests ${fmtCount(r.requests)}: success ${fmtPct(r.successRatio)}, ${fmtCount(errorTotal(r.errors))} errors${errorList(r.errors)}; ` +
      `throughput ${fmtRate(r.throughputPerSec)}; queue drained ${fmtMs(r.drainMs)} after the schedule ended`,
  );
  out.push(
    `stalled (wire ≥ ${r.stallThresholdMs} ms): ${fmtCount(r.stalled)} (${fmtPct(r.stalledRatio)})` +
      (r.stalled > 0 ? `, typically ${fmtMs(r.typicalStallMs)}` : ""),
  );
  out.push(littlesLawLines(r));
  out.push(poolModelLine(r));
  if (r.evidence) out.push(evidenceLines(r.evidence, r.stalled));
  out.push(
    `generator: scheduling lag p99 ${fmtUs(r.schedulerLagUs.p99)}, event-loop delay p99 ${fmtUs(r.eventLoopDelayP99Us)}`,
  );
  if (r.generatorWarning) out.push(`warning: ${r.generatorWarning}`);
  for (const [kind, msg] of Object.entries(r.errorSamples)) out.push(`  first ${kind}: ${msg}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  if (r.aborted) out.push(`run stopped early: ${r.aborted}`);
  return out.join("\n") + "\n";
}

function poolModelLine(r: ProbeResult): string {
  const m = r.poolModel;
  const predicted =
    m.predictedMeanWaitMs === null ? "unbounded (the pool cannot keep up)" : fmtMs(m.predictedMeanWaitMs);
  return `  pool model (M/M/${r.poolSize}, random arrivals): predicted mean wait ${predicted}; measured ${fmtMs(m.measuredMeanWaitMs)}`;
}

/** One table row of a latency summary: p50 p90 p99 p99.9 max mean count. */
function latencyRow(name: string, s: LatencySummaryUs): string[] {
  if (s.count === 0) return [name, "-", "-", "-", "-", "-", "-", "0"];
  return [
    name,
    fmtUs(s.p50),
    fmtUs(s.p90),
    fmtUs(s.p99),
    fmtUs(s.p999),
    fmtUs(s.max),
    fmtUs(s.mean),
    fmtCount(s.count),
  ];
}

export function evidenceLines(e: Evidence, stalled: number): string {
  const lines: string[] = [];
  if (e.stats)
    lines.push(
      `server stats (after − before): ${Object.entries(e.stats)
        .map(([k, v]) => `${k} ${v >= 0 ? "+" : ""}${v}`)
        .join(", ")}`,
    );
  else if (e.statsNote) lines.push(`server stats: ${e.statsNote}`);
  if (e.kernel) {
    lines.push(
      `kernel (this host): DelayedACKs +${e.kernel.DelayedACKs}, DelayedACKLocked +${e.kernel.DelayedACKLocked}, DelayedACKLost +${e.kernel.DelayedACKLost}, ` +
        `RetransSegs +${e.kernel.RetransSegs}, TCPLossProbes +${e.kernel.TCPLossProbes}, TCPTimeouts +${e.kernel.TCPTimeouts}, TCPSynRetrans +${e.kernel.TCPSynRetrans}` +
        (stalled > 0 ? ` beside ${stalled} stalled requests` : ""),
    );
  } else if (e.kernelNote) lines.push(`kernel: ${e.kernelNote}`);
  return lines.join("\n");
}

export function littlesLawLines(r: ProbeResult): string {
  const l = r.littlesLaw;
  const lines = [
    `Little's law: ${fmtRate(l.arrivalPerSec)} × ${fmtUs(l.meanHoldUs)} held = ${fmtNum(l.busyConnections)} busy connections ` +
      `of ${l.poolSize} (${fmtPct(l.utilization)}); pool's own average ${fmtNum(l.sampledBusy)}`,
    `  waiting for a connection: λ × mean wait = ${fmtNum(l.meanWaiting)} callers; pool's own average ${fmtNum(l.sampledWaiting)}`,
  ];
  if (l.utilization >= 0.95)
    lines.push(`  the pool is saturated: callers queue for connections; pool wait is part of the latency`);
  return lines.join("\n");
}

function adviceForStalls(r: ProbeResult): string {
  if (r.write === "split" && !r.noDelay) {
    return (
      `advice: each command leaves in several writes with Nagle on, so the tail waits for the server's delayed ACK (~40 ms on Linux). ` +
      `Write each command in one buffer (or cork/uncork), or set TCP_NODELAY.`
    );
  }
  return `advice: requests stall although each command leaves whole; look at the server, the proxy, or the network path.`;
}

export function errorTotal(e: ErrorCounts): number {
  let n = 0;
  for (const v of Object.values(e)) n += v ?? 0;
  return n;
}

function errorList(e: ErrorCounts): string {
  const parts = Object.entries(e).map(([k, v]) => `${k} ${v}`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}
