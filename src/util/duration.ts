import { McdiagError } from "./errors.js";

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `5s`, `2m`, `1h` or a bare number of seconds into milliseconds. */
export function parseDurationMs(text: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) {
    throw new McdiagError("BAD_OPTION", `${option}: '${text}' is not a duration (e.g. 500ms, 5s, 2m)`, {
      option,
      value: text,
    });
  }
  const ms = Number(m[1]) * UNITS_MS[m[2] ?? "s"]!;
  if (!(ms > 0)) throw new McdiagError("BAD_OPTION", `${option}: duration must be above zero`, { option, value: text });
  return ms;
}
