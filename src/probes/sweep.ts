import type { ErrorCounts } from "../clients/errors.js";
import { runRateProbe, type RateProbeOptions, type RateProbeResult } from "./open-loop.js";
import type { ProbeProgress } from "./closed-loop.js";
import type { PoolModelResult } from "./result.js";
import { sleep } from "./setup.js";
import type { WorkerId } from "./run-info.js";
import { shardOptions } from "./shard.js";
import type { SloResult } from "./slo.js";

export interface SweepOptions extends Omit<
  RateProbeOptions,
  "ratePerSec" | "durationMs" | "onProgress" | "startAt" | "scheduleOffsetMs"
> {
  rates: number[];
  stepDurationMs: number;
  pauseMs: number;
  /** This worker of a sweep split across several (each step's rate is split the same way). */
  splits?: readonly WorkerId[];
  /**
   * A common timetable (epoch ms): step k starts at startAtMs + k × (step
   * duration + pause), so workers on many hosts step together; a step that
   * is ready late says so and starts at once.
   */
  startAtMs?: number;
  onStep?: (step: SweepStep, index: number, of: number) => void;
  onProgress?: (rate: number, index: number, of: number, p: ProbeProgress) => void;
}

export interface SweepStep {
  requestedRate: number;
  achievedRate: number;
  throughputPerSec: number;
  successRatio: number;
  /** Requests the step issued and finished: the latency percentiles cover every one of them. */
  requests: number;
  /** Users' latency from the intended start, every request (a failure at its time to failure). */
  latencyUs: { p50: number; p90: number; p95: number; p99: number; max: number };
  poolWaitUs: { p99: number };
  stalledRatio: number;
  errors: ErrorCounts;
  drainMs: number;
  poolModel: PoolModelResult;
  /** Every SLO met, and the step healthy (success at or above the floor, no stray replies). */
  sloMet: boolean;
  slos: SloResult[];
  /** Why the step is not healthy or broke an SLO (empty when it met everything). */
  problems: string[];
  /** True when every request of the step failed: its latency describes failures only. */
  failed: boolean;
  /** Present on the step that SIGINT/SIGTERM cut short. */
  interrupted?: true;
  generatorWarning?: string;
}

export interface SweepResult {
  endpoint: string;
  /** The rates asked for, one per step (the whole fleet's, when the sweep was split across workers). */
  rates: number[];
  steps: SweepStep[];
  /** The highest rate meeting every SLO below the first step that broke one (null when even the first broke). */
  maxRateMeetingSlo: number | null;
  /** The SLO broken first, at the first failing step (null when every step met them). */
  firstBrokenSlo: string | null;
  /** Rates whose every request failed: the sweep cannot be trusted there. */
  failedRates: number[];
  /** Present when SIGINT/SIGTERM stopped the sweep: the steps run so far, the last one partial. */
  interrupted?: true;
  /** The full probe records, for --json consumers who want every field. */
  runs: RateProbeResult[];
}

/** Evenly spaced rates from `from` to `to` (inclusive), `steps` of them. */
export function rateSteps(from: number, to: number, steps: number): number[] {
  if (steps <= 1) return [from];
  // Whole rates when the steps allow it; below one request per second, three decimals (never 0).
  const digits = (to - from) / (steps - 1) >= 1 && from >= 1 ? 1 : 1000;
  return Array.from(
    { length: steps },
    (_, i) => Math.round((from + ((to - from) * i) / (steps - 1)) * digits) / digits,
  );
}

/** One constant-rate step per rate, with a pause between, each judged by the SLOs and the success floor. */
export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const runs: RateProbeResult[] = [];
  for (let i = 0; i < opts.rates.length; i++) {
    if (opts.signal?.aborted) break;
    // On a timetable the wait for the step's start is the pause.
    if (i > 0 && opts.pauseMs > 0 && opts.startAtMs === undefined) await sleep(opts.pauseMs, opts.signal);
    if (opts.signal?.aborted) break;
    const rate = opts.rates[i]!;
    const progress = opts.onProgress;
    const { splits, startAtMs, ...rest } = opts;
    const step = shardOptions(
      {
        ...rest,
        ratePerSec: rate,
        durationMs: opts.stepDurationMs,
        seed: opts.seed && i === 0,
        // The first step warms the generator's code; it stays warm for the rest.
        generatorWarmupMs: i === 0 ? undefined : 0,
        onProgress: progress ? (p: ProbeProgress) => progress(rate, i, opts.rates.length, p) : undefined,
      },
      splits ?? [],
    );
    if (startAtMs !== undefined)
      (step as RateProbeOptions).startAt = startAtMs + i * (opts.stepDurationMs + opts.pauseMs);
    const r = await runRateProbe(step);
    runs.push(r);
    opts.onStep?.(stepOf(r), i, opts.rates.length);
  }
  return sweepResultOf(opts.rates, runs, opts.signal?.aborted === true);
}

/**
 * A sweep's steps and verdict from its runs: one sweep and a merge of many
 * (each step merged across workers first) go through here.
 */
export function sweepResultOf(rates: readonly number[], runs: RateProbeResult[], interrupted: boolean): SweepResult {
  const steps = runs.map(stepOf);
  // An interrupted step is partial: it neither proves nor breaks the SLOs.
  const judged = runs.filter((r) => r.interrupted === undefined);
  const firstFail = judged.findIndex((r) => !r.healthy);
  const met = firstFail < 0 ? judged : judged.slice(0, firstFail);
  const result: SweepResult = {
    endpoint: runs[0]?.endpoint ?? "",
    rates: [...rates],
    steps,
    maxRateMeetingSlo: met.length > 0 ? Math.max(...met.map((r) => r.requestedRate)) : null,
    firstBrokenSlo: firstFail < 0 ? null : firstBroken(judged[firstFail]!),
    failedRates: steps.filter((s) => s.failed).map((s) => s.requestedRate),
    runs,
  };
  if (interrupted) result.interrupted = true;
  return result;
}

/** The first SLO a step broke; else the success floor, written as an SLO; else its first problem. */
function firstBroken(r: RateProbeResult): string {
  const slo = r.slos?.find((x) => !x.met)?.slo;
  if (slo !== undefined) return slo;
  if (r.minSuccessRatio !== undefined && r.successRatio < r.minSuccessRatio) {
    return `success>=${Math.round(r.minSuccessRatio * 1e6) / 1e4}% (the success floor)`;
  }
  return r.problems[0] ?? "unhealthy";
}

export function stepOf(r: RateProbeResult): SweepStep {
  const step: SweepStep = {
    requestedRate: r.requestedRate,
    achievedRate: r.achievedRate,
    throughputPerSec: r.throughputPerSec,
    successRatio: r.successRatio,
    requests: r.requests,
    latencyUs: {
      p50: r.latencyUs.p50,
      p90: r.latencyUs.p90,
      p95: r.latencyUs.p95,
      p99: r.latencyUs.p99,
      max: r.latencyUs.max,
    },
    poolWaitUs: { p99: r.poolWaitUs.p99 },
    stalledRatio: r.stalledRatio,
    errors: r.errors,
    drainMs: r.drainMs,
    poolModel: r.poolModel,
    sloMet: r.healthy,
    slos: r.slos ?? [],
    problems: r.problems,
    failed: r.requests > 0 && r.hits + r.misses === 0,
  };
  if (r.interrupted) step.interrupted = true;
  if (r.generatorWarning) step.generatorWarning = r.generatorWarning;
  return step;
}
