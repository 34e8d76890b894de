import { percentileUs, type Histogram } from "../metrics/histogram.js";
import { McdiagError } from "../util/errors.js";

/**
 * Service-level objectives for a sweep step, parsed strictly: a typo is an
 * error, never a threshold that silently passes.
 *
 *   slo    := term ("," term)*
 *   term   := metric op value
 *   metric := p<percentile 50…99.99> | mean | max | success | errors | stalled
 *   op     := < | <= | > | >=
 *   value  := number unit   (latency: us µs ms s; success/stalled: %; errors: a count or %)
 */
export type SloMetric =
  | { kind: "percentile"; p: number }
  | { kind: "mean" }
  | { kind: "max" }
  | { kind: "success" }
  | { kind: "errors"; ratio: boolean }
  | { kind: "stalled" };

export interface Slo {
  text: string;
  metric: SloMetric;
  op: "<" | "<=" | ">" | ">=";
  /** Latency in µs, ratios in 0…1, counts as they are. */
  value: number;
}

/** What a step measured, for SLO evaluation (latencies from the intended start, µs). */
export interface SloInput {
  latencyAt(percentile: number): number;
  meanUs: number;
  maxUs: number;
  successRatio: number;
  errors: number;
  errorRatio: number;
  stalledRatio: number;
}

const TERM = /^(p(\d+(?:\.\d+)?)|mean|max|success|errors|stalled)\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|%)?$/;
const LATENCY_UNITS: Record<string, number> = { us: 1, µs: 1, ms: 1000, s: 1_000_000 };

export function parseSlos(text: string, option = "--slo"): Slo[] {
  const terms = text.split(",").map((t) => t.trim());
  if (terms.length === 0 || terms.some((t) => t === "")) throw bad(option, text, "an empty term");
  return terms.map((t) => parseTerm(t, option));
}

function parseTerm(t: string, option: string): Slo {
  const m = TERM.exec(t);
  if (!m) throw bad(option, t, "expected e.g. p99<5ms, mean<=2ms, max<1s, success>=99.9%, errors<10, stalled<1%");
  const [, name, pText, op, num, unit] = m;
  const n = Number(num);
  let metric: SloMetric;
  let value: number;
  if (pText !== undefined || name === "mean" || name === "max") {
    if (unit === undefined || unit === "%") throw bad(option, t, "a latency needs a unit: us, ms or s");
    value = n * LATENCY_UNITS[unit]!;
    if (pText !== undefined) {
      const p = Number(pText);
      if (!(p >= 50 && p <= 99.99)) throw bad(option, t, "percentiles go from p50 to p99.99");
      metric = { kind: "percentile", p };
    } else metric = { kind: name === "mean" ? "mean" : "max" };
  } else if (name === "success" || name === "stalled") {
    if (unit !== "%") throw bad(option, t, `${name} is a percentage: write e.g. ${name}${op}99.9%`);
    if (n > 100) throw bad(option, t, "a percentage above 100");
    value = percent(n);
    metric = { kind: name };
  } else {
    if (unit !== undefined && unit !== "%") throw bad(option, t, "errors is a count or a percentage");
    value = unit === "%" ? percent(n) : n;
    metric = { kind: "errors", ratio: unit === "%" };
  }
  return { text: t, metric, op: op as Slo["op"], value };
}

/** n % as a ratio, rounded so 99.9 % is exactly the double nearest 0.999 (99.9 / 100 is not). */
function percent(n: number): number {
  return Math.round(n * 1e8) / 1e10;
}

function bad(option: string, text: string, why: string): McdiagError {
  return new McdiagError("BAD_OPTION", `${option}: cannot read '${text}': ${why}`, { option, value: text });
}

export interface SloResult {
  slo: string;
  /** Latency in µs, ratios in 0…1, counts. */
  value: number;
  met: boolean;
}

/** What a run's counts give the SLOs beside its latency histogram. */
export interface SloCounts {
  requests: number;
  answered: number;
  stalledRatio: number;
}

/**
 * Judges each SLO. Latency terms read `latency`, the users' latency of every
 * request (a failure at its time to failure); with no request at all they
 * fail.
 */
export function evaluateSlos(slos: readonly Slo[], latency: Histogram, c: SloCounts): SloResult[] {
  const none = latency.totalCount === 0;
  const errors = c.requests - c.answered;
  const input: SloInput = {
    latencyAt: (p: number) => (none ? Infinity : percentileUs(latency, p)),
    meanUs: none ? Infinity : latency.mean,
    maxUs: none ? Infinity : latency.maxValue,
    successRatio: c.requests > 0 ? c.answered / c.requests : 0,
    errors,
    errorRatio: errors / Math.max(1, c.requests),
    stalledRatio: c.stalledRatio,
  };
  return slos.map((s) => {
    const value = sloValue(s, input);
    return {
      slo: s.text,
      value: Number.isFinite(value) ? Math.round(value * 1e6) / 1e6 : value,
      met: sloMet(s, value),
    };
  });
}

export function sloValue(s: Slo, m: SloInput): number {
  switch (s.metric.kind) {
    case "percentile":
      return m.latencyAt(s.metric.p);
    case "mean":
      return m.meanUs;
    case "max":
      return m.maxUs;
    case "success":
      return m.successRatio;
    case "errors":
      return s.metric.ratio ? m.errorRatio : m.errors;
    case "stalled":
      return m.stalledRatio;
  }
}

export function sloMet(s: Slo, value: number): boolean {
  switch (s.op) {
    case "<":
      return value < s.value;
    case "<=":
      return value <= s.value;
    case ">":
      return value > s.value;
    case ">=":
      return value >= s.value;
  }
}
