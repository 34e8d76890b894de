import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { Connection } from "../clients/connection.js";
import type { ErrorKind } from "../clients/errors.js";
import { TimedCheckout, type Pool } from "../clients/pool.js";
import type { PreparedCommand } from "../protocol/commands.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import { newHistogram, recordNs, summarize, type Histogram, type LatencySummaryUs } from "../metrics/histogram.js";
import { formatEndpoint } from "../util/endpoint.js";
import type { ProbeOptions, ProbeProgress } from "./closed-loop.js";
import { getCommands, probeKeys } from "./keys.js";
import { watchEvidence } from "./evidence.js";
import { Recorder } from "./recorder.js";
import { withLatencyHistogram, type ProbeResult } from "./result.js";
import { prepareEndpoint, probePool, warmUp } from "./setup.js";

export type RateProbeOptions = Omit<ProbeOptions, "concurrency" | "requests" | "durationMs"> & {
  /** Requests per second, issued on a fixed schedule whatever the responses do. */
  ratePerSec: number;
  durationMs: number;
  onProgress?: (p: ProbeProgress) => void;
};

/** A constant-rate run: the closed-loop record plus what only an open loop can tell. */
export interface RateProbeResult extends ProbeResult {
  mode: "rate";
  requestedRate: number;
  /** Requests actually issued per second of the schedule. */
  achievedRate: number;
  /** Answered / issued. */
  successRatio: number;
  /** From the intended start on the schedule to the response: what a user waits, queueing included. */
  latencyUs: LatencySummaryUs;
  /** From the command handed to the kernel to the response: the service time (same as wireUs). */
  serviceUs: LatencySummaryUs;
  /** How late each request was issued against its schedule: the generator's own lag. */
  schedulerLagUs: LatencySummaryUs;
  eventLoopDelayP99Us: number;
  /** After the schedule ended, until the last request in flight finished. */
  drainMs: number;
  /** Set when the generator could not keep its schedule. */
  generatorWarning?: string;
}

const LOOP_SAMPLE_MS = 10;

/** Scheduling granularity: requests due within this window are issued together. */
const TICK_MS = 1;

/**
 * One scheduled request. Objects are recycled through a free list, so a run
 * at any rate allocates only as many as are in flight at once.
 */
class ScheduledRequest extends TimedCheckout {
  intendedNs = 0n;
  cmd!: PreparedCommand;

  constructor(private readonly run: RateRun) {
    super();
  }

  onConnection(conn: Connection): void {
    conn.send(this.cmd, this, this.run.timeoutMs, performance.now());
  }

  onCheckoutError(kind: ErrorKind, message: string): void {
    this.run.rec.checkoutFailed(this, kind, message);
    this.run.finished(this);
  }

  onResponse(conn: Connection, res: ParsedResponse, doneNs: bigint): void {
    const r = this.run;
    const ok = r.rec.response(this, conn, res, doneNs);
    if (res.kind === "values") recordNs(r.latency, doneNs - this.intendedNs);
    r.pool.release(conn, ok);
    r.finished(this);
  }

  onFailure(conn: Connection, kind: ErrorKind, message: string): void {
    const r = this.run;
    r.rec.requestFailed(this, kind, message);
    r.pool.release(conn, false);
    r.finished(this);
  }
}

class RateRun {
  readonly rec: Recorder;
  readonly latency: Histogram = newHistogram();
  readonly lag: Histogram = newHistogram();
  private readonly free: ScheduledRequest[] = [];
  inFlight = 0;
  issued = 0;
  lastDoneMs = 0;
  private onIdle: (() => void) | undefined;

  constructor(
    readonly pool: Pool,
    readonly commands: PreparedCommand[],
    readonly timeoutMs: number,
    stallThresholdMs: number,
    poolSize: number,
  ) {
    this.rec = new Recorder(stallThresholdMs, Math.max(4, poolSize * 2));
  }

  issue(intendedNs: bigint, nowNs: bigint): void {
    const req = this.free.pop() ?? new ScheduledRequest(this);
    req.intendedNs = intendedNs;
    req.cmd = this.commands[this.issued % this.commands.length]!;
    recordNs(this.lag, nowNs - intendedNs);
    this.issued++;
    this.inFlight++;
    this.pool.acquire(req);
  }

  finished(req: ScheduledRequest): void {
    this.inFlight--;
    this.lastDoneMs = performance.now();
    this.free.push(req);
    if (this.inFlight === 0 && this.onIdle) this.onIdle();
  }

  drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => (this.onIdle = resolve));
  }
}

/**
 * Constant-rate (open-loop) probe: request i is due at t0 + i/rate and is
 * issued then, whether or not earlier ones were answered, so a slow server
 * shows as queueing in the latency from the intended start (no coordinated
 * omission). The generator measures its own lag against the schedule.
 */
export async function runRateProbe(opts: RateProbeOptions): Promise<RateProbeResult> {
  if (!(opts.ratePerSec > 0)) throw new RangeError("rate must be above zero");
  const endpoint = formatEndpoint(opts);
  const keys = probeKeys(opts.keyPrefix, opts.keyCount);
  const warnings: string[] = [];
  await prepareEndpoint(opts, endpoint, keys, warnings);
  const pool = probePool(opts);
  const run = new RateRun(pool, getCommands(keys), opts.timeoutMs, opts.stallThresholdMs, opts.poolSize);
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  try {
    // Warm every connection the rate is likely to need (the whole pool at most).
    await warmUp(pool, run.commands, opts.poolSize, opts.warmupPerConnection, opts.timeoutMs, endpoint);
    const evidence =
      opts.evidence === false ? undefined : await watchEvidence(opts.host, opts.port, opts.timeoutMs, endpoint);
    pool.resetAverages();
    loopDelay.enable();
    const total = Math.max(1, Math.round((opts.ratePerSec * opts.durationMs) / 1000));
    const intervalNs = 1e9 / opts.ratePerSec;
    const startMs = performance.now();
    const t0 = process.hrtime.bigint();
    let next = 0;
    await new Promise<void>((scheduleDone) => {
      const tick = () => {
        if (opts.signal?.aborted || run.rec.aborted !== undefined) return scheduleDone();
        const now = process.hrtime.bigint();
        const due = Math.min(total, Math.floor(Number(now - t0) / intervalNs) + 1);
        while (next < due) {
          run.issue(t0 + BigInt(Math.round(next * intervalNs)), now);
          next++;
        }
        if (next >= total) return scheduleDone();
        const waitMs = (next * intervalNs - Number(process.hrtime.bigint() - t0)) / 1e6;
        setTimeout(tick, Math.max(0, Math.min(TICK_MS, waitMs)));
      };
      tick();
      if (opts.onProgress) {
        const report = opts.onProgress;
        const timer = setInterval(() => {
          if (next >= total) return clearInterval(timer);
          report({
            elapsedMs: performance.now() - startMs,
            plannedMs: opts.durationMs,
            completed: run.rec.completed,
            plannedRequests: total,
            errors: run.rec.failed,
          });
        }, 500);
      }
    });
    const scheduleEndMs = performance.now();
    await run.drained();
    const endMs = Math.max(performance.now(), scheduleEndMs);
    loopDelay.disable();
    const scheduleMs = scheduleEndMs - startMs;
    // An open loop has no fixed number of callers: concurrency is reported as 0.
    const base = run.rec.result(opts, { endpoint, concurrency: 0, warnings }, endMs - startMs, pool);
    const achievedRate = scheduleMs > 0 ? run.issued / (Math.max(scheduleMs, opts.durationMs) / 1000) : 0;
    const lag = summarize(run.lag);
    const result: RateProbeResult = {
      ...base,
      mode: "rate",
      requestedRate: opts.ratePerSec,
      achievedRate: Math.round(achievedRate * 10) / 10,
      successRatio: run.issued > 0 ? Math.round((run.rec.answered / run.issued) * 1e6) / 1e6 : 0,
      latencyUs: summarize(run.latency),
      serviceUs: base.wireUs,
      schedulerLagUs: lag,
      // The monitor's samples include its own interval: subtract it to get the delay.
      eventLoopDelayP99Us: Math.max(0, Math.round(loopDelay.percentile(99) / 1000) - LOOP_SAMPLE_MS * 1000),
      drainMs: Math.round((run.lastDoneMs > scheduleEndMs ? run.lastDoneMs - scheduleEndMs : 0) * 10) / 10,
    };
    if (run.issued < total && !opts.signal?.aborted && run.rec.aborted === undefined) {
      result.generatorWarning = `issued ${run.issued} of ${total} scheduled requests`;
    } else if (achievedRate < opts.ratePerSec * 0.99 || lag.p99 > 10_000) {
      result.generatorWarning =
        `the generator could not keep its schedule: achieved ${result.achievedRate}/s of ${opts.ratePerSec}/s, ` +
        `scheduling lag p99 ${(lag.p99 / 1000).toFixed(1)} ms (event-loop delay p99 ${(result.eventLoopDelayP99Us / 1000).toFixed(1)} ms); ` +
        "the client machine, not the server, may be the limit";
    }
    if (opts.signal?.aborted && result.aborted === undefined) result.aborted = "interrupted";
    if (evidence !== undefined) result.evidence = await evidence();
    return withLatencyHistogram(result, run.latency);
  } finally {
    loopDelay.disable();
    pool.close();
  }
}
