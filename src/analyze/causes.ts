import type { ExchangeRecord } from "./aggregate.js";
import { connectRule } from "./cause-connect.js";
import { delayedAckRule } from "./cause-delayed-ack.js";
import { retransmissionRule } from "./cause-retransmission.js";
import { serverRule } from "./cause-server.js";
import { zeroWindowRule } from "./cause-zero-window.js";

/** Why a slow exchange was slow. */
export type Cause = "delayed-ack" | "retransmission" | "zero-window" | "server" | "connect" | "unexplained";

/**
 * One cause's rule over the exchange record: how much of its time the cause
 * cost, and the frames that show it. Each rule reads only what the
 * reassembly and the session gathered while the exchange was on the wire.
 */
export interface CauseRule {
  cause: Cause;
  /** Time this cause cost the exchange, ns (0: it does not apply). */
  costNs(x: ExchangeRecord, slowNs: number): number;
  /** Frames to open in Wireshark. */
  frames(x: ExchangeRecord): number[];
  /** The timer a typical cost matches, in words. */
  timer(typicalMs: number): string;
  advice: string;
}

/** In the order ties are broken. */
export const CAUSE_RULES: readonly CauseRule[] = [
  zeroWindowRule,
  retransmissionRule,
  connectRule,
  delayedAckRule,
  serverRule,
];

export const UNEXPLAINED_ADVICE =
  "nothing in the capture explains these: look at the client (GC pauses, a busy event loop) and at what the capture point cannot see";

/** The exchange's time on the wire, with a connection's set-up time for its first exchange. */
export function slowTimeNs(x: ExchangeRecord): number {
  return x.respLastTNs - x.reqFirstTNs + x.connectNs;
}

/** The rule that cost the exchange the most time, or undefined (unexplained). Also returns its cost in `out`. */
export function dominantCause(x: ExchangeRecord, slowNs: number, out: { costNs: number }): CauseRule | undefined {
  let best: CauseRule | undefined;
  let bestNs = 0;
  for (const r of CAUSE_RULES) {
    const ns = r.costNs(x, slowNs);
    if (ns > bestNs) {
      best = r;
      bestNs = ns;
    }
  }
  out.costNs = bestNs;
  return best;
}
