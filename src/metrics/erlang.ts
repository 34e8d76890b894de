/**
 * The M/M/c queue (Erlang C) for a connection pool: arrivals at `ratePerSec`,
 * each holding a connection for `holdMs` on average, `servers` connections.
 * Offered load a = λ·T (in Erlangs) is the mean number of busy connections
 * when nothing waits (Little's law). Erlang B is computed by its stable
 * recurrence, B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)), and Erlang C from it:
 * C = c·B / (c − a·(1 − B)).
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
  /** Smallest pool whose mean wait is at most the target. */
  requiredPool: number;
  targetWaitMs: number;
}

export function erlangC(servers: number, offered: number): number {
  if (offered <= 0) return 0;
  if (offered >= servers) return 1;
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (offered * b) / (k + offered * b);
  return (servers * b) / (servers - offered * (1 - b));
}

/** Mean wait in queue, ms, or null when the pool cannot keep up. */
export function meanWaitMs(servers: number, ratePerSec: number, holdMs: number): number | null {
  const a = ratePerSec * (holdMs / 1000);
  if (a >= servers) return null;
  if (a <= 0) return 0;
  return (erlangC(servers, a) * holdMs) / (servers - a);
}

export function poolModel(ratePerSec: number, holdMs: number, pool: number, targetWaitMs: number): PoolModel {
  const a = ratePerSec * (holdMs / 1000);
  const wait = meanWaitMs(pool, ratePerSec, holdMs);
  let required = Math.max(1, Math.floor(a) + 1);
  for (;;) {
    const w = meanWaitMs(required, ratePerSec, holdMs);
    if (w !== null && w <= targetWaitMs) break;
    required++;
  }
  return {
    rate: ratePerSec,
    holdMs,
    pool,
    busyConnections: round(a, 4),
    utilization: round(a / pool, 4),
    waitProbability: round(erlangC(pool, a), 6),
    meanWaitMs: wait === null ? null : round(wait, 6),
    requiredPool: required,
    targetWaitMs,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
