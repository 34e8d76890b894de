/**
 * Little's law, L = λ·W, applied to a pool: the mean number of busy
 * connections equals the rate at which checkouts complete times the mean
 * time each holds its connection; the mean number of callers queued equals
 * the rate times the mean pool wait. The measured time-averages from the
 * pool itself are kept beside the model so the report shows both.
 */
export interface LittlesLaw {
  /** λ: checkouts completed per second. */
  arrivalPerSec: number;
  /** W: mean time a connection is held (health check + wire), µs. */
  meanHoldUs: number;
  /** L = λ·W. */
  busyConnections: number;
  poolSize: number;
  /** L / pool size. Above 1 the pool cannot keep up and callers queue without bound. */
  utilization: number;
  /** λ · mean pool wait. */
  meanWaiting: number;
  /** Time-averaged busy connections, from the pool's own counters. */
  sampledBusy: number;
  /** Time-averaged queued callers, from the pool's own counters. */
  sampledWaiting: number;
}

export interface LittlesLawInput {
  completed: number;
  windowMs: number;
  meanHoldUs: number;
  meanPoolWaitUs: number;
  poolSize: number;
  sampledBusy: number;
  sampledWaiting: number;
}

export function littlesLaw(i: LittlesLawInput): LittlesLaw {
  const arrivalPerSec = i.windowMs > 0 ? i.completed / (i.windowMs / 1000) : 0;
  const busyConnections = arrivalPerSec * (i.meanHoldUs / 1e6);
  return {
    arrivalPerSec: round(arrivalPerSec, 1),
    meanHoldUs: round(i.meanHoldUs, 1),
    busyConnections: round(busyConnections, 3),
    poolSize: i.poolSize,
    utilization: round(busyConnections / i.poolSize, 4),
    meanWaiting: round(arrivalPerSec * (i.meanPoolWaitUs / 1e6), 3),
    sampledBusy: round(i.sampledBusy, 3),
    sampledWaiting: round(i.sampledWaiting, 3),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
