import { performance } from "node:perf_hooks";
import type { Connection, WriteStrategy } from "../clients/connection.js";
import type { ErrorKind } from "../clients/errors.js";
import { TimedCheckout, type HealthCheck, type Pool } from "../clients/pool.js";
import type { PreparedCommand } from "../protocol/commands.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import { formatEndpoint } from "../util/endpoint.js";
import { getCommands, probeKeys } from "./keys.js";
import { watchEvidence } from "./evidence.js";
import { Recorder } from "./recorder.js";
import { withLatencyHistogram, type ProbeResult } from "./result.js";
import { prepareEndpoint, probePool, warmUp } from "./setup.js";

export interface ProbeOptions {
  host: string;
  port: number;
  write: WriteStrategy;
  noDelay: boolean;
  poolSize: number;
  /** Callers issuing requests at once (closed loop: each waits for its answer). */
  concurrency: number;
  /** Stop after this long (ms)… */
  durationMs?: number;
  /** …or after this many measured requests, whichever comes first. */
  requests?: number;
  healthCheck: HealthCheck;
  keyPrefix: string;
  keyCount: number;
  valueSizeBytes: number;
  /** Per request, and per wait for a pooled connection. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Unmeasured requests per connection first, to get past Linux's quick-ack start. */
  warmupPerConnection: number;
  /** Write the probe's keys first. */
  seed: boolean;
  stallThresholdMs: number;
  onProgress?: (p: ProbeProgress) => void;
  /** Aborting stops issuing requests; the run drains and reports what it measured. */
  signal?: AbortSignal;
  /** Read server `stats` and kernel counters before and after (default true). */
  evidence?: boolean;
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
  readonly rec: Recorder;
  started = 0;
  stopping = false;

  constructor(
    readonly pool: Pool,
    readonly commands: PreparedCommand[],
    readonly opts: ProbeOptions,
  ) {
    // Enough failures in a row that every pool slot has failed at least twice.
    this.rec = new Recorder(opts.stallThresholdMs, Math.max(4, opts.poolSize * 2, opts.concurrency * 2));
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
 * allocates nothing per request but the clock's bigints.
 */
class Caller extends TimedCheckout {
  private next = 0;
  private finished!: () => void;
  readonly done: Promise<void>;

  constructor(
    private readonly run: Run,
    offset: number,
  ) {
    super();
    this.next = offset;
    this.done = new Promise((resolve) => (this.finished = resolve));
  }

  start(): void {
    if (this.run.mayStart()) this.run.pool.acquire(this);
    else this.finished();
  }

  onConnection(conn: Connection): void {
    const r = this.run;
    const cmd = r.commands[this.next]!;
    this.next = (this.next + 1) % r.commands.length;
    conn.send(cmd, this, r.opts.timeoutMs, performance.now());
  }

  onCheckoutError(kind: ErrorKind, message: string): void {
    this.run.rec.checkoutFailed(this, kind, message);
    this.start();
  }

  onResponse(conn: Connection, res: ParsedResponse, doneNs: bigint): void {
    const r = this.run;
    r.pool.release(conn, r.rec.response(this, conn, res, doneNs));
    this.start();
  }

  onFailure(conn: Connection, kind: ErrorKind, message: string): void {
    const r = this.run;
    r.rec.requestFailed(this, kind, message);
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
  const keys = probeKeys(opts.keyPrefix, opts.keyCount);
  const warnings: string[] = [];

  await prepareEndpoint(opts, endpoint, keys, warnings);

  const pool = probePool(opts);
  const run = new Run(pool, getCommands(keys), opts);
  let progressTimer: NodeJS.Timeout | undefined;
  let stopTimer: NodeJS.Timeout | undefined;
  try {
    await warmUp(
      pool,
      run.commands,
      Math.min(opts.poolSize, opts.concurrency),
      opts.warmupPerConnection,
      opts.timeoutMs,
      endpoint,
    );

    const evidence =
      opts.evidence === false ? undefined : await watchEvidence(opts.host, opts.port, opts.timeoutMs, endpoint);
    const callers: Caller[] = [];
    for (let i = 0; i < opts.concurrency; i++) callers.push(new Caller(run, (i * 7) % run.commands.length));
    pool.resetAverages();
    const startMs = performance.now();
    if (opts.durationMs !== undefined) stopTimer = setTimeout(() => (run.stopping = true), opts.durationMs);
    let interrupted = false;
    const onAbort = () => {
      run.stopping = true;
      interrupted = true;
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.onProgress) {
      const report = opts.onProgress;
      progressTimer = setInterval(() => {
        report({
          elapsedMs: performance.now() - startMs,
          plannedMs: opts.durationMs,
          completed: run.rec.completed,
          plannedRequests: opts.requests,
          errors: run.rec.failed,
        });
      }, 500);
    }
    for (const c of callers) c.start();
    await Promise.all(callers.map((c) => c.done));
    const result = run.rec.result(
      opts,
      { endpoint, concurrency: opts.concurrency, warnings },
      performance.now() - startMs,
      pool,
    );
    if (interrupted && result.aborted === undefined) result.aborted = "interrupted";
    if (evidence !== undefined) result.evidence = await evidence();
    return withLatencyHistogram(result, run.rec.total);
  } finally {
    if (stopTimer) clearTimeout(stopTimer);
    if (progressTimer) clearInterval(progressTimer);
    pool.close();
  }
}
