import type { ErrorCounts, ErrorKind } from "../clients/errors.js";
import { decodeHistograms } from "../results/histogram-codec.js";
import {
  arrayAt,
  badField,
  boolAt,
  countsAt,
  intAt,
  numberAt,
  objectAt,
  stringAt,
  stringsAt,
  type Json,
} from "../results/fields.js";
import { firstOf, median, mergeHistogramSets, sumCounts, unionLengthMs } from "../results/merge.js";
import { McdiagError } from "../util/errors.js";
import { judgeRun } from "./health.js";
import { achievedRateOf, RATE_HISTOGRAMS, rateResultOf, type RateParts, type RateProbeResult } from "./open-loop.js";
import { probeResultOf } from "./recorder.js";
import {
  PROBE_HISTOGRAMS,
  withLatencyHistogram,
  type ProbeParts,
  type ProbeResult,
  type RunInfo,
  type WorkerRow,
} from "./result.js";
import { SOLE_WORKER, type WorkerId } from "./run-info.js";
import { parseSlos, type Slo } from "./slo.js";
import { sweepResultOf, type SweepResult } from "./sweep.js";

/**
 * A fleet's results merged into one, exactly: histograms bucket by bucket,
 * counts summed, the window the union of the workers' windows on the wall
 * clock. The merged result goes through the same derivation as a single
 * run (`probeResultOf`, `rateResultOf`), so its percentiles, rates and
 * Little's-law figures are what one run holding every worker's samples
 * would report; the SLOs and the success floor are judged on it. Per-worker
 * rows show who fell behind.
 */

/** One probe result read back, ready to merge. */
export interface ProbeInput {
  /** Names the result in errors and rows: a file, a file and a step, a worker thread. */
  where: string;
  file?: string;
  result: ProbeResult | RateProbeResult;
  parts: ProbeParts;
  rate?: RateParts;
}

export interface FleetOptions {
  slos?: readonly Slo[];
  /** The success floor; by default the one the results share. */
  minSuccessRatio?: number;
  /** The merged result's own worker id (an in-process merge of one shard's threads); default 0 of 1. */
  worker?: WorkerId;
}

/** A worker whose start is further than this from the median start gets a warning (ms)… */
export const START_SKEW_WARN_MIN_MS = 100;
/** …or further than this share of the median window, whichever is larger. */
export const START_SKEW_WARN_SHARE = 0.05;

/**
 * Reads a probe result (as `probe --json` prints it, or one of the runs of
 * a sweep) back into its parts. Every field it needs is checked; a count
 * that disagrees with the others, or a histogram that does not decode, is a
 * BAD_INPUT error naming `where`.
 */
export function probeInputOf(doc: Json, where: string, file?: string): ProbeInput {
  for (const k of ["endpoint", "write", "healthCheck"]) stringAt(doc, k, where);
  boolAt(doc, "noDelay", where);
  for (const k of ["poolSize", "concurrency", "hits", "misses", "stalled", "strayReplies", "requests"])
    intAt(doc, k, where);
  numberAt(doc, "stallThresholdMs", where);
  const errors = countsAt(doc, "errors", where) as ErrorCounts;
  const errorSamples = stringsAt(doc, "errorSamples", where) as Partial<Record<ErrorKind, string>>;
  arrayAt(doc, "warnings", where);
  const r = doc as unknown as ProbeResult;
  const failed = Object.values(errors).reduce((a, b) => a + (b ?? 0), 0);
  if (r.requests !== r.hits + r.misses + failed) {
    throw badField(
      where,
      "requests",
      `(${r.requests}) is not hits + misses + errors (${r.hits} + ${r.misses} + ${failed}): the counts disagree`,
    );
  }
  readRunInfo(doc, where);
  const t = objectAt(doc, "totals", where);
  for (const k of ["windowMs", "holdMs", "busyConnectionMs", "waitingCallerMs"]) numberAt(t, k, where, `totals.${k}`);
  for (const k of ["pools", "checkouts", "checkoutFailures", "clamped"]) intAt(t, k, where, `totals.${k}`);
  if (r.totals.pools < 1) throw badField(where, "totals.pools", "is below 1");
  const parts: ProbeParts = {
    histograms: decodeHistograms(doc, PROBE_HISTOGRAMS, where),
    hits: r.hits,
    misses: r.misses,
    stalled: r.stalled,
    strayReplies: r.strayReplies,
    errors,
    errorSamples,
    totals: {
      windowMs: r.totals.windowMs,
      pools: r.totals.pools,
      checkouts: r.totals.checkouts,
      checkoutFailures: r.totals.checkoutFailures,
      holdMs: r.totals.holdMs,
      busyConnectionMs: r.totals.busyConnectionMs,
      waitingCallerMs: r.totals.waitingCallerMs,
      clamped: r.totals.clamped,
    },
  };
  const input: ProbeInput = { where, result: r, parts };
  if (file !== undefined) input.file = file;
  if (doc.mode !== undefined) {
    if (doc.mode !== "rate")
      throw badField(where, "mode", `${JSON.stringify(doc.mode)} is not a mode this mcdiag knows`);
    for (const k of ["requestedRate", "drainMs", "generatorCpuPercent", "eventLoopDelayP99Us"]) numberAt(doc, k, where);
    // Absent from results made where the kernel does not tell.
    if (doc.generatorCpuWaitPercent !== undefined) numberAt(doc, "generatorCpuWaitPercent", where);
    for (const k of ["issued", "scheduled"]) intAt(doc, k, where);
    for (const k of ["scheduleMs", "latencyMs", "generatorMs"]) numberAt(t, k, where, `totals.${k}`);
    const rr = doc as unknown as RateProbeResult;
    input.rate = {
      histograms: decodeHistograms(doc, RATE_HISTOGRAMS, where),
      requestedRate: rr.requestedRate,
      issued: rr.issued,
      scheduled: rr.scheduled,
      scheduleMs: rr.totals.scheduleMs!,
      latencyMs: rr.totals.latencyMs!,
      generatorMs: rr.totals.generatorMs!,
      drainMs: rr.drainMs,
      generatorCpuPercent: rr.generatorCpuPercent,
      generatorCpuWaitPercent: rr.generatorCpuWaitPercent,
      eventLoopDelayP99Us: rr.eventLoopDelayP99Us,
    };
  }
  return input;
}

function readRunInfo(doc: Json, where: string): void {
  const run = objectAt(doc, "run", where);
  stringAt(run, "host", where, "run.host");
  const w = objectAt(run, "worker", where, "run.worker");
  const count = intAt(w, "count", where, "run.worker.count");
  const index = intAt(w, "index", where, "run.worker.index");
  if (count < 1 || index >= count)
    throw badField(where, "run.worker", `${index}/${count} is not a worker index of a count`);
  const start = numberAt(run, "startedAtMs", where, "run.startedAtMs");
  const end = numberAt(run, "endedAtMs", where, "run.endedAtMs");
  if (end < start) throw badField(where, "run.endedAtMs", "is before run.startedAtMs");
  const keys = objectAt(run, "keys", where, "run.keys");
  stringAt(keys, "prefix", where, "run.keys.prefix");
  intAt(keys, "first", where, "run.keys.first");
  intAt(keys, "count", where, "run.keys.count");
  numberAt(run, "timeoutMs", where, "run.timeoutMs");
  if (doc.workers !== undefined) arrayAt(doc, "workers", where);
}

/** Merges probe results of one run split across workers (hosts, pods, threads) into one result. */
export function mergeProbeResults(inputs: readonly ProbeInput[], o: FleetOptions = {}): ProbeResult {
  if (inputs.length === 0) throw new McdiagError("BAD_INPUT", "nothing to merge");
  const judge = checkSameRun(inputs, o);
  const rows = workerRows(inputs);
  const warnings = fleetWarnings(inputs, rows);
  const first = inputs[0]!.result;
  const windowMs = unionLengthMs(
    inputs.map((i) => ({ startMs: i.result.run.startedAtMs, lengthMs: i.parts.totals.windowMs })),
  );
  const parts = mergeParts(
    inputs.map((i) => i.parts),
    windowMs,
  );
  const rate = inputs[0]!.rate === undefined ? undefined : mergeRateParts(inputs);
  const concurrency = inputs.reduce((a, i) => a + i.result.concurrency, 0);
  const base = probeResultOf(
    parts,
    {
      endpoint: first.endpoint,
      write: first.write,
      noDelay: first.noDelay,
      healthCheck: first.healthCheck,
      poolSize: inputs.reduce((a, i) => a + i.result.poolSize, 0),
      concurrency,
      stallThresholdMs: first.stallThresholdMs,
    },
    rate === undefined
      ? { kind: "closed", callers: concurrency }
      : { kind: "open", offeredPerSec: achievedRateOf(rate) },
    warnings,
    mergedRunInfo(inputs, o.worker ?? SOLE_WORKER),
  );
  const interrupted = inputs.filter((i) => i.result.interrupted === true);
  const aborted = inputs.find((i) => i.result.aborted !== undefined);
  const result =
    rate === undefined
      ? withLatencyHistogram(base, parts.histograms.totalUs)
      : rateResultOf(base, rate, interrupted.length > 0 || aborted !== undefined);
  result.workers = rows;
  if (isRateResult(result)) explainShortfall(result, rows);
  if (aborted !== undefined) result.aborted = `${aborted.where}: ${aborted.result.aborted}`;
  if (interrupted.length > 0) result.interrupted = true;
  judgeRun(result, { minSuccessRatio: judge.floor, slos: judge.slos });
  if (interrupted.length > 0 && interrupted.length < inputs.length) {
    result.problems.push(
      `${interrupted.map((i) => i.where).join(", ")} ${interrupted.length === 1 ? "was" : "were"} interrupted: the merged result is partial`,
    );
    result.healthy = false;
  }
  return result;
}

/**
 * The results must come from one run: the same endpoint, pattern, mode,
 * pool, timeouts, key prefix, success floor and SLOs (unless the merge is
 * given its own), and distinct workers of one split. Returns what to judge
 * the merged result by.
 */
function checkSameRun(
  inputs: readonly ProbeInput[],
  o: FleetOptions,
): { floor: number; slos: readonly Slo[] | undefined } {
  const a = inputs[0]!;
  const settings: [string, (i: ProbeInput) => unknown][] = [
    ["endpoint", (i) => i.result.endpoint],
    ["mode", (i) => (i.rate === undefined ? "closed loop" : "constant rate")],
    ["write pattern", (i) => i.result.write],
    ["TCP_NODELAY", (i) => i.result.noDelay],
    ["health check", (i) => i.result.healthCheck],
    ["pool size per worker", (i) => i.result.poolSize / i.parts.totals.pools],
    ["stall threshold (ms)", (i) => i.result.stallThresholdMs],
    ["timeout (ms)", (i) => i.result.run.timeoutMs],
    ["key prefix", (i) => i.result.run.keys.prefix],
  ];
  if (o.minSuccessRatio === undefined) settings.push(["success floor", (i) => i.result.minSuccessRatio ?? 0.99]);
  if (o.slos === undefined) settings.push(["SLOs", (i) => sloText(i.result)]);
  for (const b of inputs.slice(1)) {
    for (const [name, get] of settings) {
      if (get(b) !== get(a)) {
        throw new McdiagError(
          "BAD_INPUT",
          `${b.where}: ${name} ${JSON.stringify(get(b))} differs from ${a.where}'s ${JSON.stringify(get(a))}: results of different runs do not merge`,
          { file: b.file },
        );
      }
    }
  }
  const text = sloText(a.result);
  return {
    floor: o.minSuccessRatio ?? a.result.minSuccessRatio ?? 0.99,
    slos: o.slos ?? (text === "" ? undefined : parseSlos(text)),
  };
}

/** The SLOs a result was judged by, as given. */
function sloText(r: ProbeResult): string {
  return (r.slos ?? []).map((x) => x.slo).join(",");
}

function mergeParts(ps: readonly ProbeParts[], windowMs: number): ProbeParts {
  const sum = (f: (p: ProbeParts) => number) => ps.reduce((a, p) => a + f(p), 0);
  return {
    histograms: mergeHistogramSets(ps.map((p) => p.histograms)),
    hits: sum((p) => p.hits),
    misses: sum((p) => p.misses),
    stalled: sum((p) => p.stalled),
    strayReplies: sum((p) => p.strayReplies),
    errors: sumCounts(ps.map((p) => p.errors)),
    errorSamples: firstOf(ps.map((p) => p.errorSamples)),
    totals: {
      windowMs,
      pools: sum((p) => p.totals.pools),
      checkouts: sum((p) => p.totals.checkouts),
      checkoutFailures: sum((p) => p.totals.checkoutFailures),
      holdMs: sum((p) => p.totals.holdMs),
      busyConnectionMs: sum((p) => p.totals.busyConnectionMs),
      waitingCallerMs: sum((p) => p.totals.waitingCallerMs),
      clamped: sum((p) => p.totals.clamped),
    },
  };
}

function mergeRateParts(inputs: readonly ProbeInput[]): RateParts {
  const rs = inputs.map((i) => i.rate!);
  const sum = (f: (p: RateParts) => number) => rs.reduce((a, p) => a + f(p), 0);
  const max = (f: (p: RateParts) => number) => rs.reduce((a, p) => Math.max(a, f(p)), 0);
  const scheduleMs = unionLengthMs(
    inputs.map((i) => ({ startMs: i.result.run.startedAtMs, lengthMs: i.rate!.scheduleMs })),
  );
  return {
    histograms: mergeHistogramSets(rs.map((r) => r.histograms)),
    requestedRate: Math.round(sum((p) => p.requestedRate) * 1000) / 1000,
    issued: sum((p) => p.issued),
    scheduled: sum((p) => p.scheduled),
    scheduleMs,
    latencyMs: sum((p) => p.latencyMs),
    generatorMs: sum((p) => p.generatorMs),
    // Per-worker maxima: the fleet's worst.
    drainMs: max((p) => p.drainMs),
    generatorCpuPercent: max((p) => p.generatorCpuPercent),
    generatorCpuWaitPercent: rs.some((p) => p.generatorCpuWaitPercent !== undefined)
      ? max((p) => p.generatorCpuWaitPercent ?? 0)
      : undefined,
    eventLoopDelayP99Us: max((p) => p.eventLoopDelayP99Us),
  };
}

function mergedRunInfo(inputs: readonly ProbeInput[], worker: WorkerId): RunInfo {
  const runs = inputs.map((i) => i.result.run);
  const hosts = [...new Set(runs.map((r) => r.host))];
  const firstKey = Math.min(...runs.map((r) => r.keys.first));
  const info: RunInfo = {
    host: hosts.length === 1 ? hosts[0]! : `${hosts.length} hosts`,
    worker,
    startedAtMs: Math.min(...runs.map((r) => r.startedAtMs)),
    endedAtMs: Math.max(...runs.map((r) => r.endedAtMs)),
    keys: {
      prefix: runs[0]!.keys.prefix,
      first: firstKey,
      count: Math.max(...runs.map((r) => r.keys.first + r.keys.count)) - firstKey,
    },
    timeoutMs: runs[0]!.timeoutMs,
    merged: inputs.reduce((a, i) => a + (i.result.workers?.length ?? 1), 0),
  };
  const startAts = [...new Set(runs.map((r) => r.startAtMs))];
  if (startAts.length === 1 && startAts[0] !== undefined) {
    info.startAtMs = startAts[0];
    info.startLateMs = Math.max(...runs.map((r) => r.startLateMs ?? 0));
  }
  return info;
}

/** One row per worker (the rows of an input that is itself a merge), checked for duplicates. */
function workerRows(inputs: readonly ProbeInput[]): WorkerRow[] {
  const rows: WorkerRow[] = [];
  for (const i of inputs) {
    const own = i.result.workers;
    if (own !== undefined && own.length > 0) {
      for (const row of own) rows.push(i.file !== undefined ? { ...row, file: i.file } : { ...row });
    } else rows.push(rowOf(i));
  }
  const t0 = Math.min(...rows.map((r) => r.startedAtMs));
  for (const r of rows) r.startOffsetMs = Math.round((r.startedAtMs - t0) * 10) / 10;
  const counts = new Set(rows.map((r) => r.worker.count));
  if (counts.size > 1) {
    throw new McdiagError(
      "BAD_INPUT",
      `the results split the run different ways (${[...counts].map((c) => `${c} workers`).join(" and ")}): ${rows
        .map((r) => `${r.file ?? r.host} is ${r.worker.index}/${r.worker.count}`)
        .slice(0, 4)
        .join(", ")}`,
    );
  }
  const seen = new Map<string, WorkerRow>();
  for (const r of rows) {
    // Unsplit runs (0 of 1) may come from many hosts; a run seen twice has the same host, worker and start.
    const key = r.worker.count > 1 ? `${r.worker.index}` : `${r.host}|${r.worker.index}|${r.startedAtMs}|${r.requests}`;
    const other = seen.get(key);
    if (other !== undefined) {
      const what = r.worker.count > 1 ? `worker ${r.worker.index}/${r.worker.count}` : "the same run";
      throw new McdiagError(
        "BAD_INPUT",
        `${r.file ?? r.host} and ${other.file ?? other.host} both hold ${what}: each worker's result must be merged once`,
      );
    }
    seen.set(key, r);
  }
  return rows.sort((a, b) => a.worker.index - b.worker.index || a.startedAtMs - b.startedAtMs);
}

function rowOf(i: ProbeInput): WorkerRow {
  const r = i.result;
  const row: WorkerRow = {
    host: r.run.host,
    worker: r.run.worker,
    startedAtMs: r.run.startedAtMs,
    startOffsetMs: 0,
    durationMs: r.durationMs,
    concurrency: r.concurrency,
    requests: r.requests,
    errors: r.requests - r.hits - r.misses,
    successRatio: r.successRatio,
    throughputPerSec: r.throughputPerSec,
    latencyP99Us: "latencyUs" in r ? r.latencyUs.p99 : r.totalUs.p99,
    warnings: r.warnings,
  };
  if (r.run.startLateMs !== undefined) row.startLateMs = r.run.startLateMs;
  if ("requestedRate" in r) {
    row.requestedRate = r.requestedRate;
    row.achievedRate = r.achievedRate;
    row.schedulerLagP99Us = r.schedulerLagUs.p99;
    if (r.generatorWarning !== undefined) row.generatorWarning = r.generatorWarning;
  }
  if (r.interrupted) row.interrupted = true;
  if (i.file !== undefined) row.file = i.file;
  return row;
}

/** What the fleet as a whole should know: start skew, missing shards, and what the inputs' own merges said. */
function fleetWarnings(inputs: readonly ProbeInput[], rows: readonly WorkerRow[]): string[] {
  const out: string[] = [];
  const count = rows[0]!.worker.count;
  if (count > 1 && rows.length < count) {
    const have = new Set(rows.map((r) => r.worker.index));
    const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !have.has(k));
    out.push(
      `${missing.length} of ${count} workers are missing (${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", …" : ""}): the merged load is what ${rows.length} of them offered`,
    );
  }
  if (rows.length > 1) {
    const starts = rows.map((r) => r.startedAtMs);
    const mid = median(starts);
    const limit = Math.max(START_SKEW_WARN_MIN_MS, START_SKEW_WARN_SHARE * median(rows.map((r) => r.durationMs)));
    const far = rows.filter((r) => Math.abs(r.startedAtMs - mid) > limit);
    for (const r of far) {
      const d = r.startedAtMs - mid;
      out.push(
        `worker ${r.worker.index}/${r.worker.count} (${r.file ?? r.host}) started ${Math.abs(Math.round(d))} ms ${d > 0 ? "after" : "before"} the others: ` +
          `their windows overlap less, and the merged rate is over the union of the windows (use --start-at, and keep the clocks in sync)`,
      );
    }
  }
  for (const i of inputs) {
    if (i.result.workers !== undefined) for (const w of i.result.warnings) out.push(`${i.where}: ${w}`);
  }
  return out;
}

/**
 * The fleet asked for the sum of the workers' rates; the rate it achieved is
 * over the union of their windows. When every worker kept its own rate, a
 * shortfall means their windows did not coincide (a late start, clocks out
 * of step), not that a generator fell behind: say that instead.
 */
function explainShortfall(r: RateProbeResult, rows: readonly WorkerRow[]): void {
  const kept = rows.every((w) => (w.achievedRate ?? 0) >= 0.99 * (w.requestedRate ?? 0));
  if (!kept || r.issued < r.scheduled || r.achievedRate >= 0.99 * r.requestedRate) return;
  r.generatorWarning =
    `the workers' windows did not coincide: each kept its own rate, but together they issued ${r.achievedRate}/s ` +
    `of the ${r.requestedRate}/s asked for, over the union of their windows (see each worker's start; use --start-at)`;
}

/** A probe result's type: constant rate or closed loop. */
export function isRateResult(r: ProbeResult): r is RateProbeResult {
  return (r as RateProbeResult).mode === "rate";
}

/** One sweep result read back: its rates and its steps' runs. */
export interface SweepInput {
  where: string;
  file?: string;
  rates: number[];
  runs: ProbeInput[];
  interrupted: boolean;
}

export function sweepInputOf(doc: Json, where: string, file?: string): SweepInput {
  const rates = arrayAt(doc, "rates", where);
  rates.forEach((_, k) => numberAt(rates as unknown as Json, String(k), where, `rates[${k}]`));
  const runs = arrayAt(doc, "runs", where).map((run, k) => {
    if (run === null || typeof run !== "object") throw badField(where, `runs[${k}]`, "is not an object");
    const input = probeInputOf(run as Json, `${where} step ${k + 1}`, file);
    if (input.rate === undefined) throw badField(where, `runs[${k}]`, "is not a constant-rate run");
    return input;
  });
  if (runs.length > rates.length) throw badField(where, "runs", `has ${runs.length} steps for ${rates.length} rates`);
  const input: SweepInput = { where, rates: rates as number[], runs, interrupted: doc.interrupted === true };
  if (file !== undefined) input.file = file;
  return input;
}

/**
 * Sweeps of one plan run by several workers, merged step by step: step k of
 * the fleet is the exact merge of every worker's step k. A step that some
 * workers did not reach (they were interrupted) is merged from those that
 * ran it, and says so.
 */
export function mergeSweepResults(inputs: readonly SweepInput[], o: FleetOptions = {}): SweepResult {
  if (inputs.length === 0) throw new McdiagError("BAD_INPUT", "nothing to merge");
  const a = inputs[0]!;
  for (const b of inputs.slice(1)) {
    if (b.rates.join(",") !== a.rates.join(",")) {
      throw new McdiagError(
        "BAD_INPUT",
        `${b.where}: rates ${b.rates.join(",")} differ from ${a.where}'s ${a.rates.join(",")}: sweeps of different plans do not merge`,
        { file: b.file },
      );
    }
  }
  const steps = Math.max(...inputs.map((i) => i.runs.length));
  const runs: RateProbeResult[] = [];
  for (let k = 0; k < steps; k++) {
    const have = inputs.filter((i) => i.runs.length > k);
    const merged = mergeProbeResults(
      have.map((i) => i.runs[k]!),
      o,
    ) as RateProbeResult;
    if (have.length < inputs.length) {
      merged.warnings.push(
        `only ${have.length} of ${inputs.length} results reached this step (${inputs
          .filter((i) => i.runs.length <= k)
          .map((i) => i.where)
          .join(", ")} stopped before it)`,
      );
      merged.interrupted = true;
    }
    runs.push(merged);
  }
  return sweepResultOf(
    a.rates,
    runs,
    inputs.some((i) => i.interrupted),
  );
}
