import type { Connection } from "../clients/connection.js";
import { type ErrorCounts, type ErrorKind, isConnectionFailure } from "../clients/errors.js";
import type { Checkout, Pool } from "../clients/pool.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import { newHistogram, recordNs, summarize, type Histogram } from "../metrics/histogram.js";
import { meanWaitMs } from "../metrics/erlang.js";
import { littlesLaw } from "../metrics/littles-law.js";
import type { ProbeResult } from "./result.js";

/**
 * The measured state of one run, shared by its callers: per-phase
 * histograms (µs), outcome counts and the error set. Closed-loop and
 * constant-rate probes record through the same methods.
 */
export class Recorder {
  readonly wire: Histogram = newHistogram();
  readonly poolWait: Histogram = newHistogram();
  readonly healthCheck: Histogram = newHistogram();
  readonly total: Histogram = newHistogram();
  readonly errors: ErrorCounts = {};
  readonly errorSamples: Partial<Record<ErrorKind, string>> = {};
  hits = 0;
  misses = 0;
  failed = 0;
  stalled = 0;
  holdNsSum = 0;
  holds = 0;
  private consecutiveConnFailures = 0;
  /** Set when every connection keeps failing; the run should stop. */
  aborted: string | undefined;
  private readonly stallThresholdNs: number;

  constructor(
    stallThresholdMs: number,
    /** Connection failures in a row (with no success between) that abort the run. */
    private readonly abortAfter: number,
  ) {
    this.stallThresholdNs = stallThresholdMs * 1e6;
  }

  get completed(): number {
    return this.hits + this.misses + this.failed;
  }

  get answered(): number {
    return this.hits + this.misses;
  }

  /**
   * A response to the get arrived. Returns whether the connection may be
   * reused (false after a reply that leaves the stream in doubt).
   */
  response(w: Checkout, conn: Connection, res: ParsedResponse, doneNs: bigint): boolean {
    this.holdNsSum += Number(doneNs - w.gotNs);
    this.holds++;
    if (res.kind === "values") {
      if (res.values > 0) this.hits++;
      else this.misses++;
      this.consecutiveConnFailures = 0;
      const wireNs = doneNs - conn.writtenNs;
      recordNs(this.wire, wireNs);
      recordNs(this.poolWait, w.gotNs - w.askedNs);
      if (w.hcSentNs !== 0n) recordNs(this.healthCheck, w.hcDoneNs - w.hcSentNs);
      recordNs(this.total, doneNs - w.askedNs);
      if (Number(wireNs) >= this.stallThresholdNs) this.stalled++;
      return true;
    }
    const kind: ErrorKind =
      res.kind === "server_error" || res.kind === "client_error" || res.kind === "error" ? res.kind : "protocol_error";
    this.error(kind, res.message ? `${res.kind}: ${res.message}` : `unexpected ${res.kind} reply to get`);
    return kind === "server_error" || kind === "client_error";
  }

  /** The request failed after a connection was checked out. */
  requestFailed(w: Checkout, kind: ErrorKind, message: string): void {
    this.holdNsSum += Number(process.hrtime.bigint() - w.gotNs);
    this.holds++;
    this.error(kind, message);
  }

  /** No connection could be checked out. */
  checkoutFailed(w: Checkout, kind: ErrorKind, message: string): void {
    recordNs(this.poolWait, process.hrtime.bigint() - w.askedNs);
    this.error(kind, message);
  }

  private error(kind: ErrorKind, message: string): void {
    this.failed++;
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    if (this.errorSamples[kind] === undefined) this.errorSamples[kind] = message;
    if (isConnectionFailure(kind) && ++this.consecutiveConnFailures >= this.abortAfter && this.aborted === undefined) {
      this.aborted = `every connection is failing (${kind}): ${message}`;
    }
  }

  /** The run's result record, with Little's law over the measured window. */
  result(
    opts: Pick<ProbeResult, "write" | "noDelay" | "healthCheck" | "poolSize" | "stallThresholdMs">,
    run: { endpoint: string; concurrency: number; warnings: string[] },
    windowMs: number,
    pool: Pool,
  ): ProbeResult {
    const base = {
      endpoint: run.endpoint,
      write: opts.write,
      noDelay: pool.noDelayReadBack ?? opts.noDelay,
      healthCheck: opts.healthCheck,
      poolSize: opts.poolSize,
      concurrency: run.concurrency,
      stallThresholdMs: opts.stallThresholdMs,
      warnings: run.warnings,
    };
    const avg = pool.averages();
    const answered = this.answered;
    const meanHoldUs = this.holds > 0 ? this.holdNsSum / this.holds / 1000 : 0;
    const meanPoolWaitUs = this.poolWait.totalCount > 0 ? this.poolWait.mean : 0;
    const ll = littlesLaw({
      completed: this.holds,
      windowMs,
      meanHoldUs,
      meanPoolWaitUs,
      poolSize: base.poolSize,
      sampledBusy: avg.busy,
      sampledWaiting: avg.waiting,
    });
    const predicted = meanWaitMs(base.poolSize, ll.arrivalPerSec, meanHoldUs / 1000);
    const result: ProbeResult = {
      ...base,
      durationMs: Math.round(windowMs),
      requests: this.completed,
      hits: this.hits,
      misses: this.misses,
      errors: this.errors,
      errorSamples: this.errorSamples,
      stalled: this.stalled,
      stalledRatio: answered > 0 ? Math.round((this.stalled / answered) * 10000) / 10000 : 0,
      typicalStallMs: typicalStallMs(this.wire, this.stalled),
      wireUs: summarize(this.wire),
      poolWaitUs: summarize(this.poolWait),
      healthCheckUs: summarize(this.healthCheck),
      totalUs: summarize(this.total),
      throughputPerSec: windowMs > 0 ? Math.round((answered / (windowMs / 1000)) * 10) / 10 : 0,
      littlesLaw: ll,
      poolModel: {
        predictedMeanWaitMs: predicted === null ? null : Math.round(predicted * 1000) / 1000,
        measuredMeanWaitMs: Math.round(meanPoolWaitUs) / 1000,
      },
    };
    if (this.aborted !== undefined) result.aborted = this.aborted;
    return result;
  }
}

/** Median of the slowest `stalled` wire times, read off the histogram. */
function typicalStallMs(wire: Histogram, stalled: number): number {
  if (stalled === 0 || wire.totalCount === 0) return 0;
  const share = stalled / wire.totalCount;
  return Math.round(wire.getValueAtPercentile(100 * (1 - share / 2)) / 100) / 10;
}
