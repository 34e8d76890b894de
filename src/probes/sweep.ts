import type { ErrorCounts } from "../clients/errors.js";
import { percentileUs } from "../metrics/histogram.js";
import { runRateProbe, type RateProbeOptions, type RateProbeResult } from "./open-loop.js";
import { latencyHistogramOf } from "./result.js";
import { sloMet, sloValue, type Slo } from "./slo.js";
import type { ProbeProgress } from "./closed-loop.js";

export interface SweepOptions extends Omit<RateProbeOptions, "ratePerSec" | "durationMs" | "onProgress"> {
  rates: number[];
  stepDurationMs: number;
  pauseMs: number;
  slos: Slo[];
  onStep?: (step: SweepStep, index: number, of: number) => void;
  onProgress?: (rate: number, index: number, of: number, p: ProbeProgress) => void;
}

export interface SloResult {
  slo: string;
  /** Latency in µs, ratios in 0…1, counts. */
  value: number;
  met: boolean;
}

export interface SweepStep {
  requestedRate: number;
  achievedRate: number;
  throughputPerSec: number;
  successRatio: number;
  latencyUs: { p50: number; p90: number; p95: number; p99: number; max: number };
  poolWaitUs: { p99: number };
  stalledRatio: number;
  errors: ErrorCounts;
  drainMs: number;
  /** M/M/c predicted mean pool wait beside the measured one, ms. */
  poolModel: { predictedMeanWaitMs: number | null; measuredMeanWaitMs: number };
  sloMet: boolean;
  slos: SloResult[];
  generatorWarning?: string;
}

export interface SweepResult {
  endpoint: string;
  steps: SweepStep[];
  /** The highest rate meeting every SLO below the first step that broke one (null when even the first broke). */
  maxRateMeetingSlo: number | null;
  /** The SLO broken first, at the first failing step (null when every step met them). */
  firstBrokenSlo: string | null;
  /** The full probe records, for --json consumers who want every field. */
  runs: RateProbeResult[];
}

/** Evenly spaced rates from `from` to `to` (inclusive), `steps` of them. */
export function rateSteps(from: number, to: number, steps: number): number[] {
  if (steps <= 1) return [from];
  return Array.from({ length: steps }, (_, i) => Math.round(from + ((to - from) * i) / (steps - 1)));
}

/** One constant-rate step per rate, with a pause between, each judged by the SLOs. */
export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const steps: SweepStep[] = [];
  const runs: RateProbeResult[] = [];
  for (let i = 0; i < opts.rates.length; i++) {
    if (opts.signal?.aborted) break;
    if (i > 0 && opts.pauseMs > 0) await new Promise((r) => setTimeout(r, opts.pauseMs));
    const rate = opts.rates[i]!;
    const progress = opts.onProgress;
    const r = await runRateProbe({
      ...opts,
      ratePerSec: rate,
      durationMs: opts.stepDurationMs,
      seed: opts.seed && i === 0,
      onProgress: progress ? (p) => progress(rate, i, opts.rates.length, p) : undefined,
    });
    runs.push(r);
    const step = stepOf(r, opts.slos);
    steps.push(step);
    opts.onStep?.(step, i, opts.rates.length);
  }
  const firstFail = steps.findIndex((s) => !s.sloMet);
  const met = firstFail < 0 ? steps : steps.slice(0, firstFail);
  return {
    endpoint: runs[0]?.endpoint ?? "",
    steps,
    maxRateMeetingSlo: met.length > 0 ? Math.max(...met.map((s) => s.requestedRate)) : null,
    firstBrokenSlo: firstFail < 0 ? null : (steps[firstFail]!.slos.find((x) => !x.met)?.slo ?? null),
    runs,
  };
}

function stepOf(r: RateProbeResult, slos: Slo[]): SweepStep {
  const h = latencyHistogramOf(r);
  const issued = Math.max(1, r.requests);
  const errorCount = r.requests - r.hits - r.misses;
  // Latency SLOs judge what users waited (from the intended start); with no answer at all they fail.
  const none = h.totalCount === 0;
  const input = {
    latencyAt: (p: number) => (none ? Infinity : percentileUs(h, p)),
    meanUs: none ? Infinity : h.mean,
    maxUs: none ? Infinity : h.maxValue,
    successRatio: r.successRatio,
    errors: errorCount,
    errorRatio: errorCount / issued,
    stalledRatio: r.stalledRatio,
  };
  const results = slos.map((s) => {
    const value = sloValue(s, input);
    return {
      slo: s.text,
      value: Number.isFinite(value) ? Math.round(value * 1e6) / 1e6 : value,
      met: sloMet(s, value),
    };
  });
  const step: SweepStep = {
    requestedRate: r.requestedRate,
    achievedRate: r.achievedRate,
    throughputPerSec: r.throughputPerSec,
    successRatio: r.successRatio,
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
    sloMet: results.every((x) => x.met),
    slos: results,
  };
  if (r.generatorWarning) step.generatorWarning = r.generatorWarning;
  return step;
}
