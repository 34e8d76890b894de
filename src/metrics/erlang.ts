import { round } from "../util/round.js";

/**
 * The M/M/c queue (Erlang C) for a connection pool: arrivals at `ratePerSec`,
 * each holding a connection for `holdMs` on average, `servers` connections.
 * Offered load a = λ·T (in Erlangs) is the mean number of busy connections
 * when nothing waits (Little's law).
 *
 * Erlang B is computed through its inverse I(k) = 1/B(k), by the recurrence
 * I(k) = 1 + (k/a)·I(k−1): every term is positive, so a relative error in a
 * starting value only shrinks on the way up. Terms more than ~12√a below a
 * no longer matter (their weight is below e^−70), so the recurrence starts
 * there, from I ≈ a/(a−k), and costs O(√a) steps instead of O(c). Beyond
 * `EXACT_MAX_STEPS` steps (a above ~10^8) Temme's uniform asymptotic
 * expansion of the incomplete gamma function takes over, which is accurate to
 * about 1e-12 there. Erlang C follows from B: C = c·B / (c − a·(1 − B)).
 */
export interface PoolModel {
  rate: number;
  holdMs: number;
  pool: number;
  /** a = λ·T */
  busyConnections: number;
  /** a / c */
  utilization: number;
  /** Probability that a caller has to wait for a connection (1 when a ≥ c). */
  waitProbability: number;
  /** Mean wait for a connection, ms (null when the pool cannot keep up: the queue grows without bound). */
  meanWaitMs: number | null;
  /** Smallest pool that keeps up at all: the integer above a. */
  minimumPool: number;
  /** Smallest pool whose mean wait is at most the target. */
  requiredPool: number;
  targetWaitMs: number;
  /** When a ≥ c: how fast the queue of callers grows, callers per second (λ − c/T). */
  queueGrowthPerSec: number | null;
}

/** Above this many recurrence steps, the asymptotic expansion is used instead. */
const EXACT_MAX_STEPS = 300_000;

/** Probability of waiting in M/M/c: 1 when the pool cannot keep up. */
export function erlangC(servers: number, offered: number): number {
  if (offered <= 0) return 0;
  if (offered >= servers) return 1;
  const b = erlangB(servers, offered);
  return (servers * b) / (servers - offered * (1 - b));
}

/** Blocking probability of M/M/c/c (Erlang B). */
export function erlangB(servers: number, offered: number): number {
  if (offered <= 0) return 0;
  const start = Math.max(0, Math.floor(offered - 12 * Math.sqrt(offered) - 40));
  if (servers - start <= EXACT_MAX_STEPS) return 1 / inverseErlangB(servers, offered, start);
  return erlangBAsymptotic(servers, offered);
}

function inverseErlangB(servers: number, a: number, start: number): number {
  // I(k) for k well below a is close to a/(a−k); its error is damped away.
  let inv = start === 0 ? 1 : a / (a - start);
  for (let k = start + 1; k <= servers; k++) inv = 1 + (k / a) * inv;
  return inv;
}

/**
 * B(c, a) = P(X = c) / P(X ≤ c) for X ~ Poisson(a), with P(X ≤ c) = Q(c+1, a),
 * the regularized upper incomplete gamma function, from Temme's expansion
 * (DLMF 8.12.3): Q(s, x) ≈ ½·erfc(η·√(s/2)) + e^(−sη²/2)/√(2πs)·(1/(λ−1) − 1/η),
 * λ = x/s, η = sign(λ−1)·√(2(λ−1−ln λ)).
 */
export function erlangBAsymptotic(c: number, a: number): number {
  // P(X = c) = e^(−c·g(δ)) / √(2πc) · e^(−1/(12c) + 1/(360c³)), δ = (a−c)/c, g(δ) = δ − ln(1+δ).
  const delta = (a - c) / c;
  const pmf = Math.exp(-c * minusLog1p(delta) - 1 / (12 * c) + 1 / (360 * c * c * c)) / Math.sqrt(2 * Math.PI * c);
  const s = c + 1;
  const d = (a - s) / s;
  const mu = minusLog1p(d);
  const eta = (d < 0 ? -1 : 1) * Math.sqrt(2 * mu);
  const c0 = d === 0 || eta === 0 ? -1 / 3 : 1 / d - 1 / eta;
  const q = 0.5 * erfc(eta * Math.sqrt(s / 2)) + (Math.exp(-s * mu) / Math.sqrt(2 * Math.PI * s)) * c0;
  return Math.min(1, pmf / q);
}

/** d − ln(1+d), without the cancellation near 0. */
function minusLog1p(d: number): number {
  if (Math.abs(d) > 1e-3) return d - Math.log1p(d);
  // d²/2 − d³/3 + d⁴/4 − …
  let term = d * d;
  let sum = 0;
  for (let n = 2; n < 12; n++) {
    sum += (n % 2 === 0 ? 1 : -1) * (term / n);
    term *= d;
  }
  return sum;
}

/**
 * erfc(x). For x ≤ 0 (the only side the expansion above uses for a stable
 * pool) erfc = 1 + erf(|x|), with erf from its series of positive terms
 * (no cancellation): erf(x) = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)).
 */
export function erfc(x: number): number {
  const ax = Math.abs(x);
  let erf: number;
  if (ax > 6) erf = 1;
  else {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
    }
    erf = Math.min(1, (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum);
  }
  return x >= 0 ? 1 - erf : 1 + erf;
}

/** Mean wait in queue, ms, or null when the pool cannot keep up. */
export function meanWaitMs(servers: number, ratePerSec: number, holdMs: number): number | null {
  const a = ratePerSec * (holdMs / 1000);
  if (a >= servers) return null;
  if (a <= 0) return 0;
  return (erlangC(servers, a) * holdMs) / (servers - a);
}

/**
 * The smallest pool whose M/M/c mean wait is at most `targetWaitMs`: a
 * bracket grown from the square-root staffing rule a + √a, then bisection.
 * About 2·log2(pool) evaluations of Erlang C, each O(√a) at most.
 */
export function requiredPool(ratePerSec: number, holdMs: number, targetWaitMs: number): number {
  const a = ratePerSec * (holdMs / 1000);
  if (!(a > 0)) return 1;
  if (!(targetWaitMs > 0)) throw new RangeError("the target wait must be above zero");
  const minimum = Math.floor(a) + 1;
  const ok = (c: number) => (meanWaitMs(c, ratePerSec, holdMs) ?? Infinity) <= targetWaitMs;
  if (ok(minimum)) return minimum;
  let bad = minimum;
  let excess = Math.max(1, Math.ceil(Math.sqrt(a)));
  let good = minimum + excess;
  while (!ok(good)) {
    bad = good;
    excess *= 2;
    good = minimum + excess;
  }
  while (good - bad > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (ok(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

export function poolModel(ratePerSec: number, holdMs: number, pool: number, targetWaitMs: number): PoolModel {
  const a = ratePerSec * (holdMs / 1000);
  const wait = meanWaitMs(pool, ratePerSec, holdMs);
  return {
    rate: ratePerSec,
    holdMs,
    pool,
    busyConnections: round(a, 4),
    utilization: round(a / pool, 4),
    waitProbability: round(erlangC(pool, a), 6),
    meanWaitMs: wait === null ? null : round(wait, 6),
    minimumPool: a > 0 ? Math.floor(a) + 1 : 1,
    requiredPool: requiredPool(ratePerSec, holdMs, targetWaitMs),
    targetWaitMs,
    queueGrowthPerSec: wait === null ? round(ratePerSec - pool / (holdMs / 1000), 1) : null,
  };
}

/**
 * The finite-source queue (machine repairman, M/M/c//N): N callers, each
 * away from the pool for `thinkMs` on average between checkouts, then holding
 * a connection for `holdMs`; c connections. A closed loop is this queue: its
 * callers cannot outnumber N, so an M/M/c prediction (infinite callers) does
 * not describe it. With no think time it is exact: min(N, c) busy, the rest
 * waiting.
 */
export interface FiniteSourceModel {
  callers: number;
  pool: number;
  holdMs: number;
  thinkMs: number;
  /** Mean busy connections. */
  busyConnections: number;
  /** Mean callers waiting for a connection. */
  meanWaiting: number;
  /** Mean wait for a connection, ms. */
  meanWaitMs: number;
  /** Checkouts per second. */
  throughputPerSec: number;
}

export function finiteSourceModel(callers: number, pool: number, holdMs: number, thinkMs: number): FiniteSourceModel {
  let busy: number;
  let waiting: number;
  if (!(holdMs > 0)) {
    busy = 0;
    waiting = 0;
  } else if (!(thinkMs > holdMs * 1e-9)) {
    busy = Math.min(callers, pool);
    waiting = Math.max(0, callers - pool);
  } else {
    // p(k) ∝ Π_{i=1..k} (N−i+1)·(T/Z) / min(i, c), k callers at the pool; summed in log space.
    const ratio = holdMs / thinkMs;
    const logs = new Float64Array(callers + 1);
    let max = 0;
    for (let k = 1; k <= callers; k++) {
      logs[k] = logs[k - 1]! + Math.log(((callers - k + 1) * ratio) / Math.min(k, pool));
      if (logs[k]! > max) max = logs[k]!;
    }
    let total = 0;
    busy = 0;
    waiting = 0;
    for (let k = 0; k <= callers; k++) {
      const p = Math.exp(logs[k]! - max);
      total += p;
      busy += Math.min(k, pool) * p;
      waiting += Math.max(0, k - pool) * p;
    }
    busy /= total;
    waiting /= total;
  }
  const throughputPerSec = holdMs > 0 ? busy / (holdMs / 1000) : 0;
  return {
    callers,
    pool,
    holdMs,
    thinkMs,
    busyConnections: round(busy, 4),
    meanWaiting: round(waiting, 4),
    meanWaitMs: throughputPerSec > 0 ? round((waiting / throughputPerSec) * 1000, 6) : 0,
    throughputPerSec: round(throughputPerSec, 1),
  };
}
