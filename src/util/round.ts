/** `x` rounded to `digits` decimal places (halves upward, as Math.round): the one rounding of figures in records. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Nanoseconds as milliseconds to the microsecond: 1,234,567 ns → 1.235 ms. */
export function msFromNs(ns: number): number {
  return Math.round(ns / 1000) / 1000;
}
