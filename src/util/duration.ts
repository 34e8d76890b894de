import { McdiagError } from "./errors.js";

const UNITS_MS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest duration any option takes. Node timers wrap at 2^31 ms (~24.8
 * days) to 1 ms, so without a cap `--duration 600h` would run 2 ms.
 */
export const MAX_DURATION_MS = 24 * 3_600_000;

/**
 * Parses `500ms`, `5s`, `2m`, `1h` or a bare number of seconds into
 * milliseconds, above zero and at most 24 h. `allowZero` accepts `0` (a pause
 * or a delay that may be off).
 */
export function parseDurationMs(text: string, option: string, opts: { allowZero?: boolean } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|h)?\s*$/.exec(text);
  if (!m) {
    throw new McdiagError("BAD_OPTION", `${option}: '${text}' is not a duration (e.g. 500ms, 5s, 2m)`, {
      option,
      value: text,
    });
  }
  const ms = Number(m[1]) * UNITS_MS[m[2] ?? "s"]!;
  if (ms === 0 && opts.allowZero === true) return 0;
  if (!(ms > 0)) throw new McdiagError("BAD_OPTION", `${option}: duration must be above zero`, { option, value: text });
  if (ms > MAX_DURATION_MS) {
    throw new McdiagError("BAD_OPTION", `${option}: '${text}' is longer than the limit of 24h`, {
      option,
      value: text,
    });
  }
  return ms;
}
