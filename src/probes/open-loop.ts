import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { Connection } from "../clients/connection.js";
import type { ErrorKind } from "../clients/errors.js";
import { TimedCheckout, type Pool } from "../clients/pool.js";
import type { KeySpace } from "../protocol/get-frame.js";
import type { ParsedResponse } from "../protocol/response-parser.js";
import { newHistogram, summarize, type Histogram, type LatencySummaryUs } from "../metrics/histogram.js";
import { BusySampler } from "../metrics/busy-over-time.js";
import { PROBE_CATEGORIES, Timeline } from "../metrics/timeline.js";
import { encodeHistograms } from "../results/histogram-codec.js";
import { formatEndpoint } from "../util/endpoint.js";
import { INTERRUPT_GRACE_MS, type ProbeOptions, type ProbeProgress } from "./closed-loop.js";
import { probeKeys } from "./keys.js";
import { watchEvidence } from "./evidence.js";
import { judgeRun } from "./health.js";
import { Recorder } from "./recorder.js";
import { withLatencyHistogram, type ProbeResult } from "./result.js";
import { prepareEndpoint, probePool, reportProgress, untilAbortedOr, warmUp } from "./setup.js";
import { runInfoOf } from "./run-info.js";
import { IntervalRecorder } from "./interval-log.js";
import { waitForStart } from "./start-at.js";
import { round } from "../util/round.js";
import { tightenTimerSlack } from "../util/timer-slack.js";
import { ThreadCpuWait } from "../util/cpu-wait.js";

export type RateProbeOptions = Omit<ProbeOptions, "concurrency" | "requests" | "durationMs"> & {
  /** Requests per second, issued on a fixed schedule whatever the responses do. */
  ratePerSec: number;
  durationMs: number;
  /**
   * The schedule starts this long after the (synchronised) start: shard i of
   * a rate R split N ways starts i/R later, so the shards' requests
   * interleave as one generator's would.
   */
  scheduleOffsetMs?: number;
  onProgress?: (p: ProbeProgress) => void;
  /** The generator's unmeasured warm-up (ms, at most a fifth of the run); 0 when its code is already warm (a sweep's later steps). */
  generatorWarmupMs?: number;
};

/** A constant-rate run: the closed-loop record plus what only an open loop can tell. */
export interface RateProbeResult extends ProbeResult {
  mode: "rate";
  requestedRate: number;
  /** Requests actually issued per second of the schedule (the time it really ran, when interrupted). */
  achievedRate: number;
  /** Requests the schedule held for the time it ran, and how many were issued. */
  scheduled: number;
  issued: number;
  /** From the intended start on the schedule to the response or failure: what a user waits, queueing included. */
  latencyUs: LatencySummaryUs;
  /** From the command handed to the kernel to the response: the service time (same as wireUs). */
  serviceUs: LatencySummaryUs;
  /** How late each request was issued against its schedule: the generator's own lag. */
  schedulerLagUs: LatencySummaryUs;
  /** From a response's arrival on the socket (estimated: the event loop's previous turn) to its handling. */
  responseDelayUs: LatencySummaryUs;
  /** Pool wait after the connection had become free but before its release was processed. */
  freeConnectionWaitUs: LatencySummaryUs;
  /** Per request, the part of the users' latency that is mcdiag itself: lag + free-connection wait + response delay. */
  generatorUs: LatencySummaryUs;
  /** Sum of generatorUs over the sum of latencyUs: mcdiag's share of what users waited (0…1). */
  generatorShare: number;
  /** CPU the process used while the schedule ran, % of one core (the clock is polled near each deadline). */
  generatorCpuPercent: number;
  /**
   * Of the time the schedule ran, the % the generator's thread was ready to
   * run but waited for a CPU (Linux; absent elsewhere), less the wake-up
   * latency its early wake-ups cover: time in which requests fell due or
   * replies arrived and waited for the client machine, not the server.
   */
  generatorCpuWaitPercent?: number;
  eventLoopDelayP99Us: number;
  /** After the schedule ended, until the last request in flight finished. */
  drainMs: number;
  /** Set when the generator could not keep its schedule, or is a large part of the latency. */
  generatorWarning?: string;
}

const LOOP_SAMPLE_MS = 10;

/**
 * Within this much of the next due time, and while any request is in flight,
 * the generator polls the clock once per event-loop turn (setImmediate):
 * Node's timers have millisecond granularity and would release requests up
 * to a millisecond late, in bursts. Polling lets the loop handle socket
 * events between two checks, so responses are read as promptly as requests
 * are sent. Longer idle gaps sleep in a timer; short ones with nothing in
 * flight sleep in Atomics.wait, which has sub-millisecond resolution.
 */
const SPIN_WINDOW_MS = 2;
/** A short sleep wakes up to this late (timer slack); the rest of the wait is polled. */
const SLEEP_SLACK_MS = 0.15;
/** What the short sleeps wait on: nothing ever notifies it, so they always time out. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));
/** The generator's unmeasured warm-up at the requested rate (see warmUpGenerator). */
export const GENERATOR_WARMUP_MS = 1000;
/** Requests issued in one turn at most: a late turn catches up without stalling the loop. */
const MAX_BATCH = 1000;
/** Requests in flight (queued for the pool included) at most: beyond it the schedule waits, and says so. */
const MAX_OUTSTANDING = 100_000;
/** Scheduling lag p99 (µs) above which the report warns. */
const LATE_WARN_US = 10_000;
/**
 * mcdiag's own share of the users' latency above which the report warns: for
 * the typical request (medians), when mcdiag's part is also at least
 * GENERATOR_MEAN_WARN_US (a few µs on a 20 µs cache is not worth a warning);
 * or overall (sums), at twice the share and ten times that size. Rare late
 * issues have their own warning (LATE_WARN_US).
 */
const GENERATOR_SHARE_WARN = 0.25;
const GENERATOR_MEAN_WARN_US = 100;
/**
 * From this % of the run, the generator's wait for a CPU is warned about
 * (and named in its other warnings). Below it the wait says little: on a
 * loopback test a few % is the server itself, woken onto the generator's
 * core by a request while the generator only polled for the reply. A busy
 * neighbour shows far above it.
 */
const CPU_WAIT_NOTE_PERCENT = 10;

/**
 * One scheduled request. Objects are recycled through a free list, so a run
 * at any rate allocates only as many as are in flight at once.
 */
class ScheduledRequest extends TimedCheckout {
  intendedMs = 0;
  lagMs = 0;
  /** The key this request reads. */
  index = 0;

  constructor(private readonly run: RateRun) {
    super();
  }

  onConnection(conn: Connection): void {
    conn.sendGet(this.run.keys, this.index, this, this.run.timeoutMs, this.hcDoneMs || this.gotMs);
  }

  onCheckoutError(kind: ErrorKind, message: string): void {
    const now = performance.now();
    this.run.rec.checkoutFailed(this, kind, message, now);
    this.run.finished(this, now, false, 0);
  }

  onResponse(conn: Connection, res: ParsedResponse, doneMs: number): void {
    const r = this.run;
    // The bytes arrived after the loop's previous turn at the earliest this
    // estimate allows, and not before the request left.
    const delayMs = Math.max(0, doneMs - Math.max(r.turnMs, conn.writtenMs));
    conn.freedMs = doneMs - delayMs;
    const ok = r.rec.response(this, conn, res, doneMs);
    r.pool.release(conn, ok);
    r.finished(this, doneMs, res.kind === "values", delayMs);
  }

  onFailure(conn: Connection, kind: ErrorKind, message: string): void {
    const r = this.run;
    const now = performance.now();
    r.rec.requestFailed(this, kind, message, now);
    r.pool.release(conn, false);
    r.finished(this, now, false, 0);
  }
}

class RateRun {
  /** From the intended start, every request. */
  readonly latency: Histogram = newHistogram();
  readonly latencyOk: Histogram = newHistogram();
  readonly lag: Histogram = newHistogram();
  readonly responseDelay: Histogram = newHistogram();
  readonly freeWait: Histogram = newHistogram();
  readonly generator: Histogram = newHistogram();
  private readonly free: ScheduledRequest[] = [];
  latencyMsSum = 0;
  generatorMsSum = 0;
  inFlight = 0;
  issued = 0;
  lastDoneMs = 0;
  /** performance.now() at the start of the event loop's last turn, while polling. */
  turnMs = 0;
  private onIdle: (() => void) | undefined;
  /** The schedule's start: the timeline's zero. */
  t0 = 0;
  readonly timeline: Timeline;

  constructor(
    readonly pool: Pool,
    readonly rec: Recorder,
    readonly keys: KeySpace,
    readonly timeoutMs: number,
    plannedMs: number,
  ) {
    this.timeline = new Timeline(PROBE_CATEGORIES, plannedMs, timeoutMs * 2);
  }

  issue(intendedMs: number, nowMs: number): void {
    const req = this.free.pop() ?? new ScheduledRequest(this);
    req.intendedMs = intendedMs;
    req.lagMs = nowMs - intendedMs;
    req.index = this.issued % this.keys.count;
    this.rec.recordMs(this.lag, req.lagMs);
    this.issued++;
    this.inFlight++;
    this.pool.acquire(req);
  }

  /** A request ended (answered or failed) at `endMs`; records what the user waited and mcdiag's part of it. */
  finished(req: ScheduledRequest, endMs: number, ok: boolean, responseDelayMs: number): void {
    const userMs = endMs - req.intendedMs;
    const freeWaitMs = req.freedMs > 0 ? Math.max(0, req.gotMs - Math.max(req.askedMs, req.freedMs)) : 0;
    const selfMs = req.lagMs + freeWaitMs + responseDelayMs;
    this.rec.recordMs(this.latency, userMs);
    this.timeline.add(req.intendedMs - this.t0, userMs * 1000, this.rec.lastCategory);
    if (ok) this.rec.recordMs(this.latencyOk, userMs);
    this.rec.recordMs(this.responseDelay, responseDelayMs);
    this.rec.recordMs(this.freeWait, freeWaitMs);
    this.rec.recordMs(this.generator, selfMs);
    this.latencyMsSum += userMs;
    this.generatorMsSum += selfMs;
    this.inFlight--;
    this.lastDoneMs = endMs;
    this.free.push(req);
    if (this.inFlight === 0 && this.onIdle) this.onIdle();
  }

  drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => (this.onIdle = resolve));
  }
}

/** How a schedule ended: stopped before issuing all it held (interrupted, aborted, far behind), and when. */
interface ScheduleEnd {
  stoppedEarly: boolean;
  endMs: number;
}

/**
 * Issues a run's requests on their schedule: request i is due at
 * t0 + i × interval. Like vegeta's pacer it keeps no tick: each turn it
 * issues what is due and works out the next due time (see SPIN_WINDOW_MS for
 * how it waits). After the schedule it keeps turning while requests drain.
 */
class Pacer {
  private next = 0;
  private pumping = false;
  private scheduleDone = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private resolve!: (end: ScheduleEnd) => void;
  /** A generator that falls this far behind stops issuing; the rest count as not issued. */
  private readonly hardEndMs: number;
  private readonly pumpNext = (): void => this.pump();
  /**
   * The thread's wait for a CPU on waking from its own sleeps (ns), as far
   * as the sleep's early end covered it: a sleep ends SLEEP_SLACK_MS (a
   * timer SPIN_WINDOW_MS) before the due time, so a wake-up's scheduling
   * latency up to that delays no request, and is left out of the CPU wait
   * reported. A longer wait (another process held the CPU) is counted.
   */
  coveredCpuWaitNs = 0;
  /** The CPU-wait counter when the generator went to sleep in a timer; −1 when not asleep. */
  private timerSleepFromNs = -1;

  constructor(
    private readonly run: RateRun,
    private readonly t0: number,
    private readonly total: number,
    private readonly intervalMs: number,
    durationMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly cpuWait?: ThreadCpuWait,
  ) {
    this.hardEndMs = durationMs + Math.max(1000, durationMs / 10);
  }

  start(): Promise<ScheduleEnd> {
    const end = new Promise<ScheduleEnd>((r) => (this.resolve = r));
    this.pumping = true;
    this.pump();
    return end;
  }

  stop(): void {
    this.pumping = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** Adds the CPU wait since `beforeNs` (read when the sleep began), up to `coveredMs`, to what the early wake-ups covered. */
  private addSleepWait(beforeNs: number, coveredMs: number): void {
    const after = this.cpuWait!.waitNs();
    if (beforeNs >= 0 && after >= beforeNs) this.coveredCpuWaitNs += Math.min(after - beforeNs, coveredMs * 1e6);
  }

  private sleep(ms: number): void {
    const before = this.cpuWait?.waitNs() ?? -1;
    Atomics.wait(SLEEP_CELL, 0, 0, ms);
    if (before >= 0) this.addSleepWait(before, SLEEP_SLACK_MS);
  }

  private pump(): void {
    this.timer = undefined;
    this.immediate = undefined;
    if (this.timerSleepFromNs >= 0) {
      this.addSleepWait(this.timerSleepFromNs, SPIN_WINDOW_MS);
      this.timerSleepFromNs = -1;
    }
    if (!this.pumping) return;
    const run = this.run;
    const now = performance.now();
    run.turnMs = now;
    if (!this.scheduleDone) {
      let stoppedEarly = false;
      if (this.signal?.aborted || run.rec.aborted !== undefined || now - this.t0 > this.hardEndMs) {
        stoppedEarly = true;
      } else {
        for (let batch = 0; batch < MAX_BATCH && this.next < this.total && run.inFlight < MAX_OUTSTANDING; batch++) {
          const due = this.t0 + this.next * this.intervalMs;
          if (due > now) break;
          run.issue(due, now);
          this.next++;
        }
      }
      if (stoppedEarly || this.next >= this.total) {
        this.scheduleDone = true;
        this.resolve({ stoppedEarly, endMs: performance.now() });
      }
    }
    if (this.scheduleDone) {
      // Keep turning while requests drain, so their handling delay stays measured and small.
      if (run.inFlight > 0) this.immediate = setImmediate(this.pumpNext);
      else this.pumping = false;
      return;
    }
    const waitMs = this.t0 + this.next * this.intervalMs - performance.now();
    if (run.inFlight === 0) {
      if (waitMs > SPIN_WINDOW_MS) {
        this.timer = setTimeout(this.pumpNext, waitMs - SPIN_WINDOW_MS);
        if (this.cpuWait !== undefined) this.timerSleepFromNs = this.cpuWait.waitNs();
        return;
      }
      // Nothing in flight, so no response can be kept waiting: sleep (not
      // poll) until just before the due time. The CPU is left to others,
      // and a process that sleeps is scheduled promptly when it wakes.
      if (waitMs > SLEEP_SLACK_MS) this.sleep(waitMs - SLEEP_SLACK_MS);
    }
    this.immediate = setImmediate(this.pumpNext);
  }
}

/**
 * Runs the generator's schedule unmeasured before the measured one, at the
 * requested rate, for GENERATOR_WARMUP_MS (a fifth of a shorter run): the
 * first thousands of requests run mcdiag's code before the JIT has compiled
 * it, and their lateness would be reported as the server's latency (a cold
 * first second had a p99 seven times a warm one's). Its requests go through
 * the same pool to the same server, and are not counted.
 */
async function warmUpGenerator(opts: RateProbeOptions, pool: Pool, keys: KeySpace): Promise<void> {
  const ms = Math.min(opts.generatorWarmupMs ?? GENERATOR_WARMUP_MS, opts.durationMs / 5);
  const total = Math.floor((opts.ratePerSec * ms) / 1000);
  if (total < 1 || opts.signal?.aborted) return;
  const run = new RateRun(pool, new Recorder(opts.stallThresholdMs, Number.MAX_SAFE_INTEGER), keys, opts.timeoutMs, ms);
  const pacer = new Pacer(run, performance.now(), total, 1000 / opts.ratePerSec, ms, opts.signal);
  try {
    await pacer.start();
    await untilAbortedOr(run.drained(), opts.signal, Math.min(opts.timeoutMs, INTERRUPT_GRACE_MS));
  } finally {
    pacer.stop();
  }
}

/**
 * Constant-rate (open-loop) probe: request i is due at t0 + i/rate and is
 * issued then, whether or not earlier ones were answered, so a slow server
 * shows as queueing in the latency from the intended start (no coordinated
 * omission); see Pacer. The generator measures its own part of the
 * latency: scheduling lag, the delay before a response is handled, and pool
 * waits on a connection already freed; and it warms its own code up first
 * (warmUpGenerator).
 */
export async function runRateProbe(opts: RateProbeOptions): Promise<RateProbeResult> {
  if (!(opts.ratePerSec > 0)) throw new RangeError("rate must be above zero");
  const endpoint = formatEndpoint(opts);
  const keys = probeKeys(opts.keyPrefix, opts.keyCount, opts.keyFirst);
  const warnings: string[] = [];
  await prepareEndpoint(opts, endpoint, keys, warnings);
  const rec = new Recorder(opts.stallThresholdMs, Math.max(4, opts.poolSize * 2));
  const pool = probePool(opts, rec);
  const run = new RateRun(pool, rec, keys, opts.timeoutMs, opts.durationMs);
  const intervals =
    opts.onInterval === undefined
      ? undefined
      : new IntervalRecorder(
          {
            latencyUs: run.latency,
            successLatencyUs: run.latencyOk,
            totalUs: rec.total,
            wireUs: rec.wire,
            poolWaitUs: rec.poolWait,
            healthCheckUs: rec.healthCheck,
            schedulerLagUs: run.lag,
            responseDelayUs: run.responseDelay,
            freeConnectionWaitUs: run.freeWait,
            generatorUs: run.generator,
          },
          opts.onInterval,
        );
  rec.intervals = intervals;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  let pacer: Pacer | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  let busySampler: BusySampler | undefined;
  const restoreTimerSlack = tightenTimerSlack();
  const cpuWait = ThreadCpuWait.open();
  try {
    // Warm every connection the rate is likely to need (the whole pool at most).
    await warmUp(pool, keys, opts.poolSize, opts.warmupPerConnection, opts.timeoutMs, endpoint, opts.signal);
    await warmUpGenerator(opts, pool, keys);
    const evidence = await watchEvidence(opts, endpoint);
    const start = opts.startAt === undefined ? {} : await waitForStart(opts.startAt, opts.signal, warnings);
    pool.resetAverages();
    busySampler = new BusySampler(pool, opts.durationMs);
    busySampler.start();
    loopDelay.enable();
    const total = Math.max(1, Math.round((opts.ratePerSec * opts.durationMs) / 1000));
    const intervalMs = 1000 / opts.ratePerSec;
    const cpuBefore = process.cpuUsage();
    const cpuWaitBefore = cpuWait?.waitNs() ?? -1;
    const t0 = performance.now() + (opts.scheduleOffsetMs ?? 0);
    intervals?.start(t0);
    run.t0 = t0;
    pacer = new Pacer(run, t0, total, intervalMs, opts.durationMs, opts.signal, cpuWait);
    const schedule = pacer.start();
    progressTimer = reportProgress(opts.onProgress, () => ({
      elapsedMs: performance.now() - t0,
      plannedMs: opts.durationMs,
      completed: rec.completed,
      plannedRequests: total,
      errors: rec.failed,
    }));
    const { stoppedEarly, endMs: scheduleEndMs } = await schedule;
    await untilAbortedOr(run.drained(), opts.signal, Math.min(opts.timeoutMs, INTERRUPT_GRACE_MS));
    pacer.stop();
    const endMs = Math.max(performance.now(), scheduleEndMs);
    intervals?.finish(endMs);
    const cpu = process.cpuUsage(cpuBefore);
    const cpuWaitAfter = cpuWait?.waitNs() ?? -1;
    loopDelay.disable();
    const interrupted = opts.signal?.aborted === true;
    if (interrupted && run.inFlight > 0) {
      warnings.push(`${run.inFlight} requests still in flight when interrupted are not counted`);
    }
    const scheduleMs = scheduleEndMs - t0;
    const scheduled = stoppedEarly ? Math.min(total, Math.floor(scheduleMs / intervalMs) + 1) : total;
    const parts: RateParts = {
      histograms: {
        latencyUs: run.latency,
        schedulerLagUs: run.lag,
        responseDelayUs: run.responseDelay,
        freeConnectionWaitUs: run.freeWait,
        generatorUs: run.generator,
      },
      requestedRate: opts.ratePerSec,
      issued: run.issued,
      scheduled,
      // Over the time the schedule really ran: an interrupted run is not a slow one.
      scheduleMs: Math.max(scheduleMs, run.issued * intervalMs),
      latencyMs: run.latencyMsSum,
      generatorMs: run.generatorMsSum,
      drainMs: round(run.lastDoneMs > scheduleEndMs ? run.lastDoneMs - scheduleEndMs : 0, 1),
      generatorCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, endMs - t0)) * 1000) / 10,
      generatorCpuWaitPercent:
        cpuWaitBefore < 0 || cpuWaitAfter < cpuWaitBefore
          ? undefined
          : round(
              (Math.max(0, cpuWaitAfter - cpuWaitBefore - pacer.coveredCpuWaitNs) / 1e6 / Math.max(1, endMs - t0)) *
                100,
              2,
            ),
      // The monitor's samples include its own interval: subtract it to get the delay.
      eventLoopDelayP99Us: Math.max(0, Math.round(loopDelay.percentile(99) / 1000) - LOOP_SAMPLE_MS * 1000),
    };
    const base = rec.result(
      opts,
      {
        endpoint,
        concurrency: 0,
        warnings,
        load: { kind: "open", offeredPerSec: achievedRateOf(parts) },
        info: runInfoOf(opts, t0, endMs, start),
      },
      endMs - t0,
      pool,
      run.latencyOk,
    );
    const result = rateResultOf(base, parts, interrupted || rec.aborted !== undefined);
    if (interrupted) result.interrupted = true;
    result.timeline = run.timeline.finish();
    result.busyOverTime = busySampler.stop();
    if (evidence !== undefined && !interrupted) result.evidence = await evidence();
    await opts.beforeClose?.();
    return judgeRun(result, opts);
  } finally {
    pacer?.stop();
    restoreTimerSlack();
    cpuWait?.close();
    if (progressTimer !== undefined) clearInterval(progressTimer);
    intervals?.stop();
    loopDelay.disable();
    busySampler?.stop();
    pool.close();
  }
}

/** Histograms a constant-rate result carries beside the closed-loop ones, named after their summaries. */
export const RATE_HISTOGRAMS = [
  "latencyUs",
  "schedulerLagUs",
  "responseDelayUs",
  "freeConnectionWaitUs",
  "generatorUs",
] as const;
export type RateHistogramName = (typeof RATE_HISTOGRAMS)[number];

/**
 * What only a constant-rate run measures, in additive form (a merge sums the
 * counts and totals, unites the schedules' spans, and keeps the largest of
 * the per-worker maxima: drain, CPU, event-loop delay).
 */
export interface RateParts {
  histograms: Record<RateHistogramName, Histogram>;
  requestedRate: number;
  issued: number;
  scheduled: number;
  /** The span the schedule ran, ms (merged: the length of the union of the spans). */
  scheduleMs: number;
  /** Σ users' latency and Σ mcdiag's own part of it, ms. */
  latencyMs: number;
  generatorMs: number;
  drainMs: number;
  generatorCpuPercent: number;
  /** Undefined where the kernel does not tell. */
  generatorCpuWaitPercent: number | undefined;
  eventLoopDelayP99Us: number;
}

export function achievedRateOf(p: RateParts): number {
  return p.scheduleMs > 0 ? p.issued / (p.scheduleMs / 1000) : 0;
}

/**
 * A constant-rate result from the closed-loop figures and the rate parts:
 * one run and a merge of many go through here.
 */
export function rateResultOf(base: ProbeResult, p: RateParts, stoppedOnPurpose: boolean): RateProbeResult {
  const h = p.histograms;
  const result: RateProbeResult = {
    ...base,
    mode: "rate",
    requestedRate: p.requestedRate,
    achievedRate: round(achievedRateOf(p), 1),
    scheduled: p.scheduled,
    issued: p.issued,
    latencyUs: summarize(h.latencyUs),
    serviceUs: base.wireUs,
    schedulerLagUs: summarize(h.schedulerLagUs),
    responseDelayUs: summarize(h.responseDelayUs),
    freeConnectionWaitUs: summarize(h.freeConnectionWaitUs),
    generatorUs: summarize(h.generatorUs),
    generatorShare: p.latencyMs > 0 ? round(p.generatorMs / p.latencyMs, 4) : 0,
    generatorCpuPercent: p.generatorCpuPercent,
    ...(p.generatorCpuWaitPercent === undefined ? {} : { generatorCpuWaitPercent: p.generatorCpuWaitPercent }),
    eventLoopDelayP99Us: p.eventLoopDelayP99Us,
    drainMs: p.drainMs,
    totals: { ...base.totals, scheduleMs: p.scheduleMs, latencyMs: p.latencyMs, generatorMs: p.generatorMs },
    histograms: { ...base.histograms, ...encodeHistograms(h) },
  };
  const generatorWarning = warnAboutGenerator(result, stoppedOnPurpose);
  if (generatorWarning !== undefined) result.generatorWarning = generatorWarning;
  return withLatencyHistogram(result, h.latencyUs);
}

/** Why the figures may describe mcdiag rather than the server, or undefined. */
function warnAboutGenerator(r: RateProbeResult, stoppedOnPurpose: boolean): string | undefined {
  const lagMs = (r.schedulerLagUs.p99 / 1000).toFixed(1);
  const wait = r.generatorCpuWaitPercent;
  const waited =
    wait !== undefined && wait >= CPU_WAIT_NOTE_PERCENT ? `, its thread waited for a CPU ${wait} % of the run` : "";
  if (r.issued < r.scheduled && !stoppedOnPurpose) {
    return `issued ${r.issued} of ${r.scheduled} scheduled requests: the generator fell behind (scheduling lag p99 ${lagMs} ms${waited}); the client machine, not the server, may be the limit`;
  }
  const loop = `event-loop delay p99 ${(r.eventLoopDelayP99Us / 1000).toFixed(1)} ms${waited}`;
  if (r.issued > 0 && r.achievedRate < r.requestedRate * 0.99) {
    return (
      `the generator could not keep its rate: achieved ${r.achievedRate}/s of ${r.requestedRate}/s ` +
      `(scheduling lag p99 ${lagMs} ms, ${loop}); the client machine, not the server, may be the limit`
    );
  }
  if (r.schedulerLagUs.p99 > LATE_WARN_US) {
    return (
      `the generator issued requests late: scheduling lag p99 ${lagMs} ms (${loop}), and that lag is in the users' latency; ` +
      "the client machine (CPU, other processes), not the server, may be the limit"
    );
  }
  // A typical request (medians) that is largely mcdiag, or a mean that is mostly mcdiag and large.
  const typical =
    r.generatorUs.p50 >= GENERATOR_MEAN_WARN_US && r.generatorUs.p50 >= r.latencyUs.p50 * GENERATOR_SHARE_WARN;
  const overall = r.generatorShare >= 2 * GENERATOR_SHARE_WARN && r.generatorUs.mean >= 10 * GENERATOR_MEAN_WARN_US;
  if (typical || overall) {
    return (
      `mcdiag itself is ${Math.round(r.generatorShare * 100)} % of the users' latency ` +
      `(mean ${Math.round(r.generatorUs.mean)} µs per request: scheduling lag, late response handling, waits on freed connections${waited}); ` +
      "the client machine, not the server, may be the limit"
    );
  }
  if (waited !== "") {
    return (
      `mcdiag's own thread waited for a CPU ${wait} % of the run: other processes held its core (the client machine is busy or short of cores), ` +
      `so requests that fell due then were issued late (scheduling lag p99 ${lagMs} ms) and replies handled late; the users' latency tail may be the client machine's, not the server's`
    );
  }
  return undefined;
}
