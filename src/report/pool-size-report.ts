import type { PoolModel } from "../metrics/erlang.js";
import { fmtCount, fmtMs, fmtNum, fmtPct } from "./format.js";

/** The pool arithmetic in plain words. */
export function renderPoolModel(m: PoolModel, compare?: PoolModel): string {
  const out: string[] = [];
  const busy = m.busyConnections;
  const busyText = busy >= 10 ? String(Math.round(busy)) : fmtNum(busy, 2);
  let first = `${fmtNum(m.rate, m.rate % 1 === 0 ? 0 : 2)}/s × ${fmtMs(m.holdMs)} = ${busyText} busy connections on average`;
  if (m.meanWaitMs === null) {
    const factor = busy / m.pool;
    first +=
      `; a pool of ${m.pool} is ${factor >= 10 ? Math.round(factor) : fmtNum(factor, 1)}× too small: callers queue without bound` +
      (m.queueGrowthPerSec !== null
        ? ` (the queue grows by ${fmtCount(Math.round(m.queueGrowthPerSec))} callers per second)`
        : "");
  } else {
    first += ` of a pool of ${m.pool} (utilisation ${fmtPct(m.utilization)})`;
  }
  out.push(first);
  if (m.meanWaitMs !== null) {
    out.push(
      `with random arrivals (M/M/${m.pool}): ${fmtPct(m.waitProbability)} of callers wait for a connection, ${fmtMs(m.meanWaitMs)} on average`,
    );
  }
  out.push(
    `a pool of ${fmtCount(m.requiredPool)} keeps the mean wait under ${fmtMs(m.targetWaitMs)}` +
      (m.minimumPool < m.requiredPool ? ` (${fmtCount(m.minimumPool)} just keep up)` : ""),
  );
  if (compare) {
    out.push(
      `with ${fmtMs(compare.holdMs)} per request: ${fmtNum(compare.busyConnections, 2)} busy connections; ${compare.requiredPool} ${compare.requiredPool === 1 ? "connection suffices" : "connections suffice"}`,
    );
  }
  return out.join("\n") + "\n";
}
