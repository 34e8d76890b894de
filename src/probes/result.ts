import type { WriteStrategy } from "../clients/connection.js";
import type { ErrorCounts, ErrorKind } from "../clients/errors.js";
import type { HealthCheck } from "../clients/pool.js";
import type { Histogram, LatencySummaryUs } from "../metrics/histogram.js";
import type { LittlesLaw } from "../metrics/littles-law.js";
import type { Evidence } from "./evidence.js";

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
  /** Measured requests that finished (answered or failed). */
  requests: number;
  hits: number;
  misses: number;
  errors: ErrorCounts;
  /** One message per error kind, the first seen, to tell the user what happened. */
  errorSamples: Partial<Record<ErrorKind, string>>;
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
  /** asked for a connection → response complete */
  totalUs: LatencySummaryUs;
  /** Answered requests (hits + misses) per second of the measured window. */
  throughputPerSec: number;
  littlesLaw: LittlesLaw;
  /**
   * The M/M/c (Erlang C) model fed with the measured rate and hold time: its
   * predicted mean pool wait beside the measured one. The model assumes random
   * arrivals; a closed loop or a fixed-rate generator is not random, so large
   * differences say how far this load is from that assumption.
   */
  poolModel: { predictedMeanWaitMs: number | null; measuredMeanWaitMs: number };
  /** Server `stats` and kernel delayed-ACK counters, before → after the measured run. */
  evidence?: Evidence;
  /** Set when the run stopped early because every connection was failing. */
  aborted?: string;
  warnings: string[];
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
