import { performance } from "node:perf_hooks";
import { Connection, ConnectError, type WriteStrategy } from "../clients/connection.js";
import { type ErrorCounts, type ErrorKind, isConnectionFailure } from "../clients/errors.js";
import { Pool, type Checkout, type HealthCheck } from "../clients/pool.js";
import { requestOnce, RequestError } from "../clients/request.js";
import type { PreparedCommand } from "../protocol/commands.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import { newHistogram, recordNs, summarize, type Histogram } from "../metrics/histogram.js";
import { littlesLaw } from "../metrics/littles-law.js";
import { formatEndpoint } from "../util/endpoint.js";
import { McdiagError } from "../util/errors.js";
import { getCommands, probeKeys, seedValue, setCommands } from "./keys.js";
import type { ProbeResult } from "./result.js";

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

/**
 * The measured state shared by the callers of one run. Histograms are in
 * microseconds (see metrics/histogram).
 */
class Run {
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
  started = 0;
  holdNsSum = 0;
  holds = 0;
  consecutiveConnFailures = 0;
  stopping = false;
  aborted: string | undefined;
  readonly stallThresholdNs: number;
  readonly abortAfter: number;

  constructor(
    readonly pool: Pool,
    readonly commands: PreparedCommand[],
    readonly opts: ProbeOptions,
  ) {
    this.stallThresholdNs = opts.stallThresholdMs * 1e6;
    // Enough failures in a row that every pool slot has failed at least twice.
    this.abortAfter = Math.max(4, opts.poolSize * 2, opts.concurrency * 2);
  }

  get completed(): number {
    return this.hits + this.misses + this.failed;
  }

  mayStart(): boolean {
    if (this.stopping) return false;
    if (this.opts.requests !== undefined && this.started >= this.opts.requests) return false;
    this.started++;
    return true;
  }

  error(kind: ErrorKind, message: string): void {
    this.failed++;
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    if (this.errorSamples[kind] === undefined) this.errorSamples[kind] = message;
    if (isConnectionFailure(kind)) {
      if (++this.consecutiveConnFailures >= this.abortAfter && this.aborted === undefined) {
        this.aborted = `every connection is failing (${kind}): ${message}`;
        this.stopping = true;
      }
    }
  }
}

/**
 * One closed-loop caller: acquire → (health check) → get → record → release,
 * again and again. Created once per concurrency slot and reused, so the loop
 * allocates nothing per request but the clock's bigints.
 */
class Caller implements Checkout {
  askedNs = 0n;
  gotNs = 0n;
  hcSentNs = 0n;
  hcDoneNs = 0n;
  acquireDeadlineMs = 0;
  private next = 0;
  private finished!: () => void;
  readonly done: Promise<void>;

  constructor(
    private readonly run: Run,
    offset: number,
  ) {
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
    const r = this.run;
    recordNs(r.poolWait, process.hrtime.bigint() - this.askedNs);
    r.error(kind, message);
    this.start();
  }

  onResponse(conn: Connection, res: ParsedResponse, doneNs: bigint): void {
    const r = this.run;
    const wireNs = doneNs - conn.writtenNs;
    r.holdNsSum += Number(doneNs - this.gotNs);
    r.holds++;
    if (res.kind === "values") {
      if (res.values > 0) r.hits++;
      else r.misses++;
      r.consecutiveConnFailures = 0;
      recordNs(r.wire, wireNs);
      recordNs(r.poolWait, this.gotNs - this.askedNs);
      if (this.hcSentNs !== 0n) recordNs(r.healthCheck, this.hcDoneNs - this.hcSentNs);
      recordNs(r.total, doneNs - this.askedNs);
      if (Number(wireNs) >= r.stallThresholdNs) r.stalled++;
      r.pool.release(conn, true);
    } else {
      const kind: ErrorKind =
        res.kind === "server_error" || res.kind === "client_error" || res.kind === "error" ? res.kind : "protocol_error";
      r.error(kind, res.message ? `${res.kind}: ${res.message}` : `unexpected ${res.kind} reply to get`);
      // An ERROR or an out-of-step reply leaves the stream in doubt: drop the connection.
      r.pool.release(conn, kind === "server_error" || kind === "client_error");
    }
    this.start();
  }

  onFailure(conn: Connection, kind: ErrorKind, message: string): void {
    const r = this.run;
    const now = process.hrtime.bigint();
    r.holdNsSum += Number(now - this.gotNs);
    r.holds++;
    r.error(kind, message);
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
  if (opts.durationMs === undefined && opts.requests === undefined) throw new RangeError("give a duration or a request count");
  const endpoint = formatEndpoint(opts);
  const keys = probeKeys(opts.keyPrefix, opts.keyCount);
  const warnings: string[] = [];

  await prepareEndpoint(opts, endpoint, keys, warnings);

  const pool = new Pool({
    host: opts.host,
    port: opts.port,
    size: opts.poolSize,
    noDelay: opts.noDelay,
    write: opts.write,
    healthCheck: opts.healthCheck,
    connectTimeoutMs: opts.connectTimeoutMs,
    acquireTimeoutMs: opts.timeoutMs,
    requestTimeoutMs: opts.timeoutMs,
  });
  const run = new Run(pool, getCommands(keys), opts);
  let progressTimer: NodeJS.Timeout | undefined;
  let stopTimer: NodeJS.Timeout | undefined;
  try {
    await warmUp(pool, run.commands, opts, endpoint);

    const callers: Caller[] = [];
    for (let i = 0; i < opts.concurrency; i++) callers.push(new Caller(run, (i * 7) % run.commands.length));
    pool.resetAverages();
    const startMs = performance.now();
    if (opts.durationMs !== undefined) stopTimer = setTimeout(() => (run.stopping = true), opts.durationMs);
    const onAbort = () => {
      run.stopping = true;
      if (run.aborted === undefined) run.aborted = "interrupted";
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.onProgress) {
      const report = opts.onProgress;
      progressTimer = setInterval(() => {
        report({
          elapsedMs: performance.now() - startMs,
          plannedMs: opts.durationMs,
          completed: run.completed,
          plannedRequests: opts.requests,
          errors: run.failed,
        });
      }, 500);
    }
    for (const c of callers) c.start();
    await Promise.all(callers.map((c) => c.done));
    const windowMs = performance.now() - startMs;
    const avg = pool.averages();

    const answered = run.hits + run.misses;
    const meanHoldUs = run.holds > 0 ? run.holdNsSum / run.holds / 1000 : 0;
    const poolWaitMeanUs = run.poolWait.totalCount > 0 ? run.poolWait.mean : 0;
    const result: ProbeResult = {
      endpoint,
      write: opts.write,
      noDelay: pool.noDelayReadBack ?? opts.noDelay,
      healthCheck: opts.healthCheck,
      poolSize: opts.poolSize,
      concurrency: opts.concurrency,
      durationMs: Math.round(windowMs),
      requests: run.completed,
      hits: run.hits,
      misses: run.misses,
      errors: run.errors,
      errorSamples: run.errorSamples,
      stalled: run.stalled,
      stalledRatio: answered > 0 ? Math.round((run.stalled / answered) * 10000) / 10000 : 0,
      stallThresholdMs: opts.stallThresholdMs,
      typicalStallMs: typicalStallMs(run.wire, run.stalled),
      wireUs: summarize(run.wire),
      poolWaitUs: summarize(run.poolWait),
      healthCheckUs: summarize(run.healthCheck),
      totalUs: summarize(run.total),
      throughputPerSec: windowMs > 0 ? Math.round((answered / (windowMs / 1000)) * 10) / 10 : 0,
      littlesLaw: littlesLaw({
        completed: run.holds,
        windowMs,
        meanHoldUs,
        meanPoolWaitUs: poolWaitMeanUs,
        poolSize: opts.poolSize,
        sampledBusy: avg.busy,
        sampledWaiting: avg.waiting,
      }),
      warnings,
    };
    if (run.aborted !== undefined) result.aborted = run.aborted;
    return result;
  } finally {
    if (stopTimer) clearTimeout(stopTimer);
    if (progressTimer) clearInterval(progressTimer);
    pool.close();
  }
}

/** Checks the endpoint answers at all, and seeds the probe's keys. */
async function prepareEndpoint(opts: ProbeOptions, endpoint: string, keys: string[], warnings: string[]): Promise<void> {
  let conn: Connection;
  try {
    conn = await Connection.open({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      write: "coalesced",
      connectTimeoutMs: opts.connectTimeoutMs,
    });
  } catch (err) {
    const why = err instanceof ConnectError ? `${err.kind.replace(/_/g, " ")} (${err.message})` : String(err);
    throw new McdiagError("UNREACHABLE", `cannot connect to ${endpoint}: ${why}`, { endpoint });
  }
  try {
    if (!opts.seed) return;
    const sets = setCommands(keys, seedValue(opts.valueSizeBytes));
    for (const cmd of sets) {
      const res = await requestOnce(conn, cmd, opts.timeoutMs);
      if (res.kind !== "stored") {
        warnings.push(`seeding: ${endpoint} answered '${res.kind}${res.message ? " " + res.message : ""}' to set; gets may miss`);
        if (res.kind === "error") break;
      }
    }
  } catch (err) {
    if (err instanceof RequestError) {
      throw new McdiagError("UNREACHABLE", `${endpoint} failed while seeding keys: ${err.kind} (${err.message})`, { endpoint });
    }
    throw err;
  } finally {
    conn.end();
  }
}

/**
 * Opens the connections the callers will use and sends a few unmeasured
 * gets on each, so the measured run sees connections past Linux's
 * quick-ack phase, as long-lived pooled connections are in production.
 */
async function warmUp(pool: Pool, commands: PreparedCommand[], opts: ProbeOptions, endpoint: string): Promise<void> {
  let conns: Connection[];
  try {
    conns = await pool.prefill(Math.min(opts.poolSize, opts.concurrency));
  } catch (err) {
    const why = err instanceof ConnectError ? `${err.kind.replace(/_/g, " ")} (${err.message})` : String(err);
    throw new McdiagError("UNREACHABLE", `cannot open pooled connections to ${endpoint}: ${why}`, { endpoint });
  }
  const rounds = Math.max(0, opts.warmupPerConnection);
  await Promise.all(
    conns.map(async (conn, i) => {
      for (let k = 0; k < rounds && !conn.closed; k++) {
        try {
          await requestOnce(conn, commands[(i + k) % commands.length]!, opts.timeoutMs);
        } catch {
          // A warm-up failure is not measured; the run will meet and count it.
          return;
        }
      }
    }),
  );
}

/** Median of the slowest `stalled` wire times, read off the histogram. */
function typicalStallMs(wire: Histogram, stalled: number): number {
  if (stalled === 0 || wire.totalCount === 0) return 0;
  const share = stalled / wire.totalCount;
  return Math.round(wire.getValueAtPercentile(100 * (1 - share / 2)) / 100) / 10;
}
