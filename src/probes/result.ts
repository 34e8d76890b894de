import type { WriteStrategy } from "../clients/connection.js";
import type { ErrorCounts, ErrorKind } from "../clients/errors.js";
import type { HealthCheck } from "../clients/pool.js";
import type { Histogram, LatencySummaryUs } from "../metrics/histogram.js";
import type { LittlesLaw } from "../metrics/littles-law.js";
import type { BusySeries } from "../metrics/busy-over-time.js";
import type { TimelineSeries } from "../metrics/timeline.js";
import type { Evidence } from "./evidence.js";
import type { SloResult } from "./slo.js";

/**
 * The pool's queueing model beside the measured mean pool wait. A closed
 * loop is a finite-source queue (N callers); an open loop is M/M/c, which
 * assumes random arrivals and service times, so a fixed-rate generator with
 * near-constant service waits less than it predicts below saturation.
 */
export interface PoolModelResult {
  model: "M/M/c" | "finite-source";
  /** Null when the queue is unstable: it has no mean wait. */
  predictedMeanWaitMs: number | null;
  measuredMeanWaitMs: number;
  /** Connections' worth of load: offered rate × mean hold (open loop), or the model's mean busy connections (closed loop). */
  offeredLoad: number;
  /** False when the offered load reaches the pool size: the queue grows without bound. */
  stable: boolean;
  /** Unstable only: callers added to the queue per second (offered rate − pool / hold). */
  queueGrowthPerSec?: number;
  /** Open loop: the smallest pool that keeps up at all. */
  minimumPool?: number;
  /** Open loop: the smallest pool whose predicted mean wait is at most `targetWaitMs`. */
  requiredPool?: number;
  targetWaitMs?: number;
  /** Closed loop: the callers, and the mean time each spends away from the pool between checkouts. */
  callers?: number;
  thinkMs?: number;
}

/** One probe run, as plain data: what reporters render and `--json` prints. */
export interface ProbeResult {
  endpoint: string;
  write: WriteStrategy;
  /** TCP_NODELAY as the sockets hold it. */
  noDelay: boolean;
  healthCheck: HealthCheck;
  poolSize: number;
  concurrency: number;
  /** Measured window: first measured request sent → last one finished. */
  durationMs: number;
  /** Measured requests that finished (answered or failed): hits + misses + every error. */
  requests: number;
  hits: number;
  misses: number;
  /** Answered / requests (0 when there were none). */
  successRatio: number;
  errors: ErrorCounts;
  /** One message per error kind, the first seen, to tell the user what happened. */
  errorSamples: Partial<Record<ErrorKind, string>>;
  /** Replies that answered no request (a server out of step); each closed its connection. */
  strayReplies: number;
  /** Answered requests whose wire time reached the stall threshold. */
  stalled: number;
  stalledRatio: number;
  stallThresholdMs: number;
  /** Median wire time of the stalled requests, ms (0 when none stalled). */
  typicalStallMs: number;
  /** command handed to the kernel → response complete */
  wireUs: LatencySummaryUs;
  /** asked for a connection → got one */
  poolWaitUs: LatencySummaryUs;
  /** health check sent → answered (empty when there is none) */
  healthCheckUs: LatencySummaryUs;
  /** asked for a connection → response complete, or failure: every request (a failure counts at its time to failure) */
  totalUs: LatencySummaryUs;
  /** The users' latency (totalUs, or latencyUs from the intended start for a constant rate) of the answered requests alone. */
  successLatencyUs: LatencySummaryUs;
  /** Answered requests (hits + misses) per second of the measured window. */
  throughputPerSec: number;
  littlesLaw: LittlesLaw;
  poolModel: PoolModelResult;
  /**
   * False when the run cannot be called healthy: success below the floor, a
   * broken SLO, replies that answered nothing, or a run stopped early.
   */
  healthy: boolean;
  /** Why the run is not healthy, most important first (empty when healthy). */
  problems: string[];
  /** The success floor the run was judged by (0…1). */
  minSuccessRatio?: number;
  /** Each SLO given, judged on every request (present only with SLOs). */
  slos?: SloResult[];
  sloMet?: boolean;
  /** Server `stats` and kernel delayed-ACK counters, before → after the measured run. */
  evidence?: Evidence;
  /** Set when the run stopped early because every connection was failing. */
  aborted?: string;
  /** Present when SIGINT/SIGTERM stopped the run: the figures cover the time it ran. */
  interrupted?: true;
  warnings: string[];
  /** Every request's start, latency (the users') and kind, for "latency over time" (bands above 100,000 requests). */
  timeline?: TimelineSeries;
  /** Busy connections and waiting callers over the run, time-averaged per interval. */
  busyOverTime?: BusySeries;
  /** Where and when the run ran: what `merge` aligns and checks. */
  run: RunInfo;
  /** The raw, additive totals behind the rounded figures: what `merge` sums. */
  totals: ProbeTotals;
  /**
   * The histograms behind the summaries of the same name (`wireUs`, …), in
   * HdrHistogram's compressed base64 encoding, µs, 1 µs … 1 h, 3 digits.
   */
  histograms: Record<string, string>;
  /** A merged result only: one row per worker, in worker order. */
  workers?: WorkerRow[];
}

/** Where, when and as which worker a run ran. */
export interface RunInfo {
  host: string;
  /** The worker this run was: index and count of the shards (0 of 1 when the run was not split). */
  worker: { index: number; count: number };
  /** Wall-clock start and end of the measured window, ms since the epoch. */
  startedAtMs: number;
  endedAtMs: number;
  /** With a synchronised start (`--start-at`, `--workers`): the start asked for, and how late the run really started. */
  startAtMs?: number;
  startLateMs?: number;
  /** The keys this run read: `<keyPrefix><first>` … `<keyPrefix><first + count − 1>`. */
  keys: { prefix: string; first: number; count: number };
  /** Per request and per wait for a connection, ms (a merge refuses results with different timeouts). */
  timeoutMs: number;
  /** Present on a merged result: how many results it merged. */
  merged?: number;
}

/** One worker of a merged result: who fell behind, and by how much. */
export interface WorkerRow {
  host: string;
  worker: { index: number; count: number };
  startedAtMs: number;
  /** Start relative to the earliest worker's, ms. */
  startOffsetMs: number;
  startLateMs?: number;
  durationMs: number;
  concurrency: number;
  requests: number;
  errors: number;
  successRatio: number;
  throughputPerSec: number;
  /** The users' latency p99 (from the intended start for a constant rate), µs. */
  latencyP99Us: number;
  requestedRate?: number;
  achievedRate?: number;
  schedulerLagP99Us?: number;
  generatorWarning?: string;
  /** The worker's own warnings. */
  warnings: string[];
  interrupted?: true;
  /** The file the worker's result came from (merge only). */
  file?: string;
}

/** Histograms every probe result carries, named after the summaries they back. */
export const PROBE_HISTOGRAMS = ["wireUs", "poolWaitUs", "healthCheckUs", "totalUs", "successLatencyUs"] as const;
export type ProbeHistogramName = (typeof PROBE_HISTOGRAMS)[number];

/**
 * Additive totals behind a result's rounded figures. A merge sums each of
 * them, except `windowMs`, which becomes the length of the union of the
 * workers' windows.
 */
export interface ProbeTotals {
  /** The measured window, ms. */
  windowMs: number;
  /** Pools (one per worker) whose connections the result covers. */
  pools: number;
  /** Checkouts that got a connection, and those that never did. */
  checkouts: number;
  checkoutFailures: number;
  /** Σ time connections were held (health check + get), ms. */
  holdMs: number;
  /** The pool's own busy connections and waiting callers, integrated over time (count × ms). */
  busyConnectionMs: number;
  waitingCallerMs: number;
  /** Durations outside the histograms' range (clamped). */
  clamped: number;
  /** Constant rate: the span the schedule ran (ms; merged, the union of the spans). */
  scheduleMs?: number;
  /** Constant rate: Σ users' latency, and Σ mcdiag's own part of it, ms. */
  latencyMs?: number;
  generatorMs?: number;
}

/** What a run measured, in additive form: its result is derived from these, and merges sum them. */
export interface ProbeParts {
  histograms: Record<ProbeHistogramName, Histogram>;
  hits: number;
  misses: number;
  stalled: number;
  strayReplies: number;
  errors: ErrorCounts;
  errorSamples: Partial<Record<ErrorKind, string>>;
  totals: ProbeTotals;
}

const LATENCY = Symbol("latency histogram");

/**
 * Attaches the run's latency histogram (µs) to its result without putting
 * it into the JSON: what `--hgrm` writes and sweep SLOs judge. For a
 * closed loop it is the total; for a constant rate, the latency from the
 * intended start.
 */
export function withLatencyHistogram<T extends ProbeResult>(r: T, h: Histogram): T {
  Object.defineProperty(r, LATENCY, { value: h, enumerable: false });
  return r;
}

export function latencyHistogramOf(r: ProbeResult): Histogram {
  return (r as unknown as Record<symbol, Histogram>)[LATENCY]!;
}
