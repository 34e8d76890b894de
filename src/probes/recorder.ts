import type { Connection } from "../clients/connection.js";
import { type ErrorCounts, type ErrorKind, isConnectionFailure } from "../clients/errors.js";
import type { Checkout, Pool, PoolAverages } from "../clients/pool.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import { newHistogram, recordClampedUs, summarize, type Histogram } from "../metrics/histogram.js";
import { finiteSourceModel, poolModel } from "../metrics/erlang.js";
import { littlesLaw } from "../metrics/littles-law.js";
import { CATEGORY_ANSWERED, CATEGORY_FAILED, CATEGORY_STALLED } from "../metrics/timeline.js";
import { encodeHistograms } from "../results/histogram-codec.js";
import { round } from "../util/round.js";
import type { IntervalRecorder } from "./interval-log.js";
import type { PoolModelResult, ProbeParts, ProbeResult, RunInfo } from "./result.js";

/** The mean wait the pool model sizes for, as `pool-size --target-wait` does by default. */
export const MODEL_TARGET_WAIT_MS = 1;

/** How the load reached the pool, for the queueing model that fits it. */
export type LoadShape =
  /** A closed loop: this many callers, each waiting for its answer before asking again. */
  | { kind: "closed"; callers: number }
  /** An open loop: requests offered at this rate whatever the answers do. */
  | { kind: "open"; offeredPerSec: number };

/**
 * The measured state of one run, shared by its callers: per-phase
 * histograms (µs), outcome counts and the error set. Closed-loop and
 * constant-rate probes record through the same methods. Every request that
 * was issued counts: a failure is recorded at its time to failure.
 * Times are `performance.now()` milliseconds.
 */
export class Recorder {
  readonly wire: Histogram = newHistogram();
  readonly poolWait: Histogram = newHistogram();
  readonly healthCheck: Histogram = newHistogram();
  /** Asked for a connection → answer or failure, every request. */
  readonly total: Histogram = newHistogram();
  /** The same for answered requests alone. */
  readonly totalOk: Histogram = newHistogram();
  readonly errors: ErrorCounts = {};
  readonly errorSamples: Partial<Record<ErrorKind, string>> = {};
  hits = 0;
  misses = 0;
  failed = 0;
  stalled = 0;
  holdMsSum = 0;
  /** Checkouts that got a connection. */
  holds = 0;
  /** Checkouts that never got one. */
  checkoutFailures = 0;
  /** Replies that answered no request (each closed its connection). */
  strayReplies = 0;
  strayReplySample: string | undefined;
  /** Durations outside the histograms' range (clamped, and said). */
  clamped = 0;
  /** The category of the request that finished last (CATEGORY_*), for the timeline. */
  lastCategory = CATEGORY_ANSWERED;
  private consecutiveConnFailures = 0;
  /** Set when every connection keeps failing; the run should stop. */
  aborted: string | undefined;
  /** After the result was taken: late callbacks (a pool closing) change nothing. */
  private sealed = false;
  private readonly stallThresholdMs: number;

  constructor(
    stallThresholdMs: number,
    /** Connection failures in a row (with no success between) that abort the run. */
    private readonly abortAfter: number,
  ) {
    this.stallThresholdMs = stallThresholdMs;
  }

  get completed(): number {
    return this.hits + this.misses + this.failed;
  }

  get answered(): number {
    return this.hits + this.misses;
  }

  /** Per-second twins of the histograms, when the run writes an interval log. */
  intervals: IntervalRecorder | undefined;

  /** Records a duration in ms into a µs histogram, counting clamped values. */
  recordMs(h: Histogram, ms: number): void {
    if (recordClampedUs(h, ms * 1000)) this.clamped++;
    if (this.intervals !== undefined) this.intervals.record(h, ms * 1000);
  }

  /**
   * A response to the get arrived. Returns whether the connection may be
   * reused (false after a reply that leaves the stream in doubt).
   */
  response(w: Checkout, conn: Connection, res: ParsedResponse, doneMs: number): boolean {
    if (this.sealed) return false;
    this.holdMsSum += doneMs - w.gotMs;
    this.holds++;
    this.recordMs(this.poolWait, w.gotMs - w.askedMs);
    if (w.hcSentMs !== 0) this.recordMs(this.healthCheck, w.hcDoneMs - w.hcSentMs);
    this.recordMs(this.total, doneMs - w.askedMs);
    if (res.kind === "values") {
      if (res.values > 0) this.hits++;
      else this.misses++;
      this.consecutiveConnFailures = 0;
      const wireMs = doneMs - conn.writtenMs;
      this.recordMs(this.wire, wireMs);
      this.recordMs(this.totalOk, doneMs - w.askedMs);
      const stalled = wireMs >= this.stallThresholdMs;
      if (stalled) this.stalled++;
      this.lastCategory = stalled ? CATEGORY_STALLED : CATEGORY_ANSWERED;
      return true;
    }
    const kind: ErrorKind =
      res.kind === "server_error" || res.kind === "client_error" || res.kind === "error" ? res.kind : "protocol_error";
    this.error(kind, res.message ? `${res.kind}: ${res.message}` : `unexpected ${res.kind} reply to get`);
    return kind === "server_error" || kind === "client_error";
  }

  /** The request failed after a connection was checked out. */
  requestFailed(w: Checkout, kind: ErrorKind, message: string, nowMs: number): void {
    if (this.sealed) return;
    this.holdMsSum += nowMs - w.gotMs;
    this.holds++;
    this.recordMs(this.poolWait, w.gotMs - w.askedMs);
    this.recordMs(this.total, nowMs - w.askedMs);
    this.error(kind, message);
  }

  /** No connection could be checked out. */
  checkoutFailed(w: Checkout, kind: ErrorKind, message: string, nowMs: number): void {
    if (this.sealed) return;
    this.checkoutFailures++;
    this.recordMs(this.poolWait, nowMs - w.askedMs);
    this.recordMs(this.total, nowMs - w.askedMs);
    this.error(kind, message);
  }

  /** A reply that answered no request: the server is out of step. */
  strayReply(message: string): void {
    if (this.sealed) return;
    this.strayReplies++;
    this.strayReplySample ??= message;
  }

  private error(kind: ErrorKind, message: string): void {
    this.failed++;
    this.lastCategory = CATEGORY_FAILED;
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    if (this.errorSamples[kind] === undefined) this.errorSamples[kind] = message;
    if (isConnectionFailure(kind) && ++this.consecutiveConnFailures >= this.abortAfter && this.aborted === undefined) {
      this.aborted = `every connection is failing (${kind}): ${message}`;
    }
  }

  /**
   * The run's additive parts: its histograms, counts and raw totals, from
   * which its result is derived and which a merge sums. Callbacks after this
   * change nothing.
   */
  parts(windowMs: number, pool: PoolAverages, successLatency: Histogram): ProbeParts {
    this.sealed = true;
    const errorSamples = { ...this.errorSamples };
    if (this.strayReplySample !== undefined) errorSamples.protocol_error ??= this.strayReplySample;
    return {
      histograms: {
        wireUs: this.wire,
        poolWaitUs: this.poolWait,
        healthCheckUs: this.healthCheck,
        totalUs: this.total,
        successLatencyUs: successLatency,
      },
      hits: this.hits,
      misses: this.misses,
      stalled: this.stalled,
      strayReplies: this.strayReplies,
      errors: { ...this.errors },
      errorSamples,
      totals: {
        windowMs,
        pools: 1,
        checkouts: this.holds,
        checkoutFailures: this.checkoutFailures,
        holdMs: this.holdMsSum,
        // The pool's own time averages, as areas (count × ms) over its averaging window.
        busyConnectionMs: pool.windowMs > 0 ? pool.busy * pool.windowMs : 0,
        waitingCallerMs: pool.windowMs > 0 ? pool.waiting * pool.windowMs : 0,
        clamped: this.clamped,
      },
    };
  }

  /**
   * The run's result record, with Little's law and the pool model over the
   * measured window. Callbacks after this change nothing.
   */
  result(
    opts: Pick<ProbeResult, "write" | "noDelay" | "healthCheck" | "poolSize" | "stallThresholdMs">,
    run: { endpoint: string; concurrency: number; warnings: string[]; load: LoadShape; info: RunInfo },
    windowMs: number,
    pool: Pool,
    successLatency: Histogram,
  ): ProbeResult {
    const parts = this.parts(windowMs, pool.averages(), successLatency);
    const result = probeResultOf(
      parts,
      { ...opts, endpoint: run.endpoint, concurrency: run.concurrency, noDelay: pool.noDelayReadBack ?? opts.noDelay },
      run.load,
      run.warnings,
      run.info,
    );
    if (this.aborted !== undefined) result.aborted = this.aborted;
    return result;
  }
}

/** What a result states about how it ran, beside what it measured. */
export type ProbeConfig = Pick<
  ProbeResult,
  "endpoint" | "write" | "noDelay" | "healthCheck" | "poolSize" | "concurrency" | "stallThresholdMs"
>;

/**
 * A result derived from its parts: summaries read off the histograms,
 * ratios and rates from the counts and the window, Little's law and the pool
 * model from the raw totals. A single run and a merge of many go through
 * this one function, so a merged result is what one run with every worker's
 * samples would have reported.
 */
export function probeResultOf(
  parts: ProbeParts,
  cfg: ProbeConfig,
  load: LoadShape,
  warnings: string[],
  info: RunInfo,
): ProbeResult {
  const h = parts.histograms;
  const t = parts.totals;
  const answered = parts.hits + parts.misses;
  const requests = answered + errorTotal(parts.errors);
  const windowMs = t.windowMs;
  const meanHoldUs = t.checkouts > 0 ? (t.holdMs / t.checkouts) * 1000 : 0;
  const meanPoolWaitUs = h.poolWaitUs.totalCount > 0 ? h.poolWaitUs.mean : 0;
  const ll = littlesLaw({
    checkouts: t.checkouts,
    waitArrivals: t.checkouts + t.checkoutFailures,
    windowMs,
    meanHoldUs,
    meanPoolWaitUs,
    poolSize: cfg.poolSize,
    sampledBusy: windowMs > 0 ? t.busyConnectionMs / windowMs : 0,
    sampledWaiting: windowMs > 0 ? t.waitingCallerMs / windowMs : 0,
  });
  if (t.clamped > 0) {
    warnings.push(`${t.clamped} durations were outside the histograms' range (1 µs … 1 h) and were clamped`);
  }
  return {
    endpoint: cfg.endpoint,
    write: cfg.write,
    noDelay: cfg.noDelay,
    healthCheck: cfg.healthCheck,
    poolSize: cfg.poolSize,
    concurrency: cfg.concurrency,
    durationMs: Math.round(windowMs),
    requests,
    hits: parts.hits,
    misses: parts.misses,
    successRatio: requests > 0 ? Math.round((answered / requests) * 1e6) / 1e6 : 0,
    errors: parts.errors,
    errorSamples: parts.errorSamples,
    strayReplies: parts.strayReplies,
    stalled: parts.stalled,
    stalledRatio: answered > 0 ? round(parts.stalled / answered, 4) : 0,
    stallThresholdMs: cfg.stallThresholdMs,
    typicalStallMs: typicalStallMs(h.wireUs, parts.stalled),
    wireUs: summarize(h.wireUs),
    poolWaitUs: summarize(h.poolWaitUs),
    healthCheckUs: summarize(h.healthCheckUs),
    totalUs: summarize(h.totalUs),
    successLatencyUs: summarize(h.successLatencyUs),
    throughputPerSec: windowMs > 0 ? round(answered / (windowMs / 1000), 1) : 0,
    littlesLaw: ll,
    poolModel: modelFor(
      load,
      cfg.poolSize / t.pools,
      meanHoldUs / 1000,
      meanPoolWaitUs / 1000,
      ll.waitArrivalPerSec,
      t.pools,
    ),
    healthy: true,
    problems: [],
    warnings,
    run: info,
    totals: t,
    histograms: encodeHistograms(h),
  };
}

function errorTotal(e: ErrorCounts): number {
  let n = 0;
  for (const v of Object.values(e)) n += v ?? 0;
  return n;
}

/**
 * The queueing model that fits the load. An open loop offers λ whatever the
 * pool does: M/M/c, and when λ·T reaches the pool size the queue is
 * unstable, has no mean wait, and grows at λ − c/T. A closed loop has only
 * N callers: the finite-source model, with the think time Z read off the
 * cycle N = X·(Z + W + T).
 *
 * A merged result holds `pools` workers' pools of `pool` connections each,
 * every one offered its share of the load: the model is that of one such
 * pool (the average worker), with the load figures scaled back to the fleet.
 */
function modelFor(
  load: LoadShape,
  pool: number,
  holdMs: number,
  measuredWaitMs: number,
  checkoutsPerSec: number,
  pools: number,
): PoolModelResult {
  const measuredMeanWaitMs = round(measuredWaitMs, 3);
  if (load.kind === "closed") {
    const callers = Math.max(1, Math.round(load.callers / pools));
    const cycleMs = checkoutsPerSec > 0 ? (load.callers / checkoutsPerSec) * 1000 : 0;
    const thinkMs = Math.max(0, cycleMs - measuredWaitMs - holdMs);
    const m = finiteSourceModel(callers, pool, holdMs, thinkMs);
    return {
      model: "finite-source",
      predictedMeanWaitMs: round(m.meanWaitMs, 3),
      measuredMeanWaitMs,
      offeredLoad: round(m.busyConnections * pools, 3),
      stable: true,
      callers: load.callers,
      thinkMs: round(thinkMs, 3),
    };
  }
  const m = poolModel(load.offeredPerSec / pools, holdMs, pool, MODEL_TARGET_WAIT_MS);
  const stable = m.meanWaitMs !== null;
  const out: PoolModelResult = {
    model: "M/M/c",
    predictedMeanWaitMs: stable ? round(m.meanWaitMs!, 3) : null,
    measuredMeanWaitMs,
    offeredLoad: round(m.busyConnections * pools, 3),
    stable,
    minimumPool: m.minimumPool,
    requiredPool: m.requiredPool,
    targetWaitMs: MODEL_TARGET_WAIT_MS,
  };
  if (m.queueGrowthPerSec !== null) out.queueGrowthPerSec = Math.round(m.queueGrowthPerSec * pools * 10) / 10;
  return out;
}

/** Median of the slowest `stalled` wire times, read off the histogram. */
function typicalStallMs(wire: Histogram, stalled: number): number {
  if (stalled === 0 || wire.totalCount === 0) return 0;
  const share = stalled / wire.totalCount;
  return Math.round(wire.getValueAtPercentile(100 * (1 - share / 2)) / 100) / 10;
}
