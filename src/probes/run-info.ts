import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import type { RunInfo } from "./result.js";

/** Which of N workers a run is; `{ index: 0, count: 1 }` for a run that was not split. */
export interface WorkerId {
  index: number;
  count: number;
}

export const SOLE_WORKER: WorkerId = { index: 0, count: 1 };

/**
 * Where and when a run ran, with its measured window on the wall clock
 * (`performance.now()` milliseconds turned into epoch milliseconds).
 */
export function runInfoOf(
  o: { worker?: WorkerId; keyPrefix: string; keyFirst?: number; keyCount: number; timeoutMs: number },
  startMs: number,
  endMs: number,
  start: { startAtMs?: number; startLateMs?: number },
): RunInfo {
  const info: RunInfo = {
    host: hostname(),
    worker: o.worker ?? SOLE_WORKER,
    startedAtMs: wallMs(startMs),
    endedAtMs: wallMs(endMs),
    keys: { prefix: o.keyPrefix, first: o.keyFirst ?? 0, count: o.keyCount },
    timeoutMs: o.timeoutMs,
  };
  if (start.startAtMs !== undefined) {
    info.startAtMs = start.startAtMs;
    info.startLateMs = start.startLateMs ?? 0;
  }
  return info;
}

/** A `performance.now()` time as epoch milliseconds (µs kept). */
export function wallMs(perfMs: number): number {
  return Math.round((performance.timeOrigin + perfMs) * 1000) / 1000;
}
