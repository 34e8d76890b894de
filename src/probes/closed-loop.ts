import { performance } from "node:perf_hooks";
import type { Connection, WriteStrategy } from "../clients/connection.js";
import type { ErrorKind } from "../clients/errors.js";
import { TimedCheckout, type HealthCheck, type Pool } from "../clients/pool.js";
import type { KeySpace } from "../protocol/get-frame.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import { BusySampler } from "../metrics/busy-over-time.js";
import { PROBE_CATEGORIES, Timeline } from "../metrics/timeline.js";
import { formatEndpoint } from "../util/endpoint.js";
import { probeKeys } from "./keys.js";
import { watchEvidence, type EvidenceOptions } from "./evidence.js";
import { Recorder } from "./recorder.js";
import { judgeRun } from "./health.js";
import { withLatencyHistogram, type ProbeResult } from "./result.js";
import {
  prepareEndpoint,
  probePool,
  reportProgress,
  untilAbortedOr,
  warmUp,
  type ProbePoolOptions,
  type SetupOptions,
} from "./setup.js";
import type { Slo } from "./slo.js";
import { runInfoOf, type WorkerId } from "./run-info.js";
import { IntervalRecorder } from "./interval-log.js";
import type { IntervalSink } from "../results/hdr-log.js";
import { waitForStart, type StartAt } from "./start-at.js";

export interface ProbeOptions extends ProbePoolOptions, SetupOptions, EvidenceOptions {
  /** Callers issuing requests at once (closed loop: each waits for its answer). */
  concurrency: number;
  /** Stop after this long (ms)… */
  durationMs?: number;
  /** …or after this many measured requests, whichever comes first. */
  requests?: number;
  keyPrefix: string;
  keyCount: number;
  /** Unmeasured requests per connection first, to get past Linux's quick-ack start. */
  warmupPerConnection: number;
  stallThresholdMs: number;
  onProgress?: (p: ProbeProgress) => void;
  /** Below this share of answered requests (0…1) the run is not healthy; default 0.99. */
  minSuccessRatio?: number;
  /** Objectives the run is judged by (latency from the users' start, every request). */
  slos?: readonly Slo[];
  /** Which worker of a split run this is (default 0 of 1); recorded for `merge`. */
  worker?: WorkerId;
  /** The first key this run reads (a shard's slice of the key space under the prefix); default 0. */
  keyFirst?: number;
  /** Start the measured run at this wall-clock time (after seeding and warm-up), or when a barrier resolves with one. */
  startAt?: StartAt;
  /** Awaited after the measured run, before the pool closes (workers end together, then close). */
  beforeClose?: () => Promise<void>;
  /** Each second of the measured run, its histograms (an HdrHistogram interval log, `--hdr-log`). */
  onInterval?: IntervalSink;
}

export interface ProbeProgress {
  elapsedMs: number;
  plannedMs: number | undefined;
  completed: number;
  plannedRequests: number | undefined;
  errors: number;
}

export const PROBE_DEFAULTS = {
  write: "coalesced" as WriteStrategy,
  noDelay: false,
  poolSize: 20,
  concurrency: 4,
  healthCheck: "none" as HealthCheck,
  keyPrefix: "mcdiag:",
  keyCount: 100,
  valueSizeBytes: 100,
  timeoutMs: 1000,
  connectTimeoutMs: 2000,
  warmupPerConnection: 3,
  seed: true,
  stallThresholdMs: 30,
};

/** The state shared by the callers of one closed-loop run. */
class Run {
  started = 0;
  stopping = false;
  /** performance.now() when measuring started: the timeline's zero. */
  t0 = 0;
  readonly timeline: Timeline;

  constructor(
    readonly pool: Pool,
    readonly keys: KeySpace,
    readonly opts: ProbeOptions,
    readonly rec: Recorder,
  ) {
    this.timeline = new Timeline(PROBE_CATEGORIES, opts.durationMs, opts.timeoutMs * 2);
  }

  /** A request asked for its connection at `askedMs` and ended at `endMs`, as the recorder last classed it. */
  point(askedMs: number, endMs: number): void {
    this.timeline.add(askedMs - this.t0, (endMs - askedMs) * 1000, this.rec.lastCategory);
  }

  mayStart(): boolean {
    if (this.stopping || this.rec.aborted !== undefined) return false;
    if (this.opts.requests !== undefined && this.started >= this.opts.requests) return false;
    this.started++;
    return true;
  }
}

/**
 * One closed-loop caller: acquire → (health check) → get → record → release,
 * again and again. Created once per concurrency slot and reused, so the loop
 * allocates nothing per request.
 */
class Caller extends TimedCheckout {
  private next = 0;
  private finished!: () => void;
  readonly done: Promise<void>;
  /** True while a request of this caller is in flight (for the count of unfinished ones). */
  busy = false;

  constructor(
    private readonly run: Run,
    offset: number,
  ) {
    super();
    this.next = offset;
    this.done = new Promise((resolve) => (this.finished = resolve));
  }

  start(): void {
    this.busy = this.run.mayStart();
    if (this.busy) this.run.pool.acquire(this);
    else this.finished();
  }

  onConnection(conn: Connection): void {
    const r = this.run;
    const index = this.next;
    this.next = index + 1 === r.keys.count ? 0 : index + 1;
    conn.sendGet(r.keys, index, this, r.opts.timeoutMs, this.hcDoneMs || this.gotMs);
  }

  onCheckoutError(kind: ErrorKind, message: string): void {
    const now = performance.now();
    this.run.rec.checkoutFailed(this, kind, message, now);
    this.run.point(this.askedMs, now);
    this.start();
  }

  onResponse(conn: Connection, res: ParsedResponse, doneMs: number): void {
    const r = this.run;
    conn.freedMs = doneMs;
    r.pool.release(conn, r.rec.response(this, conn, res, doneMs));
    r.point(this.askedMs, doneMs);
    this.start();
  }

  onFailure(conn: Connection, kind: ErrorKind, message: string): void {
    const r = this.run;
    const now = performance.now();
    r.rec.requestFailed(this, kind, message, now);
    r.point(this.askedMs, now);
    r.pool.release(conn, false);
    this.start();
  }
}

/**
 * Closed-loop probe of one endpoint through a pool: C callers for a duration
 * or a request count, after seeding keys and warming every connection up.
 * Throws McdiagError UNREACHABLE when the endpoint cannot be reached at all;
 * anything that fails later is counted in the result.
 */
export async function runProbe(opts: ProbeOptions): Promise<ProbeResult> {
  if (opts.durationMs === undefined && opts.requests === undefined)
    throw new RangeError("give a duration or a request count");
  const endpoint = formatEndpoint(opts);
  const keys = probeKeys(opts.keyPrefix, opts.keyCount, opts.keyFirst);
  const warnings: string[] = [];

  await prepareEndpoint(opts, endpoint, keys, warnings);

  // Enough failures in a row that every pool slot has failed at least twice.
  const rec = new Recorder(opts.stallThresholdMs, Math.max(4, opts.poolSize * 2, opts.concurrency * 2));
  const pool = probePool(opts, rec);
  const run = new Run(pool, keys, opts, rec);
  const intervals =
    opts.onInterval === undefined
      ? undefined
      : new IntervalRecorder(
          {
            totalUs: rec.total,
            successLatencyUs: rec.totalOk,
            wireUs: rec.wire,
            poolWaitUs: rec.poolWait,
            healthCheckUs: rec.healthCheck,
          },
          opts.onInterval,
        );
  rec.intervals = intervals;
  let progressTimer: NodeJS.Timeout | undefined;
  let stopTimer: NodeJS.Timeout | undefined;
  let busySampler: BusySampler | undefined;
  const onAbort = () => (run.stopping = true);
  try {
    await warmUp(
      pool,
      keys,
      Math.min(opts.poolSize, opts.concurrency),
      opts.warmupPerConnection,
      opts.timeoutMs,
      endpoint,
      opts.signal,
    );

    const evidence = await watchEvidence(opts, endpoint);
    const callers: Caller[] = [];
    for (let i = 0; i < opts.concurrency; i++) callers.push(new Caller(run, (i * 7) % keys.count));
    const start = opts.startAt === undefined ? {} : await waitForStart(opts.startAt, opts.signal, warnings);
    pool.resetAverages();
    busySampler = new BusySampler(pool, opts.durationMs);
    busySampler.start();
    const startMs = performance.now();
    run.t0 = startMs;
    intervals?.start(startMs);
    if (opts.durationMs !== undefined) stopTimer = setTimeout(() => (run.stopping = true), opts.durationMs);
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    progressTimer = reportProgress(opts.onProgress, () => ({
      elapsedMs: performance.now() - startMs,
      plannedMs: opts.durationMs,
      completed: run.rec.completed,
      plannedRequests: opts.requests,
      errors: run.rec.failed,
    }));
    for (const c of callers) c.start();
    // Interrupted: the requests in flight get a short grace, then the run reports without them.
    await untilAbortedOr(
      Promise.all(callers.map((c) => c.done)),
      opts.signal,
      Math.min(opts.timeoutMs, INTERRUPT_GRACE_MS),
    );
    const interrupted = opts.signal?.aborted === true;
    const unfinished = callers.filter((c) => c.busy).length;
    if (interrupted && unfinished > 0) {
      warnings.push(`${unfinished} requests still in flight when interrupted are not counted`);
    }
    const endMs = performance.now();
    intervals?.finish(endMs);
    const result = rec.result(
      opts,
      {
        endpoint,
        concurrency: opts.concurrency,
        warnings,
        load: { kind: "closed", callers: opts.concurrency },
        info: runInfoOf(opts, startMs, endMs, start),
      },
      endMs - startMs,
      pool,
      rec.totalOk,
    );
    if (interrupted) result.interrupted = true;
    result.timeline = run.timeline.finish();
    result.busyOverTime = busySampler.stop();
    if (evidence !== undefined && !interrupted) result.evidence = await evidence();
    await opts.beforeClose?.();
    return judgeRun(withLatencyHistogram(result, rec.total), opts);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    if (stopTimer) clearTimeout(stopTimer);
    if (progressTimer) clearInterval(progressTimer);
    busySampler?.stop();
    intervals?.stop();
    pool.close();
  }
}

/** After an interruption, how long requests in flight may still finish and be counted. */
export const INTERRUPT_GRACE_MS = 500;
