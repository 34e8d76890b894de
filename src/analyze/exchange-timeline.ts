import { Timeline } from "../metrics/timeline.js";

/**
 * Categories of an exchange on the analyzer's timeline: what made it slow.
 * Index 0 is an exchange with no cause found; the rest are the causes
 * analyze attributes, in a fixed order so colours stay the same.
 */
export const EXCHANGE_CATEGORIES = [
  "none",
  "delayed-ack",
  "retransmission",
  "zero-window",
  "server",
  "connect",
  "unexplained",
] as const;

export const CAUSE_NONE = 0;
export const CAUSE_DELAYED_ACK = 1;

/** How long an exchange may last, in capture time, before its bucket is folded (only past 2M exchanges). */
const HORIZON_MS = 60_000;

export function exchangeTimeline(): Timeline {
  return new Timeline(EXCHANGE_CATEGORIES, undefined, HORIZON_MS);
}
