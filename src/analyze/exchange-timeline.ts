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

/** An exchange's category: its cause's index, 0 when it has none (it was not slow). */
export function categoryOf(cause: string | null): number {
  if (cause === null) return 0;
  const i = (EXCHANGE_CATEGORIES as readonly string[]).indexOf(cause);
  return i < 0 ? EXCHANGE_CATEGORIES.length - 1 : i;
}

/** How long an exchange may last, in capture time, before its bucket is folded (only past 2M exchanges). */
const HORIZON_MS = 60_000;

export function exchangeTimeline(): Timeline {
  return new Timeline(EXCHANGE_CATEGORIES, undefined, HORIZON_MS);
}
