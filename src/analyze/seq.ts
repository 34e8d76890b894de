/**
 * TCP sequence numbers are 32-bit serial numbers (RFC 1982): they wrap, so
 * "a before b" means the forward distance from a to b is under 2^31.
 * Every sequence comparison in the analyzer goes through here.
 */
const MOD = 0x1_0000_0000;
const HALF = 0x8000_0000;

/** (b - a) mod 2^32, as a signed distance in (-2^31, 2^31]. */
export function seqDiff(a: number, b: number): number {
  let d = (b - a) % MOD;
  if (d < 0) d += MOD;
  return d > HALF ? d - MOD : d;
}

/** a + n mod 2^32 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  let s = (a + n) % MOD;
  if (s < 0) s += MOD;
  return s;
}

export function seqLess(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

export function seqLessEq(a: number, b: number): boolean {
  return seqDiff(a, b) >= 0;
}
