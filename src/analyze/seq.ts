/**
 * TCP sequence numbers are 32-bit serial numbers (RFC 1982): they wrap, so
 * "a before b" means the forward distance from a to b is under 2^31.
 * Every sequence comparison in the analyzer goes through here.
 */
const HALF = 0x8000_0000;

// Sequence numbers are integers below 2^53, so ToInt32 (`| 0`) and ToUint32
// (`>>> 0`) are exactly the reductions mod 2^32 needed, without the float
// modulo (`%` on numbers beyond int32 is a call out of optimised code).

/** (b - a) mod 2^32, as a signed distance in (-2^31, 2^31]. */
export function seqDiff(a: number, b: number): number {
  const d = (b - a) | 0;
  return d === -HALF ? HALF : d;
}

/** a + n mod 2^32 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

export function seqLess(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

export function seqLessEq(a: number, b: number): boolean {
  return seqDiff(a, b) >= 0;
}
