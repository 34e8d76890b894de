import { expect } from "vitest";

interface RateFigures {
  requestedRate: number;
  achievedRate: number;
  scheduled: number;
  issued: number;
  interrupted?: boolean;
  generatorWarning?: string;
}

/**
 * Whether a constant-rate run kept its schedule depends on the machine it ran
 * on; what the generator says about it must match its own figures. Falling
 * behind the schedule is named first; otherwise "could not keep its rate"
 * appears exactly when the achieved rate is below 99 % of the requested one.
 * An interrupted run is judged over the time it ran, never as behind.
 */
export function expectRateClaimMatches(r: RateFigures): void {
  const warning = r.generatorWarning ?? "";
  const behind = r.issued < r.scheduled && r.interrupted !== true;
  expect(/scheduled requests: the generator fell behind/.test(warning), warning).toBe(behind);
  if (!behind) {
    expect(/could not keep its rate/.test(warning), warning).toBe(
      r.issued > 0 && r.achievedRate < 0.99 * r.requestedRate,
    );
  }
}
