/** `x` rounded to `digits` decimal places (halves upward, as Math.round): the one rounding of figures in records. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
