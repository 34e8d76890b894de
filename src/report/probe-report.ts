import { newTable } from "./table.js";
import { withEnvelope } from "../results/record.js";
import type { ErrorCounts } from "../clients/errors.js";
import type { LatencySummaryUs } from "../metrics/histogram.js";
import { DISAGREEMENT_LIMIT, disagreement } from "../metrics/littles-law.js";
import { STALLING_RATIO } from "../probes/compare.js";
import type { Evidence } from "../probes/evidence.js";
import type { RateProbeResult } from "../probes/open-loop.js";
import type { ProbeResult, WorkerRow } from "../probes/result.js";
import { fmtCount, fmtMs, fmtNum, fmtPattern, fmtPct, fmtRate, fmtUs } from "./format.js";

/** The JSON document for `probe --json`: the result in its envelope. */
export function probeJson<T extends ProbeResult>(r: T): object {
  return withEnvelope("probe", r);
}

/** Human report of one probe run. */
export function renderProbe(r: ProbeResult): string {
  const out = reportBody(
    r,
    `mcdiag probe ${r.endpoint}: ${fmtPattern(r.write, r.noDelay)}, health check ${r.healthCheck}, ` +
      `pool ${r.poolSize}, concurrency ${r.concurrency}, ${fmtMs(r.durationMs)}${workersNote(r)}${r.interrupted ? " (interrupted)" : ""}`,
    latencyTable("phase", [
      ["pool wait", r.poolWaitUs],
      r.healthCheckUs.count > 0 && ["health check", r.healthCheckUs],
      ["wire", r.wireUs],
      ["total (every request)", r.totalUs],
      r.successLatencyUs.count !== r.totalUs.count && ["total (answered only)", r.successLatencyUs],
    ]),
    `requests ${fmtCount(r.requests)}: ${fmtCount(r.hits)} hits, ${fmtCount(r.misses)} misses, ` +
      `${fmtCount(errorTotal(r.errors))} errors; success ${fmtPct(r.successRatio)}; throughput ${fmtRate(r.throughputPerSec)}`,
    ` of ${fmtCount(r.hits + r.misses)}`,
  );
  for (const w of r.warnings) out.push(`warning: ${w}`);
  if (r.workers) out.push(workersTable(r.workers));
  if (r.stalledRatio >= STALLING_RATIO) out.push(adviceForStalls(r));
  return out.join("\n") + "\n";
}

/** The constant-rate report: the closed-loop one plus schedule, queueing, drain and the generator's own part. */
export function renderRateProbe(r: RateProbeResult): string {
  const out = reportBody(
    r,
    `mcdiag probe ${r.endpoint}: constant rate ${fmtRate(r.requestedRate)} (achieved ${fmtRate(r.achievedRate)}), ` +
      `${fmtPattern(r.write, r.noDelay)}, health check ${r.healthCheck}, pool ${r.poolSize}${workersNote(r)}` +
      (r.interrupted ? `, interrupted after ${fmtMs(r.durationMs)}` : ""),
    latencyTable("latency", [
      ["from intended start (users)", r.latencyUs],
      r.successLatencyUs.count !== r.latencyUs.count && ["users, answered only", r.successLatencyUs],
      ["pool wait", r.poolWaitUs],
      r.healthCheckUs.count > 0 && ["health check", r.healthCheckUs],
      ["service (wire)", r.serviceUs],
      ["scheduler lag", r.schedulerLagUs],
      ["response handling delay", r.responseDelayUs],
      ["wait on a freed connection", r.freeConnectionWaitUs],
      ["mcdiag itself", r.generatorUs],
    ]),
    `requests ${fmtCount(r.requests)} of ${fmtCount(r.issued)} issued: success ${fmtPct(r.successRatio)}, ` +
      `${fmtCount(errorTotal(r.errors))} errors; ` +
      `throughput ${fmtRate(r.throughputPerSec)}; queue drained ${fmtMs(r.drainMs)} after the schedule ended`,
    "",
  );
  out.push(
    `generator: mcdiag itself is ${fmtPct(r.generatorShare)} of the users' latency (mean ${fmtUs(r.generatorUs.mean)}: ` +
      `scheduling lag p50 ${fmtUs(r.schedulerLagUs.p50)} p99 ${fmtUs(r.schedulerLagUs.p99)}, ` +
      `response handling p99 ${fmtUs(r.responseDelayUs.p99)}, ` +
      `waits on freed connections p99 ${fmtUs(r.freeConnectionWaitUs.p99)}); ` +
      `CPU ${r.generatorCpuPercent.toFixed(0)} % of one core (it polls the clock near each deadline)` +
      (r.generatorCpuWaitPercent === undefined ? "" : `, waited for a CPU ${r.generatorCpuWaitPercent} % of the run`) +
      "; " +
      `event-loop delay p99 ${fmtUs(r.eventLoopDelayP99Us)}`,
  );
  if (r.generatorWarning) out.push(`warning: ${r.generatorWarning}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  if (r.workers) out.push(workersTable(r.workers));
  return out.join("\n") + "\n";
}

/** ", 4 workers on 2 hosts" on a merged result's header (pool and concurrency are then the fleet's totals). */
function workersNote(r: ProbeResult): string {
  if (!r.workers) return "";
  const hosts = new Set(r.workers.map((w) => w.host)).size;
  return `, merged from ${r.workers.length} workers${hosts > 1 ? ` on ${hosts} hosts` : ""} (pool and concurrency are their totals)`;
}

/** A cell of the workers' table: the text as printed, and the number behind it where there is one. */
export interface WorkerCell {
  text: string;
  value?: number;
}

/** The workers' table of a merged result, one row per worker: its head and cells (terminal and page share it). */
export function workerRows(rows: readonly WorkerRow[]): { head: string[]; rows: WorkerCell[][] } {
  const rate = rows.some((w) => w.requestedRate !== undefined);
  const files = rows.some((w) => w.file !== undefined);
  const head = [
    "worker",
    "host",
    ...(files ? ["result"] : []),
    "start",
    "window",
    ...(rate ? ["requested", "achieved", "lag p99"] : ["concurrency"]),
    "requests",
    "errors",
    "throughput",
    "p99",
    "note",
  ];
  const n = (text: string, value: number): WorkerCell => ({ text, value });
  const cells = rows.map((w) => {
    const note = w.interrupted
      ? "interrupted"
      : w.generatorWarning
        ? "generator behind"
        : (w.startLateMs ?? 0) >= 10
          ? `started ${fmtMs(w.startLateMs ?? 0)} late`
          : "";
    return [
      { text: `${w.worker.index}/${w.worker.count}` },
      { text: w.host },
      ...(files ? [{ text: w.file ?? "" }] : []),
      n(`+${fmtMs(w.startOffsetMs)}`, w.startOffsetMs),
      n(fmtMs(w.durationMs), w.durationMs),
      ...(rate
        ? [
            n(fmtRate(w.requestedRate ?? 0), w.requestedRate ?? 0),
            n(fmtRate(w.achievedRate ?? 0), w.achievedRate ?? 0),
            n(fmtUs(w.schedulerLagP99Us ?? 0), w.schedulerLagP99Us ?? 0),
          ]
        : [n(String(w.concurrency), w.concurrency)]),
      n(fmtCount(w.requests), w.requests),
      n(fmtCount(w.errors), w.errors),
      n(fmtRate(w.throughputPerSec), w.throughputPerSec),
      n(fmtUs(w.latencyP99Us), w.latencyP99Us),
      { text: note },
    ];
  });
  return { head, rows: cells };
}

/** One row per worker of a merged result, so the one that fell behind shows; then each worker's warnings. */
export function workersTable(rows: readonly WorkerRow[]): string {
  const table = workerRows(rows);
  const t = newTable(table.head);
  for (const r of table.rows) t.push(r.map((c) => c.text));
  const lines = [t.toString()];
  for (const w of rows) {
    const who = `worker ${w.worker.index}/${w.worker.count} (${w.file ?? w.host})`;
    if (w.generatorWarning) lines.push(`  ${who}: ${w.generatorWarning}`);
    for (const x of w.warnings) lines.push(`  ${who}: ${x}`);
  }
  return lines.join("\n");
}

/**
 * What both reports show, in order: the header, the verdict lines, the
 * latency table, the request counts, stalls, Little's law, the pool model
 * and the evidence. `stalledOf` follows the stalled count (" of N").
 */
function reportBody(r: ProbeResult, header: string, table: string, requests: string, stalledOf: string): string[] {
  const out = [header, ...verdictLines(r), table];
  if (r.requests > r.hits + r.misses) out.push(FAILURE_LEGEND);
  out.push(
    requests,
    `stalled (wire ≥ ${r.stallThresholdMs} ms): ${fmtCount(r.stalled)}${stalledOf} (${fmtPct(r.stalledRatio)})` +
      (r.stalled > 0 ? `, typically ${fmtMs(r.typicalStallMs)}` : ""),
    littlesLawLines(r),
    poolModelLines(r),
  );
  if (r.evidence) out.push(evidenceLines(r.evidence, r.stalled));
  return out;
}

/** A latency table with one row per phase given (`false` leaves a phase out). */
function latencyTable(first: string, phases: readonly (readonly [string, LatencySummaryUs] | false)[]): string {
  const t = newTable([first, "p50", "p90", "p99", "p99.9", "max", "mean", "count"]);
  for (const p of phases) if (p !== false) t.push(latencyRow(p[0], p[1]));
  return t.toString();
}

const FAILURE_LEGEND =
  "(failed requests count at their time to failure, a lower bound of what their users waited; the answered-only row leaves them out)";

/**
 * What a reader must see before any number: failures by kind, a stopped run,
 * replies that answered nothing, the success floor and the SLOs.
 */
function verdictLines(r: ProbeResult): string[] {
  const out: string[] = [];
  const failed = r.requests - r.hits - r.misses;
  if (!r.healthy) out.push(`NOT HEALTHY: ${r.problems.join("; ")}`);
  if (failed > 0) {
    out.push(
      `failures: ${fmtCount(failed)} of ${fmtCount(r.requests)} requests (${fmtPct(failed / r.requests)}): ${errorList(r.errors)}`,
    );
  }
  if (r.strayReplies > 0)
    out.push(`stray replies: ${fmtCount(r.strayReplies)} answered no request (each closed its connection)`);
  for (const [kind, msg] of Object.entries(r.errorSamples)) out.push(`  first ${kind}: ${msg}`);
  if (r.aborted) out.push(`run stopped early: ${r.aborted}`);
  if (r.slos) {
    out.push(
      `SLO (every request, from the users' start): ${r.slos
        .map((x) => `${x.slo} ${x.met ? "met" : "BROKEN"} (${sloValueText(x.slo, x.value)})`)
        .join(", ")}`,
    );
  }
  return out;
}

/** An SLO's measured value in the SLO's own terms. */
function sloValueText(slo: string, value: number): string {
  if (/^(success|stalled)/.test(slo) || (/^errors/.test(slo) && slo.endsWith("%"))) return fmtPct(value);
  if (/^errors/.test(slo)) return fmtCount(value);
  return fmtUs(value);
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
    `Little's law, busy connections: ${fmtRate(l.arrivalPerSec)} got a connection × ${fmtUs(l.meanHoldUs)} held = ` +
      `${fmtNum(l.busyConnections)} of ${l.poolSize} (${fmtPct(l.utilization)}); pool's own average ${fmtNum(l.sampledBusy)}` +
      disagreementNote(l.busyConnections, l.sampledBusy),
    `  waiting callers: ${fmtRate(l.waitArrivalPerSec)} started waiting × ${fmtUs(l.meanPoolWaitUs)} mean wait = ` +
      `${fmtNum(l.meanWaiting)}; pool's own average ${fmtNum(l.sampledWaiting)}` +
      disagreementNote(l.meanWaiting, l.sampledWaiting),
  ];
  if (l.utilization >= 0.95)
    lines.push(`  the pool is saturated: callers queue for connections; pool wait is part of the latency`);
  return lines.join("\n");
}

function disagreementNote(model: number, measured: number): string {
  const d = disagreement(model, measured);
  return d !== null && d > DISAGREEMENT_LIMIT ? ` (model and measurement disagree by ${fmtPct(d)})` : "";
}

function poolModelLines(r: ProbeResult): string {
  const m = r.poolModel;
  const measured = `measured ${fmtMs(m.measuredMeanWaitMs)}`;
  if (m.model === "finite-source") {
    return (
      `  pool model (finite source: ${m.callers} callers, ${fmtMs(m.thinkMs ?? 0)} away between checkouts, ` +
      `${fmtUs(r.littlesLaw.meanHoldUs)} held, ${r.poolSize} connections): predicted mean wait ${fmtMs(m.predictedMeanWaitMs ?? 0)}; ${measured}`
    );
  }
  const rate = "achievedRate" in r ? (r as RateProbeResult).achievedRate : r.littlesLaw.waitArrivalPerSec;
  if (m.stable) {
    return `  pool model (M/M/${r.poolSize}, random arrivals at ${fmtRate(rate)}): predicted mean wait ${fmtMs(m.predictedMeanWaitMs ?? 0)}; ${measured}`;
  }
  return [
    `  pool model: the queue is UNSTABLE: ${fmtRate(rate)} × ${fmtUs(r.littlesLaw.meanHoldUs)} held = ${fmtNum(m.offeredLoad, 1)} connections' worth of load ` +
      `on a pool of ${r.poolSize}; the queue grows by ${fmtCount(Math.round(m.queueGrowthPerSec ?? 0))} callers per second until the timeout fails them, and has no mean wait (${measured})`,
    `  the offered load needs at least ${fmtCount(m.requiredPool ?? 0)} connections to keep the mean wait under ${fmtMs(m.targetWaitMs ?? 0)} ` +
      `(${fmtCount(m.minimumPool ?? 0)} just keep up)`,
  ].join("\n");
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

/** "acquire_timeout 374, timeout 3", most frequent first. */
export function errorList(e: ErrorCounts): string {
  return Object.entries(e)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([k, v]) => `${k} ${fmtCount(v ?? 0)}`)
    .join(", ");
}
