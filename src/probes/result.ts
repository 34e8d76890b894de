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
