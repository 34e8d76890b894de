import { McdiagError } from "../util/errors.js";
import { sleep } from "./setup.js";

/** How far ahead a start may be set: as far as a run may last. */
export const MAX_START_AHEAD_MS = 24 * 3600 * 1000;
/** A start this much in the past is a mistake (seconds given for milliseconds, a stale script), not lateness. */
export const MAX_START_BEHIND_MS = 24 * 3600 * 1000;
/** A run that starts this late, or later, says so in its warnings. */
export const LATE_START_WARN_MS = 10;
/** The last stretch of a wait is polled: timers fire up to a millisecond late. */
const POLL_WINDOW_MS = 2;

/** When the measured run starts: at an epoch time, or when a barrier across workers resolves with one. */
export type StartAt = number | (() => Promise<number>);

/**
 * `--start-at`: epoch milliseconds (`1767225600000`) or an ISO 8601 time with
 * its zone (`2026-01-01T00:00:00Z`, `…+01:00`): a time without a zone would
 * mean a different instant on each machine.
 */
export function parseStartAt(text: string, option = "--start-at", nowMs = Date.now()): number {
  const t = text.trim();
  let ms: number;
  if (/^\d+$/.test(t)) ms = Number(t);
  else if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i.test(t)) ms = Date.parse(t);
  else {
    throw new McdiagError(
      "BAD_OPTION",
      `${option}: '${text}' is not a time (want epoch milliseconds, or ISO 8601 with a zone, e.g. 2026-01-01T12:00:00Z)`,
      { option, value: text },
    );
  }
  if (!Number.isFinite(ms)) {
    throw new McdiagError("BAD_OPTION", `${option}: '${text}' is not a valid date`, { option, value: text });
  }
  if (ms - nowMs > MAX_START_AHEAD_MS) {
    throw new McdiagError("BAD_OPTION", `${option}: '${text}' is more than 24 h ahead`, { option, value: text });
  }
  if (nowMs - ms > MAX_START_BEHIND_MS) {
    throw new McdiagError(
      "BAD_OPTION",
      `${option}: '${text}' (${new Date(ms).toISOString()}) is more than 24 h in the past` +
        (/^\d{9,11}$/.test(t) ? " (epoch seconds? give milliseconds)" : ""),
      { option, value: text },
    );
  }
  return ms;
}

/**
 * Waits until the start time, then returns when the run starts and how late
 * that is. A run already past its start time starts at once and says so in
 * `warnings`. Aborting the signal ends the wait early (the run then stops at
 * once and reports nothing measured, marked interrupted).
 */
export async function waitForStart(
  startAt: StartAt,
  signal: AbortSignal | undefined,
  warnings: string[],
): Promise<{ startAtMs: number; startLateMs: number }> {
  const startAtMs = typeof startAt === "number" ? startAt : await startAt();
  const aheadMs = startAtMs - Date.now();
  if (aheadMs > POLL_WINDOW_MS) await sleep(aheadMs - POLL_WINDOW_MS, signal);
  // The last stretch, polled once per event-loop turn (bounded: at most POLL_WINDOW_MS and a timer's slack).
  while (Date.now() < startAtMs && signal?.aborted !== true) await new Promise((r) => setImmediate(r));
  const lateMs = Math.max(0, Date.now() - startAtMs);
  if (lateMs >= LATE_START_WARN_MS && signal?.aborted !== true) {
    warnings.push(
      `started ${lateMs} ms after the synchronised start (${new Date(startAtMs).toISOString()}): that time had passed when the run was ready`,
    );
  }
  return { startAtMs, startLateMs: lateMs };
}
