/**
 * Numbers as memcached reads them: C's strtoul/strtol/strtoull behind
 * memcached's safe_strto* wrappers (util.c). The quirks are kept on
 * purpose, because clients see them: leading whitespace and a sign are
 * accepted, a 64-bit value is truncated to 32 bits where memcached stores
 * it in 32 bits (`set k 0 0 4294967297` reads 1 byte), and a token is valid
 * when the digits end at its end or at a whitespace byte.
 */

/** Scratch result of `scan`: magnitude as a number when it fits 2^53 exactly, else as a bigint. */
interface Scan {
  negative: boolean;
  small: number;
  big: bigint | undefined;
}
const scanned: Scan = { negative: false, small: 0, big: undefined };
const U64_MAX = (1n << 64n) - 1n;

function isCSpace(c: number | undefined): boolean {
  return c === 0x20 || (c !== undefined && c >= 0x09 && c <= 0x0d);
}

/**
 * strtoull's scan of buf[from, to): whitespace, sign, digits. False when no
 * digit was read, the magnitude exceeds 2^64-1, or the digits stop at a
 * byte that is neither the token's end nor whitespace.
 */
function scan(buf: Buffer, from: number, to: number): boolean {
  let i = from;
  while (i < to && isCSpace(buf[i])) i++;
  scanned.negative = false;
  if (i < to && (buf[i] === 0x2b || buf[i] === 0x2d)) {
    scanned.negative = buf[i] === 0x2d;
    i++;
  }
  const digitsFrom = i;
  let small = 0;
  while (i < to && i - digitsFrom < 15) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) break;
    small = small * 10 + d;
    i++;
  }
  if (i === digitsFrom) return false;
  let big: bigint | undefined;
  if (i < to && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
    big = BigInt(small);
    while (i < to) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) break;
      big = big * 10n + BigInt(d);
      if (big > U64_MAX) return false; // ERANGE
      i++;
    }
  }
  if (i < to && !isCSpace(buf[i])) return false;
  scanned.small = small;
  scanned.big = big;
  return true;
}

function hasMinus(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] === 0x2d) return true;
  return false;
}

/** safe_strtoull: an unsigned 64-bit value, or undefined. */
export function cUint64(buf: Buffer, from: number, to: number): bigint | undefined {
  if (!scan(buf, from, to)) return undefined;
  let v = scanned.big ?? BigInt(scanned.small);
  if (scanned.negative) v = (U64_MAX + 1n - v) & U64_MAX;
  if (v >= 1n << 63n && hasMinus(buf, from, to)) return undefined;
  return v;
}

/** safe_strtoul into a uint32_t: the 64-bit value truncated to 32 bits, or -1 when invalid. */
export function cUint32(buf: Buffer, from: number, to: number): number {
  if (!scan(buf, from, to)) return -1;
  if (scanned.big === undefined) return scanned.negative ? (scanned.small === 0 ? 0 : -1) : scanned.small >>> 0;
  const v = cUint64(buf, from, to);
  return v === undefined ? -1 : Number(v & 0xffffffffn);
}

/** safe_strtol into an int32_t: strtol's 64-bit value truncated to 32 bits, or undefined when invalid. */
export function cInt32(buf: Buffer, from: number, to: number): number | undefined {
  if (!scan(buf, from, to)) return undefined;
  // ToInt32 (`| 0`) is exact truncation for magnitudes below 2^53.
  if (scanned.big === undefined) return (scanned.negative ? -scanned.small : scanned.small) | 0;
  const mag = scanned.big;
  if (scanned.negative ? mag > 1n << 63n : mag >= 1n << 63n) return undefined; // ERANGE for a long
  return Number(BigInt.asIntN(32, scanned.negative ? -mag : mag));
}
