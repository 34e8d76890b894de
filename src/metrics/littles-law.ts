import { round } from "../util/round.js";

/**
 * Little's law, L = λ·W, applied twice to a pool, each time with the λ of
 * its own queue:
 * - busy connections: λ = checkouts that got a connection per second,
 *   W = mean time a connection is held;
 * - callers waiting: λ = callers that started waiting per second (every
 *   checkout asked for, including those that gave up), W = mean wait of all
 *   of them.
 * The pool's own time-averaged counts are kept beside each model, so the
 * report shows whether they agree.
 */
export interface LittlesLaw {
  /** λ for busy connections: checkouts that got a connection, per second. */
  arrivalPerSec: number;
  /** W: mean time a connection is held (health check + wire), µs. */
  meanHoldUs: number;
  /** L = λ·W. */
  busyConnections: number;
  poolSize: number;
  /** L / pool size. Near 1 the pool is saturated and callers queue. */
  utilization: number;
  /** λ for the waiting callers: callers that started waiting for a connection, per second. */
  waitArrivalPerSec: number;
  /** W for the waiting callers: mean wait for a connection, µs (a wait that gave up counts until it gave up). */
  meanPoolWaitUs: number;
  /** waitArrivalPerSec × mean pool wait. */
  meanWaiting: number;
  /** Time-averaged busy connections, from the pool's own counters. */
  sampledBusy: number;
  /** Time-averaged queued callers, from the pool's own counters. */
  sampledWaiting: number;
}

export interface LittlesLawInput {
  checkouts: number;
  waitArrivals: number;
  windowMs: number;
  meanHoldUs: number;
  meanPoolWaitUs: number;
  poolSize: number;
  sampledBusy: number;
  sampledWaiting: number;
}

export function littlesLaw(i: LittlesLawInput): LittlesLaw {
  const perSec = (n: number) => (i.windowMs > 0 ? n / (i.windowMs / 1000) : 0);
  const arrivalPerSec = perSec(i.checkouts);
  const waitArrivalPerSec = perSec(i.waitArrivals);
  const busyConnections = arrivalPerSec * (i.meanHoldUs / 1e6);
  return {
    arrivalPerSec: round(arrivalPerSec, 1),
    meanHoldUs: round(i.meanHoldUs, 1),
    busyConnections: round(busyConnections, 3),
    poolSize: i.poolSize,
    utilization: round(busyConnections / i.poolSize, 4),
    waitArrivalPerSec: round(waitArrivalPerSec, 1),
    meanPoolWaitUs: round(i.meanPoolWaitUs, 1),
    meanWaiting: round(waitArrivalPerSec * (i.meanPoolWaitUs / 1e6), 3),
    sampledBusy: round(i.sampledBusy, 3),
    sampledWaiting: round(i.sampledWaiting, 3),
  };
}

/**
 * How far a model is from the measurement, as a share of the larger of the
 * two; null when both are too small to compare (below `floor`).
 */
export function disagreement(model: number, measured: number, floor = 0.05): number | null {
  const big = Math.max(Math.abs(model), Math.abs(measured));
  if (big < floor) return null;
  return Math.abs(model - measured) / big;
}

/** Model and measurement disagree when they differ by more than this share. */
export const DISAGREEMENT_LIMIT = 0.1;
